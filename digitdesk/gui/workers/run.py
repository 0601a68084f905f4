"""One run on a fresh thread: the lifecycle shared by the webcam capture and training.

mu-editor's wiring, in one place: ``worker.moveToThread(thread)``,
``thread.started -> worker.run``, ``worker.done -> thread.quit``; stopping is cooperative (a
flag the work checks, then ``wait()``, never ``terminate()``). The thread comes from
:func:`~digitdesk.gui.workers.threads.new_thread` like every GUI thread.
"""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, QThread, Qt, Signal, Slot

from digitdesk.gui.workers.threads import new_thread

log = logging.getLogger(__name__)


class RunWorker(QObject):
    """The work of one run; lives on the run's thread. Subclasses implement :meth:`work`."""

    done = Signal()  # the run is over, whatever happened (quits the thread)

    def __init__(self) -> None:
        super().__init__()
        self._stop = threading.Event()

    def stop(self) -> None:
        """Ask the work to end at its next check (thread-safe)."""
        self._stop.set()

    def stopping(self) -> bool:
        """True once :meth:`stop` was called: the work's ``should_stop``."""
        return self._stop.is_set()

    def work(self) -> None:
        """The run itself, on the run's thread; returns once it is over or stopped."""
        raise NotImplementedError

    @Slot()
    def run(self) -> None:
        try:
            self.work()
        finally:
            self.done.emit()


class RunThread(QObject):
    """Starts one :class:`RunWorker` at a time, each on a fresh thread, and stops it.

    A run ends either on its own (:meth:`_run_ended` is then called on the GUI thread, after
    the thread has stopped) or by :meth:`_end_run`, which stops the work and waits for the
    thread. Either way the worker (owned by Python: no ``deleteLater`` racing it on the ending
    thread) goes with its last reference once the thread has ended, and the thread later."""

    def __init__(self, name: str, parent: QObject | None = None):
        super().__init__(parent)
        self._name = name
        self._thread: QThread | None = None
        self._worker: RunWorker | None = None
        self._stragglers: list[tuple[QThread, RunWorker]] = []  # runs slow to stop

    @property
    def running(self) -> bool:
        """True from the start of a run until it has ended or was stopped."""
        return self._thread is not None

    def _start_run(self, worker: RunWorker) -> None:
        thread = new_thread(self._name)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.done.connect(thread.quit, Qt.ConnectionType.DirectConnection)  # quit() is thread-safe
        thread.finished.connect(self._on_thread_finished)
        self._thread, self._worker = thread, worker
        thread.start()

    def _end_run(self, wait_ms: int | None = None) -> bool:
        """Stop the run and wait for its thread, at most ``wait_ms`` (None: as long as it takes;
        a thread still running then is waited for by :meth:`_wait_stragglers`). False if no run."""
        thread, worker = self._thread, self._worker
        self._thread = self._worker = None
        if worker is not None:
            worker.stop()
        if thread is None:
            return False
        thread.quit()
        if thread.wait() if wait_ms is None else thread.wait(wait_ms):
            thread.deleteLater()
        else:
            log.warning("the %s thread did not stop within %d ms", self._name, wait_ms)
            self._stragglers.append((thread, worker))
        return True

    def _wait_stragglers(self) -> None:
        """Wait for every run that was slow to stop (application exit)."""
        for thread, _worker in self._stragglers:
            thread.wait()
            thread.deleteLater()
        self._stragglers.clear()

    def _run_ended(self) -> None:
        """Called on the GUI thread when a run ended on its own (its thread has stopped)."""

    @Slot()
    def _on_thread_finished(self) -> None:
        if self._thread is None or self.sender() is not self._thread:
            return  # a run already ended by _end_run
        thread, worker = self._thread, self._worker
        self._thread = self._worker = None
        # ``finished`` is sent while the thread is still winding down: wait until it has ended
        # before its objects go.
        thread.wait()
        del worker
        thread.deleteLater()
        self._run_ended()
