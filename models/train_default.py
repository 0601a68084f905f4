"""Train the bundled model ``models/default.keras`` (+ ``default.json``) reproducibly.

    python models/train_default.py [--data PATH] [--epochs 30] [--paper-epochs 3] [--out models/default.keras]
    python models/train_default.py --from FIRST_STAGE.keras [--paper-epochs 3]  # the second stage only

Two stages, both on the MNIST training split only (with the same seeded 5% validation
hold-out); the test split is used once, for the accuracy written to the metadata:
1. 30 epochs with the usual augmentation (rotation, scale, shift, shear, stroke thickness);
2. a few more epochs at a small learning rate where about half of the digits are also given a
   pen and paper style (hollow, gaps, a thick pen, hairlines, a removed ruled line: see
   ``digitdesk.core.augment``), so that real pages read as well as clean ones.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from digitdesk.core.augment import AugmentParams  # noqa: E402
from digitdesk.core.data import load_mnist  # noqa: E402
from digitdesk.core.modelio import load_model, read_metadata, save_model  # noqa: E402
from digitdesk.core.trainjob import train_and_save  # noqa: E402
from digitdesk.core.training import TrainConfig  # noqa: E402

DEFAULT_CONFIG = TrainConfig(
    arch="digitnet", epochs=30, batch_size=128, learning_rate=2e-3, schedule="cosine",
    augment=True, augment_params=AugmentParams(), validation_split=0.05, seed=1, keep="best",
)
PAPER_CONFIG = TrainConfig(
    arch="digitnet", epochs=3, batch_size=128, learning_rate=1e-4, schedule="cosine", augment=True,
    augment_params=AugmentParams(heavy=0.08, outline=0.07, breaks=0.08, hairline=0.06, gap_line=0.06),
    validation_split=0.05, seed=1, keep="best",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="MNIST folder or mnist.npz (default: the usual search order)")
    parser.add_argument("--epochs", type=int, default=DEFAULT_CONFIG.epochs)
    parser.add_argument("--paper-epochs", type=int, default=PAPER_CONFIG.epochs,
                        help="epochs of the second stage, with pen and paper styles (0: none)")
    parser.add_argument("--from", dest="first", help="a first-stage model: train the second stage only")
    parser.add_argument("--out", default=str(HERE / "default.keras"))
    args = parser.parse_args()
    config = TrainConfig(**{**DEFAULT_CONFIG.to_dict(), "augment_params": DEFAULT_CONFIG.augment_params,
                            "epochs": args.epochs})
    paper = TrainConfig(**{**PAPER_CONFIG.to_dict(), "augment_params": PAPER_CONFIG.augment_params,
                           "epochs": args.paper_epochs})
    dataset = load_mnist(args.data)
    start = time.time()

    def report(p):
        if p.kind == "epoch":
            print(f"epoch {p.epoch}/{p.epochs}  loss {p.loss:.4f}  acc {p.accuracy:.4f}  "
                  f"val_loss {p.val_loss:.4f}  val_acc {p.val_accuracy:.4f}  lr {p.learning_rate:.2e}  "
                  f"{p.samples_per_s:.0f} samples/s  {time.time() - start:.0f}s", flush=True)

    if args.first:
        first_model, first_meta = load_model(args.first), read_metadata(args.first) or {}
    else:
        result, first_meta = train_and_save(config, dataset, args.out, on_progress=report, name="default")
        first_model = result.model
        print(f"first stage: best epoch {result.best_epoch}; MNIST test accuracy "
              f"{first_meta['test_accuracy'] * 100:.2f}%; saved {args.out}", flush=True)
    if paper.epochs <= 0:
        return 0
    result, meta = train_and_save(paper, dataset, args.out, on_progress=report, name="default",
                                  initial_model=first_model)
    meta["data"] = f"MNIST training split ({len(dataset.train):,} images, 5% held out for validation)"  # not a local path
    meta["first_stage"] = {key: first_meta.get(key) for key in
                           ("config", "epochs", "best_epoch", "training_seconds", "test_accuracy")}
    meta["training_seconds"] = round(meta["training_seconds"] + (first_meta.get("training_seconds") or 0), 1)
    save_model(result.model, args.out, meta)
    print(f"second stage (pen and paper styles): best epoch {result.best_epoch}; MNIST test accuracy "
          f"{meta['test_accuracy'] * 100:.2f}%; saved {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
