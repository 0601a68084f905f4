"""Engine speed on this machine: one digit, a canvas, a 1-megapixel JPEG photo (decoded from its
file inside the timing), and training throughput of our training function against plain
``model.fit`` (same model, data, pipeline).

    python -m benchmarks.bench_engine [--model PATH] [--repeats 300] [--skip-training] [--json PATH]

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


def canvas_image() -> np.ndarray:
    """A 400x400 canvas with a three-digit number drawn with a thick round pen."""
    from digitdesk.core import synth

    return synth.make_number_sample("305", "drawn", np.random.default_rng(7), canvas=(400, 400)).image


PHOTO_SIZE = (1152, 864)  # a 4:3 photo of about 1 megapixel


def photo_file(folder: str) -> str:
    """A real 1152x864 JPEG (a SYNTHETIC phone photo of a ruled notebook page from
    benchmarks/paper_sets.py) written once into ``folder``; returns its path."""
    import cv2

    from benchmarks import paper_sets

    sample = paper_sets.make_sample("ruled", np.random.default_rng(3))  # a 4:3 photo, 900-1600 px wide
    image = cv2.resize(sample.image, PHOTO_SIZE, interpolation=cv2.INTER_AREA)
    path = os.path.join(folder, "ruled_page_1mp.jpg")
    cv2.imwrite(path, image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


def webcam_frame() -> np.ndarray:
    """A 640x480 webcam frame: a SYNTHETIC sheet held up in a dim room (benchmarks/paper_sets.py)."""
    from benchmarks import paper_sets

    return paper_sets.make_sample("webcam_sheet", np.random.default_rng(5)).image


def read_photo(rec, path: str):
    """What the Image tab does with a file: decode it, then read it (both timed)."""
    from digitdesk.core.imageio import read_image

    return rec.read(read_image(path))


def throughput(per_epoch: list[float]) -> float:
    """Samples/s over several epochs from each epoch's samples/s (total samples / total time)."""
    return len(per_epoch) / sum(1 / x for x in per_epoch) if per_epoch else float("nan")


def plain_fit(config, data, validation=None) -> list[float]:
    """Plain ``model.fit`` on the same model, data pipeline and optimizer as ``train(config, ...)``:
    samples/s of each epoch after the first (validation, if any, inside the epoch's time, as in
    our ``train()``)."""
    import math

    import keras

    from digitdesk.core.models import build
    from digitdesk.core.training import make_dataset

    keras.utils.set_random_seed(config.seed)
    model = build(config.arch)
    steps = math.ceil(len(data) / config.batch_size)
    lr = config.learning_rate
    if config.schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(1, config.epochs * steps), alpha=0.01)
    model.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    ds = make_dataset(data.images, data.labels, config.batch_size,
                      config.augment_params if config.augment else None, True, config.seed)
    val = None
    if validation is not None and len(validation):
        val = make_dataset(validation.images, validation.labels, 1024, None, False, config.seed)
    times = []

    class T(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t)

    model.fit(ds, epochs=config.epochs, verbose=0, callbacks=[T()], validation_data=val, shuffle=False)
    return [len(data) / t for t in times[1:]]


def core_train(config, data, validation=None, on_progress=None) -> list[float]:
    """Our ``train()``: samples/s of each epoch after the first."""
    from digitdesk.core.training import train

    epochs = []

    def progress(p):
        if on_progress is not None:
            on_progress(p)
        if p.kind == "epoch":
            epochs.append(p.samples_per_s)

    train(config, data, validation=validation, on_progress=progress)
    return epochs[1:]


def bench_training(epochs: int, samples: int, rounds: int = 3) -> dict:
    """Alternating pairs (plain fit, then ours) on the first ``samples`` MNIST training images,
    no validation: {"fit": [samples/s per run], "ours": [...], "ratios": [ours/fit per pair]}."""
    from digitdesk.core.data import Split, load_mnist
    from digitdesk.core.training import TrainConfig

    d = load_mnist().train
    data = Split(d.images[:samples], d.labels[:samples])
    none = Split(data.images[:0], data.labels[:0])
    cfg = TrainConfig(arch="digitnet", epochs=epochs, batch_size=128, schedule="constant",
                      augment=True, validation_split=0.0, seed=0)
    fit, ours = [], []
    for _ in range(rounds):
        fit.append(throughput(plain_fit(cfg, data, none)))
        ours.append(throughput(core_train(cfg, data, none)))
    return {"fit": fit, "ours": ours, "ratios": [o / p for o, p in zip(ours, fit)],
            "samples": samples, "epochs": epochs}


CASES = (  # key, label, target
    ("digit", "one 28x28 digit -> probabilities", "<= 2 ms"),
    ("canvas", "400x400 canvas (3 digits) -> digits", "<= 10 ms"),
    ("photo", "1 MP photo (1152x864 JPEG of a ruled page, decoding included) -> digits", "<= 40 ms"),
    ("webcam", "640x480 webcam frame (a sheet held up in a dim room) -> digits", "<= 20 ms"),
)


def measure_latency(rec, repeats: int = 300) -> dict[str, list[float]]:
    """Warm milliseconds per call: {"digit": [...], "canvas": [...], "photo": [...]} (the photo
    gets a fifth of ``repeats``, at least 30; each call decodes the JPEG file and reads it)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="digitdesk-bench-") as tmp:
        return _measure(rec, repeats, photo_file(tmp))


def _measure(rec, repeats: int, photo: str) -> dict[str, list[float]]:
    digit = np.zeros((28, 28), np.uint8)
    digit[6:22, 12:16] = 255
    canvas, frame = canvas_image(), webcam_frame()
    fns = {"digit": lambda: rec.classify(digit), "canvas": lambda: rec.read(canvas, dark_ink=True),
           "photo": lambda: read_photo(rec, photo), "webcam": lambda: rec.read(frame)}
    out = {}
    for key, fn in fns.items():
        n = repeats if key != "photo" else max(30, repeats // 5)
        fn()
        times = []
        for _ in range(n):
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1000)
        out[key] = times
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Engine latency and training throughput")
    parser.add_argument("--model", help="model file (default: the bundled model)")
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--train-samples", type=int, default=12800)
    parser.add_argument("--train-epochs", type=int, default=3)
    parser.add_argument("--json", metavar="PATH", help="also write the raw figures to this JSON file")
    args = parser.parse_args(argv)

    from digitdesk.core.recognizer import Recognizer

    import tempfile

    rec = Recognizer.load(args.model)
    canvas = canvas_image()
    print(f"command: python -m benchmarks.bench_engine {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip())
    with tempfile.TemporaryDirectory(prefix="digitdesk-bench-") as tmp:
        photo = photo_file(tmp)
        from digitdesk.core.imageio import read_image

        h, w = read_image(photo).shape[:2]
        print(f"canvas {canvas.shape[1]}x{canvas.shape[0]} reads {rec.read(canvas, dark_ink=True).text!r}; "
              f"photo {w}x{h} JPEG ({w * h / 1e6:.2f} MP, {os.path.getsize(photo) / 1e3:.0f} kB) reads "
              f"{read_photo(rec, photo).text!r}")
        print()
        print("| measurement | median | p10-p90 | target |")
        print("|---|---|---|---|")
        lat = _measure(rec, args.repeats, photo)
    for key, name, target in CASES:
        times = sorted(lat[key])
        med, lo, hi = statistics.median(times), times[len(times) // 10], times[(len(times) * 9) // 10]
        print(f"| {name} | {med:.2f} ms | {lo:.2f}-{hi:.2f} ms | {target} |", flush=True)
    result = {"latency_ms": lat}
    if not args.skip_training:
        tr = bench_training(args.train_epochs, args.train_samples)
        result["training"] = tr
        ours, plain, ratios = statistics.median(tr["ours"]), statistics.median(tr["fit"]), tr["ratios"]
        print(f"| training throughput, our train() vs plain model.fit (digitnet, augmented, "
              f"{args.train_samples} samples, epochs 2-{args.train_epochs}) | {ours:,.0f} vs {plain:,.0f} samples/s = "
              f"{statistics.median(ratios):.3f}x | runs: {', '.join(f'{r:.3f}' for r in ratios)} | >= 0.95x |")
    if args.json:
        from benchmarks.suite import write_json

        write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
