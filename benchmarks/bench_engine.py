"""Engine speed on this machine: one digit, a canvas, a 1-megapixel photo, and training
throughput of our training function against plain ``model.fit`` (same model, data, pipeline).

    python -m benchmarks.bench_engine [--model PATH] [--repeats 300] [--skip-training]

Latencies are warm (after a first call), median and 10th-90th percentile of many calls.
Training: both sides run the same number of epochs, alternating, and the ratio of their
steady-state throughput (first epoch excluded) is reported from the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def timed(fn, repeats: int) -> tuple[float, float, float]:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[len(times) // 10], times[(len(times) * 9) // 10]


def canvas_image() -> np.ndarray:
    """A 400x400 canvas with a three-digit number drawn with a thick round pen."""
    from digitdesk.core import synth

    return synth.make_number_sample("305", "drawn", np.random.default_rng(7), canvas=(400, 400)).image


def photo_image() -> np.ndarray:
    """A ~1 megapixel phone-style photo of a 6-digit number."""
    import cv2

    from digitdesk.core import synth

    img = synth.make_number_sample("271828", "photo", np.random.default_rng(3)).image
    scale = (1_000_000 / (img.shape[0] * img.shape[1])) ** 0.5
    return cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)


def bench_training(epochs: int, samples: int) -> tuple[float, float]:
    import keras

    from digitdesk.core.augment import AugmentParams
    from digitdesk.core.data import Split, load_mnist
    from digitdesk.core.models import build
    from digitdesk.core.training import TrainConfig, make_dataset, train

    d = load_mnist().train
    data = Split(d.images[:samples], d.labels[:samples])
    cfg = TrainConfig(arch="digitnet", epochs=epochs, batch_size=128, schedule="constant",
                      augment=True, validation_split=0.0, seed=0)

    def ours() -> float:
        times = []
        last = [time.perf_counter()]

        def on_progress(p):
            if p.kind == "epoch":
                now = time.perf_counter()
                times.append(now - last[0])
                last[0] = now

        train(cfg, data, validation=Split(data.images[:0], data.labels[:0]), on_progress=on_progress)
        return samples * (len(times) - 1) / sum(times[1:])

    def plain() -> float:
        keras.utils.set_random_seed(0)
        model = build("digitnet")
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        ds = make_dataset(data.images, data.labels, 128, AugmentParams(), True, 0)
        times = []

        class T(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.t = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                times.append(time.perf_counter() - self.t)

        model.fit(ds, epochs=epochs, verbose=0, callbacks=[T()])
        return samples * (len(times) - 1) / sum(times[1:])

    ratios, ours_sps, plain_sps = [], [], []
    for _ in range(3):
        p, o = plain(), ours()
        plain_sps.append(p)
        ours_sps.append(o)
        ratios.append(o / p)
    return statistics.median(ours_sps), statistics.median(plain_sps), ratios


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Engine latency and training throughput")
    parser.add_argument("--model", help="model file (default: the bundled model)")
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--train-samples", type=int, default=12800)
    parser.add_argument("--train-epochs", type=int, default=3)
    args = parser.parse_args(argv)

    from digitdesk.core.recognizer import Recognizer

    rec = Recognizer.load(args.model)
    digit = np.zeros((28, 28), np.uint8)
    digit[6:22, 12:16] = 255
    canvas, photo = canvas_image(), photo_image()
    print(f"command: python -m benchmarks.bench_engine {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip())
    print(f"canvas {canvas.shape[1]}x{canvas.shape[0]} reads {rec.read(canvas).text!r}; "
          f"photo {photo.shape[1]}x{photo.shape[0]} ({photo.shape[0] * photo.shape[1] / 1e6:.2f} MP) reads {rec.read(photo).text!r}")
    print()
    print("| measurement | median | p10-p90 | target |")
    print("|---|---|---|---|")
    for name, fn, target in (
        ("one 28x28 digit -> probabilities", lambda: rec.classify(digit), "<= 2 ms"),
        ("400x400 canvas (3 digits) -> digits", lambda: rec.read(canvas), "<= 10 ms"),
        ("1 MP photo (6 digits) -> digits", lambda: rec.read(photo), "<= 40 ms"),
    ):
        med, lo, hi = timed(fn, args.repeats if "photo" not in name else max(30, args.repeats // 5))
        print(f"| {name} | {med:.2f} ms | {lo:.2f}-{hi:.2f} ms | {target} |", flush=True)
    if not args.skip_training:
        ours, plain, ratios = bench_training(args.train_epochs, args.train_samples)
        print(f"| training throughput, our train() vs plain model.fit (digitnet, augmented, "
              f"{args.train_samples} samples, epochs 2-{args.train_epochs}) | {ours:,.0f} vs {plain:,.0f} samples/s = "
              f"{statistics.median(ratios):.3f}x | runs: {', '.join(f'{r:.3f}' for r in ratios)} | >= 0.95x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
