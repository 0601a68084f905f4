"""GUI fixtures (Qt): settings in a temp dir, a main window with the session's model, a
thread-leak check after every test, and helpers that draw with real mouse events."""

from __future__ import annotations

import pytest

from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtTest import QTest

from tests.conftest import number_image  # noqa: F401  (the GUI tests import it from here)


@pytest.fixture(autouse=True)
def _no_thread_left():
    """Fail a test that leaves one of the GUI's worker threads running (runs after qtbot closes windows)."""
    yield
    from digitdesk.gui.workers.threads import running_threads

    assert running_threads() == [], f"threads left running: {running_threads()}"


@pytest.fixture(autouse=True)
def settings_dir(tmp_path_factory, qapp):
    """QSettings of the app go to a fresh temp folder."""
    path = tmp_path_factory.mktemp("settings")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(path))
    qapp.setOrganizationName("digitdesk-tests")
    qapp.setApplicationName("digitdesk-tests")
    return path


@pytest.fixture
def window(qtbot, recognizer):
    """The main window, shown, using the session's already loaded model."""
    from digitdesk.gui import create_main_window

    win = create_main_window(recognizer=recognizer)
    qtbot.addWidget(win)
    win.resize(1100, 720)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()


def draw_strokes(canvas, strokes, step: float = 6.0) -> None:
    """Draw each stroke with a real mouse press, moves every ``step`` px, and a release."""
    for stroke in strokes:
        pts = [QPoint(round(x), round(y)) for x, y in stroke]
        QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[0])
        last = pts[0]
        for p in pts[1:]:
            n = max(1, int(max(abs(p.x() - last.x()), abs(p.y() - last.y())) // step))
            for k in range(1, n + 1):
                QTest.mouseMove(canvas, QPoint(round(last.x() + (p.x() - last.x()) * k / n),
                                               round(last.y() + (p.y() - last.y()) * k / n)))
            last = p
        QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[-1])


