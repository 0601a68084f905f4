"""Run files for the tests, written through the real recorder (no TensorFlow, no Qt): a run with
its per-epoch history and a test report of a chosen accuracy, as the Train tab or the CLI keeps it."""

from __future__ import annotations

import numpy as np

from digitdesk.core.evaluate import report
from digitdesk.core.runrecord import RunRecorder
from digitdesk.core.runs import RunStore
from digitdesk.core.training import Progress, TrainConfig, TrainResult


def make_report(accuracy: float, count: int = 1000, seed: int = 0):
    """A Report of ``count`` test digits, ``accuracy`` of them read right (the rest as the next digit)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, count)
    pred = labels.copy()
    wrong = rng.choice(count, int(round(count * (1 - accuracy))), replace=False)
    pred[wrong] = (labels[wrong] + 1) % 10
    probs = np.full((count, 10), 0.02)
    probs[np.arange(count), pred] = 0.82
    return report(labels, pred, probs)


def record_run(store: RunStore, name: str, accuracy: float = 0.9, epochs: int = 3, arch: str = "tiny",
               parameters: int = 7018, augment: bool = False, cancelled: bool = False, seed: int = 0) -> str:
    """Record a run of ``epochs`` epochs whose curves approach ``accuracy``; returns its id."""
    config = TrainConfig(arch=arch, epochs=epochs, augment=augment, seed=seed)
    rec = RunRecorder.start(config, "MNIST", 500, store, name=name, extra={"parameters": parameters})
    for e in range(1, epochs + 1):
        acc = accuracy - 0.3 / e
        rec.add(Progress("epoch", e, epochs, 10, 10, 1.5 / e, acc - 0.01, 1000.0, e * 1.0, 1e-3,
                         1.6 / e, acc))
    result = TrainResult(model=None, history={}, stopped=cancelled, cancelled=cancelled, best_epoch=epochs,
                         epochs_run=epochs, seconds=epochs * 1.0, samples_per_s=1000.0, epochs_trained=epochs)
    rec.finish(result, make_report(accuracy, seed=seed))
    return rec.id
