"""The user's models (``user_data_dir()/models/*.keras`` with JSON metadata beside each, their
LiteRT twins ``*.tflite``, and ``.tflite`` models imported on their own, which read but cannot be
trained) plus the bundled, read-only model; which one is active; add, rename, delete, import and export.

Listing is cheap (metadata and the archive's ``config.json``, no TensorFlow), so a broken or
incompatible file is listed with its reason and never stops the app; :meth:`ModelStore.verify`
does the full load. Every write goes to a temporary file renamed into place.

A little over 300 lines: one class whose operations share the folder layout, the cheap checks
and the atomic writes.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import threading
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from digitdesk.core.errors import ModelError
from digitdesk.core.litert import TFLITE_SUFFIX, LiteModel, read_tflite
from digitdesk.core.modelio import (check_archive, atomic_write_bytes, describe_os_error, load_model, metadata_path,
                                    now_iso, read_metadata, save_model)
from digitdesk.core.paths import default_model_path, user_data_dir
from digitdesk.core.preprocess import PREPROCESS_VERSION

BUNDLED_ID = "bundled"
SUFFIX = ".keras"


@dataclass(frozen=True)
class ModelInfo:
    """One model as the Models tab lists it; ``broken`` is the reason it cannot be used, if any."""

    id: str
    name: str
    path: Path
    bundled: bool
    architecture: str | None = None
    parameters: int | None = None
    test_accuracy: float | None = None
    data: str | None = None
    date: str | None = None
    epochs: int | None = None
    broken: str | None = None
    metadata: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def reading_only(self) -> bool:
        """A LiteRT (``.tflite``) model on its own: it reads digits but cannot be trained."""
        return self.path.suffix.lower() == TFLITE_SUFFIX


def _remove_quietly(path: Path) -> None:
    """Delete ``path`` if it can be (a read-only disk refuses even a missing file's unlink)."""
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60].strip("-")
    return slug or "model"


def _find_keys(node, key: str):
    """Every value of ``key`` anywhere in a nested JSON structure."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield v
            yield from _find_keys(v, key)
    elif isinstance(node, list):
        for v in node:
            yield from _find_keys(v, key)


def cheap_problem(path: Path, metadata: dict) -> str | None:
    """Why a model file cannot be used, judged without loading it (None if it looks fine)."""
    if path.suffix.lower() == TFLITE_SUFFIX:
        try:
            read_tflite(path)
        except ModelError as exc:
            return str(exc).removeprefix(f"{path}: ")
        return None
    try:
        check_archive(path)
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            config = json.loads(zf.read("config.json"))
        problem = _config_problem(config, names)
    except ModelError as exc:
        return str(exc).removeprefix(f"{path}: ")
    except (OSError, ValueError, zipfile.BadZipFile, KeyError, AttributeError, TypeError, IndexError) as exc:
        return f"not a readable Keras model file ({exc})"
    version = metadata.get("preprocessing_version")
    if problem is None and isinstance(version, int) and version > PREPROCESS_VERSION:
        problem = (f"it was made by a newer digitdesk (preprocessing version {version}, this one has "
                   f"{PREPROCESS_VERSION}); update digitdesk to use it")
    return problem


def _config_problem(config: dict, names: set[str]) -> str | None:
    if "model.weights.h5" not in names:
        return "the file holds no weights (model.weights.h5 is missing)"
    if "Lambda" in list(_find_keys(config, "class_name")):
        return "it contains code (a Lambda layer) and safe mode refuses to load it"
    shapes = _input_shapes(config)
    if len(shapes) > 1:
        return f"the model has {len(shapes)} inputs; digitdesk models take one (None, 28, 28, 1) image"
    if shapes and shapes[0][1:] != (28, 28, 1):
        return f"input shape is {shapes[0]}, digitdesk models take (None, 28, 28, 1)"
    layers = config["config"].get("layers") if config.get("class_name") == "Sequential" else None
    units = layers[-1].get("config", {}).get("units") if layers else None
    if isinstance(units, int) and units != 10:
        return f"the model gives {units} outputs, digitdesk models give 10 (one per digit)"
    return None


def _input_shapes(config: dict) -> list[tuple]:
    """The batch shapes of the model's own inputs: its top-level InputLayers (those of models
    nested in it, an ensemble's members, are not its inputs); every batch_shape in a config
    without top-level ones."""
    inner = config.get("config")
    layers = inner.get("layers") if isinstance(inner, dict) else None
    top = [layer["config"]["batch_shape"] for layer in layers if isinstance(layer, dict)
           and layer.get("class_name") == "InputLayer" and isinstance(layer.get("config"), dict)
           and isinstance(layer["config"].get("batch_shape"), list)] if isinstance(layers, list) else []
    return [tuple(s) for s in (top or [s for s in _find_keys(config, "batch_shape") if isinstance(s, list)])]


def _number(value, kind):
    try:
        return kind(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _completed(meta: dict, model) -> dict:
    """``meta`` with what the Models tab shows filled in from the model where missing."""
    meta.setdefault("architecture", getattr(model, "name", None))
    meta.setdefault("parameters", int(model.count_params()))
    meta.setdefault("date", now_iso())
    return meta


def _info(id_: str, path: Path, bundled: bool) -> ModelInfo:
    exists = path.is_file()
    meta = read_metadata(path) if exists else {}
    meta = meta if isinstance(meta, dict) else {}
    broken = cheap_problem(path, meta) if exists else "the file is missing"
    date = meta.get("date")
    if not date and exists:
        date = _dt.datetime.fromtimestamp(path.stat().st_mtime, _dt.timezone.utc).replace(microsecond=0).isoformat()
    return ModelInfo(
        id=id_, name=str(meta.get("name") or ("bundled" if bundled else path.stem)), path=path, bundled=bundled,
        architecture=meta.get("architecture"), parameters=_number(meta.get("parameters"), int),
        test_accuracy=_number(meta.get("test_accuracy"), float), data=meta.get("data"), date=date,
        epochs=_number(meta.get("epochs"), int), broken=broken, metadata=meta,
    )


class ModelStore:
    """The models the app can use: the bundled one (id ``"bundled"``) and the user's, in ``root``
    (default: the per-user data folder). Safe to use from several threads."""

    def __init__(self, root: str | os.PathLike | None = None, bundled_path: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else user_data_dir()
        self.folder = self.root / "models"
        self.active_file = self.root / "active.json"
        self.bundled_path = Path(bundled_path) if bundled_path is not None else default_model_path()
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ reading

    def list(self) -> list[ModelInfo]:
        """The bundled model first, then the user's, newest first; broken files included."""
        user = []
        if self.folder.is_dir():
            for path in [*self.folder.glob(f"*{SUFFIX}"), *self.folder.glob(f"*{TFLITE_SUFFIX}")]:
                if path.name.startswith("."):  # temporary files of a save in progress
                    continue
                if path.suffix == TFLITE_SUFFIX and path.with_suffix(SUFFIX).exists():
                    continue  # the LiteRT twin of a .keras model: not a model of its own
                user.append(_info(path.stem, path, False))
        user.sort(key=lambda i: (i.date or "", i.id), reverse=True)
        return [self.bundled(), *user]

    def bundled(self) -> ModelInfo:
        """The model shipped with the app."""
        return _info(BUNDLED_ID, self.bundled_path, True)

    def get(self, model_id: str) -> ModelInfo:
        """One model by id."""
        if model_id == BUNDLED_ID:
            return self.bundled()
        path = self._path(model_id)
        if not path.is_file():
            raise ModelError(f"there is no model {model_id!r} (it may have been deleted)")
        return _info(model_id, path, False)

    def verify(self, info: ModelInfo) -> ModelInfo:
        """Fully load the model in safe mode and check the contract; ``info`` with ``broken`` updated."""
        try:
            if info.reading_only:
                LiteModel.load(info.path)
            else:
                load_model(info.path)
        except ModelError as exc:
            return replace(info, broken=str(exc).removeprefix(f"{info.path}: "))
        return replace(info, broken=cheap_problem(info.path, info.metadata))

    def requested_id(self) -> str | None:
        """The id last made active (``active.json``), even if that model can no longer be used;
        None if none was."""
        try:
            value = json.loads(self.active_file.read_text()).get("id")
        except (OSError, ValueError, AttributeError):
            return None
        return str(value) if value else None

    def active(self) -> ModelInfo:
        """The model the app uses: the one last made active, or the bundled one if that one is
        gone or broken."""
        model_id = self.requested_id() or BUNDLED_ID
        if model_id != BUNDLED_ID:
            try:
                info = self.get(str(model_id))
            except ModelError:
                return self.bundled()
            if info.broken is None:
                return info
        return self.bundled()

    def set_active(self, model_id: str) -> ModelInfo:
        """Make ``model_id`` the model the app uses (remembered across runs)."""
        with self._lock:
            info = self.get(model_id)
            if info.broken is not None:
                raise ModelError(f"{info.name} cannot be used: {info.broken}")
            self._write(self.active_file, json.dumps({"id": info.id}).encode(), "remember the active model")
            return info

    # ------------------------------------------------------------------ changing

    def add(self, model, metadata: dict | None, name: str) -> ModelInfo:
        """Save a trained Keras model as a new user model called ``name``."""
        meta = _completed({**(metadata or {}), "name": name}, model)
        meta.setdefault("preprocessing_version", PREPROCESS_VERSION)
        with self._lock:
            path = self._new_path(name)
            try:
                save_model(model, path, meta)  # ModelError from an OSError (or the OSError itself)
            except (ModelError, OSError) as exc:
                if not path.exists():
                    _remove_quietly(metadata_path(path))
                raise ModelError(f"cannot save the model {name!r} in {self.folder}: {self._reason(exc)}") from None
            return _info(path.stem, path, False)

    def rename(self, model_id: str, new_name: str) -> ModelInfo:
        """Change a user model's display name (its file keeps its name)."""
        new_name = new_name.strip()
        if not new_name:
            raise ModelError("a model needs a name")
        if model_id == BUNDLED_ID:
            raise ModelError("the bundled model cannot be renamed; export or copy it first")
        with self._lock:
            info = self.get(model_id)
            meta = dict(info.metadata)
            meta["name"] = new_name
            self._write(metadata_path(info.path), json.dumps(meta, indent=2).encode(), f"rename {info.name!r}")
            return self.get(model_id)

    def delete(self, model_id: str) -> None:
        """Delete a user model; if it was active, the bundled model becomes active."""
        if model_id == BUNDLED_ID:
            raise ModelError("the bundled model is part of the app and cannot be deleted")
        with self._lock:
            info = self.get(model_id)
            was_active = self.active().id == model_id
            try:
                info.path.unlink()
                metadata_path(info.path).unlink(missing_ok=True)
                if not info.reading_only:  # its LiteRT twin and the twin's record
                    info.path.with_suffix(TFLITE_SUFFIX).unlink(missing_ok=True)
                info.path.with_suffix(".twin.json").unlink(missing_ok=True)
            except OSError as exc:
                raise ModelError(f"cannot delete {info.name!r}: {describe_os_error(exc)}") from None
            if was_active:
                try:
                    self.active_file.unlink(missing_ok=True)
                except OSError:
                    pass  # active() falls back to the bundled model anyway: the model file is gone

    def import_file(self, path: str | os.PathLike) -> ModelInfo:
        """Copy a ``.keras`` file (and the ``.json`` beside it, if any) into the user's models,
        after checking that it loads in safe mode and meets the digitdesk contract; or a
        ``.tflite`` file, checked with LiteRT, to read with only."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (SUFFIX, TFLITE_SUFFIX):
            raise ModelError(f"{path}: only Keras ({SUFFIX}) and LiteRT ({TFLITE_SUFFIX}) model files can be imported")
        # ModelError with the reason if missing, unsafe or incompatible
        model = LiteModel.load(path) if suffix == TFLITE_SUFFIX else load_model(path)
        meta = read_metadata(path)
        meta = meta if isinstance(meta, dict) else {}
        problem = cheap_problem(path, meta)
        if problem:
            raise ModelError(f"{path}: {problem}")
        name = str(meta.get("name") or path.stem)
        if suffix == TFLITE_SUFFIX:
            meta.setdefault("architecture", "LiteRT model")
        meta = _completed({**meta, "name": name, "imported_from": str(path)}, model)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ModelError(f"{path}: cannot read ({describe_os_error(exc)})") from None
        with self._lock:
            dest = self._new_path(name, suffix)
            self._write(metadata_path(dest), json.dumps(meta, indent=2).encode(), f"import {path.name}")
            try:
                self._write(dest, data, f"import {path.name}")
            except ModelError:
                _remove_quietly(metadata_path(dest))
                raise
            return _info(dest.stem, dest, False)

    def export(self, model_id: str, dest_path: str | os.PathLike) -> Path:
        """Copy a model (and its metadata) to ``dest_path`` (a ``.keras`` file, ``.tflite`` for a
        LiteRT model); returns the path."""
        info = self.get(model_id)
        dest = Path(dest_path)
        if dest.suffix.lower() != info.path.suffix:
            dest = dest.with_name(dest.name + info.path.suffix)
        if dest.resolve() == info.path.resolve():
            raise ModelError(f"{dest}: that is the model file itself")
        try:
            data = info.path.read_bytes()
        except OSError as exc:
            raise ModelError(f"cannot read {info.path}: {describe_os_error(exc)}") from None
        meta = dict(info.metadata) or {"name": info.name}
        self._write(dest, data, f"export {info.name!r}")
        self._write(metadata_path(dest), json.dumps(meta, indent=2).encode(), f"export {info.name!r}")
        return dest

    # ------------------------------------------------------------------ helpers

    def _path(self, model_id: str) -> Path:
        if not model_id or model_id.startswith(".") or any(c in model_id for c in "/\\:"):
            raise ModelError(f"there is no model {model_id!r}")
        path = self.folder / f"{model_id}{SUFFIX}"
        lite = path.with_suffix(TFLITE_SUFFIX)
        return lite if not path.exists() and lite.exists() else path

    def _new_path(self, name: str, suffix: str = SUFFIX) -> Path:
        """A free file name derived from ``name`` (``my-model``, ``my-model-2``, ...)."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ModelError(f"cannot create {self.folder}: {describe_os_error(exc)}") from None
        base = _slug(name)
        candidate, n = base, 1
        while candidate == BUNDLED_ID or any((self.folder / f"{candidate}{s}").exists()
                                             for s in (SUFFIX, TFLITE_SUFFIX, ".json")):
            n += 1
            candidate = f"{base}-{n}"
        return self.folder / f"{candidate}{suffix}"

    def _write(self, path: Path, data: bytes, what: str) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, data)
        except OSError as exc:
            raise ModelError(f"cannot {what} ({path}): {describe_os_error(exc)}") from None

    @staticmethod
    def _reason(exc: Exception) -> str:
        """The OS error behind a failed save, in words; else the error's own message."""
        cause = exc if isinstance(exc, OSError) else exc.__context__
        return describe_os_error(cause) if isinstance(cause, OSError) else str(exc)
