"""The model the GUI recognizes with: loaded in the background, shared by every tab.

Models are read through their LiteRT twins, without TensorFlow. A model without a fresh twin is
read with Keras (TensorFlow imported inside the loader thread) while a child process makes its
twin (:class:`TwinMaker`), then reloaded through it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, QProcess, Signal, Slot

from digitdesk.core.errors import DigitdeskError
from digitdesk.gui.workers.threads import TaskRunner

if TYPE_CHECKING:  # no TensorFlow import at runtime here
    from digitdesk.core.modelstore import ModelStore
    from digitdesk.core.recognizer import Reading, Recognizer

log = logging.getLogger(__name__)


def load_recognizer(path: str | os.PathLike | None = None) -> "Recognizer":
    """Import the engine and load a model (default: the bundled one); runs on a worker thread."""
    from digitdesk.core.recognizer import Recognizer

    return Recognizer.load(path)


def load_active_recognizer(store: "ModelStore") -> "tuple[Recognizer, str | None]":
    """Load the store's active model (runs on a worker thread). If it is broken or fails to load,
    load the bundled one instead; the second value then says why, for a person."""
    from digitdesk.core.errors import ModelError
    from digitdesk.core.recognizer import Recognizer

    info = store.active()
    note = None
    wanted = store.requested_id()
    if wanted and wanted != info.id:
        try:
            broken = store.get(wanted)
            why = broken.broken or "it cannot be used"
            name = broken.name
        except ModelError as exc:
            why, name = str(exc), wanted
        note = f"Your active model “{name}” cannot be used ({why}); using the bundled model."
    try:
        return Recognizer.load(info.path), note
    except ModelError as exc:
        if info.bundled:
            raise
        note = f"Your active model “{info.name}” could not be loaded ({exc}); using the bundled model."
        return Recognizer.load(store.bundled_path), note


def describe_error(exc: BaseException) -> str:
    """A one-line message for a person: the engine's own message, or the exception's type and text."""
    if isinstance(exc, DigitdeskError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def model_summary(rec: "Recognizer | None") -> str:
    """Status-bar text for a model, e.g. ``Model: default · MNIST 99.62%``."""
    if rec is None:
        return "Loading model…"
    acc = rec.accuracy
    return f"Model: {rec.name} · MNIST {acc:.2%}" if acc is not None else f"Model: {rec.name}"


def timed_read(rec: "Recognizer", image: np.ndarray, keep_stages: bool = False,
               should_stop: Callable[[], bool] | None = None, dark_ink: bool | None = None) -> tuple["Reading", float]:
    """``rec.read(image)`` and the seconds it took (runs on a worker thread). ``should_stop``
    (e.g. :meth:`TaskRunner.stopping`) is passed on: once true, ``Cancelled`` is raised."""
    t0 = time.perf_counter()
    reading = rec.read(image, keep_stages=keep_stages, should_stop=should_stop, dark_ink=dark_ink)
    return reading, time.perf_counter() - t0


TWIN_KILL_WAIT_MS = 300  # quitting: how long a killed conversion may take to exit


class TwinMaker(QObject):
    """Makes LiteRT twins one at a time, each in a child process (``digitdesk twin MODEL``):
    TensorFlow never loads in the app to convert, and quitting kills the child at once (its
    files are renamed into place only when complete)."""

    made = Signal(str)  # the .keras path whose twin is now written
    failed = Signal(str, str)  # the .keras path, why its twin could not be made

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._queue: list[str] = []
        self._process: QProcess | None = None
        self._current: str | None = None

    @property
    def busy(self) -> bool:
        return self._process is not None

    def make(self, model_path: str | os.PathLike) -> None:
        """Queue the conversion of a ``.keras`` file (ignored if queued or converting already)."""
        path = os.fspath(model_path)
        if path != self._current and path not in self._queue:
            self._queue.append(path)
            self._next()

    def _next(self) -> None:
        if self._process is not None or not self._queue:
            return
        from digitdesk.core.twin import twin_command

        self._current = self._queue.pop(0)
        program, *args = twin_command(self._current)
        self._process = QProcess(self)
        self._process.finished.connect(self._on_finished)
        self._process.errorOccurred.connect(self._on_error)
        log.info("making the LiteRT twin of %s", self._current)
        self._process.start(program, args)

    @Slot(int, QProcess.ExitStatus)
    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        process, path = self._process, self._current
        if process is None:
            return
        err = bytes(process.readAllStandardError()).decode(errors="replace").strip().splitlines()
        self._process, self._current = None, None
        process.deleteLater()
        if code == 0 and status == QProcess.ExitStatus.NormalExit:
            self.made.emit(path)
        else:
            why = err[-1].removeprefix("digitdesk: error: ") if err else f"the converter exited with status {code}"
            self.failed.emit(path, why)
        self._next()

    @Slot(QProcess.ProcessError)
    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self._process is not None:
            path, self._current = self._current, None
            self._process.deleteLater()
            self._process = None
            self.failed.emit(path, "the converter could not be started")
            self._next()

    def shutdown(self) -> None:
        """Drop the queue and kill a conversion in progress (it leaves the old twin or none)."""
        self._queue.clear()
        process, self._process = self._process, None
        if process is not None:
            process.finished.disconnect(self._on_finished)
            process.kill()
            process.waitForFinished(TWIN_KILL_WAIT_MS)


class ModelHolder(QObject):
    """Owns the active Recognizer; loads models on its own thread."""

    loading = Signal(str)  # what is being loaded (a path, or "bundled model")
    ready = Signal(object)  # the loaded Recognizer
    failed = Signal(str)  # why loading failed, for a person
    notice = Signal(str)  # a model was loaded instead of the one asked for, and why
    status = Signal(str)  # how the model's LiteRT twin is coming along, for the status bar

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._recognizer: Recognizer | None = None
        self._runner: TaskRunner | None = None
        self._error: str | None = None
        self.twins = TwinMaker(self)
        self.twins.made.connect(self._on_twin_made)
        self.twins.failed.connect(self._on_twin_failed)

    @property
    def recognizer(self) -> "Recognizer | None":
        """The active model, or None while none is loaded."""
        return self._recognizer

    @property
    def error(self) -> str | None:
        """Why the last load failed, or None."""
        return self._error

    def load(self, path: str | os.PathLike | None = None, store: "ModelStore | None" = None) -> None:
        """Start loading a model in the background (with ``store``: its active one); ``ready``
        or ``failed`` follows. The model in use stays in use until the new one is ready."""
        if self._runner is None:
            self._runner = TaskRunner("model-loader", self)
            self._runner.finished.connect(self._on_loaded)
            self._runner.failed.connect(self._on_failed)
        self._error = None
        if store is not None:
            self.loading.emit("active model")
            self._runner.submit(load_active_recognizer, store, tag="active model")
            return
        what = str(path) if path else "bundled model"
        self.loading.emit(what)
        self._runner.submit(load_recognizer, path, tag=what)

    def load_active(self, store: "ModelStore") -> None:
        """Load the store's active model (falling back to the bundled one) in the background."""
        self.load(None, store=store)

    def set_recognizer(self, rec: "Recognizer") -> None:
        """Use an already loaded model."""
        self._recognizer = rec
        self._error = None
        self.ready.emit(rec)

    def make_twin(self, model_path: str | os.PathLike) -> None:
        """Make the LiteRT twin of a ``.keras`` file in the background (a new or imported model)."""
        if str(model_path).lower().endswith(".keras"):
            self.twins.make(model_path)

    def shutdown(self) -> None:
        """Kill a twin conversion and stop the loader thread (waits for a load in progress to
        finish: loading a model cannot be cancelled, and through LiteRT it takes milliseconds)."""
        self.twins.shutdown()
        if self._runner is not None:
            self._runner.shutdown()

    @Slot(object, object)
    def _on_loaded(self, _tag: Any, value: "Recognizer | tuple[Recognizer, str | None]") -> None:
        rec, note = value if isinstance(value, tuple) else (value, None)
        log.info("model %s ready (%s)", rec.name, rec.runtime)
        self.set_recognizer(rec)
        if note:
            log.warning("%s", note)
            self.notice.emit(note)
        self._make_missing_twin(rec)

    def _make_missing_twin(self, rec: "Recognizer") -> None:
        from digitdesk.core.twin import keras_forced

        if rec.twin_problem and rec.path is not None and not keras_forced():
            log.info("%s: %s", rec.path, rec.twin_problem)
            self.status.emit(f"Preparing fast reading for “{rec.name}” ({rec.twin_problem}); "
                             "reading with TensorFlow meanwhile…")
            self.make_twin(rec.path)

    @Slot(str)
    def _on_twin_made(self, path: str) -> None:
        rec = self._recognizer
        log.info("LiteRT twin of %s written", path)
        if rec is not None and rec.runtime == "keras" and rec.path is not None and os.fspath(rec.path) == path:
            self.status.emit(f"Fast reading ready for “{rec.name}” (LiteRT)")
            self._reload_quietly(path)

    def _reload_quietly(self, path: str) -> None:
        """Load the model again (now through its twin) without the ``loading`` signal."""
        self._runner.submit(load_recognizer, path, tag=path)

    @Slot(str, str)
    def _on_twin_failed(self, path: str, why: str) -> None:
        log.warning("could not make the LiteRT twin of %s: %s", path, why)
        self.status.emit(f"Could not prepare fast reading for {os.path.basename(path)} ({why}); reading with TensorFlow")

    @Slot(object, object)
    def _on_failed(self, tag: Any, exc: Exception) -> None:
        self._error = (f"Could not load the {tag}: {describe_error(exc)}" if tag in ("bundled model", "active model")
                       else describe_error(exc))
        log.error("model loading failed: %s", self._error)
        self.failed.emit(self._error)
