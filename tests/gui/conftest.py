"""GUI fixtures (Qt): settings in a temp dir, a main window with the session's model, a
thread-leak check after every test, and helpers that draw with real mouse events."""

from __future__ import annotations

import pytest

import digitdesk.gui  # noqa: F401  (first: applies the PySide6 work-around before any Qt call)
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtTest import QTest


@pytest.fixture(autouse=True)
def _no_thread_left():
    """Fail a test that leaves one of the GUI's worker threads running (runs after qtbot closes windows)."""
    yield
    from digitdesk.gui.workers import running_threads

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


def number_image(text: str = "305", height: int = 260, scale: float = 6.0, thickness: int = 22):
    """A BGR picture of ``text`` in thick Hershey strokes, dark on white."""
    import cv2
    import numpy as np

    (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    img = np.full((h + 120, w + 120, 3), 250, np.uint8)
    cv2.putText(img, text, (60, h + 60), cv2.FONT_HERSHEY_SIMPLEX, scale, (30, 30, 30), thickness, cv2.LINE_AA)
    return img


@pytest.fixture
def video_file(tmp_path):
    """A 640x480 MJPG video of a hand-held card showing "42" (30 frames, 30 fps)."""
    import cv2
    import numpy as np

    path = tmp_path / "card.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (640, 480))
    assert writer.isOpened()
    rng = np.random.default_rng(0)
    for i in range(30):
        frame = np.full((480, 640, 3), (180, 186, 183), np.uint8)  # a light wall; see the report on dark ones
        dx, dy = int(6 * np.sin(i / 5)), int(4 * np.cos(i / 7))
        cv2.rectangle(frame, (140 + dx, 110 + dy), (500 + dx, 370 + dy), (235, 240, 240), -1)
        cv2.putText(frame, "42", (190 + dx, 320 + dy), cv2.FONT_HERSHEY_SIMPLEX, 6, (40, 40, 40), 20, cv2.LINE_AA)
        noise = rng.normal(0, 4, frame.shape)
        writer.write(np.clip(frame + noise, 0, 255).astype(np.uint8))
    writer.release()
    return path
