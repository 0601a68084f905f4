# Needs Qt (offscreen). The Runs view over a real RunStore in tmp_path, filled by the real recorder;
# the last test trains one tiny run on the Train tab (TensorFlow).
from __future__ import annotations

import csv
import io
import json

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QLineEdit, QMessageBox

from train_settings import TRAIN_TIMEOUT, configure  # tests/gui is on sys.path (its conftest.py)

from digitdesk.core.runcompare import COLUMNS
from digitdesk.core.runs import RunStore
from digitdesk.gui.settings import Settings
from digitdesk.gui.widgets.runs_view import RunsView
from tests.core.runfiles import record_run

ACC = COLUMNS.index("test accuracy")


@pytest.fixture
def store(tmp_path) -> RunStore:
    return RunStore(tmp_path / "runs")


@pytest.fixture
def make_view(qtbot, store):
    def make() -> RunsView:
        view = RunsView(store)
        qtbot.addWidget(view)
        view.resize(900, 700)
        view.show()
        qtbot.waitExposed(view)
        view.activateWindow()  # its shortcuts (Delete, F2) work in the active window
        qtbot.waitUntil(view.isActiveWindow)
        view.refresh()
        return view

    return make


def cell(view: RunsView, row: int, key: str, role=Qt.ItemDataRole.DisplayRole):
    return view.proxy.index(row, COLUMNS.index(key)).data(role)


def row_of(view: RunsView, run_id: str) -> int:
    return view.row_ids().index(run_id)


def click_row(qtbot, view: RunsView, row: int, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    rect = view.table.visualRect(view.proxy.index(row, COLUMNS.index("architecture")))
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())


def answer(monkeypatch, button) -> list[str]:
    """QMessageBox.question answers ``button`` (the one fake): returns the questions asked."""
    asked = []

    def question(_parent, _title, text, *_args, **_kw):
        asked.append(text)
        return button

    monkeypatch.setattr(QMessageBox, "question", question)
    return asked


def test_rows_show_each_runs_values(store, make_view):
    a = record_run(store, "baseline", accuracy=0.91, epochs=3)
    b = record_run(store, "bigger", accuracy=0.965, epochs=2, arch="simple_cnn", parameters=225_034, augment=True)
    view = make_view()
    assert view.proxy.rowCount() == 2 and set(view.row_ids()) == {a, b}
    r = row_of(view, b)
    assert [cell(view, r, k) for k in ("name", "architecture", "parameters", "epochs", "augmentation",
                                       "test accuracy", "status")] == \
        ["bigger", "simple_cnn", "225,034", "2", "on", "96.50%", "finished"]
    record = store.get(b)
    assert cell(view, r, "loss") == f"{record['test']['loss']:.4f}"
    assert cell(view, r, "macro F1") == f"{record['test']['macro']['f1']:.3f}"
    assert cell(view, row_of(view, a), "test accuracy") == "91.00%"
    assert "2 runs" in view.count_label.text()
    assert view.stack.currentWidget() is view.table and view.charts.isVisible()


def test_no_runs_says_so(make_view):
    view = make_view()
    assert view.stack.currentWidget() is view.empty_label and view.empty_label.isVisible()
    assert "No training runs yet" in view.empty_label.text()
    assert not view.charts.isVisible() and not view.export_button.isEnabled()


def test_sorting_by_accuracy_orders_numerically(qtbot, store, make_view):
    by_acc = {record_run(store, f"run {acc}", accuracy=acc, seed=k): acc
              for k, acc in enumerate((0.905, 1.0, 0.095, 0.85))}
    view = make_view()
    header = view.table.horizontalHeader()
    x = header.sectionViewportPosition(ACC) + header.sectionSize(ACC) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2))
    shown = [by_acc[i] for i in view.row_ids()]
    assert header.sortIndicatorSection() == ACC
    if header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder:
        shown.reverse()
    assert shown == [0.095, 0.85, 0.905, 1.0]  # as text: "100.00%" < "85.00%" < "9.50%" < "90.50%"
    assert [cell(view, r, "test accuracy") for r in range(4)] == \
        [f"{a:.2%}" for a in (shown if header.sortIndicatorOrder() == Qt.SortOrder.AscendingOrder else shown[::-1])]


def test_selecting_two_runs_overlays_their_curves_and_shows_two_confusion_matrices(qtbot, store, make_view):
    first = record_run(store, "first run", accuracy=0.9, epochs=3)
    second = record_run(store, "second run", accuracy=0.97, epochs=4, seed=1)
    other = record_run(store, "not selected", accuracy=0.5, seed=2)
    view = make_view()
    click_row(qtbot, view, row_of(view, first))
    click_row(qtbot, view, row_of(view, second), Qt.KeyboardModifier.ControlModifier)
    names = [store.get(i)["name"] for i in view.selected_ids()]
    assert len(names) == 2 and "not selected" not in names
    assert view.count_label.text() == "3 runs, 2 selected"
    curves = view.curves
    assert curves.names == names
    assert sorted(t.get_text() for t in curves.legend.get_texts()) == sorted(names)
    colors = curves.colors()
    assert len(colors) == 2 and colors[0] != colors[1]
    epochs = {store.get(i)["name"]: store.get(i)["epochs"] for i in view.selected_ids()}
    train_loss = curves.ax_loss.get_lines()[::2]
    assert [len(line.get_xdata()) for line in train_loss] == [epochs[n] for n in names]
    assert len(curves.ax_loss.get_lines()) == 4 and len(curves.ax_acc.get_lines()) == 4  # training + validation
    grid = view.confusions
    assert grid.titles == names and len(grid.figure.axes) == 2
    assert all(m is not None and m.sum() == 1000 for m in grid.matrices)
    assert [ax.title.get_text().split("\n")[0] for ax in grid.figure.axes] == names
    assert view.model.colors == dict(zip(view.selected_ids(), colors))  # the table's swatches match
    click_row(qtbot, view, row_of(view, other))  # one run only
    assert len(curves.names) == 1 and len(grid.figure.axes) == 1


def test_delete_asks_then_removes_the_files(qtbot, store, make_view, monkeypatch):
    ids = [record_run(store, name, seed=k) for k, name in enumerate(("a", "b", "c"))]
    view = make_view()
    view.select(ids[:2])
    asked = answer(monkeypatch, QMessageBox.StandardButton.No)
    qtbot.mouseClick(view.delete_button, Qt.MouseButton.LeftButton)
    assert len(asked) == 1 and "these 2 runs" in asked[0]
    assert all(store.path(i).exists() for i in ids)  # "No" keeps them
    answer(monkeypatch, QMessageBox.StandardButton.Yes)
    view.table.setFocus()
    qtbot.keyClick(view.table, Qt.Key.Key_Delete)
    assert not store.path(ids[0]).exists() and not store.path(ids[1]).exists() and store.path(ids[2]).exists()
    assert view.row_ids() == [ids[2]] and view.count_label.text() == "1 run"


def test_rename_with_f2_and_by_double_click_changes_the_json(qtbot, store, make_view):
    run_id = record_run(store, "old name")
    view = make_view()
    view.select([run_id])
    view.table.setFocus()
    qtbot.keyClick(view.table, Qt.Key.Key_F2)
    editor = QApplication.focusWidget()
    assert isinstance(editor, QLineEdit) and editor.text() == "old name"
    editor.selectAll()
    qtbot.keyClicks(editor, "best so far")
    qtbot.keyClick(editor, Qt.Key.Key_Return)  # the delegate commits on the next event-loop turn
    qtbot.waitUntil(lambda: json.loads(store.path(run_id).read_text())["name"] == "best so far")
    assert cell(view, 0, "name") == "best so far" and view.curves.names == ["best so far"]

    rect = view.table.visualRect(view.proxy.index(0, COLUMNS.index("name")))
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # a double click:
    qtbot.mouseDClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # press, then double
    editor = QApplication.focusWidget()
    assert isinstance(editor, QLineEdit)
    editor.setText("   ")  # no name: refused, said, the file keeps the old one
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "needs a name" in view.banner.text() and view.banner.isVisible())
    assert json.loads(store.path(run_id).read_text())["name"] == "best so far"


def test_export_writes_the_rows_as_csv_and_markdown(store, make_view, tmp_path):
    ids = {record_run(store, name, accuracy=acc, seed=k): name
           for k, (name, acc) in enumerate((("one", 0.9), ("two", 0.95)))}
    (store.root / "broken.json").write_text("{")
    view = make_view()
    assert view.export(tmp_path / "runs.csv")
    parsed = list(csv.DictReader(io.StringIO((tmp_path / "runs.csv").read_text())))
    assert [r["id"] for r in parsed] == [i for i in view.row_ids() if i in ids]  # the table's order, no broken
    assert {r["name"]: r["test accuracy"] for r in parsed} == {"one": "0.9", "two": "0.95"}
    assert view.export(tmp_path / "runs.md")
    lines = (tmp_path / "runs.md").read_text().splitlines()
    assert lines[0].startswith("| id | name |") and len(lines) == 4
    assert any("| one |" in line and "90.00%" in line for line in lines)
    assert not view.export(tmp_path / "no such folder" / "runs.csv")  # said, not raised
    assert "Could not write" in view.banner.text()


def test_a_corrupt_file_is_listed_as_broken_and_the_rest_still_work(qtbot, store, make_view):
    good = record_run(store, "good")
    store.root.joinpath("20261201-100000-dead.json").write_text('{"format": "digitdesk-run", "status": "runn')
    store.root.joinpath("20261201-100001-beef.json").write_text(json.dumps(
        {"format": "digitdesk-run", "status": "finished", "name": ["a", "list"], "test": "text",
         "epoch_history": "junk", "parameters": "many"}))
    view = make_view()
    assert len(view.row_ids()) == 3
    broken = row_of(view, "20261201-100000-dead")
    assert cell(view, broken, "status") == "broken"
    assert "not JSON" in cell(view, broken, "status", Qt.ItemDataRole.ToolTipRole)
    assert cell(view, row_of(view, good), "status") == "finished"
    view.select(view.row_ids())  # all three: only the readable ones are drawn, nothing raises
    assert len(view.curves.names) == 2 and len(view.confusions.titles) == 2
    assert [m is None for m in view.confusions.matrices].count(True) == 1  # the hand-edited one: no test
    view.select(["20261201-100000-dead"])
    assert not view.rename_button.isEnabled() and view.delete_button.isEnabled()
    assert view.curves.names == []


def test_sort_and_splitters_are_saved_and_restored(qtbot, store, make_view):
    for k in range(3):
        record_run(store, f"r{k}", accuracy=0.8 + k / 20, seed=k)
    view = make_view()
    view.table.sortByColumn(ACC, Qt.SortOrder.DescendingOrder)
    view.splitter.setSizes([150, 500])
    sizes = view.splitter.sizes()
    settings = Settings().group("train").group("runs")
    view.save_state(settings)
    again = make_view()
    again.restore_state(settings)
    header = again.table.horizontalHeader()
    assert header.sortIndicatorSection() == ACC and header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
    assert again.row_ids() == view.row_ids()
    assert again.splitter.sizes() == sizes


def test_a_train_tab_run_is_listed_and_saving_its_model_records_the_path(window, qtbot):
    tab = window.train_tab
    assert tab.views.tabText(tab.views.indexOf(tab.runs_page)) == "Runs"
    configure(tab, epochs=1, max_train=1000, max_test=200)
    tab.views.setCurrentWidget(tab.runs_page)
    assert tab.runs_view.row_ids() == []
    tab.start()
    qtbot.waitUntil(lambda: tab.evaluation is not None, timeout=TRAIN_TIMEOUT)
    runs = tab.runs_view
    run_id = tab.evaluation.metadata["run_id"]
    assert runs.row_ids() == [run_id]  # refreshed when the run ended, with its test metrics
    assert cell(runs, 0, "status") == "finished"
    assert cell(runs, 0, "test accuracy") == f"{tab.evaluation.report.accuracy:.2%}"
    assert tab.runs.path(run_id).parent == runs.store.root
    with qtbot.waitSignal(tab.modelSaved, timeout=30_000) as saved:
        qtbot.mouseClick(tab.results.save_button, Qt.MouseButton.LeftButton)
    info = saved.args[0]
    assert json.loads(tab.runs.path(run_id).read_text())["model"] == str(info.path.resolve())
    assert str(info.path.resolve()) in cell(runs, 0, "name", Qt.ItemDataRole.ToolTipRole)
