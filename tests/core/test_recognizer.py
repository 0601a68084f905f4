"""No Qt needed. Loading models safely, the input/output contract, and reading images."""

import threading
import zipfile

import cv2
import keras
import numpy as np
import pytest

from digitdesk.core import recognizer as recognizer_module
from digitdesk.core.errors import Cancelled, DigitdeskError, ModelError
from digitdesk.core.modelio import load_model, read_metadata, save_model
from digitdesk.core.models import build
from digitdesk.core.recognizer import Recognizer
from tests.core.test_segment import StopAfter


def _canvas(text, size=(260, 620), scale=5.0, thickness=22):
    img = np.full(size, 255, np.uint8)
    cv2.putText(img, text, (20, size[0] - 50), cv2.FONT_HERSHEY_SIMPLEX, scale, 0, thickness, cv2.LINE_AA)
    return img


def test_bundled_model_metadata(bundled_model_path):
    meta = read_metadata(bundled_model_path)
    assert meta["test_accuracy"] >= 0.996
    assert meta["parameters"] > 0 and "per_class" in meta["test_report"]
    assert meta["preprocessing_version"] >= 1
    assert bundled_model_path.stat().st_size <= 5 * 2**20


def test_bundled_model_reads_mnist(recognizer, mnist):
    """The bundled model itself, measured on 2,000 MNIST test digits (a fixed sample): at 99.6%
    it misses about 8; 99% allows 20, and a broken or untrained model reads 10% or so."""
    pick = np.random.default_rng(0).choice(len(mnist.test), 2000, replace=False)
    probs = recognizer.classify_many(mnist.test.images[pick])
    accuracy = float((probs.argmax(axis=1) == mnist.test.labels[pick]).mean())
    assert accuracy >= 0.99, accuracy


def test_reads_a_number(recognizer):
    reading = recognizer.read(_canvas("2026"))
    assert reading.text == "2026"
    d = reading.digits[0]
    assert d.digit == 2 and d.top[0][0] == 2 and len(d.top) == 3
    assert d.top[0][1] >= d.top[1][1] >= d.top[2][1]
    x, y, w, h = d.box
    assert 10 <= x <= 40 and w > 40 and h > 80
    assert d.input28.shape == (28, 28)


def test_reads_two_lines_and_nothing(recognizer):
    img = np.full((500, 420), 255, np.uint8)
    cv2.putText(img, "14", (30, 180), cv2.FONT_HERSHEY_SIMPLEX, 5.0, 0, 20, cv2.LINE_AA)
    cv2.putText(img, "39", (60, 420), cv2.FONT_HERSHEY_SIMPLEX, 5.0, 0, 20, cv2.LINE_AA)
    assert recognizer.read(img).text == "14\n39"
    blank = recognizer.read(np.full((200, 200), 255, np.uint8))
    assert blank.text == "" and blank.digits == []


def test_read_stops_when_asked(recognizer, monkeypatch):
    """``should_stop`` is checked during segmentation and before each chunk of classification;
    the first check that sees it true raises Cancelled (documented: not a failure)."""
    assert issubclass(Cancelled, DigitdeskError) and "not a failure" in Cancelled.__doc__
    img = _canvas("2026")
    monkeypatch.setattr(recognizer_module, "READ_CHUNK", 2)  # 4 digits: two chunks
    classified = []
    classify = recognizer.classify
    monkeypatch.setattr(recognizer, "classify", lambda x: classified.append(len(x)) or classify(x))
    counting = StopAfter(None)
    assert recognizer.read(img, should_stop=counting).text == "2026"
    total = counting.calls
    assert classified == [2, 2] and total > 10
    for n in (1, 3, total - 2, total - 1, total):
        classified.clear()
        stop = StopAfter(n)
        with pytest.raises(Cancelled):
            recognizer.read(img, should_stop=stop)
        assert stop.calls == n  # nothing more was checked, so nothing more was done
        assert classified == {total - 1: [], total: [2]}.get(n, [])  # stopped before the chunks left


def test_read_unaffected_by_a_flag_that_stays_down(recognizer):
    img = _canvas("2026")
    plain = recognizer.read(img, keep_stages=True)
    flagged = recognizer.read(img, keep_stages=True, should_stop=lambda: False)
    assert plain.text == flagged.text == "2026"
    assert [(d.box, d.top) for d in plain.digits] == [(d.box, d.top) for d in flagged.digits]
    assert plain.stages.keys() == flagged.stages.keys()


def test_classify_batch_matches_single(recognizer, mnist):
    batch = recognizer.classify(mnist.test.images[:16])
    assert batch.shape == (16, 10)
    single = np.concatenate([recognizer.classify(img) for img in mnist.test.images[:16]])
    np.testing.assert_allclose(batch, single, atol=1e-5)
    assert (batch.argmax(1) == mnist.test.labels[:16]).mean() >= 0.9


def test_thread_safe(recognizer):
    images = [_canvas(t) for t in ("2026", "1984", "3507", "6789")]
    expected = [recognizer.read(img).text for img in images]
    errors, results = [], {}

    def work(i):
        try:
            for _ in range(5):
                results.setdefault(i, set()).add(recognizer.read(images[i % 4]).text)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i, texts in results.items():
        assert texts == {expected[i % 4]}


def test_wrong_shapes_are_refused(tmp_path):
    wrong_in = keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    wrong_out = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(7)])
    for model, what in ((wrong_in, "input shape"), (wrong_out, "output shape")):
        path = tmp_path / f"{what[:3]}.keras"
        model.save(path)
        with pytest.raises(ModelError, match=what):
            load_model(path)


def test_lambda_layer_refused_by_safe_mode(tmp_path):
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Lambda(lambda x: x / 255.0),
                              keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(ModelError, match="safe mode"):
        load_model(path)


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04garbage"])
def test_corrupt_files(tmp_path, content):
    path = tmp_path / "broken.keras"
    path.write_bytes(content)
    with pytest.raises(ModelError, match="broken.keras"):
        Recognizer.load(path)


def test_zip_bomb_refused(tmp_path):
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("config.json", "{}")
        with zf.open("model.weights.h5", "w", force_zip64=True) as fh:
            chunk = b"\0" * 2**20
            for _ in range(260):
                fh.write(chunk)
    assert path.stat().st_size < 2 * 2**20
    with pytest.raises(ModelError, match="refusing"):
        load_model(path)


def test_missing_file(tmp_path):
    with pytest.raises(ModelError, match="no such model file"):
        Recognizer.load(tmp_path / "nope.keras")


def test_save_is_atomic_and_keeps_previous(tmp_path, monkeypatch):
    model = build("tiny")
    path = tmp_path / "m.keras"
    save_model(model, path, {"name": "first"})
    before = path.read_bytes()

    def boom(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(keras.Model, "save", boom)
    with pytest.raises(ModelError, match="the disk is full"):
        save_model(model, path, {"name": "second"})
    assert path.read_bytes() == before
    assert read_metadata(path)["name"] == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.keras"]  # no temp files left
