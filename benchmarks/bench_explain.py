"""Issue 14, "why this digit?": what one explanation costs once the model is loaded.

    python -m benchmarks.bench_explain [--runs 20] [--queries 200] [--index-limit N] [--model M]

One digit drawn as on the Draw tab (``synth``'s "drawn" style on a 400x400 canvas) is read with
the Recognizer (LiteRT), then explained with the model's ``.keras`` file (``core.explain``):

- the heatmaps, warm: ``Explainer.explain`` (integrated gradients for the digit read and the
  runner-up) plus rendering both heatmaps, the median of ``--runs`` after one untimed call;
- the index of the MNIST training split (all 60,000 digits unless ``--index-limit``) by the
  penultimate layer, built once in a fresh per-user folder, then read back from it;
- the nearest training digits, warm: ``neighbours_of`` (the digit's features, then five nearest
  of each of the two classes), the median of ``--queries`` after one untimed call.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def drawn_digit(rec, text: str = "7"):
    """The DigitResult of one digit drawn on a 400x400 canvas, read as the Draw tab reads it."""
    from digitdesk.core import synth

    image = synth.make_number_sample(text, "drawn", np.random.default_rng(7), canvas=(400, 400)).image
    digits = rec.read(image, dark_ink=True).digits
    if len(digits) != 1:
        raise SystemExit(f"the drawn {text} was read as {len(digits)} digits")
    return digits[0]


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1e3:.1f} ms (min {min(values) * 1e3:.1f}, max {max(values) * 1e3:.1f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="timed explanations (default: 20)")
    parser.add_argument("--queries", type=int, default=200, help="timed neighbour look-ups (default: 200)")
    parser.add_argument("--index-limit", type=int, help="index only the first N training digits (default: all)")
    parser.add_argument("--model", help="the .keras model (default: the bundled one)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="explain-bench-") as home:
        os.environ["DIGITDESK_HOME"] = home  # a fresh per-user folder: the index is really built
        from digitdesk.core.explain import explainer_for
        from digitdesk.core.neighbours import build_index, forget_indexes, neighbours_of, training_digits
        from digitdesk.core.recognizer import Recognizer

        rec = Recognizer.load(args.model)
        d = drawn_digit(rec)
        print(f"model {rec.path} (reading with {rec.runtime}); the drawn digit read as {d.digit} "
              f"({d.confidence:.1%}), runner-up {d.top[1][0]}")
        t = time.perf_counter()
        explainer = explainer_for(rec.path)
        print(f"loading the .keras model for explanations (TensorFlow imported): {time.perf_counter() - t:.2f} s")
        digits = (d.top[0][0], d.top[1][0])

        def explain():
            e = explainer.explain(d.input28, digits)
            e.heatmaps()
            return e

        t = time.perf_counter()
        e = explain()
        print(f"first explanation (tracing): {(time.perf_counter() - t) * 1e3:.0f} ms; completeness gaps "
              f"{e.top.completeness_gap:+.4f} ({e.top.digit}), {e.runner_up.completeness_gap:+.4f} ({e.runner_up.digit})")
        from digitdesk.core.explain import Explainer

        even = Explainer(explainer.model, explainer.key, rec.path, uniform=1.0).explain(d.input28, digits)
        print(f"  with {explainer.steps} evenly spaced points instead: gaps {even.top.completeness_gap:+.4f}, "
              f"{even.runner_up.completeness_gap:+.4f}")
        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            explain()
            times.append(time.perf_counter() - t)
        print(f"heatmaps of one drawn digit, warm (median of {args.runs}): {_ms(times)}")

        split = training_digits(args.index_limit)
        t = time.perf_counter()
        index = build_index(explainer, split.images, split.labels)
        built = time.perf_counter() - t
        print(f"index of {len(index):,} training digits, built once: {built:.1f} s "
              f"({index.features.shape[1]} features each, {index.path.stat().st_size / 2**20:.1f} MB on disk)")
        forget_indexes()
        t = time.perf_counter()
        index = build_index(explainer, split.images, split.labels)
        assert index.from_cache
        print(f"the same index read back from the per-user folder: {(time.perf_counter() - t) * 1e3:.0f} ms")

        neighbours_of(explainer, index, d.input28, digits)
        times = []
        for _ in range(args.queries):
            t = time.perf_counter()
            neighbours_of(explainer, index, d.input28, digits)
            times.append(time.perf_counter() - t)
        print(f"nearest training digits, warm (5 of {digits[0]} and 5 of {digits[1]}, median of {args.queries}): "
              f"{_ms(times)}")
        feats = explainer.embed(d.input28[None])[0]
        times = []
        for _ in range(args.queries):
            t = time.perf_counter()
            index.nearest(feats, digits[0])
            index.nearest(feats, digits[1])
            times.append(time.perf_counter() - t)
        print(f"  of which the two look-ups without the digit's features: {_ms(times)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
