"""Recording one training run into the runs store (:mod:`digitdesk.core.runs`): written when it
starts (status "running", with the process id), at every epoch's end and when it ends
("finished", "cancelled" or "failed" with the error). The CLI's job and the Train tab's request
both record through :class:`RunRecorder`.

Recording never changes how training goes: a run that cannot be written is logged and training
carries on, and the recorder re-raises nothing of its own.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time
from typing import Callable

from digitdesk import __version__
from digitdesk.core.errors import Cancelled
from digitdesk.core.modelio import now_iso
from digitdesk.core.runs import RunStore, new_run_id
from digitdesk.core.trainhistory import batch_value
from digitdesk.core.training import Progress, TrainConfig, TrainResult, epochs_trained

log = logging.getLogger(__name__)

MAX_BATCH_POINTS = 2000  # per-batch history kept per run, after down-sampling


def _num(value, digits: int = 6) -> float | None:
    """A finite float rounded for the record, else None (JSON has no NaN)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return round(value, digits) if math.isfinite(value) else None


class BatchCurve:
    """Per-batch (epoch, loss, accuracy) points, at most ``limit``: when full, neighbours are
    averaged in pairs and each later point averages twice as many batches."""

    def __init__(self, limit: int = MAX_BATCH_POINTS):
        self.limit = max(2, limit - limit % 2)
        self.stride = 1  # batches per point
        self.points: list[tuple[float, float, float]] = []
        self._pending: list[tuple[float, float, float]] = []

    def add(self, x: float, loss: float, accuracy: float) -> None:
        self._pending.append((x, loss, accuracy))
        if len(self._pending) < self.stride:
            return
        self.points.append(_mean(self._pending))
        self._pending = []
        if len(self.points) >= self.limit:
            self.points = [_mean(self.points[i:i + 2]) for i in range(0, len(self.points), 2)]
            self.stride *= 2

    def to_dict(self) -> dict:
        points = self.points + ([_mean(self._pending)] if self._pending else [])
        return {"batches_per_point": self.stride,
                "epoch": [round(p[0], 5) for p in points],
                "loss": [round(p[1], 5) for p in points],
                "accuracy": [round(p[2], 5) for p in points]}


def _mean(points: list[tuple[float, ...]]) -> tuple[float, ...]:
    return tuple(sum(p[i] for p in points) / len(points) for i in range(len(points[0])))


class RunRecorder:
    """Keeps one run's record and writes it to ``store`` at start, every epoch and the end."""

    def __init__(self, store: RunStore | None, record: dict):
        self.store, self.record = store, record  # store None: the run is not kept
        self.id: str = record["id"]
        self.batches = BatchCurve()
        self.epochs: list[dict] = []
        self._t0 = time.monotonic()
        self._prev: tuple[int, float, float] | None = None  # (epoch, running loss, running accuracy)
        self._written_name: str | None = None
        self.gone = False  # the file was deleted while the run went on: stop writing it

    @classmethod
    def start(cls, config: TrainConfig, data_source: str, train_samples: int, store: RunStore | None = None,
              name: str | None = None, source: str = "cli", extra: dict | None = None) -> "RunRecorder":
        """Record a run that starts now (status "running"); ``source``: "cli" or "train tab"."""
        try:
            store = store if store is not None else RunStore()
            run_id = store.new_id()
        except OSError:  # no per-user folder: the run is not kept, training goes on
            log.warning("cannot keep this training run: no runs folder", exc_info=True)
            store, run_id = None, new_run_id()
        record = {
            "id": run_id,
            "name": name or config.arch,
            "status": "running",
            "source": source,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "date": now_iso(),
            "architecture": config.arch,
            "parameters": None,
            "epochs": 0,
            "epochs_planned": config.epochs,
            "config": config.to_dict(),
            "augmentation": {"on": bool(config.augment),
                             "params": config.augment_params.to_dict() if config.augment else None},
            "data": data_source,
            "train_samples": int(train_samples),
            "digitdesk_version": __version__,
            **(extra or {}),
        }
        recorder = cls(store, record)
        recorder.save()
        return recorder

    def progress(self, forward: Callable[[Progress], None] | None = None) -> Callable[[Progress], None]:
        """An ``on_progress`` that records each report, then passes it on to ``forward``."""
        def on_progress(p: Progress) -> None:
            self.add(p)
            if forward is not None:
                forward(p)

        return on_progress

    def add(self, p: Progress) -> None:
        """Record one report; an epoch's end is written to the store."""
        try:
            if p.kind == "epoch":
                self.epochs.append({"epoch": p.epoch, "loss": _num(p.loss), "accuracy": _num(p.accuracy),
                                    "val_loss": _num(p.val_loss), "val_accuracy": _num(p.val_accuracy),
                                    "learning_rate": _num(p.learning_rate, 8),
                                    "samples_per_s": _num(p.samples_per_s, 1), "elapsed": _num(p.elapsed, 2)})
                self.record["epochs"] = p.epoch
                self.save()
                return
            before = self._prev if self._prev is not None and self._prev[0] == p.epoch else None
            loss = batch_value(p.loss, before[1] if before else None, p.batch)  # Keras: running means
            acc = batch_value(p.accuracy, before[2] if before else None, p.batch)
            self._prev = (p.epoch, p.loss, p.accuracy)
            if math.isfinite(loss) and math.isfinite(acc):
                self.batches.add(p.epoch - 1 + p.batch / max(1, p.batches), loss, acc)
        except Exception:  # recording must not stop training
            log.warning("could not record a progress report of run %s", self.id, exc_info=True)

    def finish(self, result: TrainResult, test_report=None, model_path: str | os.PathLike | None = None) -> None:
        """The run ended with ``result``: "cancelled" if stopped on request, else "finished"."""
        r = self.record
        r["status"] = "cancelled" if result.cancelled else "finished"
        r["epochs"] = epochs_trained(result)
        r["epochs_run"] = result.epochs_run
        r["best_epoch"] = result.best_epoch
        r["stopped_early"] = bool(result.stopped and not result.cancelled)
        r["training_seconds"] = _num(result.seconds, 2)
        r["samples_per_s"] = _num(result.samples_per_s, 1)
        try:
            r["parameters"] = int(result.model.count_params())
        except Exception:
            pass
        if test_report is not None:
            r["test"] = test_report.to_dict()
        if model_path is not None:
            r["model"] = str(model_path)
        self._end()

    def add_test(self, test_report, model_path: str | os.PathLike | None = None) -> None:
        """The test metrics of a run that ended before it was evaluated (the Train tab tests after)."""
        self.record["test"] = test_report.to_dict()
        if model_path is not None:
            self.record["model"] = str(model_path)
        self.save()

    def fail(self, exc: BaseException) -> None:
        """The run ended with ``exc``: Ctrl+C or a stop request is "cancelled", the rest "failed"."""
        cancelled = isinstance(exc, (KeyboardInterrupt, Cancelled))
        self.record["status"] = "cancelled" if cancelled else "failed"
        self.record["error"] = str(exc) or type(exc).__name__
        self.record["error_type"] = type(exc).__name__
        self._end()

    def _end(self) -> None:
        self.record["ended"] = now_iso()
        self.save()

    def save(self) -> None:
        """Write the record now (atomically); problems are logged, never raised."""
        if self.gone or self.store is None:
            return
        r = self.record
        r["wall_seconds"] = round(time.monotonic() - self._t0, 2)
        r["epoch_history"] = self.epochs
        r["batch_history"] = self.batches.to_dict()
        try:
            if self._written_name is not None:
                if not self.store.path(self.id).exists():
                    self.gone = True  # deleted by the person: not brought back
                    return
                on_disk = self.store.entry(self.id)
                if on_disk.record is not None and on_disk.name != self._written_name:
                    r["name"] = on_disk.name  # renamed meanwhile: keep the new name
            self.store.write(r)
            self._written_name = r["name"]
        except Exception:
            log.warning("could not keep run %s in %s", self.id, self.store.root, exc_info=True)
