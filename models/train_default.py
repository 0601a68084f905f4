"""Train the bundled model ``models/default.keras`` (+ ``default.json``) reproducibly.

    python models/train_default.py [--data PATH] [--epochs 30] [--out models/default.keras]

Trains on the MNIST training split only (with a seeded 5% validation hold-out); the test split
is used once, for the accuracy written to the metadata.
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
from digitdesk.core.trainjob import train_and_save  # noqa: E402
from digitdesk.core.training import TrainConfig  # noqa: E402

DEFAULT_CONFIG = TrainConfig(
    arch="digitnet", epochs=30, batch_size=128, learning_rate=2e-3, schedule="cosine",
    augment=True, augment_params=AugmentParams(), validation_split=0.05, seed=1, keep="best",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="MNIST folder or mnist.npz (default: the usual search order)")
    parser.add_argument("--epochs", type=int, default=DEFAULT_CONFIG.epochs)
    parser.add_argument("--out", default=str(HERE / "default.keras"))
    args = parser.parse_args()
    config = TrainConfig(**{**DEFAULT_CONFIG.to_dict(), "augment_params": DEFAULT_CONFIG.augment_params,
                            "epochs": args.epochs})
    dataset = load_mnist(args.data)
    start = time.time()

    def report(p):
        if p.kind == "epoch":
            print(f"epoch {p.epoch}/{p.epochs}  loss {p.loss:.4f}  acc {p.accuracy:.4f}  "
                  f"val_loss {p.val_loss:.4f}  val_acc {p.val_accuracy:.4f}  lr {p.learning_rate:.2e}  "
                  f"{p.samples_per_s:.0f} samples/s  {time.time() - start:.0f}s", flush=True)

    result, meta = train_and_save(config, dataset, args.out, on_progress=report, name="default")
    print(f"best epoch {result.best_epoch}; MNIST test accuracy {meta['test_accuracy'] * 100:.2f}%; "
          f"saved {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
