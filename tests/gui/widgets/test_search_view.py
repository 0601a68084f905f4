# Needs Qt (offscreen). The Train tab's Search page: a real tiny KerasTuner search through the real
# widget and worker fills the trials table, trains the best and saves it to my models; Stop ends
# the current trial within a batch and keeps the finished ones; a bad space is refused at once.
from __future__ import annotations

import pytest

from digitdesk.core.modelstore import ModelStore
from digitdesk.core.runs import RunStore
from digitdesk.gui.widgets.search_view import COLUMNS, SearchView

TIMEOUT = 180_000
STATE = COLUMNS.index("State")


@pytest.fixture
def view(qtbot, tmp_path):
    view = SearchView(ModelStore(tmp_path / "models"), RunStore(tmp_path / "runs"), root=str(tmp_path / "tuning"))
    qtbot.addWidget(view)
    view.resize(1100, 700)
    view.show()
    f = view.form
    f.family_combo.setCurrentIndex(f.family_combo.findData("tiny"))
    f.trials_spin.setValue(2)
    f.epochs_spin.setValue(1)
    f.images_spin.setValue(500)
    f.final_spin.setValue(1)
    f.final_images_spin.setValue(500)
    f.batch_edit.setText("50, 100")
    yield view
    view.shutdown()


def _states(view) -> list[str]:
    return [view.table.item(i, STATE).text() for i in range(view.table.rowCount())]


def test_a_search_fills_the_table_and_its_best_is_saved(qtbot, view, tmp_path):
    busy = []
    view.busyChanged.connect(busy.append)
    with qtbot.waitSignal(view.session.ended, timeout=TIMEOUT):
        view.start_button.click()
        assert not view.start_button.isEnabled() and view.stop_button.isEnabled()
        qtbot.waitUntil(lambda: view.table.rowCount() >= 1, timeout=TIMEOUT)
    assert busy == [True, False]
    states = _states(view)
    assert len(states) == 2 and all(s.startswith("finished") for s in states)
    assert sum("best" in s for s in states) == 1
    best_row = next(i for i, s in enumerate(states) if "best" in s)
    assert view.table.item(best_row, 0).font().bold()
    assert "test accuracy" in view.result_label.text() and view.save_button.isVisible()

    saved = []
    view.modelSaved.connect(saved.append)
    activated = []
    view.activateRequested.connect(activated.append)
    view.use_button.click()
    qtbot.waitUntil(lambda: bool(saved), timeout=60_000)
    info = saved[0]
    assert activated == [info.id] and info.path.is_file()
    assert info.metadata.get("search", {}).get("family") == "tiny"
    run = RunStore(tmp_path / "runs").get(info.metadata["run_id"])
    assert run["model"] == str(info.path.resolve()) and run["source"] == "train tab"


def test_stop_ends_the_trial_and_start_continues_the_search(qtbot, view):
    view.form.trials_spin.setValue(3)
    with qtbot.waitSignal(view.session.ended, timeout=TIMEOUT):
        view.start()
        qtbot.waitUntil(lambda: any(r.id == "1" and r.state == "running" for r in view.rows), timeout=TIMEOUT)
        view.stop_button.click()
    assert "Stopped: 1 finished trial kept" in view.status_label.text()
    assert _states(view)[:2] == ["finished · best", "stopped (runs again on Start)"]
    assert not view.save_button.isVisible()

    with qtbot.waitSignal(view.session.ended, timeout=TIMEOUT):
        view.start()
    assert [s.split(" ·")[0] for s in _states(view)] == ["finished"] * 3


def test_a_bad_space_is_refused_before_anything_runs(view):
    view.form.batch_edit.setText("32, lots")
    view.start()
    assert not view.running and "batch sizes" in view.banner.text()
    view.form.batch_edit.setText("32")
    view.form.lr_low.setValue(0.1)
    view.form.lr_high.setValue(0.001)
    view.start()
    assert not view.running and "learning rate" in view.banner.text()
