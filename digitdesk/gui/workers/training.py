"""Training on a worker QThread: a QObject worker adapts the core's plain callables
(``on_progress`` -> a buffer; ``should_stop`` <- a flag set by :meth:`TrainSession.stop`).

The worker never touches a widget. Per-batch ``Progress`` reports go into a buffer that the GUI
drains on a timer (as friture drains its audio buffer): no cross-thread event and no GUI-thread
wake-up per batch, which on two cores measurably slowed training. Log lines and the final
:class:`TrainOutcome` are signals; the GUI thread decides what to show.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import deque
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from digitdesk.gui.workers.recognition import describe_error
from digitdesk.core.runs import RunStore
from digitdesk.core.trainrequest import SOURCES, TrainData, TrainRequest, load_data, run_training
from digitdesk.gui.workers.run import RunThread, RunWorker

log = logging.getLogger(__name__)


@dataclass
class TrainOutcome:
    """A finished (or stopped) run: what was asked, the data it used and the core's result."""

    request: TrainRequest
    data: TrainData
    result: object  # core.training.TrainResult
    base_name: str | None = None  # fine-tuning: the model it started from
    batches_after_stop: int | None = None  # batches reported after Stop was pressed (None: no Stop)


class TrainWorker(RunWorker):
    """Loads the data and trains; lives on its own QThread."""

    log = Signal(str)  # a line for the log
    finished = Signal(object)  # the TrainOutcome (also after Stop); not sent when aborted
    failed = Signal(str)  # why the run could not happen, for a person

    def __init__(self, request: TrainRequest, buffer: deque, base_model=None, base_name: str | None = None,
                 runs: RunStore | None = None):
        super().__init__()
        self.request, self.base_model, self.base_name = request, base_model, base_name
        self.runs = runs  # where the run is kept (None: the per-user runs store)
        self.buffer = buffer  # Progress reports for the GUI thread (deque: thread-safe append/popleft)
        self.aborted = False
        self.batches = 0  # batch reports so far
        self.batches_at_stop: int | None = None

    def stop(self, abort: bool = False) -> None:
        """Ask the run to end after the current batch (thread-safe). ``abort``: the window is
        closing, send no result."""
        self.aborted = self.aborted or abort
        if self.batches_at_stop is None:
            self.batches_at_stop = self.batches
        super().stop()

    def _report(self, p) -> None:
        if p.kind == "batch":
            self.batches += 1
        self.buffer.append(p)

    def work(self) -> None:
        """Load the data, train, and send the outcome (or why it failed) unless aborted."""
        try:
            t0 = time.perf_counter()
            req = self.request
            what = "your samples + MNIST" if req.fine_tune is not None else SOURCES.get(req.source, req.source).rstrip("…")
            from digitdesk.core.tfimport import import_tensorflow

            if "tensorflow" not in sys.modules:  # reading never imports it: the session's first training does
                self.log.emit("Starting TensorFlow (the first training of a session waits a few seconds for it)…")
            import_tensorflow()  # one import at a time with the model loader (see import_tensorflow)
            self.log.emit(f"Loading {what}…")
            data = load_data(req)
            d = data.dataset
            parts = [d.source]
            if f"{len(d.train):,}" not in d.source:
                parts.append(f"{len(d.train):,} training images")
            if req.fine_tune is None and req.config.validation_split:
                parts.append(f"{req.config.validation_split:.0%} held out for validation")
            parts.append(f"{len(d.test):,} test images ({time.perf_counter() - t0:.1f} s)")
            self.log.emit("Data: " + "; ".join(parts))
            if self.stopping():
                self.log.emit("Stopped before training started.")
                return
            arch = f"fine-tuning {self.base_name or 'the active model'}" if req.fine_tune else req.config.arch
            self.log.emit(f"Training {arch}…")
            base = self.base_model
            if hasattr(base, "keras_model"):  # a Recognizer: read through LiteRT, trained with Keras
                base = base.keras_model()
            result = run_training(req, data, base, self._report, self.stopping, runs=self.runs)
            if not self.aborted:
                after = None if self.batches_at_stop is None else self.batches - self.batches_at_stop
                self.finished.emit(TrainOutcome(req, data, result, self.base_name, after))
        except Exception as exc:  # shown to the person by the GUI thread
            log.debug("training failed", exc_info=True)
            if not self.aborted:
                self.failed.emit(describe_error(exc))


class TrainSession(RunThread):
    """Starts one training run at a time on a fresh QThread and stops it cooperatively."""

    log = Signal(str)  # a line for the log
    finished = Signal(object)  # TrainOutcome
    failed = Signal(str)  # a person's message
    ended = Signal()  # the thread has stopped

    def __init__(self, parent: QObject | None = None, runs: RunStore | None = None):
        super().__init__("trainer", parent)
        self._buffer: deque = deque()
        self.runs = runs  # where each run is kept (None: the per-user runs store)

    @property
    def worker(self) -> TrainWorker | None:
        """The current run's worker (None between runs)."""
        return self._worker

    def drain(self) -> list:
        """The core ``Progress`` reports (batch and epoch) since the last call, oldest first."""
        out = []
        while True:
            try:
                out.append(self._buffer.popleft())
            except IndexError:
                return out

    def start(self, request: TrainRequest, base_model=None, base_name: str | None = None) -> None:
        """Run ``request`` in the background: reports for :meth:`drain`, then ``finished`` or
        ``failed``, then ``ended``."""
        if self.running:
            raise RuntimeError("a training run is already going")
        self._buffer = deque()
        worker = TrainWorker(request, self._buffer, base_model, base_name, self.runs)
        worker.log.connect(self.log)
        worker.finished.connect(self.finished)
        worker.failed.connect(self.failed)
        self._start_run(worker)

    def stop(self) -> None:
        """End the run after the current batch; its result (best weights so far) still follows."""
        if self._worker is not None:
            self._worker.stop()

    def abort(self) -> None:
        """Ask the run to end at the next batch and send no result (returns at once)."""
        if self._worker is not None:
            self._worker.stop(abort=True)

    def shutdown(self) -> None:
        """Abort the run and wait for its thread (window closing); no result is sent."""
        self.abort()
        if self._end_run():
            self.ended.emit()

    def _run_ended(self) -> None:
        self.ended.emit()
