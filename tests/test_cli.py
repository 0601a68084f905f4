"""No Qt needed. The command line, run as a user would: ``python -m digitdesk ...``."""

import json
import os
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
