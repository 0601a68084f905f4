"""No Qt needed. The model store: list, active, add, rename, delete, import, export, broken files
and atomic writes (a failed write keeps the previous file)."""

import errno
import json
import os
import zipfile

import pytest

from digitdesk.core import modelio
from digitdesk.core.errors import ModelError
from digitdesk.core.modelstore import BUNDLED_ID, ModelStore, describe_os_error
from digitdesk.core.paths import user_data_dir


@pytest.fixture(scope="module")
def tiny():
    from digitdesk.core.models import build
    from digitdesk.core.tfimport import import_tensorflow

    import_tensorflow()
    return build("tiny")


@pytest.fixture(scope="module")
def wrong_input():
    import keras

    return keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])


def _full_disk(*args):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _files(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_fresh_store_has_the_bundled_model_active(bundled_model_path):
    store = ModelStore()
    assert store.root == user_data_dir()
    models = store.list()
    assert [m.id for m in models] == [BUNDLED_ID]
    b = models[0]
    assert b.bundled and b.path == bundled_model_path and b.broken is None
    assert b.architecture and b.parameters > 0
    assert b.test_accuracy == json.loads(bundled_model_path.with_suffix(".json").read_text())["test_accuracy"]
    assert store.active().id == BUNDLED_ID


def test_add_list_rename(tiny):
    store = ModelStore()
    info = store.add(tiny, {"test_accuracy": 0.91, "data": "mnist", "epochs": 3}, "My Model!")
    assert info.id == "my-model" and info.name == "My Model!" and not info.bundled and info.broken is None
    assert info.path == store.folder / "my-model.keras" and info.path.is_file()
    assert info.architecture == "tiny" and info.parameters == tiny.count_params()
    assert (info.test_accuracy, info.data, info.epochs) == (0.91, "mnist", 3) and info.date
    second = store.add(tiny, None, "my model")
    assert second.id == "my-model-2"
    assert store.add(tiny, None, "bundled").id == "bundled-2"  # never the bundled model's id
    assert [m.id for m in store.list()][0] == BUNDLED_ID
    assert {m.id for m in store.list()} == {BUNDLED_ID, "my-model", "my-model-2", "bundled-2"}
    renamed = store.rename("my-model", "  Better name ")
    assert renamed.name == "Better name" and renamed.path == info.path
    assert modelio.read_metadata(info.path)["test_accuracy"] == 0.91  # the rest of the metadata stays
    with pytest.raises(ModelError, match="cannot be renamed"):
        store.rename(BUNDLED_ID, "x")
    with pytest.raises(ModelError, match="needs a name"):
        store.rename("my-model", "  ")
    with pytest.raises(ModelError, match="no model"):
        store.rename("nope", "x")


def test_active_is_remembered_and_falls_back(tiny):
    store = ModelStore()
    info = store.add(tiny, None, "mine")
    store.set_active(info.id)
    assert json.loads((user_data_dir() / "active.json").read_text()) == {"id": "mine"}
    assert ModelStore().active().id == "mine"  # another run of the app
    info.path.write_bytes(b"garbage")  # the file got damaged
    assert ModelStore().active().id == BUNDLED_ID
    info.path.unlink()  # ... or vanished
    assert ModelStore().active().id == BUNDLED_ID
    (user_data_dir() / "active.json").write_text("{not json")
    assert ModelStore().active().id == BUNDLED_ID
    with pytest.raises(ModelError, match="no model"):
        store.set_active("../../etc/passwd")


def test_delete(tiny):
    store = ModelStore()
    info = store.add(tiny, None, "gone soon")
    store.set_active(info.id)
    store.delete(info.id)
    assert not info.path.exists() and not modelio.metadata_path(info.path).exists()
    assert store.active().id == BUNDLED_ID
    assert [m.id for m in store.list()] == [BUNDLED_ID]
    with pytest.raises(ModelError, match="bundled model .* cannot be deleted"):
        store.delete(BUNDLED_ID)
    assert store.bundled().path.is_file()
    with pytest.raises(ModelError, match="no model"):
        store.delete(info.id)


def test_broken_files_are_listed_with_a_reason(tiny, wrong_input):
    store = ModelStore()
    good = store.add(tiny, None, "good")
    folder = store.folder
    (folder / "garbage.keras").write_bytes(b"this is not a zip")
    with zipfile.ZipFile(folder / "noconfig.keras", "w") as zf:
        zf.writestr("model.weights.h5", b"")
    with zipfile.ZipFile(folder / "lambda.keras", "w") as zf:
        zf.writestr("config.json", json.dumps({"class_name": "Sequential", "config": {"layers": [
            {"class_name": "InputLayer", "config": {"batch_shape": [None, 28, 28, 1]}},
            {"class_name": "Lambda", "config": {"function": "..."}}]}}))
        zf.writestr("model.weights.h5", b"")
    modelio.save_model(wrong_input, folder / "wrong-input.keras", {"name": "Wrong input"})
    modelio.save_model(tiny, folder / "future.keras", {"name": "Future", "preprocessing_version": 99})
    (folder / ".good.tmp123.keras").write_bytes(b"half-written temp file of a crashed save")

    models = {m.id: m for m in ModelStore().list()}  # listing never raises
    assert set(models) == {BUNDLED_ID, "good", "garbage", "noconfig", "lambda", "wrong-input", "future"}
    assert models["good"].broken is None and models[BUNDLED_ID].broken is None
    assert "not a Keras model file" in models["garbage"].broken
    assert "no config.json" in models["noconfig"].broken
    assert "Lambda" in models["lambda"].broken
    assert "input shape" in models["wrong-input"].broken and models["wrong-input"].name == "Wrong input"
    assert "newer digitdesk" in models["future"].broken
    with pytest.raises(ModelError, match="cannot be used"):
        store.set_active("garbage")
    assert store.verify(models["good"]).broken is None
    assert "not a Keras model file" in store.verify(models["garbage"]).broken


def test_verify_catches_what_the_cheap_check_cannot(tiny):
    store = ModelStore()
    info = store.add(tiny, None, "truncated weights")
    with zipfile.ZipFile(info.path) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    with zipfile.ZipFile(info.path, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data[: len(data) // 2] if name == "model.weights.h5" else data)
    listed = store.get(info.id)
    assert listed.broken is None  # looks fine from the outside
    assert "cannot load" in store.verify(listed).broken


def test_missing_bundled_model_is_listed_as_broken(tmp_path):
    store = ModelStore(bundled_path=tmp_path / "nowhere.keras")
    [bundled] = store.list()
    assert bundled.bundled and bundled.broken == "the file is missing"
    assert store.active().id == BUNDLED_ID


def test_export_and_import(tiny, tmp_path):
    store = ModelStore()
    info = store.add(tiny, {"test_accuracy": 0.5}, "Shared")
    out = store.export(info.id, tmp_path / "out" / "shared")
    assert out == tmp_path / "out" / "shared.keras" and out.read_bytes() == info.path.read_bytes()
    assert modelio.read_metadata(out)["name"] == "Shared"
    assert modelio.load_model(out).count_params() == tiny.count_params()
    store.export(BUNDLED_ID, tmp_path / "bundled-copy.keras")
    assert (tmp_path / "bundled-copy.keras").read_bytes() == store.bundled().path.read_bytes()

    other = ModelStore(tmp_path / "another-user")
    imported = other.import_file(out)
    assert imported.id == "shared" and imported.name == "Shared" and imported.test_accuracy == 0.5
    assert imported.path.read_bytes() == out.read_bytes()
    assert imported.metadata["imported_from"] == str(out)
    bare = tmp_path / "bare.keras"
    bare.write_bytes(out.read_bytes())  # no .json beside it: the copy inside the model is used
    again = other.import_file(bare)
    assert again.id == "shared-2" and again.name == "Shared" and again.test_accuracy == 0.5
    assert again.architecture == "tiny" and again.parameters == tiny.count_params()


def test_import_refuses_bad_files(tmp_path, wrong_input):
    store = ModelStore()
    (tmp_path / "junk.keras").write_bytes(b"junk")
    with pytest.raises(ModelError, match="not a Keras model file"):
        store.import_file(tmp_path / "junk.keras")
    modelio.save_model(wrong_input, tmp_path / "wrong.keras")
    with pytest.raises(ModelError, match=r"input shape is \(None, 32, 32, 1\)"):
        store.import_file(tmp_path / "wrong.keras")
    with pytest.raises(ModelError, match="only Keras .* and LiteRT .* model files"):
        store.import_file(tmp_path / "model.h5")
    with pytest.raises(ModelError, match="no such model file"):
        store.import_file(tmp_path / "missing.keras")
    assert [m.id for m in store.list()] == [BUNDLED_ID]


def test_failed_saves_keep_the_previous_files(tiny, tmp_path, monkeypatch):
    store = ModelStore()
    info = store.add(tiny, {"note": "original"}, "Precious")
    store.set_active(info.id)
    before = {p.name: p.read_bytes() for p in store.folder.iterdir()}
    active_before = store.active_file.read_bytes()
    exported = store.export(info.id, tmp_path / "precious.keras")
    exported_before = exported.read_bytes()

    monkeypatch.setattr(os, "fsync", _full_disk)  # every write now dies after writing its temp file
    with pytest.raises(ModelError, match="disk is full"):
        store.add(tiny, None, "Another")
    with pytest.raises(ModelError, match="disk is full"):
        store.rename(info.id, "New name")
    with pytest.raises(ModelError, match="disk is full"):
        store.set_active(BUNDLED_ID)
    with pytest.raises(ModelError, match="disk is full"):
        store.export(info.id, exported)
    with pytest.raises(ModelError, match="disk is full"):
        store.import_file(exported)
    monkeypatch.undo()

    assert {p.name: p.read_bytes() for p in store.folder.iterdir()} == before  # no temp or half files
    assert store.active_file.read_bytes() == active_before and store.active().id == info.id
    assert exported.read_bytes() == exported_before and _files(tmp_path) == ["precious.json", "precious.keras"]
    assert store.get(info.id).name == "Precious" and store.get(info.id).metadata["note"] == "original"
    assert modelio.load_model(info.path).count_params() == tiny.count_params()


def test_read_only_folder_gives_a_clear_message(tiny, monkeypatch):
    store = ModelStore()

    def read_only(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr("tempfile.mkstemp", read_only)  # what a read-only folder does to any write
    with pytest.raises(ModelError, match="read-only"):
        store.add(tiny, None, "x")
    monkeypatch.undo()
    assert [m.id for m in store.list()] == [BUNDLED_ID]
    assert "disk is full" in describe_os_error(OSError(errno.ENOSPC, "No space left on device"))
    assert "read-only" in describe_os_error(OSError(errno.EROFS, "Read-only file system"))
