# No Qt: the Train tab's run bookkeeping (curves, progress, time left) is plain Python.
from __future__ import annotations

import math

import numpy as np
import pytest

from digitdesk.core.training import Progress
from digitdesk.core.trainhistory import TrainHistory, batch_value, epoch_line, format_duration


def batch(epoch, b, loss, acc, batches=4, epochs=2, elapsed=1.0):
    return Progress("batch", epoch, epochs, b, batches, loss, acc, 1000.0, elapsed, 1e-3)


def test_running_means_are_undone():
    values = [2.0, 1.0, 0.5, 0.3]
    means = np.cumsum(values) / np.arange(1, 5)
    got = [batch_value(means[0], None, 1)] + [batch_value(means[i], means[i - 1], i + 1) for i in range(1, 4)]
    assert got == pytest.approx(values)


def test_history_curves_progress_and_time_left():
    h = TrainHistory(smoothing=0.0)  # no smoothing: the curve is the per-batch values
    losses = [2.0, 1.0, 0.5, 0.3]
    means = np.cumsum(losses) / np.arange(1, 5)
    for b in range(4):
        h.add(batch(1, b + 1, float(means[b]), 0.5, elapsed=b + 1.0))
    assert h.curves()["loss"] == pytest.approx(losses)
    assert h.curves()["x"] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert h.fraction() == pytest.approx(0.5)
    assert h.seconds_left() == pytest.approx(4.0)
    h.add(Progress("epoch", 1, 2, 4, 4, float(means[-1]), 0.5, 900.0, 4.5, 1e-3, 0.4, 0.9))
    h.add(batch(2, 1, 0.2, 0.95, elapsed=5.0))  # a new epoch: its running mean starts again
    c = h.curves()
    assert c["loss"][-1] == pytest.approx(0.2) and c["x"][-1] == pytest.approx(1.25)
    assert list(c["val_x"]) == [1.0] and list(c["val_accuracy"]) == [0.9]
    assert h.fraction() == pytest.approx(5 / 8)
    assert h.status_text().startswith("Epoch 2/2 · batch 1/4 · 1,000 samples/s")
    assert "validation loss 0.4000" in epoch_line(h.epochs[0])


def test_smoothing_is_bias_corrected():
    h = TrainHistory(smoothing=0.9)
    for b in range(1, 4):
        h.add(batch(1, b, 1.0, 1.0))  # constant values stay constant, from the first point on
    assert h.curves()["loss"] == pytest.approx([1.0, 1.0, 1.0])


def test_format_duration():
    assert format_duration(42) == "0:42"
    assert format_duration(725) == "12:05"
    assert format_duration(4020) == "1h07"
    assert format_duration(math.nan) == "?"
