# Needs Qt (offscreen): the webcam preview scales each frame once, to the size it is painted.
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QImage, QPainter

from digitdesk.gui.widgets.frame_view import FrameView


def _frame() -> np.ndarray:
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[:, :320] = (255, 0, 0)  # left half blue (BGR), right half red
    frame[:, 320:] = (0, 0, 255)
    return frame


def test_frame_is_scaled_to_the_view_and_painted_in_its_colours(qtbot):
    view = FrameView()
    qtbot.addWidget(view)
    view.resize(800, 700)  # the frame fits 800 x 600, letterboxed
    view.set_frame(_frame())
    shown = view.frame()
    dpr = view.devicePixelRatioF()
    assert (shown.width(), shown.height()) == (round(800 * dpr), round(600 * dpr))
    assert shown.format() == QImage.Format.Format_RGB32  # what Qt blits without converting
    target = QImage(view.size(), QImage.Format.Format_RGB32)
    view.render(target)
    assert QColor(target.pixel(100, 350)) == QColor(0, 0, 255)  # blue on the left
    assert QColor(target.pixel(700, 350)) == QColor(255, 0, 0)  # red on the right
    assert QColor(target.pixel(400, 20)) == QColor("#15171a")  # the letterbox band


def test_a_resized_view_scales_the_frame_again(qtbot):
    view = FrameView()
    qtbot.addWidget(view)
    view.resize(800, 600)
    view.show()
    qtbot.waitExposed(view)
    view.set_frame(_frame())
    view.resize(400, 300)  # a shown view gets its resize event at once
    dpr = view.devicePixelRatioF()
    assert (view.frame().width(), view.frame().height()) == (round(400 * dpr), round(300 * dpr))
    view.set_message("Camera off")
    assert view.frame().isNull()


def test_grayscale_frames_are_shown(qtbot):
    view = FrameView()
    qtbot.addWidget(view)
    view.resize(640, 480)
    view.set_frame(np.full((480, 640), 200, np.uint8))
    assert QColor(view.frame().pixel(10, 10)) == QColor(200, 200, 200)
