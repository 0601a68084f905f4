"""Background work for the GUI: QThreads that run plain functions and hand back plain results.

Workers never touch widgets: they call a core function and emit what it returned (or the
exception it raised); the GUI thread decides what to show. Every thread started here is
recorded so that tests (and the window's close) can check that none is left running.
"""

from __future__ import annotations

import ctypes
import itertools
import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

log = logging.getLogger(__name__)
_threads: "weakref.WeakSet[QThread]" = weakref.WeakSet()
CANCEL_AFTER_MS = 300  # closing: a job still running after this long is interrupted


class JobCancelled(BaseException):
    """Raised inside a job that :meth:`TaskRunner.shutdown` interrupts (a BaseException, so that
    the core's ``except Exception`` handlers do not swallow it)."""


def _raise_in_thread(thread_id: int, exc: type[BaseException] | None) -> bool:
    """Make ``exc`` raise in the Python thread ``thread_id`` at its next bytecode (None: forget a
    pending one). A call into C (OpenCV, TensorFlow) finishes first."""
    return ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc is not None else None) == 1


def register_thread(thread: QThread) -> QThread:
    """Record a QThread so :func:`running_threads` can report it."""
    _threads.add(thread)
    return thread


def running_threads() -> list[str]:
    """Names of the GUI's worker threads that are still running."""
    alive = []
    for t in list(_threads):
        try:
            if t.isRunning():
                alive.append(t.objectName() or "thread")
        except RuntimeError:  # the C++ object is already gone
            pass
    return alive


class _Worker(QObject):
    """Runs calls on its thread; lives there after ``moveToThread``."""

    done = Signal(int, object)  # job number, the value the call returned
    failed = Signal(int, object)  # job number, the exception the call raised

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._in_job: int | None = None  # the thread id while a call runs

    def interrupt(self) -> bool:
        """Raise :class:`JobCancelled` inside the running call (thread-safe); False if none runs."""
        with self._lock:
            return self._in_job is not None and _raise_in_thread(self._in_job, JobCancelled)

    @Slot(int, object)
    def run(self, job: int, call: Callable[[], Any]) -> None:
        try:
            try:
                with self._lock:
                    self._in_job = threading.get_ident()
                result = call()
            finally:
                with self._lock:
                    if self._in_job is not None:
                        _raise_in_thread(self._in_job, None)  # one that came too late is dropped
                    self._in_job = None
        except JobCancelled as exc:
            log.info("background job %d interrupted: the window is closing", job)
            self.failed.emit(job, exc)
        except Exception as exc:  # handed to the GUI thread, which shows it
            log.debug("background job %d failed", job, exc_info=True)
            self.failed.emit(job, exc)
        else:
            self.done.emit(job, result)


class TaskRunner(QObject):
    """A worker thread that runs one function at a time.

    ``submit`` while a job runs keeps only the newest waiting job (latest wins), so a fast
    producer (a webcam, a user drawing) never builds a queue."""

    finished = Signal(object, object)  # tag passed to submit, the function's return value
    failed = Signal(object, object)  # tag passed to submit, the exception it raised
    _start_job = Signal(int, object)  # job number, zero-argument callable (to the worker)

    def __init__(self, name: str, parent: QObject | None = None):
        super().__init__(parent)
        self._thread = register_thread(QThread())
        self._thread.setObjectName(name)
        self._worker = _Worker()
        self._worker.moveToThread(self._thread)
        self._start_job.connect(self._worker.run)
        self._worker.done.connect(self._on_done)
        self._worker.failed.connect(self._on_failed)
        self._thread.finished.connect(self._worker.deleteLater)
        self._jobs = itertools.count(1)
        self._running: tuple[int, Any] | None = None  # (job, tag) on the thread now
        self._pending: tuple[Any, Callable[[], Any]] | None = None  # (tag, call) waiting
        self._closed = False
        self._thread.start()

    @property
    def running_tag(self) -> Any:
        """The tag of the job running now (None if none)."""
        return self._running[1] if self._running is not None else None

    @property
    def busy(self) -> bool:
        """True while a job runs or waits."""
        return self._running is not None or self._pending is not None

    def submit(self, call: Callable[..., Any], *args: Any, tag: Any = None) -> None:
        """Run ``call(*args)`` on the worker thread; replaces a job that has not started yet."""
        if self._closed:
            return
        self._pending = (tag, (lambda: call(*args)) if args else call)
        if self._running is None:
            self._dispatch()

    def cancel_pending(self) -> None:
        """Forget the job waiting to start (a running job finishes, its result is still sent)."""
        self._pending = None

    def shutdown(self, cancel_after_ms: int | None = CANCEL_AFTER_MS) -> None:
        """Drop waiting work and stop the thread (blocks until then). A job still running after
        ``cancel_after_ms`` is interrupted (:class:`JobCancelled` raised inside it); None: wait
        for it to finish."""
        self._closed = True
        self._pending = None
        if self._thread.isRunning():
            self._thread.quit()
            if cancel_after_ms is None or self._thread.wait(cancel_after_ms):
                self._thread.wait()
                return
            try:
                self._worker.interrupt()
            except RuntimeError:  # the worker is already gone: so is its job
                pass
            self._thread.wait()

    def _dispatch(self) -> None:
        if self._pending is None or self._closed:
            return
        tag, call = self._pending
        self._pending = None
        job = next(self._jobs)
        self._running = (job, tag)
        self._start_job.emit(job, call)

    def _finish(self, job: int) -> Any:
        tag = self._running[1] if self._running and self._running[0] == job else None
        self._running = None
        return tag

    @Slot(int, object)
    def _on_done(self, job: int, result: Any) -> None:
        tag = self._finish(job)
        if not self._closed:
            self.finished.emit(tag, result)
            self._dispatch()

    @Slot(int, object)
    def _on_failed(self, job: int, exc: Exception) -> None:
        tag = self._finish(job)
        if not self._closed:
            self.failed.emit(tag, exc)
            self._dispatch()
