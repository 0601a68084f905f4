"""Reproduce the classic MNIST/Kaggle notebooks: train each recipe of ``digitdesk.core.presets`` in
full and print its test accuracy beside the figure the notebook published.

    python -m benchmarks.reproduce_notebooks [--only NAME,...] [--epochs N] [--images N]
                                             [--test-images N] [--csv train.csv] [--out DIR]

A full run trains five models for 5 to 30 epochs each (hours on a 2-core CPU). ``--epochs``
(every preset cut to N epochs) and ``--images`` (at most N training images, a seeded subset) make
a smoke run; its figures say nothing about the notebooks'. The MLP notebook trains on Kaggle's
``train.csv`` (``--csv``); without one it trains on MNIST with the same recipe, and the table
says so. Each model is saved (with its LiteRT twin) in ``--out`` (default: a temporary folder),
as ``digitdesk train --preset NAME`` saves it, so ``bench_ensemble --members`` can reuse them.

A deep CNN trained for a few hundred steps reads about 10-13% in a smoke run: its BatchNorm
moving averages (Keras' default momentum 0.99, as in the notebook) still lag the fast-changing
network. Measured with plain ``model.fit`` (3 epochs on 4,000 images): 13% in inference against
95% with batch statistics; 97.6% with momentum 0.9. A full run (about 25,000 steps) is not affected.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@dataclasses.dataclass
class Row:
    preset: str
    accuracy: float
    published: str
    epochs: str
    seconds: float
    data: str
    path: Path


def load_dataset(source: str, csv: str | None, images: int, test_images: int):
    """The preset's data (a Kaggle CSV for ``csv`` sources when given, else MNIST), limited."""
    from digitdesk.core.data import Dataset, load_source
    from digitdesk.core.trainrequest import limit

    if source == "csv" and csv:
        dataset = load_source(csv)
        name = dataset.source
    else:
        dataset = load_source(None)
        name = "MNIST" + (" (no --csv: Kaggle's train.csv not given)" if source == "csv" else "")
    train, test = limit(dataset.train, images), limit(dataset.test, test_images)
    if len(train) < len(dataset.train):
        name += f", {len(train):,} of {len(dataset.train):,} training images"
    return Dataset(train, test, name)


def run_preset(key: str, out: Path, epochs: int | None, images: int, test_images: int, csv: str | None,
               seed: int = 0, name: str | None = None) -> Row:
    """Train preset ``key`` (its recipe, ``epochs`` if given), test it, save it in ``out``."""
    from digitdesk.core.presets import get
    from digitdesk.core.trainjob import epochs_trained, train_and_save

    preset = get(key)
    config = preset.train_config(seed=seed, **({"epochs": epochs} if epochs else {}))
    dataset = load_dataset(preset.source, csv, images, test_images)
    path = out / f"{name or key}.keras"
    print(f"{preset.title}: {config.arch}, {config.epochs} epochs on {dataset.source}", file=sys.stderr, flush=True)
    result, meta = train_and_save(config, dataset, path, name=name or key)
    return Row(key, meta["test_accuracy"], preset.published_text(), f"{epochs_trained(result)}/{config.epochs}",
               result.seconds, dataset.source, path)


def table(rows: list[Row]) -> str:
    """The results as a Markdown table."""
    lines = ["| preset | test accuracy | the notebook's | epochs run/planned | training time | data |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.preset} | {r.accuracy * 100:.2f}% | {r.published} | {r.epochs} | "
                     f"{r.seconds:.0f} s | {r.data} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from digitdesk.core.presets import PRESETS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help=f"comma-separated presets (default: all: {', '.join(PRESETS)})")
    parser.add_argument("--epochs", type=int, help="train every preset for this many epochs (a smoke run)")
    parser.add_argument("--images", type=int, default=0, help="at most this many training images (0: all)")
    parser.add_argument("--test-images", type=int, default=0, help="at most this many test images (0: all)")
    parser.add_argument("--csv", help="Kaggle's train.csv, for the MLP notebook")
    parser.add_argument("--out", help="where to save the models (default: a temporary folder)")
    args = parser.parse_args(argv)
    keys = args.only.split(",") if args.only else list(PRESETS)
    unknown = [k for k in keys if k not in PRESETS]
    if unknown:
        parser.error(f"unknown preset(s) {', '.join(unknown)}; choose from {', '.join(PRESETS)}")
    from digitdesk.core.tfimport import import_tensorflow

    import_tensorflow()
    with tempfile.TemporaryDirectory(prefix="reproduce-") as tmp:
        out = Path(args.out or tmp)
        out.mkdir(parents=True, exist_ok=True)
        rows = [run_preset(k, out, args.epochs, args.images, args.test_images, args.csv) for k in keys]
    if args.epochs or args.images:
        print("(a smoke run: fewer epochs or images than the notebooks; the figures are not comparable)")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
