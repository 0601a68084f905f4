"""No Qt needed. LiteRT twins of real tiny Keras models, converted for real: same readings, found
only when fresh, never half-written, and ``.tflite`` files on their own (read, never trained)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from digitdesk.core import modelio, twin
from digitdesk.core.errors import ModelError
from digitdesk.core.litert import LiteModel
from digitdesk.core.modelstore import ModelStore
from digitdesk.core.recognizer import Recognizer
from tests.conftest import REPO


def _tiny(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Rescaling(1 / 255),
                             keras.layers.Conv2D(4, 3, activation="relu"), keras.layers.MaxPooling2D(),
                             keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])


def _digits(n: int = 300) -> np.ndarray:
    rng = np.random.default_rng(0)
    digits = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8)
    digits[: n // 2] = np.where(rng.random((n // 2, 28, 28)) < 0.8, 0, 255)  # sparse strokes, like ink
    return digits


@pytest.fixture(scope="module")
def tiny_with_twin(tmp_path_factory):
    folder = tmp_path_factory.mktemp("twins")
    path = folder / "tiny.keras"
    model = _tiny(1)
    modelio.save_model(model, path, {"name": "tiny"})
    twin.write_twin(path, model)
    return path, model


def test_twin_reads_as_keras_does(tiny_with_twin):
    path, model = tiny_with_twin
    rec = Recognizer.load(path)
    assert rec.runtime == "litert" and rec.twin_problem is None and rec.trainable
    keras_rec = Recognizer(model, path)
    assert keras_rec.runtime == "keras"
    digits = _digits()
    lite, ref = rec.classify(digits), keras_rec.classify(digits)
    assert lite.shape == (len(digits), 10) and lite.dtype == np.float32
    assert (lite.argmax(1) == ref.argmax(1)).all()
    assert np.abs(lite - ref).max() < 1e-5
    assert np.allclose(rec.classify(digits[0]), ref[:1], atol=1e-5)  # one digit, then a batch again
    assert rec.classify(np.zeros((0, 28, 28), np.uint8)).shape == (0, 10)


def test_keras_reader_can_be_forced(tiny_with_twin, monkeypatch):
    monkeypatch.setenv(twin.READER_ENV, "keras")
    assert Recognizer.load(tiny_with_twin[0]).runtime == "keras"


def _copy(src, folder):
    folder.mkdir()
    for suffix in (".keras", ".json", ".tflite", ".twin.json"):
        (folder / f"tiny{suffix}").write_bytes(src.with_suffix(suffix).read_bytes())
    return folder / "tiny.keras"


def test_missing_stale_or_damaged_twin_is_never_read(tiny_with_twin, tmp_path):
    path, model = tiny_with_twin
    digits = _digits(50)
    expected = Recognizer(model).classify(digits)

    def falls_back(p, words):
        rec = Recognizer.load(p)
        assert rec.runtime == "keras" and words in rec.twin_problem, rec.twin_problem
        assert np.abs(rec.classify(digits) - expected).max() < 1e-5 or "another version" in words

    p = _copy(path, tmp_path / "stale")
    modelio.save_model(_tiny(2), p, {"name": "tiny"})  # the .keras changed, its twin did not
    falls_back(p, "another version")
    p = _copy(path, tmp_path / "damaged")
    data = bytearray(p.with_suffix(".tflite").read_bytes())
    data[len(data) // 2] ^= 0xFF  # one weight changed: it would still run, with other results
    p.with_suffix(".tflite").write_bytes(bytes(data))
    falls_back(p, "damaged")
    p = _copy(path, tmp_path / "norecord")
    p.with_suffix(".twin.json").unlink()
    falls_back(p, "no record")
    p = _copy(path, tmp_path / "missing")
    p.with_suffix(".tflite").unlink()
    falls_back(p, "no LiteRT twin yet")
    p = _copy(path, tmp_path / "truncated")
    p.with_suffix(".tflite").write_bytes(p.with_suffix(".tflite").read_bytes()[:1000])
    falls_back(p, "damaged")


def test_bundled_model_twin_goes_to_the_user_folder(monkeypatch, tmp_path):
    """The app never writes next to its own files: the bundled model's twin, when regenerated,
    goes to the per-user folder, and is found there."""
    from digitdesk.core.paths import default_model_path

    dest = twin.twin_destination(default_model_path())
    assert dest.parent == twin.cached_twin("0" * 64).parent and dest.suffix == ".tflite"


def _state(path) -> str | None:
    return twin.twin_problem(path.with_suffix(".tflite"), twin.file_sha256(path))


@pytest.mark.parametrize("killed_at", [1, 2])
def test_a_kill_during_conversion_leaves_the_old_twin_or_the_new_one(tiny_with_twin, tmp_path, monkeypatch, killed_at):
    """The process dies at the first or second file replacement: the twin on disk is always one
    the record describes (the old one: stale, read never; or the new one: fresh)."""
    path = _copy(tiny_with_twin[0], tmp_path / "m")
    new = _tiny(3)
    modelio.save_model(new, path, {"name": "tiny"})
    assert "another version" in _state(path)
    calls = []
    real = twin.atomic_write_bytes

    def dies(target, data):
        calls.append(target)
        if len(calls) == killed_at:
            raise KeyboardInterrupt  # as a kill: nothing after this runs
        real(target, data)

    monkeypatch.setattr(twin, "atomic_write_bytes", dies)
    with pytest.raises(KeyboardInterrupt):
        twin.write_twin(path, new)
    monkeypatch.undo()
    assert "another version" in _state(path)  # the old twin, still described, never read
    assert Recognizer.load(path).runtime == "keras"
    twin.write_twin(path, new)
    assert _state(path) is None and Recognizer.load(path).runtime == "litert"


def test_a_killed_conversion_process_leaves_no_broken_twin(tiny_with_twin, tmp_path):
    """The real thing: ``digitdesk twin`` killed while it converts."""
    path = _copy(tiny_with_twin[0], tmp_path / "k")
    modelio.save_model(_tiny(4), path, {"name": "tiny"})
    child = subprocess.Popen(twin.twin_command(path), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        child.wait(timeout=2.5)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
    assert _state(path) in (None, "its LiteRT twin was made from another version of the model")
    twin.write_twin_in_child(path, timeout=300)  # the next conversion cleans up and completes
    assert _state(path) is None
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]


def test_tflite_on_its_own_reads_but_cannot_be_trained(tiny_with_twin, tmp_path):
    path, model = tiny_with_twin
    lite = tmp_path / "alone.tflite"
    lite.write_bytes(path.with_suffix(".tflite").read_bytes())
    rec = Recognizer.load(lite)
    assert rec.runtime == "litert" and not rec.trainable
    assert np.abs(rec.classify(_digits(20)) - Recognizer(model).classify(_digits(20))).max() < 1e-5
    with pytest.raises(ModelError, match="cannot be trained"):
        rec.keras_model()
    with pytest.raises(ModelError, match="cannot be trained"):
        modelio.load_model(lite)
    store = ModelStore(tmp_path / "home")
    info = store.import_file(lite)
    assert info.reading_only and info.broken is None and info.path.suffix == ".tflite"
    assert [m.id for m in store.list() if m.reading_only] == [info.id]
    assert store.verify(info).broken is None
    assert Recognizer.load(store.get(info.id).path).runtime == "litert"
    # a .keras model's twin in the store is no model of its own
    mine = store.import_file(path)
    twin.write_twin(mine.path)
    assert sorted(m.id for m in store.list() if not m.bundled) == sorted([info.id, mine.id])
    store.delete(mine.id)
    assert not mine.path.with_suffix(".tflite").exists() and not mine.path.with_suffix(".twin.json").exists()


def test_train_refuses_a_tflite_model(tiny_with_twin, tmp_path):
    lite = tmp_path / "alone.tflite"
    lite.write_bytes(tiny_with_twin[0].with_suffix(".tflite").read_bytes())
    done = subprocess.run([sys.executable, "-m", "digitdesk", "train", "--fine-tune", str(lite), "--epochs", "1",
                           "--out", str(tmp_path / "x.keras")], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "cannot be trained" in done.stderr, done.stderr


def _converted(model) -> bytes:
    import tensorflow as tf

    return tf.lite.TFLiteConverter.from_keras_model(model).convert()


@pytest.mark.parametrize("layers, words", [
    ([keras.Input((32, 32, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")], "input shape"),
    ([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(5, activation="softmax")], "output shape"),
    ([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")], "input shape"),
    # 313 MB of activations for one digit, from a 0.4 MB file
    ([keras.Input((28, 28, 1)), keras.layers.Conv2D(100_000, 1), keras.layers.GlobalMaxPooling2D(),
      keras.layers.Dense(10, activation="softmax")], "refusing to run a model that needs"),
])
def test_contract_is_checked_on_the_tflite_model(tmp_path, layers, words):
    path = tmp_path / "wrong.tflite"
    path.write_bytes(_converted(keras.Sequential(layers)))
    with pytest.raises(ModelError, match=words) as caught:
        Recognizer.load(path)
    assert str(path) in str(caught.value)


def test_a_tflite_model_without_softmax_is_refused(tmp_path):
    path = tmp_path / "logits.tflite"
    path.write_bytes(_converted(keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                                                  keras.layers.Dense(10)])))
    with pytest.raises(ModelError, match="softmax"):
        Recognizer.load(path)


def test_record_is_json_naming_its_source(tiny_with_twin):
    record = json.loads(tiny_with_twin[0].with_suffix(".twin.json").read_text())
    assert record["source"] == "tiny.keras"
    assert twin.file_sha256(tiny_with_twin[0]) in record["twins"].values()


def test_bundled_model_ships_a_fresh_twin(bundled_model_path):
    assert twin.find_twin(bundled_model_path) == (bundled_model_path.with_suffix(".tflite"), None)
    assert LiteModel.load(bundled_model_path.with_suffix(".tflite")).size_bytes < 2 * 2**20
    assert os.path.getsize(bundled_model_path.with_suffix(".tflite")) > 10_000


def test_read_threads_follow_the_setting(monkeypatch):
    """$DIGITDESK_READ_THREADS sets LiteRT's threads; anything but a whole number >= 1 is ignored."""
    from digitdesk.core import litert

    monkeypatch.setenv("DIGITDESK_READ_THREADS", "1")
    assert litert._read_threads() == 1
    for bad in ("abc", "0", "-2", ""):
        monkeypatch.setenv("DIGITDESK_READ_THREADS", bad)
        assert litert._read_threads() == min(2, os.cpu_count() or 1)


def test_a_large_batch_runs_in_slices(tiny_with_twin, monkeypatch):
    """Allocating LiteRT's tensors for a batch holds Python's lock for a time that grows with its
    size, so a batch larger than MAX_BATCH runs in slices of it: same probabilities as Keras."""
    from digitdesk.core import litert

    monkeypatch.setattr(litert, "MAX_BATCH", 64)
    path, model = tiny_with_twin
    lite = LiteModel.load(twin.find_twin(path)[0])
    sizes = []
    resize = lite._interp.resize_tensor_input
    lite._interp.resize_tensor_input = lambda i, shape, **kw: (sizes.append(shape[0]), resize(i, shape, **kw))[1]
    digits = _digits(150).astype(np.float32)[..., None]
    probs = lite(digits)
    assert sizes == [64, 22]  # two slices of 64 reuse one allocation, then the rest
    assert probs.shape == (150, 10)
    assert np.abs(probs - model.predict(digits, verbose=0)).max() < 1e-5
