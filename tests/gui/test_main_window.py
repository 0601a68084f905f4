# Needs Qt (offscreen): the main window's contract, startup, settings, menus and error handling.
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox, QTabWidget, QToolButton, QWidget

from conftest import draw_strokes
from digitdesk.gui.strokes import number_strokes

REPO = Path(__file__).resolve().parents[2]


def test_window_contract(window):
    assert window.objectName() == "mainWindow"
    tabs = window.findChild(QTabWidget, "tabs")
    assert tabs is not None
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["Draw", "Image", "Webcam", "Train", "Models", "Data"]
    assert window.findChild(QWidget, "drawCanvas") is window.draw_tab.canvas
    assert isinstance(window.findChild(QToolButton, "clearButton"), QToolButton)
    assert isinstance(window.findChild(QLabel, "resultLabel"), QLabel)
    assert isinstance(window.findChild(QLabel, "imageResultLabel"), QLabel)
    assert callable(window.open_image)
    assert window.findChild(QLabel, "modelStatusLabel").text().startswith("Model: ")


def test_gui_imports_without_tensorflow():
    code = ("import sys; import digitdesk.gui, digitdesk.gui.app, digitdesk.gui.main_window; "
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


def test_window_shows_before_the_model_is_loaded(qtbot):
    """The model loads on a worker thread; the window and the canvas are usable before."""
    from digitdesk.gui import create_main_window

    win = create_main_window()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    assert win.model.recognizer is None
    assert win.findChild(QLabel, "modelStatusLabel").text() == "Loading model…"
    canvas = win.draw_tab.canvas
    draw_strokes(canvas, number_strokes("7", 120, 40, 200))  # drawing works at once
    assert canvas.stroke_count() == 1
    assert "Loading the model" in win.draw_tab.detail_label.text()
    with qtbot.waitSignal(win.model.ready, timeout=90_000):
        pass
    assert win.findChild(QLabel, "modelStatusLabel").text().startswith("Model: ")
    qtbot.waitUntil(lambda: win.draw_tab.result_label.text() == "7", timeout=5000)


def test_missing_model_is_reported_not_raised(qtbot, tmp_path):
    from digitdesk.gui import create_main_window

    win = create_main_window(model=tmp_path / "nope.keras")
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.model.failed, timeout=90_000) as blocker:
        pass
    assert "nope.keras" in blocker.args[0]
    assert win.findChild(QLabel, "modelStatusLabel").text() == "No model"
    assert "No model" in win.draw_tab.detail_label.text()


def test_settings_are_remembered(qtbot, recognizer):
    from digitdesk.gui import create_main_window

    win = create_main_window(recognizer=recognizer)
    qtbot.addWidget(win)
    win.show()
    win.resize(720, 570)  # within the offscreen screen (800x600): restoreGeometry keeps windows on screen
    win.draw_tab.pen_slider.setValue(23)
    win.tabs.setCurrentIndex(1)
    win.close()
    again = create_main_window(recognizer=recognizer)
    qtbot.addWidget(again)
    assert again.draw_tab.pen_slider.value() == 23
    assert again.draw_tab.canvas.pen_width == 23
    assert again.tabs.currentIndex() == 1
    assert (again.width(), again.height()) == (720, 570)
    again.close()


def test_shortcuts_switch_tabs(window, qtbot):
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is window.webcam_tab
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is window.draw_tab


def test_about_names_model_and_licences(recognizer):
    from digitdesk.gui.main_window import about_html

    text = about_html(recognizer)
    assert "CC BY-SA 3.0" in text and "MIT" in text and "LGPL" in text
    assert recognizer.name in text


def test_uncaught_exception_shows_a_message(qtbot, monkeypatch, caplog):
    from digitdesk.gui import app

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    app.install_excepthook()
    try:
        raise ValueError("boom in a slot")
    except ValueError as exc:
        app.handle_exception(type(exc), exc, exc.__traceback__)
    assert "boom in a slot" in caplog.text

    def box():
        return next((w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()), None)

    qtbot.waitUntil(lambda: box() is not None, timeout=3000)
    assert "boom in a slot" in box().text()
    box().done(0)
    qtbot.waitUntil(lambda: box() is None, timeout=3000)
