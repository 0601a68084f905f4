"""Model files: atomic saving with a JSON metadata file beside it, and safe, checked loading."""

from __future__ import annotations

import datetime as _dt
import json
import os
import tempfile
import zipfile
from pathlib import Path

from digitdesk.core.errors import ModelError

MAX_UNCOMPRESSED = 200 * 1024 * 1024  # a .keras zip that unpacks to more is refused (zip bomb)


def metadata_path(model_path: str | os.PathLike) -> Path:
    """``models/default.keras`` -> ``models/default.json``."""
    return Path(model_path).with_suffix(".json")


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o644)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_model(model, path: str | os.PathLike, metadata: dict | None = None) -> Path:
    """Save ``model`` as ``.keras`` (and ``metadata`` as JSON beside it) without ever leaving
    a half-written file: the previous files stay intact until the new ones are complete."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ModelError(f"{path}: model files must end in .keras")
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".keras")
        os.close(fd)
        _without_optimizer(model).save(tmp)
        os.chmod(tmp, 0o644)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        if metadata is not None:
            atomic_write_bytes(metadata_path(path), json.dumps(metadata, indent=2).encode())
        os.replace(tmp, path)
    except OSError as exc:
        raise ModelError(f"{path}: cannot save the model ({exc.strerror or exc})") from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    return path


def _without_optimizer(model):
    """A copy of ``model`` with no optimizer state: a third of the file size."""
    if getattr(model, "optimizer", None) is None:
        return model
    clean = model.__class__.from_config(model.get_config())  # clone_model would copy the optimizer
    clean.set_weights(model.get_weights())
    return clean


def read_metadata(model_path: str | os.PathLike) -> dict:
    """The metadata JSON beside a model file, or ``{}`` if there is none or it is unreadable."""
    try:
        return json.loads(metadata_path(model_path).read_text())
    except (OSError, ValueError):
        return {}


def check_archive(path: Path) -> None:
    """Raise ModelError unless ``path`` is a plausible .keras archive of a sane size (cheap)."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            total = sum(info.file_size for info in zf.infolist())
    except zipfile.BadZipFile:
        raise ModelError(f"{path}: not a Keras model file (not a .keras zip archive)") from None
    except OSError as exc:
        raise ModelError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if "config.json" not in names:
        raise ModelError(f"{path}: not a Keras model file (no config.json inside)")
    if total > MAX_UNCOMPRESSED:
        raise ModelError(f"{path}: refusing to unpack {total / 2**20:.0f} MB (larger than any digit model)")


def load_model(path: str | os.PathLike):
    """Load a ``.keras`` model in Keras safe mode and check the digitdesk contract:
    input ``(None, 28, 28, 1)``, output ``(None, 10)``."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such model file")
    check_archive(path)
    from digitdesk.core.tfimport import import_tensorflow

    import_tensorflow()
    import keras

    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for corrupt or unsafe files
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "safe_mode" in str(exc) or "Lambda" in str(exc):
            message = "it contains code (a Lambda layer) and safe mode refuses to load it"
        raise ModelError(f"{path}: cannot load the model: {message}") from None
    check_contract(model, str(path))
    return model


def check_contract(model, where: str = "model") -> None:
    """Raise ModelError unless ``model`` maps ``(N, 28, 28, 1)`` to ``(N, 10)``."""
    try:
        in_shape = tuple(model.inputs[0].shape)
        out_shape = tuple(model.outputs[0].shape)
    except (AttributeError, IndexError, TypeError, ValueError):
        raise ModelError(f"{where}: the model has no defined input/output") from None
    if len(model.inputs) != 1 or tuple(in_shape[1:]) != (28, 28, 1):
        raise ModelError(f"{where}: input shape is {in_shape}, digitdesk models take (None, 28, 28, 1)")
    if len(model.outputs) != 1 or tuple(out_shape[1:]) != (10,):
        raise ModelError(f"{where}: output shape is {out_shape}, digitdesk models give (None, 10)")


def now_iso() -> str:
    """The current time, for metadata."""
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
