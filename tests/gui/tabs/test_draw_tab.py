# Needs Qt (offscreen): drawing real strokes with mouse events and reading them back.
from __future__ import annotations


import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QImage, QPointingDevice, QTabletEvent
from PySide6.QtWidgets import QApplication

from conftest import draw_strokes
from digitdesk.gui.widgets.qimage import qimage_to_array
from digitdesk.core.strokes import number_strokes

H = 200  # digit height in pixels


def result_text(window) -> str:
    return window.draw_tab.result_label.text()


@pytest.mark.parametrize("number", ["7", "1", "17", "2026"])
def test_drawn_number_is_recognized(window, qtbot, number):
    tab = window.draw_tab
    draw_strokes(tab.canvas, number_strokes(number, 60, 60, H))
    qtbot.waitUntil(lambda: result_text(window) == number, timeout=5000)
    shown = [c for c in tab.cards if c.isVisible()]
    assert len(shown) == len(number)
    assert [c.digit_label.text().rstrip("?") for c in shown] == list(number)
    assert all(not c.thumb.pixmap().isNull() and c.thumb.pixmap().width() == 84 for c in shown)
    assert all(len(c.bars.values()) == 3 for c in shown)


def test_undo_clear_and_undo_clear(window, qtbot):
    tab, canvas = window.draw_tab, window.draw_tab.canvas
    draw_strokes(canvas, number_strokes("17", 60, 60, H))
    qtbot.waitUntil(lambda: result_text(window) == "17", timeout=5000)
    assert canvas.stroke_count() == 2
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # Ctrl+Z: the 7 goes
    assert canvas.stroke_count() == 1
    qtbot.waitUntil(lambda: result_text(window) == "1", timeout=5000)
    qtbot.mouseClick(window.findChild(type(tab.clear_button), "clearButton"), Qt.MouseButton.LeftButton)
    assert canvas.is_empty()
    assert result_text(window) == ""
    assert not any(c.isVisible() for c in tab.cards)
    canvas.undo()  # the clear is undoable
    qtbot.waitUntil(lambda: result_text(window) == "1", timeout=5000)
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)  # Esc clears too
    assert canvas.is_empty()


def test_eraser_removes_ink(window, qtbot):
    canvas = window.draw_tab.canvas
    draw_strokes(canvas, number_strokes("17", 60, 60, H))
    qtbot.waitUntil(lambda: result_text(window) == "17", timeout=5000)
    window.draw_tab.eraser_action.setChecked(True)
    x7 = 60 + 1.07 * H  # where number_strokes puts the second digit
    zigzag = [(x7 - 20 + (i % 2) * (0.9 * H), 40 + i * 12) for i in range(0, 22)]
    draw_strokes(canvas, [zigzag])
    qtbot.waitUntil(lambda: result_text(window) == "1", timeout=5000)
    ink = 255 - canvas.ink_array()
    assert ink[:, int(x7):].max() < 50  # the 7 is gone
    assert ink[:, : int(x7)].max() > 200  # the 1 is still there


def test_ink_array_is_the_drawing(window):
    canvas = window.draw_tab.canvas
    dpr = canvas.devicePixelRatioF()
    empty = canvas.ink_array()
    assert empty.shape == (round(canvas.height() * dpr), round(canvas.width() * dpr))
    assert empty.dtype == np.uint8 and empty.min() == 255
    canvas.set_pen_width(10)
    draw_strokes(canvas, [[(100, 100), (300, 100)]])
    ink = 255 - canvas.ink_array()
    rows = np.nonzero(ink[:, 200] > 128)[0]
    assert 8 <= len(rows) <= 12 and abs(rows.mean() - 100) < 1.5  # a 10 px line at y=100
    assert ink[:, 400:].max() == 0 and ink[150:, :].max() == 0
    draw_strokes(canvas, [[(100, 200), (300, 260)]])
    edge = ink = 255 - canvas.ink_array()
    assert ((edge[150:300, 100:300] > 20) & (edge[150:300, 100:300] < 235)).sum() > 100  # anti-aliased edges


def test_uncertain_digit_is_marked(window, recognizer):
    """A low-confidence digit shows as "d?" in amber with the word "uncertain"."""
    from digitdesk.core.recognizer import DigitResult, Reading

    tab = window.draw_tab
    digits = [DigitResult(3, 0.97, [(3, 0.97), (5, 0.02), (8, 0.01)], (10, 10, 50, 80), 0, np.zeros((28, 28), np.uint8)),
              DigitResult(5, 0.41, [(5, 0.41), (6, 0.38), (8, 0.1)], (70, 10, 50, 80), 0, np.zeros((28, 28), np.uint8))]
    tab._show_reading(Reading(digits), 0.01)
    assert tab.result_label.text() == "35"
    assert "uncertain" in tab.detail_label.text()
    first, second = tab.cards[0], tab.cards[1]
    assert (first.digit_label.text(), second.digit_label.text()) == ("3", "5?")
    assert second.status_label.text() == "uncertain" and first.status_label.text() != "uncertain"
    assert second.property("uncertain") is True


def test_every_finished_stroke_updates_the_result(window, qtbot):
    """Each mouse release brings a new reading (how fast: ``python -m benchmarks.bench_gui``)."""
    canvas = window.draw_tab.canvas
    for i in range(4):
        canvas.clear()
        strokes = number_strokes("4", 80 + 30 * i, 60, H)
        draw_strokes(canvas, strokes[:-1])
        qtbot.wait(50)
        with qtbot.waitSignal(window.draw_tab.readingShown, timeout=10_000) as shown:
            draw_strokes(canvas, strokes[-1:])
        assert shown.args[0] == "4"


_devices: list[QPointingDevice] = []  # events keep a pointer to their device: it must outlive them


def _tablet(kind, pos: QPointF, pressure: float) -> QTabletEvent:
    if not _devices:
        _devices.append(QPointingDevice("test pen", 1, QPointingDevice.DeviceType.Stylus, QPointingDevice.PointerType.Pen,
                                        QPointingDevice.Capability.Position | QPointingDevice.Capability.Pressure, 1, 3))
    return QTabletEvent(kind, _devices[0], pos, pos, pressure, 0, 0, 0, 0, 0, Qt.KeyboardModifier.NoModifier,
                        Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton)


def test_tablet_pressure_draws(window):
    canvas = window.draw_tab.canvas
    canvas.set_pen_width(20)
    QApplication.sendEvent(canvas, _tablet(QTabletEvent.Type.TabletPress, QPointF(100, 100), 0.2))
    for x in range(110, 300, 10):
        QApplication.sendEvent(canvas, _tablet(QTabletEvent.Type.TabletMove, QPointF(x, 100), 0.2 + (x - 100) / 250))
    QApplication.sendEvent(canvas, _tablet(QTabletEvent.Type.TabletRelease, QPointF(300, 100), 1.0))
    assert canvas.stroke_count() == 1
    ink = 255 - canvas.ink_array()
    thin, thick = (ink[:, 120] > 128).sum(), (ink[:, 280] > 128).sum()
    assert 0 < thin < thick  # light pressure draws a thinner line


def test_dark_theme_keeps_the_ink_map(window, qapp, qtbot):
    """Custom colours follow a dark palette; what the model gets does not change."""
    from digitdesk.gui.dev.screenshots import dark_palette
    from digitdesk.gui.widgets.theme import colors, is_dark

    canvas = window.draw_tab.canvas
    draw_strokes(canvas, [[(100, 100), (300, 100)]])
    light = canvas.ink_array()
    old = qapp.palette()
    qapp.setPalette(dark_palette())
    try:
        qtbot.waitUntil(lambda: is_dark(canvas.palette()), timeout=2000)
        assert canvas._paper.lightness() < 80 and canvas._ink.lightness() > 200
        assert colors(canvas.palette()).amber != colors(old).amber
        assert np.array_equal(canvas.ink_array(), light)  # still dark ink on white paper
        pixel = canvas.grab().toImage().pixelColor(200, 100)
        assert pixel.lightness() > 200  # but shown light on dark
    finally:
        qapp.setPalette(old)
        qtbot.waitUntil(lambda: not is_dark(canvas.palette()), timeout=2000)


def _hint_pixels(canvas) -> int:
    """Grey hint-text pixels in the canvas's middle band, as the screen has them (the offscreen
    backing store: partial repaints show, unlike ``grab()``, which repaints the whole widget)."""
    QApplication.processEvents()
    top = canvas.mapTo(canvas.window(), canvas.rect().topLeft())
    img = canvas.screen().grabWindow(canvas.window().winId(), top.x(), top.y() + canvas.height() // 2 - 25,
                                     canvas.width(), 50).toImage()
    gray = qimage_to_array(img.convertToFormat(QImage.Format.Format_Grayscale8))
    return int(((gray > 100) & (gray < 235)).sum())  # neither paper nor ink


def test_hint_text_is_wiped_and_restored(qtbot):
    """The hint goes entirely when drawing starts (not just under the stroke), and comes back on
    clear and undo. A canvas of its own: in the window a new reading may resize the canvas, which
    repaints it whole and hides the fault."""
    from digitdesk.gui.widgets.canvas import DrawingCanvas

    canvas = DrawingCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(700, 300)
    canvas.show()
    qtbot.waitExposed(canvas)
    corner = [[(20, 20), (60, 40), (90, 30)]]  # far from the hint in the middle
    qtbot.waitUntil(lambda: _hint_pixels(canvas) > 200, timeout=2000)
    draw_strokes(canvas, corner)
    qtbot.waitUntil(lambda: _hint_pixels(canvas) == 0, timeout=2000)
    canvas.clear()  # what Esc does
    qtbot.waitUntil(lambda: _hint_pixels(canvas) > 200, timeout=2000)
    draw_strokes(canvas, corner)  # after a clear: the hint must not stay beside the new ink
    qtbot.waitUntil(lambda: _hint_pixels(canvas) == 0, timeout=2000)
    canvas.undo()
    qtbot.waitUntil(lambda: _hint_pixels(canvas) > 200, timeout=2000)
