"""No Qt needed. Ensembles of real saved models: one Keras model averaging their probabilities, read
through its LiteRT twin, imported and made active like any model; and the errors."""

import json
import zipfile

import keras
import numpy as np
import pytest

from digitdesk.core.data import Split
from digitdesk.core.ensemble import build_ensemble, load_members, make_ensemble
from digitdesk.core.errors import ModelError
from digitdesk.core.modelio import save_model
from digitdesk.core.models import build
from digitdesk.core.preprocess import PREPROCESS_VERSION


def _member(path, seed: int, **meta):
    """A tiny model with peaked, input-dependent probabilities (its classifier's weights scaled up)."""
    keras.utils.set_random_seed(seed)
    model = build("tiny")
    kernel, bias = model.layers[-1].get_weights()
    model.layers[-1].set_weights([kernel * 30, bias])
    save_model(model, path, {"name": path.stem, "architecture": "tiny", "preprocessing_version": PREPROCESS_VERSION,
                             **meta})
    return path


@pytest.fixture
def members(tmp_path):
    return [_member(tmp_path / "a.keras", 1), _member(tmp_path / "b.keras", 2)]


def _class_names(path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        text = zf.read("config.json").decode()
    return [part.split('"', 1)[0] for part in text.split('"class_name": "')[1:]]


def test_the_ensemble_read_through_its_twin_is_the_average_of_its_members(tmp_path, members, mnist):
    from digitdesk.core.recognizer import Recognizer

    test = Split(mnist.test.images[:300], mnist.test.labels[:300])
    result = make_ensemble(load_members(members), tmp_path / "ens.keras", test, data_source="MNIST")
    rec = Recognizer.load(result.path)
    assert rec.runtime == "litert" and rec.twin_problem is None  # its twin was written
    x = mnist.test.images[:64]
    each = [np.asarray(m.model(x[..., None].astype(np.float32), training=False)) for m in result.members]
    assert np.abs(each[0] - each[1]).max() > 0.5  # the members disagree: the average means something
    np.testing.assert_allclose(rec.classify(x), (each[0] + each[1]) / 2, atol=1e-5)
    names = _class_names(result.path)
    assert "Lambda" not in names and "Average" in names
    # its test report is the one of the averaged probabilities, each member's of its own
    mean = sum(np.asarray(m.model(test.images[..., None].astype(np.float32))) for m in result.members) / 2
    assert result.report.accuracy == pytest.approx((mean.argmax(1) == test.labels).mean())
    assert [r.accuracy for r in result.member_reports] == [
        pytest.approx((e.argmax(1) == test.labels).mean())
        for e in (np.asarray(m.model(test.images[..., None].astype(np.float32))) for m in result.members)]
    meta = json.loads(result.path.with_suffix(".json").read_text())
    assert meta["architecture"] == "ensemble of 2 (tiny, tiny)" and meta["test_accuracy"] == round(result.report.accuracy, 6)
    assert [m["name"] for m in meta["members"]] == ["a", "b"] and meta["test_report"]["macro_auc"] is not None


def test_an_ensemble_imports_into_my_models_and_becomes_the_active_one(tmp_path, members):
    from digitdesk.core.modelstore import ModelStore
    from digitdesk.core.recognizer import Recognizer

    result = make_ensemble(load_members(members), tmp_path / "ens.keras")
    store = ModelStore()
    info = store.import_file(result.path)  # refused before: its members' inputs counted as its own
    assert store.set_active(info.id).id == info.id and store.active().id == info.id
    assert info.architecture == "ensemble of 2 (tiny, tiny)"
    assert Recognizer.load(store.active().path).classify(np.zeros((28, 28), np.uint8)).shape == (1, 10)


def test_three_members(tmp_path, members):
    third = _member(tmp_path / "c.keras", 3)
    ens = build_ensemble([m.model for m in load_members([*members, third])])
    x = np.random.default_rng(0).integers(0, 256, (4, 28, 28, 1)).astype(np.float32)
    assert np.asarray(ens(x)).shape == (4, 10) and len(ens.layers) == 1 + 3 + 1  # input, members, average


def _save(model, path, meta=None):
    save_model(model, path, meta or {})
    return path


def test_errors(tmp_path, members):
    with pytest.raises(ModelError, match="at least 2 models, not 1"):
        load_members(members[:1])
    lite = tmp_path / "a.tflite"
    lite.write_bytes(b"TFL3")
    with pytest.raises(ModelError, match="a LiteRT .* cannot be part of an ensemble"):
        load_members([members[0], lite])
    h5 = tmp_path / "old.h5"
    h5.write_bytes(b"x")
    with pytest.raises(ModelError, match="old.h5: not a Keras model file"):
        load_members([members[0], h5])
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="broken.keras"):
        load_members([members[0], broken])
    five = _save(keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(5, activation="softmax")]),
                 tmp_path / "five.keras")
    with pytest.raises(ModelError, match="five.keras: output shape"):
        load_members([members[0], five])
    logits = _save(keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)]),
                   tmp_path / "logits.keras")
    with pytest.raises(ModelError, match="not probabilities"):
        build_ensemble([m.model for m in load_members([members[0], logits])])
    other = _member(tmp_path / "older.keras", 4, preprocessing_version=PREPROCESS_VERSION - 1)
    with pytest.raises(ModelError, match="differently framed digits"):
        load_members([members[0], other])
    with pytest.raises(ModelError, match="member 2: not a Keras model"):
        build_ensemble([load_members(members)[0].model, object()])


def test_an_ensemble_goes_into_my_models_tested_step_by_step_and_stops_on_request(tmp_path, members, mnist):
    from digitdesk.core.data import Dataset
    from digitdesk.core.ensemble import ensemble_into_store
    from digitdesk.core.errors import Cancelled
    from digitdesk.core.modelstore import ModelStore
    from digitdesk.core.recognizer import Recognizer

    test = Split(mnist.test.images[:200], mnist.test.labels[:200])
    store, steps = ModelStore(tmp_path / "home"), []
    result = ensemble_into_store(store, members, "my pair", lambda: Dataset(test, test, "MNIST"),
                                 on_progress=lambda done, total, text: steps.append((done, total, text)))
    info = store.get(result.model_id)
    assert info.name == "my pair" and info.architecture == "ensemble of 2 (tiny, tiny)"
    assert info.test_accuracy == pytest.approx(result.report.accuracy, abs=1e-6)
    assert [d for d, _t, _x in steps] == sorted(d for d, _t, _x in steps) and steps[-1][:2] == (7, 7)
    assert result.test_source == "200 test images of MNIST"
    x = mnist.test.images[:16]
    each = [Recognizer.load(p).classify(x) for p in members]
    np.testing.assert_allclose(Recognizer.load(info.path).classify(x), (each[0] + each[1]) / 2, atol=1e-5)

    with pytest.raises(Cancelled):
        ensemble_into_store(store, members, "stopped", lambda: Dataset(test, test, "MNIST"),
                            should_stop=lambda: len(steps) > 9, on_progress=lambda *a: steps.append(a))
    assert [m.name for m in store.list()[1:]] == ["my pair"]  # nothing added
    with pytest.raises(ModelError, match="at least 2"):
        ensemble_into_store(store, members[:1], "one", lambda: Dataset(test, test, "MNIST"))
