"""No Qt needed. The command line, run as a user would: ``python -m digitdesk ...``."""

import datetime
import json
import os
import signal
import subprocess
import sys

import cv2
import numpy as np
import pytest

from tests.conftest import mnist_dir


def run(*args, cwd=None):
    env = {**os.environ, "DIGITDESK_DATA": str(mnist_dir()), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "digitdesk", *map(str, args)], capture_output=True,
                          text=True, timeout=600, env=env, cwd=cwd)


def _number_png(path, text, size=(220, 480)):
    img = np.full(size, 255, np.uint8)
    cv2.putText(img, text, (25, size[0] - 50), cv2.FONT_HERSHEY_SIMPLEX, 4.5, 0, 18, cv2.LINE_AA)
    cv2.imwrite(str(path), img)
    return path


def test_version_and_help():
    out = run("--version")
    assert out.returncode == 0 and out.stdout.startswith("digitdesk ")
    out = run("--help")
    assert out.returncode == 0 and "predict" in out.stdout and "train" in out.stdout


def test_predict_json(tmp_path):
    good = _number_png(tmp_path / "n.png", "2026")
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((100, 100), 255, np.uint8))
    bad = tmp_path / "bad.jpg"
    bad.write_text("this is not a picture")
    out = run("predict", "--json", good, bad, blank)
    assert out.returncode == 2, out.stderr
    results = json.loads(out.stdout)
    assert [r["file"] for r in results] == [str(good), str(bad), str(blank)]
    assert results[0]["text"] == "2026"
    d = results[0]["digits"][0]
    assert set(d) == {"digit", "confidence", "box", "top"} and len(d["box"]) == 4 and len(d["top"]) == 3
    assert "error" in results[1] and "bad.jpg" in results[1]["error"]
    assert results[2]["text"] == "" and results[2]["digits"] == []


def test_predict_plain_text(tmp_path):
    out = run("predict", _number_png(tmp_path / "n.png", "417"))
    assert out.returncode == 0 and "n.png: 417" in out.stdout


def test_predict_bad_model_is_a_clear_error(tmp_path):
    model = tmp_path / "broken.keras"
    model.write_bytes(b"nonsense")
    out = run("predict", "--model", model, _number_png(tmp_path / "n.png", "1"))
    assert out.returncode == 1
    assert "broken.keras" in out.stderr and "Traceback" not in out.stderr


@pytest.fixture(scope="module")
def digit_folder(tmp_path_factory, mnist):
    root = tmp_path_factory.mktemp("folder")
    for i, (img, label) in enumerate(zip(mnist.test.images[:600], mnist.test.labels[:600])):
        (root / str(label)).mkdir(exist_ok=True)
        cv2.imwrite(str(root / str(label) / f"{i}.png"), 255 - img)  # dark ink on white, like a scan
    return root


def test_train_evaluate_and_kaggle(tmp_path, digit_folder, mnist):
    model = tmp_path / "mine.keras"
    out = run("train", "--arch", "tiny", "--epochs", "2", "--data", digit_folder, "--out", model, "--lr", "0.003")
    assert out.returncode == 0, out.stderr
    assert model.is_file() and "epoch 2/2" in out.stderr
    meta = json.loads(model.with_suffix(".json").read_text())
    assert meta["architecture"] == "tiny" and meta["epochs"] == 2 and "test_accuracy" in meta
    out = run_main("runs", "list", "--json")  # kept in this test's per-user folder
    assert out.returncode == 0 and out.stderr.strip() == "TF not loaded", out.stderr
    [row] = json.loads(out.stdout)
    assert row["id"] == meta["run_id"] and row["status"] == "finished" and row["architecture"] == "tiny"
    assert row["epochs"] == 2 and row["test accuracy"] == pytest.approx(meta["test_accuracy"], abs=1e-6)
    shown = run_main("runs", "show", row["id"], "--json")
    assert json.loads(shown.stdout)["model"] == str(model.resolve()), shown.stderr

    report = tmp_path / "report"
    out = run("evaluate", "--model", model, "--data", digit_folder, "--report", report)
    assert out.returncode == 0, out.stderr
    assert "precision" in out.stdout and "confusion" in out.stdout
    data = json.loads((report / "report.json").read_text())
    confusion = np.array(data["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() > 0
    assert data["accuracy"] == pytest.approx(np.trace(confusion) / confusion.sum(), abs=1e-6)  # agrees with its confusion
    assert (report / "confusion.png").stat().st_size > 1000
    assert (report / "roc.png").read_bytes()[:4] == b"\x89PNG" and (report / "roc.png").stat().st_size > 5000
    aucs = [data["per_class"][str(d)]["auc"] for d in range(10)]
    assert all(0.5 < a <= 1 for a in aucs) and data["macro_auc"] == pytest.approx(np.mean(aucs), abs=1e-5)
    assert "macro AUC" in out.stdout and f"{data['macro_auc']:.6f}" in out.stdout and "roc.png" in out.stdout

    csv = tmp_path / "test.csv"
    rows = ["pixel" + ",pixel".join(str(i) for i in range(784))]
    rows += [",".join(str(v) for v in img.ravel()) for img in mnist.test.images[:200]]
    csv.write_text("\n".join(rows) + "\n")
    out = run("kaggle", "--test", csv, "--out", tmp_path / "sub.csv")
    assert out.returncode == 0, out.stderr
    lines = (tmp_path / "sub.csv").read_text().splitlines()
    assert lines[0] == "ImageId,Label" and len(lines) == 201
    predicted = np.array([int(line.split(",")[1]) for line in lines[1:]])
    assert (predicted == mnist.test.labels[:200]).mean() > 0.95  # the bundled model


def _kaggle_train_csv(path, images, labels):
    rows = ["label," + ",".join(f"pixel{i}" for i in range(784))]
    rows += [f"{label}," + ",".join(str(v) for v in img.ravel()) for img, label in zip(images, labels)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_train_with_a_preset_takes_its_recipe_and_the_options_given(tmp_path, mnist):
    out = run("train", "--preset", "mlp", "--out", tmp_path / "m.keras")
    assert out.returncode == 1 and "--data train.csv" in out.stderr and "Traceback" not in out.stderr
    csv = _kaggle_train_csv(tmp_path / "train.csv", mnist.train.images[:600], mnist.train.labels[:600])
    model = tmp_path / "mlp.keras"
    out = run("train", "--preset", "mlp", "--epochs", "1", "--seed", "4", "--data", csv, "--out", model)
    assert out.returncode == 0, out.stderr
    assert "(preset mlp)" in out.stderr
    meta = json.loads(model.with_suffix(".json").read_text())
    c = meta["config"]
    assert (meta["architecture"], meta["parameters"], meta["epochs"]) == ("mlp", 134_794, 1)
    assert (c["batch_size"], c["schedule"], c["augment"], c["keep"], c["validation_split"], c["seed"]) == (
        64, "constant", False, "last", 0.1, 4)
    assert "train.csv" in meta["data"] and meta["train_samples"] == 500  # 1/6 of the CSV held out for testing


def test_ensemble_prints_each_member_and_the_ensemble_and_writes_its_files(tmp_path, mnist):
    from digitdesk.core.modelio import save_model
    from digitdesk.core.models import build

    paths = []
    for i in range(2):
        paths.append(tmp_path / f"m{i}.keras")
        save_model(build("tiny"), paths[-1], {"name": f"member{i}", "architecture": "tiny"})
    out = run_main("ensemble", paths[0], "--out", tmp_path / "one.keras")
    assert out.returncode == 1 and "at least 2 models, not 1" in out.stderr and "TF not loaded" in out.stderr
    csv = _kaggle_train_csv(tmp_path / "train.csv", mnist.test.images[:600], mnist.test.labels[:600])
    ens = tmp_path / "ens.keras"
    out = run("ensemble", *paths, "--out", ens, "--data", csv)
    assert out.returncode == 0, out.stderr
    meta = json.loads(ens.with_suffix(".json").read_text())
    lines = out.stdout.splitlines()
    assert lines[0].startswith("test split of") and "100 images" in lines[0]
    for i, m in enumerate(meta["members"]):
        assert m["name"] in lines[1 + i] and f"{m['test_accuracy'] * 100:6.2f}%" in lines[1 + i]
    assert "ensemble (average)" in lines[3] and f"{meta['test_accuracy'] * 100:6.2f}%" in lines[3]
    assert ens.with_suffix(".tflite").is_file() and ens.with_suffix(".twin.json").is_file()


def test_train_help_names_every_preset():
    from digitdesk.cli import PRESET_NAMES
    from digitdesk.core.presets import PRESETS

    assert PRESET_NAMES.replace(" or ", ", ").split(", ") == list(PRESETS)
    out = run("train", "--help")
    assert out.returncode == 0 and "fnn, mlp, simple_cnn, lenet5 or deep_cnn" in " ".join(out.stdout.split())


def test_train_with_bad_data_is_a_clear_error(tmp_path):
    bad = tmp_path / "train.csv"
    bad.write_text("label,pixel0\n1,2\n")
    out = run("train", "--arch", "tiny", "--epochs", "1", "--data", bad, "--out", tmp_path / "x.keras")
    assert out.returncode == 1 and "train.csv" in out.stderr and "Traceback" not in out.stderr


def run_main(*args, env=None):
    """``digitdesk.cli.main(args)`` in a fresh process; also says whether TensorFlow was imported."""
    code = ("import sys\nfrom digitdesk.cli import main\ntry:\n    rc = main(sys.argv[1:])\n"
            "except SystemExit as exc:\n    rc = exc.code\n"
            "print('TF loaded' if 'tensorflow' in sys.modules else 'TF not loaded', file=sys.stderr)\nsys.exit(rc)")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                          timeout=600, env=env)


def _bad_arguments(tmp):
    model = tmp / "m.keras"
    model.write_bytes(b"not looked at")
    a_file = tmp / "a_file"
    a_file.write_text("x")
    return [
        (["train", "--preset", "vgg"], "--preset", "no preset 'vgg'"),
        (["train", "--epochs", "-1"], "--epochs", "at least 1"),
        (["train", "--epochs", "two"], "--epochs", "whole number"),
        (["train", "--batch-size", "0"], "--batch-size", "at least 1"),
        (["train", "--lr", "-0.01"], "--lr", "above 0"),
        (["train", "--lr", "nan"], "--lr", "above 0"),
        (["train", "--val-split", "1.5"], "--val-split", "below 1"),
        (["train", "--early-stopping", "-2"], "--early-stopping", "at least 0"),
        (["train", "--seed", "-1"], "--seed", "at least 0"),
        (["train", "--data", tmp / "missing"], "--data", "no such file or folder"),
        (["train", "--fine-tune", tmp / "missing.keras"], "--fine-tune", "file not found"),
        (["train", "--out", tmp / "no_folder" / "m.keras"], "--out", "does not exist"),
        (["train", "--out", a_file / "m.keras"], "--out", "is a file"),
        (["train", "--out", tmp / "m.h5"], "--out", "must end in .keras"),
        (["train", "--out", tmp], "--out", "must end in .keras"),
        (["evaluate", "--model", tmp / "missing.keras"], "--model", "file not found"),
        (["evaluate", "--data", tmp / "missing"], "--data", "no such file or folder"),
        (["evaluate", "--model", model, "--report", a_file / "report"], "--report", "is a file"),
        (["ensemble", tmp / "missing.keras", model, "--out", tmp / "e.keras"], "MODEL", "file not found"),
        (["ensemble", model, model, "--out", tmp / "e.h5"], "--out", "must end in .keras"),
        (["kaggle", "--test", tmp / "missing.csv"], "--test", "file not found"),
        (["kaggle", "--test", a_file, "--out", tmp / "no_folder" / "s.csv"], "--out", "does not exist"),
        (["kaggle", "--test", a_file, "--model", tmp], "--model", "is a folder"),
        (["predict", "--model", tmp / "missing.keras", a_file], "--model", "file not found"),
        (["self-test", "--model", tmp / "missing.keras"], "--model", "file not found"),
    ]


def test_bad_arguments_are_refused_before_any_work(tmp_path):
    """Each bad value gets argparse's exit status 2 and one error line naming the argument, before
    TensorFlow, a model or data is loaded (MNIST is made unfindable: loading it would fail otherwise)."""
    for args, option, words in _bad_arguments(tmp_path):
        out = run_main(*args, env={"DIGITDESK_DATA": str(tmp_path / "no_mnist_here")})
        lines = out.stderr.strip().splitlines()
        assert out.returncode == 2, (args, out.stderr)
        assert lines[-1] == "TF not loaded", (args, out.stderr)
        errors = [line for line in lines if "error" in line]
        assert len(errors) == 1 and errors[0].startswith(f"digitdesk {args[0]}: error: argument {option}: "), (args, lines)
        assert words in errors[0], (args, errors[0])
        assert "Traceback" not in out.stderr and out.stdout == "", (args, out)


def test_predict_names_a_missing_file_once_and_loads_no_model(tmp_path):
    missing = tmp_path / "nope.png"
    out = run_main("predict", missing)
    assert out.returncode == 2, out.stderr
    assert out.stdout == f"{missing}: error: file not found\n"
    assert out.stderr.strip() == "TF not loaded"
    out = run("predict", missing, _number_png(tmp_path / "n.png", "38"))  # the next file is still read
    lines = out.stdout.splitlines()
    assert out.returncode == 2 and len(lines) == 2, out.stdout
    assert lines[0] == f"{missing}: error: file not found" and lines[1].startswith(f"{tmp_path / 'n.png'}: 38"), lines


def test_ctrl_c_during_train_keeps_the_run_as_cancelled(tmp_path, digit_folder):
    """SIGINT once the first epoch is reported (50 planned: far from done): exit 130, nothing
    saved, as before, and the run is kept as cancelled. The interrupt ends the training at a
    batch's end (raised anywhere in TensorFlow's loop, it crashed the process now and then)."""
    env = {**os.environ, "DIGITDESK_DATA": str(mnist_dir()), "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen([sys.executable, "-m", "digitdesk", "train", "--arch", "tiny", "--epochs", "50",
                             "--no-augment", "--data", str(digit_folder), "--out", str(tmp_path / "m.keras")],
                            stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        for line in proc.stderr:
            if line.startswith("epoch 1/50  loss"):  # the epoch's line, not a batch's
                proc.send_signal(signal.SIGINT)
                break
        rest = proc.stderr.read()
        assert proc.wait(timeout=600) == 130, rest
    finally:
        proc.kill()
    assert "interrupting after this batch" in rest and "nothing saved" in rest and not (tmp_path / "m.keras").exists()
    [row] = json.loads(run_main("runs", "list", "--json").stdout)
    assert row["status"] == "cancelled" and 1 <= row["epochs"] < 50


def _write_runs(root):
    import socket

    from digitdesk.core.runs import RunStore

    store = RunStore(root)
    base = {"architecture": "tiny", "parameters": 7018, "epochs": 2, "augmentation": {"on": True, "params": {"rotation": 10}},
            "wall_seconds": 61.0, "host": socket.gethostname(), "config": {"arch": "tiny", "epochs": 2},
            "test": {"accuracy": 0.93, "loss": 0.25, "count": 100, "macro": {"precision": 0.9, "recall": 0.8, "f1": 0.85},
                     "per_class": {str(d): {"precision": 0.9, "recall": 0.8, "f1": 0.85, "support": 10} for d in range(10)},
                     "confusion": [[10 if i == j else 0 for j in range(10)] for i in range(10)]},
            "epoch_history": [{"epoch": 1, "loss": 0.5, "accuracy": 0.8}, {"epoch": 2, "loss": 0.3, "accuracy": 0.9}]}
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store.write({**base, "id": "20261201-100000-aaaa", "name": "first", "status": "finished", "date": "2026-12-01T10:00:00+00:00"})
    store.write({**base, "id": "20261202-100000-bbbb", "name": "crashed", "status": "running", "pid": dead.pid,
                 "date": "2026-12-02T10:00:00+00:00", "test": None})
    broken = root / "20261203-100000-cccc.json"
    broken.write_text('{"format": "digitdesk-run", "stat')  # truncated
    stamp = datetime.datetime(2026, 12, 3, 10, tzinfo=datetime.timezone.utc).timestamp()
    os.utime(broken, (stamp, stamp))  # listed by its date: newest
    return store


def test_runs_list_show_export_rename_delete(tmp_path):
    """No TensorFlow, one line per error, exit status 1 for a run that is not there."""
    store = _write_runs(tmp_path / "runs")
    env = {"DIGITDESK_RUNS": str(store.root)}

    out = run_main("runs", "list", env=env)
    assert out.returncode == 0 and out.stderr.strip() == "TF not loaded", out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "ARCH", "EPOCHS", "TEST", "ACC", "TIME", "NAME"]
    assert lines[1].startswith("20261203-100000-cccc") and "broken: not JSON: " in lines[1]
    assert lines[2].split() == ["20261202-100000-bbbb", "interrupted", "tiny", "2", "1:01", "crashed"]
    assert lines[3].split() == ["20261201-100000-aaaa", "finished", "tiny", "2", "93.00%", "1:01", "first"]
    rows = json.loads(run_main("runs", "list", "--json", env=env).stdout)
    assert [r.get("status") for r in rows] == [None, "interrupted", "finished"] and "not JSON" in rows[0]["error"]

    out = run_main("runs", "show", "20261201-100000-aaaa", env=env)
    assert out.returncode == 0 and out.stdout.startswith("run 20261201-100000-aaaa: first\nstatus: finished\n")
    for words in ("architecture: tiny, 7,018 parameters", "augmentation: on (rotation=10)", "test accuracy: 93.00% of 100, loss 0.2500",
                  "macro     0.9000  0.8000  0.8500", "confusion (rows: true, columns: predicted)"):
        assert words in out.stdout, (words, out.stdout)
    assert json.loads(run_main("runs", "show", "20261202-100000-bbbb", "--json", env=env).stdout)["status"] == "interrupted"
    for bad, words in (("nope", "no run nope in"), ("20261203-100000-cccc", "not JSON"), ("../etc", "not a run id")):
        out = run_main("runs", "show", bad, env=env)
        assert out.returncode == 1 and out.stdout == "" and "Traceback" not in out.stderr, out.stderr
        assert out.stderr.splitlines()[0].startswith("digitdesk: error: ") and words in out.stderr, out.stderr

    out = run_main("runs", "export", env=env)
    assert out.returncode == 0 and "left out 1 broken run file" in out.stderr
    assert out.stdout.splitlines() == [
        "id,name,architecture,parameters,epochs,augmentation,test accuracy,loss,macro precision,macro recall,macro F1,time,status",
        "20261202-100000-bbbb,crashed,tiny,7018,2,on,,,,,,61.0,interrupted",
        "20261201-100000-aaaa,first,tiny,7018,2,on,0.93,0.25,0.9,0.8,0.85,61.0,finished"]
    md = tmp_path / "runs.md"
    out = run_main("runs", "export", "--format", "md", "--out", md, env=env)
    assert out.returncode == 0 and out.stdout.strip() == f"wrote 2 runs to {md}"
    assert md.read_text().splitlines()[3] == \
        "| 20261201-100000-aaaa | first | tiny | 7,018 | 2 | on | 93.00% | 0.25 | 0.9 | 0.8 | 0.85 | 61.0 s | finished |"
    out = run_main("runs", "export", "--out", tmp_path / "no_folder" / "x.csv", env=env)
    assert out.returncode == 2 and "does not exist" in out.stderr

    out = run_main("runs", "rename", "20261201-100000-aaaa", "the good one", env=env)
    assert out.returncode == 0 and store.get("20261201-100000-aaaa")["name"] == "the good one"
    assert run_main("runs", "rename", "nope", "x", env=env).returncode == 1

    out = run_main("runs", "delete", "20261203-100000-cccc", "nope", "20261201-100000-aaaa", env=env)
    assert out.returncode == 1 and "no run nope" in out.stderr and "Traceback" not in out.stderr
    assert [e.id for e in store.list()] == ["20261202-100000-bbbb"]  # the others were deleted
    out = run_main("runs", "delete", "20261202-100000-bbbb", env=env)
    assert out.returncode == 0 and out.stdout == "deleted 20261202-100000-bbbb\n"
    out = run_main("runs", "list", env=env)
    assert out.stdout.startswith("no runs yet")
    assert run_main("runs", env=env).returncode == 2  # an action is needed
