"""Starting the desktop app: QApplication, icon, error handling, the main window."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import traceback
from types import TracebackType

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from digitdesk.gui.overrides import never_raises

log = logging.getLogger("digitdesk.gui")
_IMPORTED_AT = time.time()  # fallback clock start where /proc is not available
# "1": print startup times to stdout; "quit": and quit once the model is ready. (stdout, because
# digitdesk.core.tfimport points file descriptor 2 at /dev/null while TensorFlow is imported.)
REPORT_ENV = "DIGITDESK_REPORT_STARTUP"


def seconds_since_process_start() -> float:
    """Seconds since this process started (Linux: from /proc; elsewhere: since this module was imported)."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = float(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return time.time() - _IMPORTED_AT


class _ErrorReporter(QObject):
    """Shows uncaught exceptions in a message box on the GUI thread."""

    report = Signal(str, str)  # summary, full traceback

    def __init__(self) -> None:
        super().__init__()
        self.report.connect(self._show, Qt.ConnectionType.QueuedConnection)
        self._boxes: list[QMessageBox] = []  # keeps the open boxes alive

    def _show(self, summary: str, details: str) -> None:
        if len(self._boxes) >= 3:  # an error loop must not bury the screen in dialogs
            return
        box = QMessageBox(QMessageBox.Icon.Critical, "digitdesk: unexpected error",
                          f"Something went wrong:\n\n{summary}\n\nThe app keeps running; "
                          "the details are in the log.", QMessageBox.StandardButton.Close,
                          QApplication.activeWindow())
        box.setDetailedText(details)
        box.finished.connect(lambda _result, b=box: self._boxes.remove(b) if b in self._boxes else None)
        self._boxes.append(box)
        box.open()


_reporter: _ErrorReporter | None = None


def handle_exception(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """sys.excepthook: log the error and show it in a message box instead of dying silently."""
    if issubclass(exc_type, KeyboardInterrupt):
        QApplication.quit()
        return
    details = "".join(traceback.format_exception(exc_type, exc, tb))
    log.error("uncaught exception:\n%s", details)
    if _reporter is not None and QApplication.instance() is not None:
        _reporter.report.emit(f"{exc_type.__name__}: {exc}", details)


def install_excepthook() -> None:
    """Route uncaught exceptions (GUI thread and Python threads) to :func:`handle_exception`."""
    global _reporter
    if _reporter is None:
        _reporter = _ErrorReporter()
    sys.excepthook = handle_exception
    threading.excepthook = lambda a: handle_exception(a.exc_type, a.exc_value, a.exc_traceback)


class StartupReporter(QObject):
    """Prints ``window-visible <s> <epoch>`` and ``model-ready <s> <epoch>`` (seconds since the
    process started, and wall-clock time) to stdout. With ``quit_when_ready``, once the model is
    ready a number is also written on the Draw tab's canvas and read through the tab's normal path
    (canvas -> reader thread -> result shown): ``first-prediction <s> <epoch> <text>`` when the
    result is on screen, then the app quits."""

    SAMPLE = "2026"  # written on the canvas for the first prediction

    def __init__(self, window: QWidget, quit_when_ready: bool):
        super().__init__(window)
        self._window, self._quit = window, quit_when_ready
        QApplication.instance().installEventFilter(self)  # the first paint of any of its widgets
        window.model.ready.connect(self._model_ready)
        window.model.failed.connect(lambda m: self._print("model-failed", m))
        self._visible = False

    @never_raises(default=False)
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        """Print ``window-visible`` at the window's first paint."""
        if (not self._visible and event.type() == QEvent.Type.Paint and isinstance(obj, QWidget)
                and obj.window() is self._window):
            self._visible = True
            QApplication.instance().removeEventFilter(self)
            self._print("window-visible")
        return False

    def _model_ready(self, _rec) -> None:
        self._print("model-ready")
        if self._quit:
            QTimer.singleShot(0, self._first_prediction)

    def _first_prediction(self) -> None:
        """Write :attr:`SAMPLE` on the Draw tab; quit once its reading is shown."""
        from digitdesk.gui.widgets.canvas import draw_number

        tab = getattr(self._window, "draw_tab", None)
        if tab is None:
            self._window.close()
            return

        def shown(text: str) -> None:
            if text:
                tab.readingShown.disconnect(shown)
                self._print("first-prediction", text.replace("\n", "/"))
                QTimer.singleShot(0, self._window.close)

        tab.readingShown.connect(shown)
        tab.canvas.clear()
        draw_number(tab.canvas, self.SAMPLE)
        QTimer.singleShot(30_000, self._window.close)  # no reading: quit anyway (the mark is missing)

    @staticmethod
    def _print(what: str, extra: str = "") -> None:
        print(f"{what} {seconds_since_process_start():.3f} {time.time():.3f} {extra}".rstrip(), flush=True)


def configure_application(app: QApplication) -> None:
    """Names (for QSettings), icon and desktop integration."""
    from digitdesk.gui.main_window import app_icon
    from digitdesk.gui.settings import APPLICATION, ORGANIZATION

    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("digitdesk")
    import digitdesk

    app.setApplicationVersion(digitdesk.__version__)
    app.setDesktopFileName("digitdesk")
    app.setWindowIcon(app_icon())


def run(camera: str | None = None, model: str | None = None) -> int:
    """Open the main window and run until it closes; returns the exit code. The app's log goes
    to a file in the per-user folder (:mod:`digitdesk.gui.applog`), not to the terminal; its
    warnings are shown in the status bar."""
    from digitdesk.gui.applog import WindowNotices, configure_logging

    log_file = configure_logging()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    configure_application(app)
    install_excepthook()
    from digitdesk.gui import create_main_window

    window = create_main_window(model=model, camera=camera)
    notices = WindowNotices()
    notices.setParent(window)
    notices.notice.connect(lambda message: window.statusBar().showMessage(message, 10_000))
    logging.getLogger("digitdesk").addHandler(notices)
    log.info("digitdesk started; this log is %s", log_file)
    report = os.environ.get(REPORT_ENV, "")
    if report:
        StartupReporter(window, quit_when_ready=report.lower() == "quit")
    try:
        # PySide raises an error of a widget's override (a tab's first paint) out of show():
        # report it and keep running, as the event loop does for later errors.
        window.show()
    except Exception:
        handle_exception(*sys.exc_info())
    try:
        return app.exec()
    finally:
        window.shutdown()  # also when exec() raises: Python must not exit with worker threads running
        logging.getLogger("digitdesk").removeHandler(notices)
