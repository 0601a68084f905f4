# Needs Qt (offscreen). "Why this digit?" on the Draw and Image tabs: the real dialog, its worker,
# the bundled model's .keras file explained with TensorFlow, the index of MNIST training digits.
from __future__ import annotations

import keras
import numpy as np
from PySide6.QtCore import Qt

from conftest import draw_strokes, number_image
from digitdesk.core.strokes import number_strokes
from digitdesk.gui.widgets.explain_dialog import ExplainDialog

EXPLAIN_TIMEOUT = 120_000  # ms: the first explanation imports TensorFlow and loads the .keras model


def _drawn(window, qtbot, number: str):
    tab = window.draw_tab
    draw_strokes(tab.canvas, number_strokes(number, 60, 60, 200))
    qtbot.waitUntil(lambda: tab.result_label.text().rstrip("?") == number, timeout=10_000)
    return tab


def _heatmap_shown(view) -> bool:
    pm = view.pixmap()
    return pm is not None and not pm.isNull() and pm.width() == 224


def test_why_on_a_drawn_digit_shows_heatmaps_and_stop_keeps_them(window, qtbot, tmp_path):
    tab = _drawn(window, qtbot, "7")
    assert tab.explain_action.isEnabled()
    card = tab.cards[0]
    qtbot.mouseClick(card.why_button, Qt.MouseButton.LeftButton)
    dialog = tab.explain_dialog
    assert isinstance(dialog, ExplainDialog) and np.array_equal(dialog.input28, tab._shown[0].digits[0].input28)
    qtbot.waitUntil(lambda: dialog.explanation is not None, timeout=EXPLAIN_TIMEOUT)
    assert dialog.explanation.top.digit == 7 and dialog.explanation.runner_up.digit == tab._shown[0].digits[0].top[1][0]
    assert "Read as <b>7</b>" in dialog.header.text()
    assert _heatmap_shown(dialog.top_view) and _heatmap_shown(dialog.second_view)
    # The index of all 60,000 training digits is being built: Stop it.
    with qtbot.waitSignal(dialog._progress, timeout=60_000):
        pass
    qtbot.mouseClick(dialog.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=30_000)
    assert dialog.status_label.text().startswith("Stopped") and dialog.retry_button.isVisible()
    assert dialog.neighbours is None and _heatmap_shown(dialog.top_view)
    from digitdesk.core.paths import user_data_dir

    folder = user_data_dir() / "neighbours"
    assert not folder.exists() or list(folder.iterdir()) == []  # nothing half-written
    dialog.close()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    tab.canvas.setFocus()
    qtbot.keyClick(tab.canvas, Qt.Key.Key_W)  # W: why, for the first (uncertain) digit
    assert tab.explain_dialog is not dialog and tab.explain_dialog.isVisible()
    tab.explain_dialog.close()


def test_the_nearest_training_digits_of_both_classes(qtbot, recognizer, mnist):
    reading = recognizer.read(number_image("41"))
    digit = reading.digits[1]
    dialog = ExplainDialog(recognizer, digit, 2, index_limit=700)
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.neighboursShown, timeout=EXPLAIN_TIMEOUT):
        pass
    top, second = digit.top[0][0], digit.top[1][0]
    labels = mnist.train.labels[:700]
    for d in (top, second):
        gallery = dialog.galleries[d]
        assert gallery.count() == 5
        found = dialog.neighbours["found"][d]
        assert all(labels[n.index] == d for n in found)
        assert f"(a {d})" in gallery.item(0).toolTip()
    assert "700 MNIST training digits" in dialog.status_label.text() and "built in" in dialog.status_label.text()
    assert not dialog.retry_button.isVisible() and not dialog.stop_button.isVisible()
    again = ExplainDialog(recognizer, digit, 2, index_limit=700)  # the same model: the index is reused
    qtbot.addWidget(again)
    again.show()
    with qtbot.waitSignal(again.neighboursShown, timeout=EXPLAIN_TIMEOUT):
        pass
    assert again.neighbours["from_cache"] or again.neighbours["index_seconds"] == dialog.neighbours["index_seconds"]
    dialog.close()  # as the tabs do (their dialogs have them as parent; these have none)
    again.close()


def test_image_tab_double_click_and_empty_draw_tab(window, qtbot):
    draw = window.draw_tab
    assert not draw.explain_action.isEnabled() and draw.explain_digit(0) is None  # empty canvas
    tab = window.image_tab
    window.tabs.setCurrentWidget(tab)
    assert not tab.explain_button.isEnabled()
    tab.open_array(number_image("38"), "38.png")
    qtbot.waitUntil(lambda: tab.reading() is not None, timeout=10_000)
    assert tab.explain_button.isEnabled()
    item = tab.digit_list.topLevelItem(1)
    rect = tab.digit_list.visualItemRect(item)
    qtbot.mouseClick(tab.digit_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(tab.digit_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    dialog = tab.explain_dialog
    assert dialog is not None and dialog.number == 2 and dialog.digits[0] == tab.reading().digits[1].digit
    qtbot.waitUntil(lambda: dialog.explanation is not None, timeout=EXPLAIN_TIMEOUT)
    dialog.close()
    window.tabs.setCurrentWidget(draw)
    _drawn(window, qtbot, "17")
    qtbot.mouseDClick(draw.cards[1], Qt.MouseButton.LeftButton)  # a double-click on the card of the 7
    assert draw.explain_dialog is not None and draw.explain_dialog.number == 2 and draw.explain_dialog.digits[0] == 7
    draw.explain_dialog.close()


def test_failures_say_why_and_keep_what_was_done(qtbot, bundled_model_path):
    from digitdesk.core.recognizer import Recognizer

    lite = Recognizer.load(bundled_model_path.with_suffix(".tflite"))
    digit = lite.read(number_image("5")).digits[0]
    dialog = ExplainDialog(lite, digit, 1)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: not dialog.busy and dialog.banner.isVisible(), timeout=EXPLAIN_TIMEOUT)
    assert "LiteRT" in dialog.banner.text() and dialog.explanation is None
    dialog.close()

    keras.utils.set_random_seed(0)  # a model without a Dense layer before its softmax
    conv = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Rescaling(1 / 255), keras.layers.Conv2D(10, 5),
                             keras.layers.GlobalAveragePooling2D(), keras.layers.Activation("softmax")])
    rec = Recognizer(conv)
    digit = rec.read(number_image("5")).digits[0]
    dialog = ExplainDialog(rec, digit, 1)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: not dialog.busy and dialog.banner.isVisible(), timeout=EXPLAIN_TIMEOUT)
    assert dialog.explanation is not None and _heatmap_shown(dialog.top_view)  # the heatmaps are kept
    assert "no penultimate layer" in dialog.banner.text() and dialog.retry_button.isVisible()
    dialog.close()


def test_closing_while_the_first_explanation_loads_does_not_wait_for_it(window, qtbot, monkeypatch):
    """The first explanation of a session waits for TensorFlow's import, which cannot be
    stopped: closing the dialog then returns at once (the job runs on behind the hidden dialog,
    which then stops its thread), and nothing more is started or shown after it."""
    import threading

    from digitdesk.gui.widgets import explain_dialog

    gate, started, ended, calls = threading.Event(), threading.Event(), threading.Event(), []

    def loading(*args):  # stands in for the import of TensorFlow and the model's load
        calls.append("explain")
        started.set()
        gate.wait(30)
        ended.set()
        return {"explanation": None, "heatmaps": ()}

    monkeypatch.setattr(explain_dialog, "explain_job", loading)
    monkeypatch.setattr(explain_dialog, "neighbours_job", lambda *a, **k: calls.append("neighbours"))
    tab = _drawn(window, qtbot, "7")
    dialog = tab.explain_digit(0)
    qtbot.waitUntil(started.is_set, timeout=10_000)
    dialog.reject()
    assert not dialog.isVisible() and not ended.is_set()  # closed without waiting for the job
    gate.set()
    qtbot.waitUntil(lambda: not dialog._runner._thread.isRunning(), timeout=10_000)  # its thread then stops
    assert calls == ["explain"] and dialog.explanation is None  # nothing more started or shown
