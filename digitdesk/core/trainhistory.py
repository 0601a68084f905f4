"""What the Train tab shows about a run, as plain data (no Qt): per-batch training curves,
validation per epoch, how far the run is and how long it has left.

Keras reports per-batch loss and accuracy as running means since the start of the epoch; the
curves undo that averaging (so each point is one batch) and then smooth with a bias-corrected
exponential moving average, as TensorBoard does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from digitdesk.core.training import Progress

SMOOTHING = 0.9  # EMA weight of the past; ~10 batches


def format_duration(seconds: float) -> str:
    """``0:42``, ``12:05`` or ``1h07``."""
    if not math.isfinite(seconds):
        return "?"
    s = int(round(max(0.0, seconds)))
    return f"{s // 60}:{s % 60:02d}" if s < 3600 else f"{s // 3600}h{s % 3600 // 60:02d}"


def batch_value(mean_now: float, mean_before: float | None, batch: int) -> float:
    """The value of batch ``batch`` (1-based) from the running means after it and before it."""
    if batch <= 1 or mean_before is None:
        return mean_now
    return batch * mean_now - (batch - 1) * mean_before


@dataclass
class _Ema:
    beta: float
    value: float = 0.0
    steps: int = 0

    def add(self, x: float) -> float:
        self.steps += 1
        self.value = self.beta * self.value + (1 - self.beta) * x
        return self.value / (1 - self.beta ** self.steps)


@dataclass
class TrainHistory:
    """Accumulates :class:`Progress` reports; ``version`` changes with every report."""

    smoothing: float = SMOOTHING
    x: list[float] = field(default_factory=list)  # fractional epochs, one per batch
    loss: list[float] = field(default_factory=list)  # smoothed training loss per batch
    accuracy: list[float] = field(default_factory=list)  # smoothed training accuracy per batch
    epochs: list[Progress] = field(default_factory=list)  # the per-epoch reports
    last: Progress | None = None
    version: int = 0

    def __post_init__(self) -> None:
        self._loss_ema, self._acc_ema = _Ema(self.smoothing), _Ema(self.smoothing)
        self._prev: tuple[int, float, float] | None = None  # (epoch, running loss, running accuracy)

    def add(self, p: Progress) -> None:
        """Record one report (batch or epoch)."""
        self.last = p
        self.version += 1
        if p.kind == "epoch":
            self.epochs.append(p)
            return
        before = self._prev if self._prev is not None and self._prev[0] == p.epoch else None
        loss = batch_value(p.loss, before[1] if before else None, p.batch)
        acc = batch_value(p.accuracy, before[2] if before else None, p.batch)
        self._prev = (p.epoch, p.loss, p.accuracy)
        if not (math.isfinite(loss) and math.isfinite(acc)):
            return
        self.x.append(p.epoch - 1 + p.batch / max(1, p.batches))
        self.loss.append(self._loss_ema.add(max(0.0, loss)))
        self.accuracy.append(self._acc_ema.add(min(1.0, max(0.0, acc))))

    # What the plots draw -------------------------------------------------------------------

    def curves(self) -> dict[str, np.ndarray]:
        """Arrays for the plots: ``x, loss, accuracy`` per batch; ``val_x, val_loss,
        val_accuracy`` per epoch with validation."""
        val = [e for e in self.epochs if e.val_loss is not None]
        return {
            "x": np.asarray(self.x), "loss": np.asarray(self.loss), "accuracy": np.asarray(self.accuracy),
            "val_x": np.asarray([float(e.epoch) for e in val]),
            "val_loss": np.asarray([e.val_loss for e in val], dtype=float),
            "val_accuracy": np.asarray([e.val_accuracy if e.val_accuracy is not None else np.nan for e in val],
                                       dtype=float),
        }

    # Progress -------------------------------------------------------------------------------

    def fraction(self) -> float:
        """How much of the planned run is done, 0..1 (advances with every batch)."""
        p = self.last
        if p is None:
            return 0.0
        total = p.epochs * max(1, p.batches)
        return min(1.0, ((p.epoch - 1) * p.batches + p.batch) / total)

    def seconds_left(self) -> float:
        """Estimated seconds until the planned last epoch ends (nan before the first batch)."""
        p, done = self.last, self.fraction()
        if p is None or done <= 0:
            return math.nan
        return p.elapsed * (1 - done) / done

    def status_text(self) -> str:
        """``Epoch 2/5 · batch 120/422 · 2,310 samples/s · 0:42 left``."""
        p = self.last
        if p is None:
            return "Starting…"
        return (f"Epoch {p.epoch}/{p.epochs} · batch {p.batch}/{p.batches} · "
                f"{p.samples_per_s:,.0f} samples/s · {format_duration(self.seconds_left())} left")


def epoch_line(p: Progress) -> str:
    """One log line for an epoch report."""
    text = f"Epoch {p.epoch}/{p.epochs}: loss {p.loss:.4f}, accuracy {p.accuracy:.2%}"
    if p.val_loss is not None:
        text += f"; validation loss {p.val_loss:.4f}"
        if p.val_accuracy is not None:
            text += f", accuracy {p.val_accuracy:.2%}"
    return text + f" · {p.samples_per_s:,.0f} samples/s · lr {p.learning_rate:.2g} · {format_duration(p.elapsed)}"
