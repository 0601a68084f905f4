"""The Train tab's work as plain functions (no Qt), run on worker threads: load the data a
request names, train (or fine-tune) through :mod:`digitdesk.core`, evaluate the result against
the test split and the active model, and build the metadata a saved model carries.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from digitdesk.core.data import Dataset, Split
from digitdesk.core.errors import DataError, TrainingError, raise_if_stopped
from digitdesk.core.finetune import FineTuneConfig
from digitdesk.core.training import Progress, TrainConfig, TrainResult

SOURCES = {  # key: what the person reads
    "mnist": "MNIST",
    "mnist-folder": "MNIST folder…",
    "csv": "Kaggle CSV",
    "folder": "Folder of labelled images",
    "samples": "My samples",
    "mnist+samples": "MNIST + my samples",
}
NEEDS_PATH = ("mnist-folder", "csv", "folder")
MNIST_MISSING = ("MNIST is not on this machine and could not be downloaded (are you offline?). Download the "
                 "four MNIST files (train-images-idx3-ubyte.gz and the other three) and choose their folder "
                 "as the Source: “MNIST folder…”.")
MAX_GALLERY = 96  # misclassified digits kept for the gallery


@dataclass
class TrainRequest:
    """Everything one run needs, chosen on the Train tab."""

    config: TrainConfig
    source: str = "mnist"
    path: str | None = None  # the MNIST folder, CSV file or image folder of "mnist-folder" / "csv" / "folder"
    fine_tune: FineTuneConfig | None = None  # set: fine-tune the active model on my samples + MNIST
    max_train: int = 0  # use at most this many training images (0: all)
    max_test: int = 0  # evaluate on at most this many test images (0: all)
    samples_root: str | None = None  # the SampleStore folder (None: the per-user one)


@dataclass
class TrainData:
    """The data of one run: what is trained on and tested on, and the user's samples if used."""

    dataset: Dataset  # its ``source`` says what was trained on, for the model's metadata
    name: str = ""  # the source in a few words, e.g. "MNIST"
    samples: Split | None = None
    mnist_train: Split | None = None  # fine-tuning mixes this in


@dataclass
class Evaluation:
    """How a trained model does on the test split, next to the active model."""

    report: object  # core.evaluate.Report
    test_source: str
    active_name: str | None = None
    active_accuracy: float | None = None
    samples_before: float | None = None  # fine-tuning: base model's accuracy on my samples
    samples_after: float | None = None
    wrong_images: np.ndarray = field(default_factory=lambda: np.zeros((0, 28, 28), np.uint8))
    wrong_true: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    wrong_pred: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    wrong_conf: np.ndarray = field(default_factory=lambda: np.zeros(0))
    wrong_index: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    metadata: dict = field(default_factory=dict)


def limit(split: Split, n: int, seed: int = 0) -> Split:
    """A seeded random subset of at most ``n`` images (all of them if ``n`` is 0), in order."""
    if n <= 0 or len(split) <= n:
        return split
    idx = np.sort(np.random.default_rng(seed).choice(len(split), n, replace=False))
    return Split(split.images[idx], None if split.labels is None else split.labels[idx])


def _concat(a: Split, b: Split) -> Split:
    return Split(np.concatenate([a.images, b.images]), np.concatenate([a.labels, b.labels]).astype(np.int64))


def load_mnist_default() -> Dataset:
    """MNIST where the core finds it ($DIGITDESK_DATA, the Keras cache, the download); when it is
    nowhere, a DataError that says what the Train tab offers instead."""
    from digitdesk.core.data import ENV_VAR, keras_cache_path, load_mnist

    try:
        return load_mnist()
    except DataError:
        if os.environ.get(ENV_VAR) or keras_cache_path().is_file():
            raise  # found, but unreadable: its own message names the file
        raise DataError(MNIST_MISSING) from None


def load_mnist_folder(path: str) -> Dataset:
    """MNIST from a folder the person chose, read by the core loader (an explicit path comes first)."""
    from digitdesk.core.data import IDX_NAMES, load_mnist

    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder")
    stems = [n for stem in IDX_NAMES.values() for n in (stem, stem.replace("-idx", ".idx"))]
    if not (folder / "mnist.npz").is_file() and not any(f.name.startswith(tuple(stems)) for f in folder.iterdir()):
        raise DataError(f"{folder}: holds no MNIST files; choose the folder with train-images-idx3-ubyte.gz, "
                        "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz "
                        "(or mnist.npz)")
    return dataclasses.replace(load_mnist(folder), source=f"MNIST ({folder})")


def load_data(request: TrainRequest) -> TrainData:
    """Load (and limit) the data ``request`` names; raises DataError with a person's message."""
    from digitdesk.core.data import holdout_split, load_source
    from digitdesk.core.samples import SampleStore

    source, seed = request.source, request.config.seed
    samples = None
    if request.fine_tune is not None or source in ("samples", "mnist+samples"):
        samples = SampleStore(request.samples_root).load()
        if len(samples) == 0:
            raise DataError("you have no samples of your handwriting yet: correct a few digits on the Draw "
                            "or Image tab (\"this is a 4\") first")
    if request.fine_tune is not None:
        mnist = load_mnist_default()
        train = limit(mnist.train, request.max_train, seed)
        text = "MNIST" + (f" ({len(train):,} of {len(mnist.train):,} training images)"
                          if len(train) < len(mnist.train) else "")
        dataset = Dataset(train, limit(mnist.test, request.max_test, seed), text)
        return TrainData(dataset, "MNIST", samples, train)
    if source in NEEDS_PATH:
        if not request.path:
            raise DataError(f"choose a {SOURCES[source].rstrip('…').lower()} first (Browse…)")
        dataset = load_mnist_folder(request.path) if source == "mnist-folder" else load_source(request.path)
    elif source == "samples":
        if len(samples) < 2:
            raise DataError("training needs at least 2 samples of your handwriting")
        train, test = holdout_split(samples)
        dataset = Dataset(train, test, f"your handwriting ({len(samples)} samples, 1/6 held out for testing)")
    elif source in ("mnist", "mnist+samples"):
        mnist = load_mnist_default()
        dataset = dataclasses.replace(mnist, source="MNIST")
    else:
        raise TrainingError(f"unknown data source {source!r}")
    train = limit(dataset.train, request.max_train, seed)
    test = limit(dataset.test, request.max_test, seed)
    name = text = dataset.source
    if len(train) < len(dataset.train):
        text += f" ({len(train):,} of {len(dataset.train):,} training images)"
    if source == "mnist+samples":
        train = _concat(train, samples)
        text += f" + {len(samples)} samples of your handwriting"
    return TrainData(Dataset(train, test, text), name, samples)


def run_training(request: TrainRequest, data: TrainData, base_model=None,
                 on_progress: Callable[[Progress], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> TrainResult:
    """Train as ``digitdesk train`` does (or fine-tune ``base_model``), through the core."""
    if request.fine_tune is not None:
        from digitdesk.core.finetune import fine_tune

        if base_model is None:
            raise TrainingError("fine-tuning needs the active model, and none is loaded yet")
        return fine_tune(base_model, data.samples, data.mnist_train, request.fine_tune,
                         on_progress=on_progress, should_stop=should_stop)
    from digitdesk.core.training import train

    return train(request.config, data.dataset.train, on_progress=on_progress, should_stop=should_stop)


def _accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    return float((probs.argmax(axis=1) == labels).mean()) if len(labels) else float("nan")


def evaluate(request: TrainRequest, data: TrainData, result: TrainResult, active=None,
             base_name: str | None = None, should_stop: Callable[[], bool] | None = None) -> Evaluation:
    """Test the trained model, compare with ``active`` (a Recognizer) on the same images, collect
    the misclassified digits (most confident mistakes first) and build the model's metadata.
    ``should_stop`` is checked between the steps; once true, ``Cancelled`` is raised."""
    from digitdesk.core.evaluate import predict_proba, report
    from digitdesk.core.trainjob import build_metadata

    test = data.dataset.test
    if test.labels is None or len(test) == 0:
        raise DataError("this data set has no labelled test images to evaluate on")
    raise_if_stopped(should_stop, "testing the new model")
    probs = predict_proba(result.model, test.images)
    raise_if_stopped(should_stop, "testing the new model")
    pred = probs.argmax(axis=1)
    rep = report(test.labels, pred, probs)
    wrong = np.flatnonzero(pred != test.labels)
    wrong = wrong[np.argsort(-probs[wrong, pred[wrong]], kind="stable")][:MAX_GALLERY]
    ev = Evaluation(rep, f"{len(test):,} test images of {data.name or data.dataset.source}",
                    wrong_images=test.images[wrong].copy(), wrong_true=test.labels[wrong].copy(),
                    wrong_pred=pred[wrong], wrong_conf=probs[wrong, pred[wrong]], wrong_index=wrong)
    if active is not None:
        ev.active_name = active.name
        ev.active_accuracy = _accuracy(active.classify_many(test.images, should_stop=should_stop), test.labels)
    if request.fine_tune is not None:
        from digitdesk.core.finetune import fine_tune_metadata

        s = data.samples
        raise_if_stopped(should_stop, "testing the new model")
        ev.samples_after = _accuracy(predict_proba(result.model, s.images), s.labels)
        if active is not None:
            ev.samples_before = _accuracy(active.classify_many(s.images, should_stop=should_stop), s.labels)
        ev.metadata = fine_tune_metadata(request.fine_tune, result, s, data.mnist_train, rep,
                                         base_model=base_name, data_source=data.dataset.source)
    else:
        ev.metadata = build_metadata(request.config, result, data.dataset, rep)
    return ev


def default_name(request: TrainRequest, base_name: str | None = None) -> str:
    """A name for the saved model, e.g. ``digitnet 2026-05-04 14:03``."""
    import datetime as _dt

    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    if request.fine_tune is not None:
        return f"{base_name or 'model'} + my handwriting {stamp}"
    return f"{request.config.arch} {stamp}"
