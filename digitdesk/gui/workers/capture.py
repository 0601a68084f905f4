"""The capture thread of the Webcam tab: a FrameSource read on its own QThread into a LatestFrame."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from digitdesk.core.frames import FrameSource, LatestFrame, SourceError, run_capture
from digitdesk.gui.workers.recognition import describe_error
from digitdesk.gui.workers.run import RunThread, RunWorker

log = logging.getLogger(__name__)
STOP_WAIT_MS = 5000  # a driver stuck in read() longer than this is left to finish on its own


class CaptureWorker(RunWorker):
    """Runs :func:`run_capture` on the capture thread; stops at the next frame after ``stop()``."""

    opened = Signal(dict)  # {"name", "fps", "live"} once the source is open
    failed = Signal(str)  # why the source could not be opened or stopped, for a person
    ended = Signal()  # a recording reached its end

    def __init__(self, source: FrameSource, buffer: LatestFrame, pace: bool = True):
        super().__init__()
        self.source, self.buffer, self.pace = source, buffer, pace

    def work(self) -> None:
        """Open the source, read it into the buffer until stopped or ended, then release it."""
        try:
            self.source.open()
            self.opened.emit({"name": self.source.name, "fps": self.source.fps, "live": self.source.live})
            if run_capture(self.source, self.buffer, self.stopping, self._stop.wait, self.pace) == "ended":
                self.ended.emit()
        except SourceError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # a driver error: report it, never take the app down
            log.exception("capture failed")
            self.failed.emit(f"{self.source.name}: {describe_error(exc)}")
        finally:
            self.source.close()


class Capture(RunThread):
    """Starts and stops one capture thread at a time."""

    opened = Signal(dict)  # forwarded from the worker
    failed = Signal(str)  # forwarded from the worker
    ended = Signal()  # forwarded from the worker
    stopped = Signal()  # the capture thread ended on its own (failure or end of a recording)

    def __init__(self, parent: QObject | None = None):
        super().__init__("webcam-capture", parent)

    def is_running(self) -> bool:
        return self.running

    def start(self, source: FrameSource, buffer: LatestFrame, pace: bool = True) -> None:
        """Read ``source`` into ``buffer`` on a new capture thread (stops a running one first)."""
        self.stop()
        worker = CaptureWorker(source, buffer, pace)
        worker.opened.connect(self.opened)
        worker.failed.connect(self.failed)
        worker.ended.connect(self.ended)
        self._start_run(worker)

    def stop(self) -> bool:
        """Stop the capture thread and wait for it (the source is released); False if none ran."""
        return self._end_run(STOP_WAIT_MS)

    def shutdown(self) -> None:
        """Stop, and wait for any thread that was slow to stop (application exit)."""
        self.stop()
        self._wait_stragglers()

    def _run_ended(self) -> None:
        self.stopped.emit()
