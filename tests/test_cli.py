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
    assert 0 <= data["accuracy"] <= 1 and len(data["confusion"]) == 10
    assert (report / "confusion.png").stat().st_size > 1000

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


def test_train_with_bad_data_is_a_clear_error(tmp_path):
    bad = tmp_path / "train.csv"
    bad.write_text("label,pixel0\n1,2\n")
    out = run("train", "--arch", "tiny", "--epochs", "1", "--data", bad, "--out", tmp_path / "x.keras")
    assert out.returncode == 1 and "train.csv" in out.stderr and "Traceback" not in out.stderr
