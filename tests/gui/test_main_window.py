# Needs Qt (offscreen): the main window's contract, startup, settings, menus and error handling.
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox, QTabWidget, QToolButton, QWidget

from conftest import draw_strokes
from digitdesk.core.strokes import number_strokes

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


def test_fit_inside_shrinks_and_moves_into_the_area():
    from PySide6.QtCore import QRect

    from digitdesk.gui.main_window import fit_inside

    area = QRect(0, 0, 853, 600)
    assert fit_inside(QRect(10, 20, 400, 300), area) == QRect(10, 20, 400, 300)  # fits: unchanged
    assert fit_inside(QRect(0, 0, 1184, 784), area) == area
    assert fit_inside(QRect(700, 500, 400, 300), area) == QRect(453, 300, 400, 300)  # pushed back on screen
    assert fit_inside(QRect(-50, -10, 400, 300), QRect(100, 30, 1000, 700)) == QRect(100, 30, 400, 300)


def test_default_window_fits_the_real_screen(qtbot):
    """No saved geometry: the default size (1180x780) is shrunk to the offscreen screen, frame included."""
    from digitdesk.gui import create_main_window

    win = create_main_window()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    area = win.screen().availableGeometry()
    assert area.width() < 1180  # the offscreen screen is smaller than the default size
    assert area.contains(win.frameGeometry()), (win.frameGeometry(), area)
    win.close()


SCALED_WINDOW = """
import sys
import digitdesk.gui
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv)
from digitdesk.gui.main_window import MainWindow
w = MainWindow()
w.show()
app.processEvents()
s = w.screen()
f, a = w.frameGeometry(), s.availableGeometry()
print(s.devicePixelRatio(), a.width(), a.height(), f.x(), f.y(), f.width(), f.height())
w.close()
"""


def test_window_fits_a_scaled_screen(tmp_path):
    """QT_SCALE_FACTOR=1.5 on a 1280x900 screen (853x600 logical): the window opened at 1770x1170
    device pixels before; now all of it is on the screen. A real offscreen QScreen of that size."""
    import json
    import os

    config = tmp_path / "screen.json"
    config.write_text(json.dumps({"screens": [{"name": "laptop", "x": 0, "y": 0, "width": 1280, "height": 900,
                                               "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={config}", QT_SCALE_FACTOR="1.5",
               XDG_CONFIG_HOME=str(tmp_path / "config"))
    out = subprocess.run([sys.executable, "-c", SCALED_WINDOW], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    dpr, aw, ah, x, y, w, h = map(float, out.stdout.split()[-7:])
    assert (dpr, aw, ah) == (1.5, 853, 600)
    assert x >= 0 and y >= 0 and x + w <= aw and y + h <= ah, out.stdout
