"""No Qt needed. ``digitdesk explain``, run as a user would: heatmaps, neighbour sheets and
summary.json for what ``predict`` reads, the index kept for the next run, and clear errors."""

import json

import cv2
import numpy as np

from tests.test_cli import _number_png, run


def test_explain_writes_heatmaps_neighbours_and_a_summary(tmp_path, mnist):
    image = _number_png(tmp_path / "n.png", "2026")
    out = tmp_path / "out"
    done = run("explain", image, "--out", out, "--digit", "2", "--index-limit", "600")
    assert done.returncode == 0, done.stderr
    assert "building the index of 600 training digits" in done.stderr and "built and kept in" in done.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["text"] == "2026" and [d["number"] for d in summary["digits"]] == [2]
    d = summary["digits"][0]
    assert d["digit"] == d["top"]["digit"] == 0 and d["runner_up"]["digit"] == d["read_top"][1][0] != 0
    for name in d["files"].values():
        png = cv2.imread(str(out / name))
        assert png is not None and png.shape[2] == 3, name
    assert cv2.imread(str(out / d["files"]["why"])).shape[:2] == (280, 280)
    labels = mnist.train.labels[:600]
    for digit, found in d["neighbours"].items():
        assert len(found) == 5 and all(labels[n["index"]] == int(digit) == n["label"] for n in found)
        assert all(0 <= n["distance"] <= 2 for n in found)
    assert set(d["neighbours"]) == {str(d["digit"]), str(d["runner_up"]["digit"])}
    assert summary["index"]["digits"] == 600 and not summary["index"]["from_cache"]

    again = run("explain", image, "--out", out, "--digit", "1", "--index-limit", "600")
    assert again.returncode == 0, again.stderr
    assert "building" not in again.stderr and "read from" in again.stderr  # kept from the first run
    assert json.loads((out / "summary.json").read_text())["index"]["from_cache"] is True


def test_explain_errors_are_one_clear_line(tmp_path):
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((100, 100), 255, np.uint8))
    done = run("explain", blank, "--out", tmp_path / "out")
    assert done.returncode == 1 and "no digits found, so there is nothing to explain" in done.stderr
    assert not (tmp_path / "out" / "summary.json").exists() and "Traceback" not in done.stderr
    done = run("explain", _number_png(tmp_path / "n.png", "41"), "--out", tmp_path / "out", "--digit", "3")
    assert done.returncode == 1 and "--digit 3" in done.stderr and "has 2 digits" in done.stderr


def test_a_model_without_a_penultimate_layer_keeps_its_heatmaps(tmp_path):
    import keras

    from digitdesk.core.modelio import save_model

    keras.utils.set_random_seed(0)
    conv = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Rescaling(1 / 255), keras.layers.Conv2D(10, 5),
                             keras.layers.GlobalAveragePooling2D(), keras.layers.Activation("softmax")])
    model = save_model(conv, tmp_path / "conv.keras", {"name": "conv"})
    out = tmp_path / "out"
    done = run("explain", _number_png(tmp_path / "n.png", "7"), "--out", out, "--model", model)
    assert done.returncode == 2, done.stderr
    assert "no nearest training digits" in done.stderr and "no penultimate layer" in done.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert "no penultimate layer" in summary["neighbours_error"] and "neighbours" not in summary["digits"][0]
    assert all((out / name).is_file() for name in summary["digits"][0]["files"].values())
