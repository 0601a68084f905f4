# Needs Qt (offscreen): the Train, Models and Data tabs (and the Train tab's Runs and Search pages)
# are built when first shown or asked for, or once the app is idle; until then nothing imports
# them, and the window's wiring, settings and closing work without them.
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from child_app import script
from digitdesk.gui import main_window

REPO = Path(__file__).resolve().parents[2]
LAZY = ("train", "models", "data")
# What the window must not import before it is needed: the three tabs and the Train tab's parts,
# and Pillow (only decoding an image file needs it).
LAZY_MODULES = ("digitdesk.gui.tabs.train", "digitdesk.gui.tabs.models", "digitdesk.gui.tabs.data",
                "digitdesk.gui.widgets.runs_view", "digitdesk.gui.widgets.search_view",
                "digitdesk.gui.widgets.train_form", "digitdesk.gui.widgets.results_panel", "PIL")

FIRST_READING = f"""
LAZY_MODULES = {LAZY_MODULES!r}
def loaded():
    return [m for m in LAZY_MODULES if m in sys.modules]
seen = {{}}
def shown(text):
    if text and "reading" not in seen:  # at the moment the first reading is on screen
        seen["reading"] = (text, loaded(), sorted(window.lazy_tabs.built_widgets()))
window.draw_tab.readingShown.connect(shown)
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget
class FirstPaint(QObject):  # shown, not yet painted: no event has been processed since
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and isinstance(obj, QWidget) and obj.window() is window:
            seen.setdefault("painted", loaded())
        return False
first_paint = FirstPaint()
qapp.installEventFilter(first_paint)
wait("the first paint", lambda: "painted" in seen)
print("painted", seen["painted"], flush=True)
wait("the model", lambda: window.model.recognizer is not None)
draw_number(window.draw_tab.canvas, "42")
wait("the reading", lambda: "reading" in seen)
print("read", *seen["reading"], flush=True)
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
for key in ("4", "5", "6"):  # View > Train, Models, Data
    QTest.keyClick(window, getattr(Qt.Key, "Key_" + key), Qt.KeyboardModifier.ControlModifier)
    qapp.processEvents()
print("clicked", type(window.tabs.currentWidget()).__name__, sorted(window.lazy_tabs.built_widgets()),
      [type(window.tabs.widget(i)).__name__ for i in range(window.tabs.count())], flush=True)
window.close()
"""


def test_the_lazy_tabs_are_not_imported_until_after_the_first_reading(tmp_path):
    """The app as it starts: nothing of the Train, Models and Data tabs is imported at the first
    paint or when the first reading is shown; Ctrl+4..6 then build each in its place."""
    env = {**{k: v for k, v in __import__("os").environ.items()}, "QT_QPA_PLATFORM": "offscreen",
           "PYTHONPATH": str(REPO), "DIGITDESK_HOME": str(tmp_path / "home"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    out = subprocess.run([sys.executable, "-c", script(FIRST_READING)], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr[-3000:]
    lines = {line.split(" ", 1)[0]: line for line in out.stdout.splitlines()}
    assert lines["painted"] == "painted []", out.stdout
    assert lines["read"] == "read 42 [] []", out.stdout
    assert lines["clicked"] == ("clicked DataTab ['data', 'models', 'train'] "
                                "['DrawTab', 'ImageTab', 'WebcamTab', 'TrainTab', 'ModelsTab', 'DataTab']"), out.stdout


@pytest.fixture
def no_idle_build(monkeypatch):
    """The tabs are built only when shown or asked for (not once the app is idle)."""
    monkeypatch.setattr(main_window, "BUILD_WHEN_IDLE_MS", None)


def built(win) -> list[str]:
    return sorted(win.lazy_tabs.built_widgets())


def click_tab(qtbot, win, index: int) -> None:
    bar = win.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())


def test_clicking_each_tab_builds_a_working_tab(no_idle_build, window, qtbot, recognizer):
    from digitdesk.gui.tabs.data import DataTab
    from digitdesk.gui.tabs.models import ModelsTab
    from digitdesk.gui.tabs.train import TrainTab

    assert built(window) == []
    click_tab(qtbot, window, 3)
    train = window.tabs.currentWidget()
    assert isinstance(train, TrainTab) and window.tabs.currentIndex() == 3 and train.isVisible()
    assert window.tabs.tabText(3) == "Train" and built(window) == ["train"]
    assert train is window.train_tab and train._rec is recognizer  # the model in use, for fine-tuning
    assert train.start_button.isEnabled() and train._runs_view is None and train._search_view is None
    qtbot.mouseClick(train.views.tabBar(), Qt.MouseButton.LeftButton,
                     pos=train.views.tabBar().tabRect(train.views.indexOf(train.runs_page)).center())
    assert train._runs_view is not None and train.runs_page.widget() is train.runs_view and train.runs_view.isVisible()
    assert train._search_view is None

    click_tab(qtbot, window, 4)
    models = window.tabs.currentWidget()
    assert isinstance(models, ModelsTab) and models.isVisible() and models is window.models_tab
    assert models.models and models.active_id  # lists the models and marks the one in use
    assert models.row_of(models.active_id) >= 0

    qtbot.keyClick(window, Qt.Key.Key_6, Qt.KeyboardModifier.ControlModifier)
    data = window.tabs.currentWidget()
    assert isinstance(data, DataTab) and data.isVisible() and data is window.data_tab
    assert built(window) == ["data", "models", "train"] and window.tabs.count() == 6
    assert [window.tabs.tabText(i) for i in range(6)] == list(main_window.TAB_NAMES)
    click_tab(qtbot, window, 0)
    assert window.tabs.currentWidget() is window.draw_tab


def test_a_model_switch_and_closing_build_no_tab(no_idle_build, qtbot, recognizer):
    from digitdesk.gui import create_main_window

    win = create_main_window(recognizer=recognizer)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    bundled = win.store.active()
    with qtbot.waitSignal(win.model.ready, timeout=90_000):
        win.activate_model(bundled.id)  # "use this model" with no Models tab built
    assert win.statusBar().currentMessage() == f"Now using “{bundled.name}”"
    assert built(win) == []
    rec = win.model.recognizer
    assert win.train_tab._rec is rec and win.models_tab.active_id == bundled.id  # built later: told at once
    win.close()
    again = create_main_window(recognizer=recognizer)
    qtbot.addWidget(again)
    again.close()
    assert built(again) == []  # closing stops what runs; it builds nothing to stop it


def test_settings_of_a_tab_not_built_are_kept(no_idle_build, qtbot, recognizer):
    from digitdesk.gui import create_main_window

    def window():
        win = create_main_window(recognizer=recognizer)
        qtbot.addWidget(win)
        return win

    first = window()
    first.train_tab.form.epochs_spin.setValue(7)
    first.train_tab.search_view.form.trials_spin.setValue(9)
    first.close()
    second = window()  # neither tab nor page built: what they saved stays
    second.close()
    third = window()
    assert built(third) == []
    assert third.train_tab.form.epochs_spin.value() == 7
    assert third.train_tab._search_view is None  # the Train tab built, its Search page not
    third.close()
    fourth = window()
    assert fourth.train_tab.form.epochs_spin.value() == 7
    assert fourth.train_tab.search_view.form.trials_spin.value() == 9
    fourth.close()


def test_the_last_tab_used_is_built_at_start(no_idle_build, qtbot, recognizer):
    from digitdesk.gui import create_main_window

    win = create_main_window(recognizer=recognizer)
    qtbot.addWidget(win)
    win.tabs.setCurrentIndex(4)
    win.close()
    again = create_main_window(recognizer=recognizer)
    qtbot.addWidget(again)
    again.show()
    assert built(again) == ["models"] and again.tabs.currentWidget() is again.models_tab
    again.close()


def test_the_tabs_are_built_once_the_app_is_idle(monkeypatch, qtbot, recognizer):
    from digitdesk.gui import create_main_window

    monkeypatch.setattr(main_window, "BUILD_WHEN_IDLE_MS", 50)
    win = create_main_window(recognizer=recognizer)
    qtbot.addWidget(win)
    win.show()
    assert built(win) == []
    qtbot.waitUntil(lambda: built(win) == ["data", "models", "train"], timeout=20_000)
    train = win.lazy_tabs.built_widgets()["train"]
    qtbot.waitUntil(lambda: train._search_view is not None and train._runs_view is not None, timeout=20_000)
    assert win.tabs.currentWidget() is win.draw_tab  # built out of sight: the Draw tab stays
    win.close()


def test_a_tab_that_cannot_be_built_says_why_and_is_tried_again(no_idle_build, window, qtbot, monkeypatch):
    from PySide6.QtWidgets import QLabel

    from digitdesk.gui.tabs.data import DataTab

    init = DataTab.__init__

    def broken(self, *args, **kwargs):
        raise OSError("the samples folder cannot be read")

    monkeypatch.setattr(DataTab, "__init__", broken)
    with qtbot.capture_exceptions() as raised:
        click_tab(qtbot, window, 5)
    assert len(raised) == 1 and "the samples folder cannot be read" in str(raised[0][1])
    label = window.tabs.currentWidget().findChild(QLabel, "lazyTabError")
    assert label is not None and label.isVisible()
    assert "The Data tab could not be opened: OSError: the samples folder cannot be read" in label.text()
    assert built(window) == []
    monkeypatch.setattr(DataTab, "__init__", init)
    click_tab(qtbot, window, 0)
    click_tab(qtbot, window, 5)
    assert isinstance(window.tabs.currentWidget(), DataTab) and built(window) == ["data"]


def test_no_tab_is_built_while_a_stroke_is_drawn(monkeypatch, qtbot, recognizer):
    from PySide6.QtCore import QPoint
    from PySide6.QtTest import QTest

    from digitdesk.gui import create_main_window

    monkeypatch.setattr(main_window, "BUILD_WHEN_IDLE_MS", 50)
    monkeypatch.setattr(main_window, "BUILD_RETRY_MS", 50)
    win = create_main_window(recognizer=recognizer)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    canvas = win.draw_tab.canvas
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(100, 100))
    QTest.mouseMove(canvas, QPoint(140, 160))
    qtbot.wait(400)  # the idle build was due after 50 ms: it waits for the pen to lift
    assert built(win) == []
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(140, 160))
    qtbot.waitUntil(lambda: built(win) == ["data", "models", "train"], timeout=20_000)
    win.close()


def test_a_tab_whose_first_show_fails_is_built_and_the_error_reported(no_idle_build, window, qtbot, monkeypatch):
    """As the frozen app without QtSvg did with the plots: the tab's showEvent raises. The error
    is reported (sys.excepthook), the tab is in its place and the placeholder gone."""
    from digitdesk.gui.tabs.models import ModelsTab

    def failing_show(self, event):
        raise ImportError("cannot import name 'QtSvg' from 'PySide6'")

    monkeypatch.setattr(ModelsTab, "showEvent", failing_show, raising=False)
    with qtbot.capture_exceptions() as raised:
        click_tab(qtbot, window, 4)
        qtbot.wait(50)
    assert raised and all("QtSvg" in str(e[1]) for e in raised)
    assert isinstance(window.tabs.widget(4), ModelsTab) and window.tabs.count() == 6
    assert window.tabs.currentIndex() == 4 and built(window) == ["models"]
    assert [window.tabs.tabText(i) for i in range(6)] == list(main_window.TAB_NAMES)
