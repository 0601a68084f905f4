"""The model the GUI recognizes with: loaded in the background, shared by every tab.

TensorFlow is imported only inside the loader thread, so the window comes up at once.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

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


_heap_settled = False


def settle_heap() -> None:
    """Once per process, after the first model is loaded: move every object alive now (TensorFlow,
    Keras and the model: hundreds of thousands, alive for the whole session) out of the cyclic
    garbage collector's reach (``gc.freeze``). Otherwise each full collection walks them all,
    holding the GIL for ~200 ms, and one triggered by training on a worker thread (e.g. while
    it traces the augmentation pipeline) stalls the event loop for that long."""
    global _heap_settled
    if not _heap_settled:
        import gc

        gc.freeze()
        _heap_settled = True


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


class ModelHolder(QObject):
    """Owns the active Recognizer; loads models on its own thread."""

    loading = Signal(str)  # what is being loaded (a path, or "bundled model")
    ready = Signal(object)  # the loaded Recognizer
    failed = Signal(str)  # why loading failed, for a person
    notice = Signal(str)  # a model was loaded instead of the one asked for, and why

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._recognizer: Recognizer | None = None
        self._runner: TaskRunner | None = None
        self._error: str | None = None

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
        settle_heap()
        self._recognizer = rec
        self._error = None
        self.ready.emit(rec)

    def shutdown(self) -> None:
        """Stop the loader thread (waits for a load in progress to finish: loading a model
        cannot be cancelled)."""
        if self._runner is not None:
            self._runner.shutdown()

    @Slot(object, object)
    def _on_loaded(self, _tag: Any, value: "Recognizer | tuple[Recognizer, str | None]") -> None:
        rec, note = value if isinstance(value, tuple) else (value, None)
        log.info("model %s ready", rec.name)
        self.set_recognizer(rec)
        if note:
            log.warning("%s", note)
            self.notice.emit(note)

    @Slot(object, object)
    def _on_failed(self, tag: Any, exc: Exception) -> None:
        self._error = (f"Could not load the {tag}: {describe_error(exc)}" if tag in ("bundled model", "active model")
                       else describe_error(exc))
        log.error("model loading failed: %s", self._error)
        self.failed.emit(self._error)
