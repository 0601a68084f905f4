"""Where the desktop app's messages go: its own log to a file in the per-user folder, third-party
chatter (TensorFlow's native start-up lines, Qt's and OpenCV's warnings, Python warnings) to the
same file instead of the terminal, and warnings a person should act on to the window.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

from PySide6.QtCore import QObject, QtMsgType, Signal, qInstallMessageHandler

LOG_NAME = "digitdesk.log"
LOG_BYTES = 1_000_000  # one file's size before it rotates (three old ones are kept)
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_QT_LEVELS = {QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.INFO,
              QtMsgType.QtWarningMsg: logging.WARNING, QtMsgType.QtCriticalMsg: logging.ERROR,
              QtMsgType.QtFatalMsg: logging.CRITICAL}
_qt_log = logging.getLogger("qt")


def log_file_path() -> Path:
    """``<per-user folder>/logs/digitdesk.log``."""
    from digitdesk.core.paths import user_data_dir

    return user_data_dir() / "logs" / LOG_NAME


def _qt_message(mode: QtMsgType, _context, message: str) -> None:
    # Qt's own words (e.g. the offscreen plugin's notices) are chatter: logged, never printed.
    _qt_log.log(_QT_LEVELS.get(mode, logging.WARNING), "%s", message)


class WindowNotices(QObject, logging.Handler):
    """A logging handler that hands the app's own warnings to the window (``notice``), which
    shows them in the status bar; third-party warnings stay in the log file."""

    notice = Signal(str)  # a warning's message, for a person

    def __init__(self) -> None:
        QObject.__init__(self)
        logging.Handler.__init__(self, logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:  # noqa: D102  (logging.Handler's emit)
        if record.name.startswith("digitdesk"):
            try:
                self.notice.emit(record.getMessage())
            except Exception:  # a handler must never raise into the code that logged
                self.handleError(record)


def configure_logging(path: Path | None = None) -> Path | None:
    """Send every log record (INFO and up) to the log file, route Qt's messages, Python warnings
    and TensorFlow's native start-up output there too, and silence OpenCV's log. Returns the
    file, or None if it cannot be written (then records go nowhere rather than to the terminal)."""
    from digitdesk.core import tfimport

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    for handler in list(root.handlers):  # a second call (tests) replaces the first one's
        if getattr(handler, "_digitdesk", False):
            root.removeHandler(handler)
            handler.close()
    try:
        path = path or log_file_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=LOG_BYTES, backupCount=3, encoding="utf-8")
    except OSError:
        path, handler = None, logging.NullHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler._digitdesk = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    logging.captureWarnings(True)
    qInstallMessageHandler(_qt_message)
    tfimport.send_native_output_to(path)
    try:
        import cv2

        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    except (ImportError, AttributeError):
        pass
    return path
