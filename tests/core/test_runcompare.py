"""No Qt needed. Runs side by side: the Runs view's rows (broken files too), cell text and sort
order, each run's per-epoch curves and confusion matrix, and a saved model's path kept in its run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from digitdesk.core.errors import RunError
from digitdesk.core.runcompare import COLUMNS, cell_text, confusion, curves, rows, sort_key
from digitdesk.core.runs import RunStore
from tests.core.runfiles import record_run


@pytest.fixture
def store(tmp_path) -> RunStore:
    return RunStore(tmp_path / "runs")


def test_rows_of_recorded_runs_and_a_broken_file(store):
    a = record_run(store, "first", accuracy=0.9, epochs=2)
    b = record_run(store, "second", accuracy=0.95, epochs=3, arch="simple_cnn", parameters=120_000, augment=True)
    (store.root / "garbage.json").write_text("{not json")
    by_id = {r["id"]: r for r in rows(store.list())}
    assert set(by_id) == {a, b, "garbage"}
    first, second, broken = by_id[a], by_id[b], by_id["garbage"]
    assert set(COLUMNS) <= set(first)
    assert (first["name"], first["architecture"], first["epochs"], first["status"]) == ("first", "tiny", 2, "finished")
    assert first["test accuracy"] == pytest.approx(0.9) and first["broken"] is None
    assert (second["parameters"], second["augmentation"], second["architecture"]) == (120_000, "on", "simple_cnn")
    assert 0 < second["macro F1"] < 1 and second["loss"] > 0
    assert broken["status"] == "broken" and broken["name"] == "garbage.json" and "not JSON" in broken["broken"]
    assert broken["test accuracy"] is None and "not JSON" in broken["note"]


def test_the_status_note_says_why_a_run_failed(store):
    run_id = record_run(store, "x")
    store.write({**store.get(run_id), "status": "failed", "error": "out of memory"})
    assert rows(store.list())[0]["note"] == "failed: out of memory"


def test_cells_read_as_a_person_expects():
    assert cell_text("test accuracy", 0.98765) == "98.77%"
    assert cell_text("parameters", 1234567) == "1,234,567"
    assert cell_text("time", 75.4) == "1:15" and cell_text("time", 3725) == "1:02:05"
    assert cell_text("epochs", 0.25) == "0.25" and cell_text("epochs", 3) == "3"
    assert cell_text("loss", 0.123456) == "0.1235" and cell_text("macro F1", 0.9) == "0.900"
    assert cell_text("loss", None) == "" and cell_text("loss", "n/a") == "n/a"  # hand-edited: as it is


def test_numbers_sort_as_numbers_and_unknowns_come_last():
    values = [0.9, None, 0.1, 0.85, "n/a", 1.0]
    ordered = sorted(values, key=lambda v: sort_key("test accuracy", v))
    assert ordered[:4] == [0.1, 0.85, 0.9, 1.0] and set(map(str, ordered[4:])) == {"None", "n/a"}
    assert sorted([9, 10, 100], key=lambda v: sort_key("parameters", v)) == [9, 10, 100]  # not "10" < "9"
    assert sorted(["b", "A", None], key=lambda v: sort_key("name", v)) == ["A", "b", None]


def test_curves_and_confusion_of_a_run(store):
    run_id = record_run(store, "c", accuracy=0.9, epochs=3)
    record = store.get(run_id)
    c = curves(record)
    assert list(c["epoch"]) == [1, 2, 3]
    assert c["val_accuracy"][-1] == pytest.approx(0.8) and c["loss"][0] == pytest.approx(1.5)
    m = confusion(record)
    assert m.shape == (10, 10) and m.sum() == 1000 and np.trace(m) == 900


def test_malformed_curves_and_confusion_do_not_raise():
    assert confusion({"test": {"confusion": [[1, 2], [3, 4]]}}) is None
    assert confusion({"test": "text"}) is None and confusion(None) is None
    c = curves({"epoch_history": [{"epoch": 1, "loss": "x", "val_loss": None}, "junk", {"loss": 1}]})
    assert list(c["epoch"]) == [1] and np.isnan(c["loss"][0]) and np.isnan(c["val_loss"][0])
    assert len(curves({"epoch_history": "junk"})["epoch"]) == 0


def test_set_model_records_the_path_and_nothing_else(store, tmp_path):
    run_id = record_run(store, "kept")
    before = json.loads(store.path(run_id).read_text())
    store.set_model(run_id, tmp_path / "m.keras")
    after = json.loads(store.path(run_id).read_text())
    assert after.pop("model") == str((tmp_path / "m.keras").resolve())
    assert after == before
    row = rows(store.list())[0]
    assert row["model"] == str((tmp_path / "m.keras").resolve()) and row["data"] == "MNIST" and row["date"]
    with pytest.raises(RunError):
        store.set_model("20990101-000000-0000", tmp_path / "m.keras")
