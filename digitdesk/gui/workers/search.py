"""A hyperparameter search on a worker QThread (:mod:`digitdesk.core.tuning`), then the best
configuration trained to the end and tested. As training does, the worker puts the core's
progress reports (:class:`~digitdesk.core.tuning.SearchProgress` during the search, training
``Progress`` after) in a buffer the GUI drains on a timer; Stop is the core's ``should_stop``.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from digitdesk.core.runs import RunStore
from digitdesk.gui.workers.recognition import describe_error
from digitdesk.gui.workers.run import RunThread, RunWorker

log = logging.getLogger(__name__)


@dataclass
class SearchOutcome:
    """What a search run ended with: the trials, and the best model if it was trained."""

    search: object  # core.tuning.SearchResult (None: stopped before the search began)
    best: object = None  # core.tuning.BestModel (None: stopped, or not trained)
    best_stopped: bool = False  # Stop came while the best was training


class SearchWorker(RunWorker):
    """Loads MNIST, searches, trains the best; lives on its own QThread."""

    log = Signal(str)  # a line for the status
    finished = Signal(object)  # the SearchOutcome (also after Stop); not sent when aborted
    failed = Signal(str)  # why the search could not run, for a person

    def __init__(self, config, buffer: deque, runs: RunStore | None = None, root: str | None = None,
                 fresh: bool = False, train_best: bool = True):
        super().__init__()
        self.config, self.buffer, self.runs, self.root = config, buffer, runs, root
        self.fresh, self.train_best = fresh, train_best
        self.aborted = False

    def stop(self, abort: bool = False) -> None:
        """End the current trial within a batch (thread-safe); ``abort``: send no result."""
        self.aborted = self.aborted or abort
        super().stop()

    def work(self) -> None:
        try:
            from digitdesk.core.tfimport import import_tensorflow

            self.log.emit("Loading MNIST…")
            import_tensorflow()
            from digitdesk.core.trainrequest import load_mnist_default
            from digitdesk.core.tuning import run_search, train_best

            dataset = load_mnist_default()
            if self.stopping():
                return self._send(SearchOutcome(None))
            self.log.emit("Searching…")
            result = run_search(self.config, dataset.train, self.buffer.append, self.stopping, root=self.root,
                                fresh=self.fresh)
            if result.cancelled or not self.train_best:
                return self._send(SearchOutcome(result))
            self.log.emit("Training the best configuration…")
            best = train_best(result, dataset, self.buffer.append, self.stopping, runs=self.runs,
                              source="train tab", name=f"{self.config.family} searched")
            self._send(SearchOutcome(result, best, best.result.cancelled))
        except Exception as exc:  # shown to the person by the GUI thread
            log.debug("search failed", exc_info=True)
            if not self.aborted:
                self.failed.emit(describe_error(exc))

    def _send(self, outcome: SearchOutcome) -> None:
        if not self.aborted:
            self.finished.emit(outcome)


class SearchSession(RunThread):
    """Runs one search at a time on a fresh QThread and stops it cooperatively."""

    log = Signal(str)  # a status line
    finished = Signal(object)  # SearchOutcome
    failed = Signal(str)  # a person's message
    ended = Signal()  # the thread has stopped

    def __init__(self, parent: QObject | None = None, runs: RunStore | None = None, root: str | None = None):
        super().__init__("search", parent)
        self._buffer: deque = deque()
        self.runs, self.root = runs, root  # None: the per-user runs store and tuning folder

    def drain(self) -> list:
        """The progress reports since the last call, oldest first."""
        out = []
        while True:
            try:
                out.append(self._buffer.popleft())
            except IndexError:
                return out

    def start(self, config, fresh: bool = False, train_best: bool = True) -> None:
        """Search ``config`` (a core SearchConfig) in the background, then train its best."""
        if self.running:
            raise RuntimeError("a search is already going")
        self._buffer = deque()
        worker = SearchWorker(config, self._buffer, self.runs, self.root, fresh, train_best)
        worker.log.connect(self.log)
        worker.finished.connect(self.finished)
        worker.failed.connect(self.failed)
        self._start_run(worker)

    def stop(self) -> None:
        """End the current trial within a batch; the finished trials are kept."""
        if self._worker is not None:
            self._worker.stop()

    def shutdown(self) -> None:
        """Stop and wait for the thread, sending no result (window closing)."""
        if self._worker is not None:
            self._worker.stop(abort=True)
        if self._end_run():
            self.ended.emit()

    def _run_ended(self) -> None:
        self.ended.emit()
