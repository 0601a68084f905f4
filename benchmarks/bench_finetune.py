"""Fine-tuning on "your handwriting": does teaching the model 20 samples per digit of a style it
reads poorly help on other samples of that style, without costing MNIST accuracy?

    python -m benchmarks.bench_finetune [--model PATH] [--style outline,...] [--per-digit 20]

First measures the model on several candidate styles (the rendered digits, MNIST-framed by
``preprocess.frame_digit``), then fine-tunes it with the default :class:`FineTuneConfig` on
``--per-digit`` samples per digit of ``--style`` (seed 1) and reports accuracy on other samples
of that style (seed 2, 100 per digit), MNIST test accuracy before and after, and the time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import cv2
import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TRAIN_SEED, TEST_SEED, PROBE_SEED = 1, 2, 3
# Unusual but legible stroke variants (European 1, crossed 7, closed 4, ...).
VARIANTS = {0: "narrow", 1: "flag_base", 2: "loop", 3: "flat_top", 4: "closed", 5: "two_stroke_gap",
            6: "straight", 7: "crossed", 8: "s_back", 9: "curved"}


def _font(digit: int, rng: np.random.Generator, face: str) -> np.ndarray:
    """A digit in one of OpenCV's built-in fonts, random weight and slant; dark on light."""
    m = np.zeros((200, 200), np.uint8)
    cv2.putText(m, str(digit), (50, 150), 255, cv2.FontFace(face), 100, int(rng.uniform(200, 500)))
    s = rng.uniform(-0.1, 0.3)
    m = cv2.warpAffine(m, np.float32([[1, -s, s * 100 + 20], [0, 1, 0]]), (260, 200))
    return 255 - m


def _outline(digit: int, rng: np.random.Generator) -> np.ndarray:
    """Hollow "bubble" digits: a thick mouse stroke of which only the outline is drawn."""
    from digitdesk.core import synth

    ink = 255 - synth.render_digit(digit, "drawn", rng)
    k = int(rng.integers(3, 8))
    ink = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    return 255 - cv2.morphologyEx(ink, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))


def _styles() -> dict:
    from digitdesk.core import synth

    styles = {
        "hands": lambda d, r: synth.render_digit(d, "hands", r),
        "variants": lambda d, r: synth.render_digit(d, "hands", r, variant=VARIANTS[d]),
        "outline": _outline,
    }
    if hasattr(cv2, "FontFace"):  # OpenCV >= 5
        for face in ("italic", "sans", "uni"):
            styles[f"font-{face}"] = lambda d, r, face=face: _font(d, r, face)
    return styles


def render(style: str, per_digit: int, seed: int):
    """``per_digit`` MNIST-framed samples of each digit in ``style`` as a Split."""
    from digitdesk.core.data import Split
    from digitdesk.core.preprocess import frame_digit

    rng = np.random.default_rng(seed)
    fn = _styles()[style]
    labels = np.repeat(np.arange(10), per_digit)
    images = np.stack([frame_digit(fn(int(d), rng)) for d in labels])
    return Split(images, labels.astype(np.int64))


def accuracy(model, split) -> float:
    from digitdesk.core.evaluate import evaluate_model

    return evaluate_model(model, split.images, split.labels).accuracy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model to fine-tune (default: the bundled model)")
    parser.add_argument("--style", default="outline", help="style(s) of the user's samples, comma-separated")
    parser.add_argument("--per-digit", type=int, default=20, help="user samples per digit")
    parser.add_argument("--test-per-digit", type=int, default=100, help="held-out samples per digit")
    parser.add_argument("--batchnorm", choices=("frozen", "trained"), default="frozen")
    parser.add_argument("--data", help="MNIST location (default: the usual search order)")
    parser.add_argument("--skip-candidates", action="store_true", help="do not measure the other styles")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message=".*shuffle=True.*")  # Keras notice about tf.data input

    from digitdesk.core.data import load_mnist
    from digitdesk.core.finetune import FineTuneConfig, fine_tune
    from digitdesk.core.modelio import load_model, read_metadata
    from digitdesk.core.paths import default_model_path

    path = args.model or default_model_path()
    model = load_model(path)
    mnist = load_mnist(args.data)
    meta = read_metadata(path)
    command = f"python -m benchmarks.bench_finetune {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip()
    print(f"model: {path} ({meta.get('architecture', model.name)}, metadata test accuracy "
          f"{meta.get('test_accuracy', float('nan')) * 100:.2f}%)")
    print(f"command: {command}\n")

    if not args.skip_candidates:
        print(f"Candidate styles (the model as it is; {args.per_digit} per digit, seed {PROBE_SEED}):\n")
        print("| style | accuracy |")
        print("|---|---|")
        for style in _styles():
            print(f"| {style} | {accuracy(model, render(style, args.per_digit, PROBE_SEED)) * 100:.1f}% |", flush=True)
        print()

    config = FineTuneConfig(freeze_batchnorm=args.batchnorm == "frozen")
    print(f"Fine-tuning on {args.per_digit} samples per digit (seed {TRAIN_SEED}); {config.epochs} epochs, "
          f"batch {config.batch_size}, lr {config.learning_rate:g} {config.schedule}, user share "
          f"{config.user_fraction:.0%}, {config.mnist_samples} MNIST images mixed in, augmentation "
          f"{'on' if config.augment else 'off'}, BatchNorm {args.batchnorm}, seed {config.seed}:\n")
    print("| style | style accuracy before | after | MNIST test before | after | change | fine-tuning time |")
    print("|---|---|---|---|---|---|---|")
    mnist_before = accuracy(model, mnist.test)
    ok = True
    for style in args.style.split(","):
        samples = render(style, args.per_digit, TRAIN_SEED)
        held_out = render(style, args.test_per_digit, TEST_SEED)
        before = accuracy(model, held_out)
        start = time.perf_counter()
        result = fine_tune(model, samples, mnist.train, config)
        seconds = time.perf_counter() - start
        after, mnist_after = accuracy(result.model, held_out), accuracy(result.model, mnist.test)
        ok = ok and after > before and mnist_before - mnist_after <= 0.002
        print(f"| {style} ({len(held_out)} held out, seed {TEST_SEED}) | {before * 100:.2f}% | {after * 100:.2f}% | "
              f"{mnist_before * 100:.2f}% | {mnist_after * 100:.2f}% | {(mnist_after - mnist_before) * 100:+.2f} pp | "
              f"{seconds:.0f} s ({result.samples_per_s:.0f} samples/s) |", flush=True)
    print(f"\n{'PASS' if ok else 'FAIL'}: style accuracy up and MNIST test accuracy down by at most 0.2 pp")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
