"""The notebooks' ensemble of three deep CNNs against their 99.46%, and what reading costs through
an ensemble's LiteRT twin.

    python -m benchmarks.bench_ensemble [--members A.keras,B.keras,...] [--count 3] [--epochs N]
                                        [--images N] [--test-images N] [--calls 500] [--out DIR]

Without ``--members`` it trains ``--count`` models with the ``deep_cnn`` preset (seeds 0, 1, ...;
hours in full on a 2-core CPU; ``--epochs`` and ``--images`` make a smoke run, as in
``reproduce_notebooks``). Then it builds their ensemble (``core.ensemble``), prints each member's
and the ensemble's MNIST test accuracy beside the published figure, and reads digits through the
Recognizer (LiteRT twins) with one member and with the ensemble: the median time of ``--calls``
one-digit ``classify`` calls, and the cost per digit in batches of 1,000.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def reading_cost(path: Path, digits: np.ndarray, calls: int) -> tuple[float, float]:
    """(ms per one-digit call, median of ``calls``; ms per digit in batches of 1,000) through the
    Recognizer of ``path`` (its LiteRT twin)."""
    from digitdesk.core.recognizer import Recognizer

    rec = Recognizer.load(path)
    if rec.runtime != "litert" and rec.twin_problem:  # a --members model without its twin yet
        from digitdesk.core.twin import write_twin

        write_twin(path, rec.model)
        rec = Recognizer.load(path)
    if rec.runtime != "litert":
        raise SystemExit(f"{path}: read with {rec.runtime}, not LiteRT ({rec.twin_problem})")
    one = []
    for i in range(calls):
        t = time.perf_counter()
        rec.classify(digits[i % len(digits)])
        one.append(time.perf_counter() - t)
    batch = digits[:1000]
    rounds = []
    for _ in range(5):
        t = time.perf_counter()
        rec.classify(batch)
        rounds.append(time.perf_counter() - t)
    return statistics.median(one) * 1e3, statistics.median(rounds) / len(batch) * 1e3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", help="comma-separated .keras models to ensemble (default: train them)")
    parser.add_argument("--count", type=int, default=3, help="deep CNNs to train (default: 3)")
    parser.add_argument("--epochs", type=int, help="train each for this many epochs (a smoke run)")
    parser.add_argument("--images", type=int, default=0, help="at most this many training images (0: all)")
    parser.add_argument("--test-images", type=int, default=0, help="at most this many test images (0: all)")
    parser.add_argument("--calls", type=int, default=500, help="one-digit calls timed per model (default: 500)")
    parser.add_argument("--out", help="where to save the models (default: a temporary folder)")
    args = parser.parse_args(argv)
    from digitdesk.core.tfimport import import_tensorflow

    import_tensorflow()
    from benchmarks.reproduce_notebooks import load_dataset, run_preset
    from digitdesk.core.ensemble import load_members, make_ensemble
    from digitdesk.core.presets import ENSEMBLE_PUBLISHED, get

    with tempfile.TemporaryDirectory(prefix="ensemble-") as tmp:
        out = Path(args.out or tmp)
        out.mkdir(parents=True, exist_ok=True)
        if args.members:
            paths = [Path(p) for p in args.members.split(",")]
        else:
            paths = [run_preset("deep_cnn", out, args.epochs, args.images, args.test_images, None, seed=i,
                                name=f"deep_cnn_{i}").path for i in range(args.count)]
        test = load_dataset("mnist", None, 0, args.test_images).test
        result = make_ensemble(load_members(paths), out / "ensemble.keras", test, data_source="MNIST")
        print(f"MNIST test split: {len(test):,} images"
              + ("  (a smoke run: the figures are not comparable)" if args.epochs or args.images else ""))
        print("| model | test accuracy | the notebooks' |\n|---|---|---|")
        for member, rep in zip(result.members, result.member_reports):
            print(f"| {member.name} | {rep.accuracy * 100:.2f}% | {get('deep_cnn').published_text()} |")
        print(f"| ensemble of {len(paths)} | {result.report.accuracy * 100:.2f}% | {ENSEMBLE_PUBLISHED * 100:.2f}% |")
        digits = test.images
        single = reading_cost(paths[0], digits, args.calls)
        ensemble = reading_cost(result.path, digits, args.calls)
        print("\n| reading (LiteRT twin) | one digit per call | per digit, batches of 1,000 |\n|---|---|---|")
        for name, (one, per) in ((result.members[0].name, single), (f"ensemble of {len(paths)}", ensemble)):
            print(f"| {name} | {one:.3f} ms | {per:.4f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
