# Needs Qt (offscreen). The Ensemble action on the Models tab and the Train tab's Runs page, over
# real tiny Keras models saved with digitdesk's own save path and imported into the model store.
from __future__ import annotations

import threading

import keras
import numpy as np
import pytest
from PySide6.QtCore import Qt

from digitdesk.core.data import Dataset, Split
from digitdesk.core.modelio import save_model
from digitdesk.core.preprocess import PREPROCESS_VERSION
from digitdesk.gui.widgets.ensemble_dialog import EnsembleDialog
from digitdesk.gui.workers.threads import running_threads
from tests.core.runfiles import record_run
from tests.core.test_ensemble import _member

BUILD_TIMEOUT = 120_000  # ms: loads TensorFlow models and tests them on 10,000 MNIST digits


@pytest.fixture
def two(window, tmp_path):
    """Two disagreeing tiny models imported into the window's store."""
    store = window.store
    return [store.import_file(_member(tmp_path / name, seed)) for name, seed in (("alpha.keras", 1), ("beta.keras", 2))]


def click_rows(qtbot, tab, ids: list[str]) -> None:
    """Click the first model's row, Ctrl+click the others (real mouse events)."""
    for k, model_id in enumerate(ids):
        rect = tab.table.visualItemRect(tab.table.item(tab.row_of(model_id), 1))
        modifier = Qt.KeyboardModifier.ControlModifier if k else Qt.KeyboardModifier.NoModifier
        qtbot.mouseClick(tab.table.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())


def names(store) -> list[str]:
    return sorted(m.name for m in store.list() if not m.bundled)


def test_two_selected_models_make_an_ensemble_that_averages_them_and_can_be_made_active(window, qtbot, two, mnist):
    from digitdesk.core.recognizer import Recognizer

    store, tab = window.store, window.models_tab
    window.tabs.setCurrentWidget(tab)
    tab.refresh()
    click_rows(qtbot, tab, [m.id for m in two])
    assert {m.id for m in tab.selected_models()} == {m.id for m in two}
    assert tab.ensemble_button.isEnabled() and not tab.rename_button.isEnabled()
    qtbot.mouseClick(tab.ensemble_button, Qt.MouseButton.LeftButton)
    dialog = tab.ensemble_dialog
    assert isinstance(dialog, EnsembleDialog) and dialog.isVisible()
    assert dialog.name_edit.text().startswith("ensemble of ")
    dialog.name_edit.setText("alpha and beta")
    qtbot.mouseClick(dialog.build_button, Qt.MouseButton.LeftButton)
    assert not dialog.build_button.isEnabled()  # busy
    with qtbot.waitSignal(tab.modelImported, timeout=BUILD_TIMEOUT) as built:
        pass
    info = built.args[0]
    assert info.name == "alpha and beta" and names(store) == ["alpha", "alpha and beta", "beta"]
    assert tab.row_of(info.id) >= 0 and tab.selected().id == info.id  # listed and selected
    # each member's and the ensemble's test accuracy, on the whole MNIST test split
    cells = dialog.accuracies()
    assert len(cells) == 3 and all(c.endswith("%") for c in cells)
    result = dialog.result
    assert cells == [f"{r.accuracy:.2%}" for r in [*result.member_reports, result.report]]
    assert "10,000 test images of MNIST" in dialog.status_label.text()
    assert info.test_accuracy == pytest.approx(result.report.accuracy, abs=1e-6)
    first, second = [n for n, _p in dialog.members]  # in the list's order
    assert {first, second} == {"alpha", "beta"}
    assert f"Averages {first} ({cells[0]}), {second} ({cells[1]})" in tab.details.text()
    # its probabilities are the members' average
    x = mnist.test.images[:32]
    each = [Recognizer.load(m.path).classify(x) for m in two]
    assert np.abs(each[0] - each[1]).max() > 0.5
    np.testing.assert_allclose(Recognizer.load(info.path).classify(x), (each[0] + each[1]) / 2, atol=1e-5)
    # Make active: the window reads with it
    assert dialog.active_button.isVisible()
    with qtbot.waitSignal(window.model.ready, timeout=60_000) as ready:
        qtbot.mouseClick(dialog.active_button, Qt.MouseButton.LeftButton)
    assert ready.args[0].name == "alpha and beta" and store.active().id == info.id
    assert window.draw_tab._rec is ready.args[0]
    qtbot.waitUntil(lambda: tab.ensemble_dialog is None)  # closed


def test_fewer_than_two_models_or_a_litert_one_are_refused_with_the_reason(window, qtbot, two):
    from digitdesk.core.twin import write_twin

    store, tab = window.store, window.models_tab
    window.tabs.setCurrentWidget(tab)
    tab.refresh()
    click_rows(qtbot, tab, [two[0].id])
    assert not tab.ensemble_button.isEnabled() and "two or more" in tab.ensemble_button.toolTip()
    tab.ensemble_selected()  # a shortcut around the disabled button still explains
    assert "at least 2 models" in tab.banner.text() and tab.ensemble_dialog is None

    lite = store.import_file(write_twin(two[1].path))
    tab.refresh()
    click_rows(qtbot, tab, [two[0].id, lite.id])
    assert tab.ensemble_button.isEnabled()
    qtbot.mouseClick(tab.ensemble_button, Qt.MouseButton.LeftButton)
    assert tab.banner.isVisible() and "LiteRT (.tflite)" in tab.banner.text()
    assert tab.ensemble_dialog is None and len(store.list()) == 4  # bundled, two, the LiteRT one


def test_a_member_that_gives_no_probabilities_is_named_and_nothing_is_added(window, qtbot, two, tmp_path):
    store, tab = window.store, window.models_tab
    logits = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)],
                              name="logits")
    save_model(logits, tmp_path / "logits.keras", {"name": "raw logits", "preprocessing_version": PREPROCESS_VERSION})
    bad = store.import_file(tmp_path / "logits.keras")
    window.tabs.setCurrentWidget(tab)
    tab.refresh()
    click_rows(qtbot, tab, [two[0].id, bad.id])
    qtbot.mouseClick(tab.ensemble_button, Qt.MouseButton.LeftButton)
    dialog = tab.ensemble_dialog
    qtbot.mouseClick(dialog.build_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(dialog.banner.isVisible, timeout=BUILD_TIMEOUT)
    assert "raw logits" in dialog.banner.text() and "not probabilities" in dialog.banner.text()
    assert "Traceback" not in dialog.banner.text() and "Nothing was added" in dialog.status_label.text()
    assert names(store) == ["alpha", "beta", "raw logits"] and dialog.build_button.isEnabled()
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)  # now "Close"
    assert tab.ensemble_dialog is None


def test_cancel_stops_before_anything_is_added(window, qtbot, two, mnist):
    release = threading.Event()
    test = Split(mnist.test.images[:100], mnist.test.labels[:100])

    def load_test():  # held until Cancel has been pressed
        release.wait(60)
        return Dataset(test, test, "MNIST")

    dialog = EnsembleDialog(window.store, [(m.name, m.path) for m in two], window, load_test=load_test)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.mouseClick(dialog.build_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert dialog.status_label.text() == "Stopping…"
    release.set()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=BUILD_TIMEOUT)
    assert dialog.status_label.text() == "Stopped: nothing was added."
    assert names(window.store) == ["alpha", "beta"] and dialog.result is None
    dialog.close()


def test_closing_while_a_step_cannot_stop_does_not_wait_for_it(window, qtbot, two, mnist):
    """A step that cannot be stopped inside (here: the test images, as importing TensorFlow or
    loading a model) does not hold the dialog's closing; the work then stops and adds nothing,
    and its thread ends on its own."""
    release = threading.Event()
    started = threading.Event()
    test = Split(mnist.test.images[:100], mnist.test.labels[:100])

    def load_test():
        started.set()
        release.wait(20)  # a close that waits for this step returns only after it
        return Dataset(test, test, "MNIST")

    safety = threading.Timer(15, release.set)
    safety.start()
    try:
        dialog = EnsembleDialog(window.store, [(m.name, m.path) for m in two], window, load_test=load_test)
        dialog.show()
        qtbot.mouseClick(dialog.build_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(started.is_set, timeout=BUILD_TIMEOUT)  # the models are loaded
        dialog.close()
        assert not release.is_set(), "closing waited for the step to end"
        assert not dialog.isVisible()
        dialog.deleteLater()
        qtbot.wait(50)  # the dialog goes while its work is still held
        assert "ensemble" in running_threads()
        release.set()
        qtbot.waitUntil(lambda: "ensemble" not in running_threads(), timeout=BUILD_TIMEOUT)
    finally:
        release.set()
        safety.cancel()
    assert names(window.store) == ["alpha", "beta"]


def test_closing_the_window_waits_for_work_whose_dialog_did_not(window, qtbot, two, mnist):
    """The window's shutdown leaves no thread running: it waits for the work of an Ensemble
    dialog closed while a step was held (Python must not exit with it running)."""
    release = threading.Event()
    started = threading.Event()
    test = Split(mnist.test.images[:100], mnist.test.labels[:100])

    def load_test():
        started.set()
        release.wait(20)
        return Dataset(test, test, "MNIST")

    dialog = EnsembleDialog(window.store, [(m.name, m.path) for m in two], window, load_test=load_test)
    dialog.show()
    qtbot.mouseClick(dialog.build_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(started.is_set, timeout=BUILD_TIMEOUT)
    dialog.close()
    timer = threading.Timer(1.0, release.set)  # released while the window shuts down
    timer.start()
    try:
        window.shutdown()
        assert release.is_set() and "ensemble" not in running_threads()
    finally:
        release.set()
        timer.cancel()


def test_the_runs_page_makes_an_ensemble_of_runs_with_saved_models(window, qtbot, two):
    tab = window.train_tab
    runs = tab.runs
    with_models = [record_run(runs, name, accuracy=acc) for name, acc in (("run a", 0.91), ("run b", 0.93))]
    without = record_run(runs, "run c, not saved", accuracy=0.95)
    for run_id, info in zip(with_models, two):
        runs.set_model(run_id, info.path)
    window.tabs.setCurrentWidget(tab)
    tab.views.setCurrentWidget(tab.runs_page)
    view = tab.runs_view
    view.select([with_models[0], without])
    assert not view.ensemble_button.isEnabled()  # only one of them has a model
    view.select([*with_models, without])
    assert view.ensemble_button.isEnabled()
    qtbot.mouseClick(view.ensemble_button, Qt.MouseButton.LeftButton)
    dialog = tab.ensemble_dialog
    assert {(n, p) for n, p in dialog.members} == {("run a", two[0].path.resolve()), ("run b", two[1].path.resolve())}
    with qtbot.waitSignal(tab.modelSaved, timeout=BUILD_TIMEOUT) as saved:
        qtbot.mouseClick(dialog.build_button, Qt.MouseButton.LeftButton)
    assert saved.args[0].architecture == "ensemble of 2 (tiny, tiny)"
    assert window.models_tab.row_of(saved.args[0].id) >= 0  # the Models tab lists it
