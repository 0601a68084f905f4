"""The capture thread of the Webcam tab: a FrameSource read on its own QThread into a LatestFrame."""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, QThread, Signal, Slot

from digitdesk.gui.frame_source import FrameSource, LatestFrame, SourceError, run_capture
from digitdesk.gui.recognition import describe_error
from digitdesk.gui.workers import new_thread

log = logging.getLogger(__name__)
STOP_WAIT_MS = 5000  # a driver stuck in read() longer than this is left to finish on its own


class CaptureWorker(QObject):
    """Runs :func:`run_capture` on the capture thread; stops at the next frame after ``stop()``."""

    opened = Signal(dict)  # {"name", "fps", "live"} once the source is open
    failed = Signal(str)  # why the source could not be opened or stopped, for a person
    ended = Signal()  # a recording reached its end
    finished = Signal()  # the loop is over and the source released

    def __init__(self, source: FrameSource, buffer: LatestFrame, pace: bool = True):
        super().__init__()
        self.source, self.buffer, self.pace = source, buffer, pace
        self._stop = threading.Event()

    def stop(self) -> None:
        """Ask the loop to end (thread-safe)."""
        self._stop.set()

    @Slot()
    def run(self) -> None:
        try:
            self.source.open()
            self.opened.emit({"name": self.source.name, "fps": self.source.fps, "live": self.source.live})
            if run_capture(self.source, self.buffer, self._stop.is_set, self._stop.wait, self.pace) == "ended":
                self.ended.emit()
        except SourceError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # a driver error: report it, never take the app down
            log.exception("capture failed")
            self.failed.emit(f"{self.source.name}: {describe_error(exc)}")
        finally:
            self.source.close()
            self.finished.emit()


class Capture(QObject):
    """Starts and stops one capture thread at a time (mu-editor style QThread wiring)."""

    opened = Signal(dict)  # forwarded from the worker
    failed = Signal(str)  # forwarded from the worker
    ended = Signal()  # forwarded from the worker
    stopped = Signal()  # the capture thread ended on its own (failure or end of a recording)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: CaptureWorker | None = None
        self._stragglers: list[QThread] = []

    def is_running(self) -> bool:
        return self._thread is not None

    def start(self, source: FrameSource, buffer: LatestFrame, pace: bool = True) -> None:
        """Read ``source`` into ``buffer`` on a new capture thread (stops a running one first)."""
        self.stop()
        thread = new_thread("webcam-capture")
        worker = CaptureWorker(source, buffer, pace)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.opened.connect(self.opened)
        worker.failed.connect(self.failed)
        worker.ended.connect(self.ended)
        worker.finished.connect(thread.quit)
        thread.finished.connect(worker.deleteLater)
        thread.finished.connect(self._on_thread_finished)
        self._thread, self._worker = thread, worker
        thread.start()

    def stop(self) -> bool:
        """Stop the capture thread and wait for it (the source is released); False if none ran."""
        thread, worker = self._thread, self._worker
        self._thread = self._worker = None
        if worker is not None:
            worker.stop()
        if thread is None:
            return False
        thread.quit()
        if not thread.wait(STOP_WAIT_MS):
            log.warning("the capture thread did not stop within %d ms", STOP_WAIT_MS)
            self._stragglers.append(thread)
        return True

    def shutdown(self) -> None:
        """Stop, and wait for any thread that was slow to stop (application exit)."""
        self.stop()
        for thread in self._stragglers:
            thread.wait()
        self._stragglers.clear()

    @Slot()
    def _on_thread_finished(self) -> None:
        if self._thread is not None and not self._thread.isRunning():
            self.stop()
            self.stopped.emit()
