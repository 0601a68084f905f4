"""Model files: atomic saving with a JSON metadata file beside it, and safe, checked loading."""

from __future__ import annotations

import datetime as _dt
import errno
import json
import logging
import os
import re
import tempfile
import time
import uuid
import zipfile
import zlib
from pathlib import Path

from digitdesk.core.errors import ModelError

log = logging.getLogger(__name__)
MAX_UNCOMPRESSED = 200 * 1024 * 1024  # a .keras zip that unpacks to more is refused (zip bomb)
EMBEDDED_METADATA = "digitdesk-metadata.json"  # the metadata, also kept inside the .keras archive
SAVE_ID = "save_id"  # metadata key tying the JSON beside a model to the save that wrote the model
STALE_TEMP_SECONDS = 24 * 3600  # a temporary file this old is a leftover, whoever wrote it
# ``.<target name>.<pid>-<random>.tmp`` / ``.keras``: the pid tells a crashed save's leftover
# from a save still running in another process.
_TEMP_NAME = re.compile(r"^\..+\.(\d+)-[A-Za-z0-9_]+\.(tmp|keras)$")


def describe_os_error(exc: OSError) -> str:
    """A person's explanation of why a file could not be written."""
    code = getattr(exc, "errno", None)
    if code == errno.ENOSPC:
        return "the disk is full; free some space and try again"
    if code == errno.EDQUOT:
        return "your disk quota is used up; free some space and try again"
    if code == errno.EROFS:
        return "the disk is read-only"
    if code in (errno.EACCES, errno.EPERM):
        return "permission denied: the folder is read-only for you"
    return exc.strerror or str(exc)


def metadata_path(model_path: str | os.PathLike) -> Path:
    """``models/default.keras`` -> ``models/default.json``."""
    return Path(model_path).with_suffix(".json")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process
        return True
    return True


def sweep_temp_files(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that saves killed half-way (a crash, a power cut) left in
    ``folder``: those of processes that no longer run, or older than a day. Returns them."""
    removed = []
    try:
        names = [n for n in os.listdir(folder) if n.startswith(".")]
    except OSError:
        return removed
    now = time.time()
    for name in names:
        match = _TEMP_NAME.match(name)
        if match is None:
            continue
        path = Path(folder) / name
        try:
            if _alive(int(match.group(1))) and now - path.stat().st_mtime < STALE_TEMP_SECONDS:
                continue
            path.unlink()
        except OSError:
            continue  # gone already, or the folder is read-only: try again next time
        removed.append(path)
    return removed


def _temp_prefix(path: Path) -> str:
    return f".{path.name}.{os.getpid()}-"


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place (a kill at
    any moment leaves the previous file; the next save removes the temporary file)."""
    path = Path(path)
    sweep_temp_files(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_temp_prefix(path), suffix=".tmp")
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
    a half-written file: the previous files stay intact until the new model is complete.

    The metadata is also stored inside the archive with a fresh ``save_id``, and the model file
    is renamed into place before the JSON beside it is written: if the process dies between the
    two, :func:`read_metadata` sees that the JSON's ``save_id`` is not the model's and uses the
    copy inside the archive. The model file always wins."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ModelError(f"{path}: model files must end in .keras")
    if not hasattr(model, "save"):
        raise ModelError(f"{path}: only a Keras model can be saved as .keras, not {type(model).__name__} "
                         "(a LiteRT model reads digits; save the Keras model it was made from)")
    meta = {**(metadata or {}), SAVE_ID: uuid.uuid4().hex}
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        sweep_temp_files(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_temp_prefix(path), suffix=".keras")
        os.close(fd)
        _without_optimizer(model).save(tmp)
        with zipfile.ZipFile(tmp, "a") as zf:
            zf.writestr(EMBEDDED_METADATA, json.dumps(meta, indent=2))
        os.chmod(tmp, 0o644)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise ModelError(f"{path}: cannot save the model: {describe_os_error(exc)}") from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    if metadata is not None:
        try:
            atomic_write_bytes(metadata_path(path), json.dumps(meta, indent=2).encode())
        except OSError as exc:  # the model is saved, and its metadata is inside it
            log.warning("%s: saved, but not the JSON beside it (%s)", path, exc.strerror or exc)
    return path


def _without_optimizer(model):
    """A copy of ``model`` with no optimizer state: a third of the file size."""
    if getattr(model, "optimizer", None) is None:
        return model
    clean = model.__class__.from_config(model.get_config())  # clone_model would copy the optimizer
    clean.set_weights(model.get_weights())
    return clean


def read_metadata(model_path: str | os.PathLike) -> dict:
    """The metadata JSON beside a model file, or ``{}`` if there is none or it is unreadable.
    If the model holds its own copy (see :func:`save_model`) and the JSON beside it belongs to
    another save (one killed before it could rewrite the JSON), the model's copy is returned."""
    try:
        beside = json.loads(metadata_path(model_path).read_text())
    except (OSError, ValueError):
        beside = {}
    inside = embedded_metadata(model_path)
    if inside.get(SAVE_ID) and (not isinstance(beside, dict) or beside.get(SAVE_ID) != inside[SAVE_ID]):
        return inside
    return beside


def embedded_metadata(model_path: str | os.PathLike) -> dict:
    """The metadata stored inside a ``.keras`` archive by :func:`save_model` (``{}`` if none)."""
    try:
        with zipfile.ZipFile(model_path) as zf:
            if zf.getinfo(EMBEDDED_METADATA).file_size > 1024 * 1024:
                return {}  # not ours: ours is a few hundred bytes
            meta = json.loads(zf.read(EMBEDDED_METADATA))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return {}
    return meta if isinstance(meta, dict) else {}


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
    _check_declared_sizes(path)


def _check_declared_sizes(path: Path) -> None:
    """Refuse an archive whose members unpack to more than their headers declare.

    :mod:`zipfile` trusts the declared sizes only up to a point: reading a member whole inflates
    all of its compressed bytes in one go before cutting the result to the declared size, so a
    member that claims 1 kB and holds 400 MB of zeros costs 400 MB of memory (and CRC-checks fine
    if its checksum is that of the first kilobyte). Each member's compressed bytes are inflated
    here in 1 MB steps, and refused as soon as they produce more than declared."""
    try:
        with zipfile.ZipFile(path) as zf, open(path, "rb") as fh:
            for info in zf.infolist():
                if info.compress_type == zipfile.ZIP_STORED:
                    if info.compress_size != info.file_size:
                        raise ModelError(f"{path}: damaged archive ({info.filename} has inconsistent sizes)")
                    continue
                if info.compress_type != zipfile.ZIP_DEFLATED:
                    raise ModelError(f"{path}: {info.filename} is compressed in a way Keras never writes")
                fh.seek(info.header_offset)
                local = fh.read(30)
                if len(local) < 30 or local[:4] != b"PK\x03\x04":
                    raise ModelError(f"{path}: damaged archive (bad header for {info.filename})")
                fh.seek(info.header_offset + 30 + int.from_bytes(local[26:28], "little")
                        + int.from_bytes(local[28:30], "little"))
                inflate, left, produced = zlib.decompressobj(-15), info.compress_size, 0
                while left > 0 or inflate.unconsumed_tail:
                    chunk = inflate.unconsumed_tail or fh.read(min(left, 2**20))
                    if not inflate.unconsumed_tail:
                        if not chunk:
                            break  # truncated: zipfile reports it when the member is read
                        left -= len(chunk)
                    produced += len(inflate.decompress(chunk, 2**20))
                    if produced > info.file_size:
                        raise ModelError(f"{path}: refusing to unpack {info.filename}: it holds more than the "
                                         f"{info.file_size:,} bytes its header declares (a zip bomb?)")
                    if inflate.eof:
                        break
    except zlib.error:
        raise ModelError(f"{path}: damaged archive (its compressed data is corrupt)") from None
    except OSError as exc:
        raise ModelError(f"{path}: cannot read ({exc.strerror or exc})") from None


def load_model(path: str | os.PathLike):
    """Load a ``.keras`` model in Keras safe mode and check the digitdesk contract:
    input ``(None, 28, 28, 1)``, output ``(None, 10)``."""
    path = Path(path)
    if path.is_dir():
        raise ModelError(f"{path}: is a folder, not a model file")
    if not path.is_file():
        raise ModelError(f"{path}: no such model file")
    if path.suffix.lower() == ".tflite":
        raise ModelError(f"{path}: a LiteRT (.tflite) model can read digits but cannot be trained or fine-tuned; "
                         "use the .keras model it was made from")
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
