"""Background work for the GUI: QThreads that run plain functions and hand back plain results.

Workers never touch widgets: they call a core function and emit what it returned (or the
exception it raised); the GUI thread decides what to show. Long jobs stop cooperatively: they
take :meth:`TaskRunner.stopping` as their ``should_stop`` and raise
:class:`~digitdesk.core.errors.Cancelled` once it is true. Every thread started here is
recorded so that tests (and the window's close) can check that none is left running.
"""

from __future__ import annotations

import itertools
import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from digitdesk.core.errors import Cancelled

log = logging.getLogger(__name__)
_threads: "weakref.WeakSet[QThread]" = weakref.WeakSet()
_detached: "set[TaskRunner]" = set()  # runners shut down without waiting, kept until their thread ends


class WorkerThread(QThread):
    """A QThread whose event loop runs inside a Python ``run()``.

    A plain QThread runs its event loop in C++, so each slot it calls gets a fresh Python thread
    state that is destroyed when the slot returns. TensorFlow keeps per-thread state (its graph
    and eager contexts) that then outlives the thread state it was made in: the second model
    loaded on such a thread crashed the app in graph building (SIGSEGV). Entering the event loop
    from Python keeps one thread state alive for the thread's whole life, as a
    ``threading.Thread`` has."""

    def run(self) -> None:
        self.exec()


def new_thread(name: str, parent: QObject | None = None) -> WorkerThread:
    """A named :class:`WorkerThread`, recorded so :func:`running_threads` can report it
    (not started). Every worker thread of the GUI is made here."""
    thread = WorkerThread(parent)
    thread.setObjectName(name)
    _threads.add(thread)
    return thread


def wait_detached() -> None:
    """Wait for the threads of runners shut down with ``wait=False`` (application exit: Python
    must not exit with one of them still running)."""
    for runner in list(_detached):
        runner.shutdown()
    _detached.clear()


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

    @Slot(int, object)
    def run(self, job: int, call: Callable[[], Any]) -> None:
        try:
            result = call()
        except Cancelled as exc:  # stopped on request: not an error
            log.info("background job %d stopped: %s", job, exc)
            self.failed.emit(job, exc)
        except Exception as exc:  # handed to the GUI thread, which shows it
            log.debug("background job %d failed", job, exc_info=True)
            self.failed.emit(job, exc)
        else:
            self.done.emit(job, result)


class TaskRunner(QObject):
    """A worker thread that runs one function at a time.

    ``submit`` while a job runs keeps only the newest waiting job (latest wins), so a fast
    producer (a webcam, a user drawing) never builds a queue. A long job should take
    :meth:`stopping` as its ``should_stop``, so that :meth:`shutdown` does not wait for it."""

    finished = Signal(object, object)  # tag passed to submit, the function's return value
    failed = Signal(object, object)  # tag passed to submit, the exception it raised
    _start_job = Signal(int, object)  # job number, zero-argument callable (to the worker)

    def __init__(self, name: str, parent: QObject | None = None):
        super().__init__(parent)
        self._thread = new_thread(name)
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
        self._stop = threading.Event()  # set by shutdown; read by jobs on the worker thread
        self._thread.start()

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

    def stopping(self) -> bool:
        """True once :meth:`shutdown` has begun (thread-safe): pass this method as a job's
        ``should_stop``."""
        return self._stop.is_set()

    def shutdown(self, wait: bool = True) -> None:
        """Drop waiting work, ask the running job to stop (:meth:`stopping` turns true) and stop
        the thread, blocking until it has: a job that does not check :meth:`stopping` is waited for.

        ``wait=False``: return at once. The runner leaves its parent (which may go now) and is
        kept until the job has returned and the thread ended; its result is sent to no one.
        :func:`wait_detached` waits for such runners when the application exits."""
        self._closed = True
        self._pending = None
        self._stop.set()
        if not self._thread.isRunning():
            return
        self._thread.quit()
        if wait or self._thread.wait(0):
            self._thread.wait()
            return
        self.setParent(None)
        _detached.add(self)
        self._thread.finished.connect(self._forget_detached)

    @Slot()
    def _forget_detached(self) -> None:
        self._thread.wait()  # ``finished`` comes while the thread is still winding down
        _detached.discard(self)

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
            if not isinstance(exc, Cancelled):  # stopped on request: logged, not shown
                self.failed.emit(tag, exc)
            self._dispatch()
