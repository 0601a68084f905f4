"""LiteRT twins: the ``.tflite`` copy of a ``.keras`` model that digitdesk reads with.

A twin sits beside its model (``my-model.keras`` -> ``my-model.tflite``) or, for models whose
folder is not ours to write in (the bundled one, a ``--model`` file elsewhere), in the per-user
``twins/`` folder under the model's content hash. A small record beside it
(``my-model.twin.json``) maps the SHA-256 of each twin written there to the SHA-256 of the
``.keras`` file it was made from: a twin the record does not know is damaged, one made from
another ``.keras`` content is stale, and neither is ever read.

Making a twin needs TensorFlow (its converter); reading one does not. The record is rewritten
first (knowing the old twin and the new one), then the twin; each goes to a temporary file
renamed into place, so a kill at any moment leaves the old twin or the new one, each correctly
described by the record, never a half-written or unaccounted one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from digitdesk.core.errors import ModelError
from digitdesk.core.litert import TFLITE_SUFFIX, LiteModel
from digitdesk.core.modelio import atomic_write_bytes, describe_os_error, now_iso
from digitdesk.core.paths import default_model_path, user_data_dir

RECORD_SUFFIX = ".twin.json"
READER_ENV = "DIGITDESK_READER"  # "keras": read with TensorFlow even when a twin exists (benchmarks)


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's content, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def record_path(twin: str | os.PathLike) -> Path:
    """``my-model.tflite`` -> ``my-model.twin.json``."""
    return Path(twin).with_suffix(RECORD_SUFFIX)


def twin_beside(model_path: str | os.PathLike) -> Path:
    """``my-model.keras`` -> ``my-model.tflite``."""
    return Path(model_path).with_suffix(TFLITE_SUFFIX)


def cached_twin(digest: str) -> Path:
    """Where the per-user folder keeps the twin of the model with this content hash."""
    return user_data_dir() / "twins" / f"{digest[:32]}{TFLITE_SUFFIX}"


def keras_forced() -> bool:
    """True when ``$DIGITDESK_READER`` is ``keras``: read with TensorFlow (old and new side by side)."""
    return os.environ.get(READER_ENV, "").strip().lower() == "keras"


def twin_problem(twin: Path, digest: str) -> str | None:
    """Why ``twin`` cannot stand for the model with content hash ``digest`` (None: it can)."""
    if not twin.is_file():
        return "it has no LiteRT twin yet"
    record = _read_record(twin)
    if not record:
        return "its LiteRT twin has no record of the model it was made from"
    try:
        made_from = record.get(file_sha256(twin))
    except OSError as exc:
        return f"its LiteRT twin cannot be read ({describe_os_error(exc)})"
    if made_from is None:
        return "its LiteRT twin is damaged (not the file its record describes)"
    if made_from != digest:
        return "its LiteRT twin was made from another version of the model"
    return None


def _read_record(twin: Path) -> dict[str, str]:
    """The record beside ``twin``: twin SHA-256 -> SHA-256 of the .keras it was made from."""
    try:
        record = json.loads(record_path(twin).read_text())
        twins = record["twins"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {k: v for k, v in twins.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(twins, dict) else {}


def find_twin(model_path: str | os.PathLike) -> tuple[Path | None, str | None]:
    """The fresh twin of a ``.keras`` model, or None and why there is none (for a person)."""
    model_path = Path(model_path)
    try:
        digest = file_sha256(model_path)
    except OSError as exc:
        return None, f"the model cannot be read ({describe_os_error(exc)})"
    beside = twin_beside(model_path)
    why = twin_problem(beside, digest)
    if why is None:
        return beside, None
    cached = cached_twin(digest)
    if twin_problem(cached, digest) is None:
        return cached, None
    return None, why


def twin_destination(model_path: str | os.PathLike) -> Path:
    """Where a new twin of ``model_path`` goes: beside it, unless it is the bundled model (the app
    never writes next to its own files) or its folder is read-only; else the per-user folder."""
    model_path = Path(model_path)
    try:
        bundled = model_path.resolve() == default_model_path().resolve()
    except OSError:
        bundled = False
    if not bundled and os.access(model_path.parent, os.W_OK | os.X_OK):
        return twin_beside(model_path)
    return cached_twin(file_sha256(model_path))


def convert(model) -> bytes:
    """A Keras digit model as a checked LiteRT FlatBuffer (imports TensorFlow)."""
    from digitdesk.core.tfimport import import_tensorflow

    tf = import_tensorflow()
    try:
        with _native_output_silenced():
            data = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    except Exception as exc:  # the converter raises many types
        raise ModelError(f"cannot convert the model to LiteRT: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}") from None
    LiteModel(data, "the converted model")  # the contract, checked on what will be read
    return data


def write_twin(model_path: str | os.PathLike, model=None, dest: str | os.PathLike | None = None) -> Path:
    """Make the twin of the ``.keras`` file ``model_path`` (``model``: that file, already loaded)
    and write it with its record, each atomically; returns the twin's path. Imports TensorFlow."""
    from digitdesk.core.modelio import load_model

    model_path = Path(model_path)
    try:
        digest = file_sha256(model_path)
    except OSError as exc:
        raise ModelError(f"{model_path}: cannot read ({describe_os_error(exc)})") from None
    data = convert(model if model is not None else load_model(model_path))
    dest = Path(dest) if dest is not None else twin_destination(model_path)
    twin_digest = hashlib.sha256(data).hexdigest()
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        known = {}
        if dest.is_file():  # the twin there now stays described until the new one replaces it
            old = file_sha256(dest)
            if old in (previous := _read_record(dest)):
                known[old] = previous[old]
        known[twin_digest] = digest
        record = {"source": model_path.name, "made": now_iso(), "twins": known}
        atomic_write_bytes(record_path(dest), json.dumps(record, indent=2).encode())
        atomic_write_bytes(dest, data)
    except OSError as exc:
        raise ModelError(f"{dest}: cannot write the LiteRT twin: {describe_os_error(exc)}") from None
    return dest


def twin_command(model_path: str | os.PathLike) -> list[str]:
    """The command that makes the twin of ``model_path`` in a child process (``digitdesk twin``):
    the app converts there, so that quitting never waits for TensorFlow and it never loads in
    the app only to convert."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "twin", os.fspath(model_path)]
    return [sys.executable, "-m", "digitdesk", "twin", os.fspath(model_path)]


def write_twin_in_child(model_path: str | os.PathLike, timeout: float | None = None) -> Path:
    """:func:`write_twin` in a child process (blocking); ModelError with its reason if it fails."""
    try:
        done = subprocess.run(twin_command(model_path), capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ModelError(f"{model_path}: cannot make the LiteRT twin ({exc})") from None
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
        raise ModelError(lines[-1].removeprefix("digitdesk: error: ") if lines else f"{model_path}: the conversion failed")
    return Path(done.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def _native_output_silenced():
    """Point file descriptors 1 and 2 at /dev/null (the converter prints its progress there from
    C++), on the main thread only: elsewhere it would silence the other threads too."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = [os.dup(1), os.dup(2)]
    except (OSError, ValueError, AttributeError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        with contextlib.redirect_stdout(open(os.devnull, "w")) as quiet:
            try:
                yield
            finally:
                quiet.close()
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)
