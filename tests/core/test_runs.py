"""No Qt needed. The runs store: every training run kept (finished, cancelled, failed, interrupted),
listed without failing on broken files or importing TensorFlow, written atomically, exported."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from digitdesk.core.data import Dataset, Split
from digitdesk.core.errors import RunError, TrainingError
from digitdesk.core.runrecord import BatchCurve, RunRecorder
from digitdesk.core.runs import COLUMNS, FORMAT, RunStore, table, to_csv, to_markdown
from digitdesk.core.training import Progress, TrainConfig
from tests.conftest import REPO, mnist_dir

CONFIG = dict(arch="tiny", epochs=1, batch_size=50, learning_rate=3e-3, augment=False, seed=0)  # 450 images: 9 batches


@pytest.fixture(scope="module")
def small(mnist) -> Dataset:
    return Dataset(Split(mnist.train.images[:500], mnist.train.labels[:500]),
                   Split(mnist.test.images[:300], mnist.test.labels[:300]), "MNIST (500 images)")


@pytest.fixture
def store(tmp_path) -> RunStore:
    return RunStore(tmp_path / "runs")


def _only(store: RunStore) -> dict:
    entries = store.list()
    assert len(entries) == 1 and not entries[0].broken, entries
    return entries[0].record


def _record(run_id: str, **fields) -> dict:
    """A hand-made run record, as the recorder writes them."""
    return {"id": run_id, "name": run_id, "status": "finished", "pid": os.getpid(), "host": socket.gethostname(),
            "date": "2026-12-01T10:00:00+00:00", "architecture": "tiny", "parameters": 7018, "epochs": 1,
            "augmentation": {"on": False, "params": None}, "wall_seconds": 12.34,
            "test": {"accuracy": 0.9, "loss": 0.3, "macro": {"precision": 0.91, "recall": 0.89, "f1": 0.9}}, **fields}


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


# Recorded from training ------------------------------------------------------------------------


def test_a_finished_run_has_its_metrics(tmp_path, store, small):
    from digitdesk.core.trainjob import train_and_save

    out = tmp_path / "m.keras"
    cfg = TrainConfig(**CONFIG)
    result, meta = train_and_save(cfg, small, out, runs=store, name="first")
    run = _only(store)
    assert run["status"] == "finished" and run["name"] == "first" and meta["run_id"] == run["id"]
    assert run["config"] == json.loads(json.dumps(cfg.to_dict())) and run["architecture"] == "tiny"
    assert run["parameters"] == result.model.count_params() and run["epochs"] == 1 and run["epochs_planned"] == 1
    assert run["augmentation"] == {"on": False, "params": None}
    assert run["model"] == str(out.resolve()) and run["data"] == "MNIST (500 images)" and run["train_samples"] == 500
    assert run["pid"] == os.getpid() and run["digitdesk_version"] and run["date"] and run["ended"]
    assert run["samples_per_s"] > 0 and run["wall_seconds"] > 0
    assert [e["epoch"] for e in run["epoch_history"]] == [1]
    assert run["epoch_history"][0]["loss"] == pytest.approx(result.history["loss"][0], abs=1e-5)
    assert run["epoch_history"][0]["val_accuracy"] == pytest.approx(result.history["val_accuracy"][0], abs=1e-5)
    assert len(run["batch_history"]["loss"]) == 9 and run["batch_history"]["batches_per_point"] == 1
    test = run["test"]
    assert test == meta["test_report"]  # the model's metadata and its run agree
    confusion = np.array(test["confusion"])
    assert confusion.sum() == 300 and test["accuracy"] == pytest.approx(np.trace(confusion) / 300, abs=1e-6)
    assert 0 < test["loss"] < 10
    f1 = [test["per_class"][str(d)]["f1"] for d in range(10)]
    assert test["macro"]["f1"] == pytest.approx(np.mean(f1), abs=1e-3)


def _request_and_data(small):
    from digitdesk.core.trainrequest import TrainData, TrainRequest

    return TrainRequest(TrainConfig(**CONFIG)), TrainData(small, "MNIST")


def test_a_cancelled_run_is_recorded_as_cancelled_and_gets_its_test_later(store, small):
    """The Train tab's path: Stop after 3 batches; the run is kept as cancelled, then tested."""
    from digitdesk.core.trainrequest import evaluate, run_training

    request, data = _request_and_data(small)
    batches = []
    result = run_training(request, data, on_progress=lambda p: batches.append(p) if p.kind == "batch" else None,
                          should_stop=lambda: len(batches) >= 3, runs=store)
    assert result.cancelled and len(batches) == 3  # training itself went as before
    run = _only(store)
    assert run["status"] == "cancelled" and run["source"] == "train tab" and "test" not in run
    assert run["epochs"] == 0.33 and run["epoch_history"] == [] and len(run["batch_history"]["loss"]) == 3
    ev = evaluate(request, data, result)
    run = _only(store)
    assert run["status"] == "cancelled" and run["test"]["accuracy"] == pytest.approx(ev.report.accuracy, abs=1e-6)
    assert ev.metadata["run_id"] == run["id"]


def test_ctrl_c_is_recorded_as_cancelled(tmp_path, store, small):
    """The CLI's path: KeyboardInterrupt from inside fit still reaches the caller, and the run is kept."""
    from digitdesk.core.trainjob import train_and_save

    def progress(p):
        if p.kind == "batch" and p.batch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_and_save(TrainConfig(**CONFIG), small, tmp_path / "m.keras", on_progress=progress, runs=store)
    run = _only(store)
    assert run["status"] == "cancelled" and run["error_type"] == "KeyboardInterrupt"
    assert "model" not in run and not (tmp_path / "m.keras").exists()


def test_a_failing_run_is_recorded_as_failed_with_its_message(tmp_path, store, small):
    from digitdesk.core.trainjob import train_and_save
    from digitdesk.core.trainrequest import run_training

    def progress(p):
        if p.kind == "batch" and p.batch == 4:
            raise RuntimeError("the disk caught fire")

    request, data = _request_and_data(small)
    with pytest.raises(RuntimeError, match="caught fire"):
        run_training(request, data, on_progress=progress, runs=store)
    run = _only(store)
    assert run["status"] == "failed" and run["error"] == "the disk caught fire" and run["error_type"] == "RuntimeError"
    assert len(run["batch_history"]["loss"]) == 4  # recorded, then passed on (and raised)
    store.delete([run["id"]])

    with pytest.raises(TrainingError, match="schedule"):
        train_and_save(TrainConfig(**{**CONFIG, "schedule": "sometimes"}), small, tmp_path / "m.keras", runs=store)
    run = _only(store)
    assert run["status"] == "failed" and "unknown schedule 'sometimes'" in run["error"]


def test_recording_problems_never_stop_training(tmp_path, small):
    """A runs folder that cannot be made (a file is in the way): training and saving go on."""
    from digitdesk.core.trainjob import train_and_save

    (tmp_path / "afile").write_text("x")
    result, meta = train_and_save(TrainConfig(**CONFIG), small, tmp_path / "m.keras", runs=RunStore(tmp_path / "afile" / "runs"))
    assert (tmp_path / "m.keras").is_file() and result.epochs_run == 1 and "test_accuracy" in meta


def test_no_per_user_folder_no_run_and_no_error(tmp_path, monkeypatch):
    (tmp_path / "afile").write_text("x")
    monkeypatch.setenv("DIGITDESK_HOME", str(tmp_path / "afile" / "home"))  # cannot be made
    rec = RunRecorder.start(TrainConfig(**CONFIG), "MNIST", 500)
    rec.add(_epoch(1))
    rec.fail(RuntimeError("not kept"))
    assert rec.store is None and rec.record["status"] == "failed"


def test_a_run_killed_mid_training_lists_as_interrupted(tmp_path):
    """A real crash: the process dies after its first epoch of two; the run it leaves is readable."""
    code = (
        "import os, sys\n"
        "from digitdesk.core.data import load_mnist, Dataset, Split\n"
        "from digitdesk.core.runs import RunStore\n"
        "from digitdesk.core.training import TrainConfig\n"
        "from digitdesk.core.trainjob import train_and_save\n"
        "m = load_mnist()\n"
        "ds = Dataset(Split(m.train.images[:500], m.train.labels[:500]), Split(m.test.images[:100], m.test.labels[:100]), 'MNIST')\n"
        "def die(p):\n"
        "    if p.kind == 'epoch':\n"
        "        os._exit(9)\n"
        f"train_and_save(TrainConfig(**{{**{CONFIG!r}, 'epochs': 2}}), ds, sys.argv[2], on_progress=die, runs=RunStore(sys.argv[1]))\n"
    )
    env = {**os.environ, "DIGITDESK_DATA": str(mnist_dir()), "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code, tmp_path / "runs", tmp_path / "m.keras"], capture_output=True,
                         text=True, timeout=600, env=env)
    assert out.returncode == 9, out.stderr[-3000:]
    run = _only(RunStore(tmp_path / "runs"))
    assert run["status"] == "interrupted" and run["pid"] != os.getpid()
    assert run["epochs"] == 1 and len(run["epoch_history"]) == 1 and len(run["batch_history"]["loss"]) == 9


def test_a_running_record_with_a_dead_process_is_interrupted(store):
    store.write(_record("20261201-100000-dead", status="running", pid=_dead_pid()))
    store.write(_record("20261201-100000-live", status="running", pid=os.getpid()))
    store.write(_record("20261201-100000-away", status="running", pid=_dead_pid(), host="another-machine"))
    status = {e.id: e.status for e in store.list()}
    assert status == {"20261201-100000-dead": "interrupted", "20261201-100000-live": "running",
                      "20261201-100000-away": "running"}  # another machine's process cannot be looked at
    assert store.get("20261201-100000-dead")["status"] == "interrupted"
    store.rename("20261201-100000-dead", "crashed")  # renaming does not make it "interrupted" on disk
    assert json.loads(store.path("20261201-100000-dead").read_text())["status"] == "running"
    assert store.get("20261201-100000-dead")["status"] == "interrupted"


# Reading the store ---------------------------------------------------------------------------------


def test_broken_files_are_listed_with_their_reason(store):
    store.write(_record("20261201-100000-good"))
    good = store.path("20261201-100000-good").read_bytes()
    files = {
        "truncated": good[: len(good) // 2],
        "garbage": b"\x00\xff\xfe not text",
        "foreign": b'{"hello": "world"}',
        "a-list": b"[1, 2, 3]",
        "empty": b"",
        "oddstatus": json.dumps({"format": FORMAT, "status": "dancing"}).encode(),
    }
    odd_kinds = {"format": FORMAT, "status": "finished", "test": "high", "augmentation": [1], "parameters": "many"}
    (store.root / "oddkinds.json").write_text(json.dumps(odd_kinds))  # a run, hand-edited: still listed
    for name, data in files.items():
        (store.root / f"{name}.json").write_bytes(data)
    (store.root / "notes.txt").write_text("not a run")  # other files are not runs
    (store.root / ".20261201-100000-good.json.123-abc.tmp").write_bytes(b"{")  # a killed save's leftover
    entries = {e.id: e for e in store.list()}
    assert set(entries) == {"20261201-100000-good", "oddkinds", *files}
    assert table([entries["oddkinds"]])[0]["test accuracy"] is None
    assert not entries["20261201-100000-good"].broken and entries["20261201-100000-good"].status == "finished"
    errors = {k: e.error for k, e in entries.items() if e.broken}
    assert errors["truncated"].startswith("not JSON: ") and errors["garbage"].startswith("not JSON: ")
    assert errors["foreign"].startswith("not a digitdesk run") and errors["a-list"].startswith("not a digitdesk run")
    assert errors["empty"] == "empty file" and errors["oddstatus"] == "unknown status 'dancing'"
    assert all(entries[k].status == "broken" and entries[k].summary() == {"id": k, "error": errors[k]} for k in errors)
    with pytest.raises(RunError, match="truncated: not JSON"):
        store.get("truncated")
    assert store.delete(["truncated", "garbage"]) == ["truncated", "garbage"]  # broken files can be deleted
    assert len(store.list()) == len(files)


def test_newest_first_unknown_ids_and_a_missing_folder(tmp_path, store):
    assert RunStore(tmp_path / "nowhere").list() == []
    for i, day in enumerate(["2026-11-30", "2026-12-02", "2026-12-01"]):
        store.write(_record(f"run{i}", date=f"{day}T10:00:00+00:00"))
    assert [e.id for e in store.list()] == ["run1", "run2", "run0"]
    with pytest.raises(RunError, match="no run nope"):
        store.get("nope")
    for bad in ("../run1", "", ".hidden", "a/b"):
        with pytest.raises(RunError, match="not a run id"):
            store.get(bad)
    with pytest.raises(RunError, match="no run nope.*deleted run0"):
        store.delete(["run0", "nope"])
    assert [e.id for e in store.list()] == ["run1", "run2"]
    with pytest.raises(RunError, match="needs a name"):
        store.rename("run1", "  ")
    assert store.rename("run1", " best so far ")["name"] == "best so far" and store.get("run1")["name"] == "best so far"


def test_a_write_killed_midway_leaves_the_previous_file(store, monkeypatch):
    store.write(_record("20261201-100000-aaaa", name="before"))
    before = store.path("20261201-100000-aaaa").read_bytes()

    def killed(fd):  # the new bytes are in the temporary file, not yet renamed into place
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(os, "fsync", killed)
    with pytest.raises(KeyboardInterrupt):
        store.write(_record("20261201-100000-aaaa", name="after"))
    monkeypatch.undo()
    assert store.path("20261201-100000-aaaa").read_bytes() == before
    assert store.get("20261201-100000-aaaa")["name"] == "before"
    assert [p.name for p in store.root.iterdir()] == ["20261201-100000-aaaa.json"]


def test_listing_does_not_import_tensorflow(store):
    store.write(_record("20261201-100000-aaaa"))
    code = ("import sys\nfrom digitdesk.core.runs import RunStore, table, to_csv\n"
            "entries = RunStore(sys.argv[1]).list()\nassert len(entries) == 1 and not entries[0].broken\n"
            "to_csv(table(entries))\n"
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, store.root], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# Recording details --------------------------------------------------------------------------------


def test_batch_history_is_down_sampled_to_at_most_2000_points():
    curve = BatchCurve()
    n = 9001
    for i in range(n):
        curve.add(i / 100, float(i), 1.0)
    d = curve.to_dict()
    assert 1000 <= len(d["loss"]) <= 2000 and d["batches_per_point"] == 8
    assert d["epoch"] == sorted(d["epoch"]) and d["accuracy"] == [1.0] * len(d["loss"])
    full = (len(d["loss"]) - 1) * 8  # every point but the last (partial) averages 8 batches
    assert np.mean(d["loss"][:-1]) == pytest.approx(np.mean(np.arange(full)), rel=1e-6)
    small = BatchCurve()
    for i in range(5):
        small.add(i, i, 0.5)
    assert small.to_dict()["loss"] == [0, 1, 2, 3, 4]


def _epoch(n: int) -> Progress:
    return Progress("epoch", n, 3, 10, 10, 0.5, 0.8, 1000.0, 1.0, 1e-3, float("nan"), None)


def test_a_rename_or_delete_while_running_is_kept(store):
    rec = RunRecorder.start(TrainConfig(**CONFIG), "MNIST", 500, store, name="mine")
    store.rename(rec.id, "renamed while running")
    rec.add(_epoch(1))
    run = store.get(rec.id)
    assert run["name"] == "renamed while running" and run["epochs"] == 1
    assert run["epoch_history"][0]["val_loss"] is None  # NaN is not JSON: written as null
    store.delete([rec.id])
    rec.add(_epoch(2))
    rec.fail(RuntimeError("late"))
    assert store.list() == []  # not brought back


# The comparison table ----------------------------------------------------------------------------


def test_csv_and_markdown_tables(store):
    store.write(_record("20261201-100000-aaaa", name="plain", date="2026-12-01T10:00:00+00:00"))
    store.write(_record("20261201-110000-bbbb", name="a | b, \"quoted\"", date="2026-12-01T11:00:00+00:00",
                        status="failed", augmentation={"on": True, "params": {"rotation": 10}}, test=None,
                        parameters=None, wall_seconds=3.0))
    (store.root / "broken.json").write_text("{")
    rows = table(store.list())
    assert [r["id"] for r in rows] == ["20261201-110000-bbbb", "20261201-100000-aaaa"]  # broken files have no row

    parsed = list(csv.DictReader(io.StringIO(to_csv(rows))))
    assert list(parsed[0]) == list(COLUMNS)
    assert parsed[0] == {"id": "20261201-110000-bbbb", "name": 'a | b, "quoted"', "architecture": "tiny",
                         "parameters": "", "epochs": "1", "augmentation": "on", "test accuracy": "", "loss": "",
                         "macro precision": "", "macro recall": "", "macro F1": "", "time": "3.0", "status": "failed"}
    assert parsed[1] == {"id": "20261201-100000-aaaa", "name": "plain", "architecture": "tiny", "parameters": "7018",
                         "epochs": "1", "augmentation": "off", "test accuracy": "0.9", "loss": "0.3",
                         "macro precision": "0.91", "macro recall": "0.89", "macro F1": "0.9", "time": "12.3",
                         "status": "finished"}

    lines = to_markdown(rows).splitlines()
    assert lines[0] == "| " + " | ".join(COLUMNS) + " |" and set(lines[1]) == {"|", "-"}
    assert lines[2] == '| 20261201-110000-bbbb | a \\| b, "quoted" | tiny |  | 1 | on |  |  |  |  |  | 3.0 s | failed |'
    assert lines[3] == "| 20261201-100000-aaaa | plain | tiny | 7,018 | 1 | off | 90.00% | 0.3 | 0.91 | 0.89 | 0.9 | 12.3 s | finished |"
    assert len(lines) == 4
