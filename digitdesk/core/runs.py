"""Every training run, kept: one JSON file per run in ``user_data_dir()/runs/``, listed, shown,
renamed, deleted and exported as a CSV or Markdown table to compare runs.

Reading never imports TensorFlow, and listing never fails: a file that is not JSON, truncated
or not a run is listed as a broken :class:`RunEntry` with the reason. Files are written with
:func:`~digitdesk.core.modelio.atomic_write_bytes`, so a kill leaves the previous version. A run
still marked "running" whose process is gone is shown as "interrupted". What a run holds is
built by :mod:`digitdesk.core.runrecord`.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import os
import re
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

from digitdesk.core.errors import RunError
from digitdesk.core.modelio import atomic_write_bytes

RUNS_ENV = "DIGITDESK_RUNS"  # overrides the folder (else user_data_dir()/runs)
FORMAT = "digitdesk-run"
STATUSES = ("running", "finished", "cancelled", "failed", "interrupted")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
COLUMNS = ("id", "name", "architecture", "parameters", "epochs", "augmentation", "test accuracy", "loss",
           "macro precision", "macro recall", "macro F1", "time", "status")


def runs_dir() -> Path:
    """The runs folder: ``$DIGITDESK_RUNS``, else ``runs/`` in the per-user data folder."""
    override = os.environ.get(RUNS_ENV)
    if override:
        return Path(override)
    from digitdesk.core.paths import user_data_dir

    return user_data_dir() / "runs"


def new_run_id(now: _dt.datetime | None = None) -> str:
    """``20261201-132501-ab12``: the local start time and four random hex digits."""
    return f"{(now or _dt.datetime.now()):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (True when it cannot be told)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # it exists, owned by someone else (or this platform cannot say)
    return True


def effective_status(record: dict) -> str:
    """The record's status, "interrupted" for a "running" run whose process on this host is gone."""
    status = record.get("status")
    if status == "running" and record.get("host") == socket.gethostname():
        pid = record.get("pid")
        if not isinstance(pid, int) or not process_alive(pid):
            return "interrupted"
    return status


@dataclass
class RunEntry:
    """One file of the store: its ``record`` (status made effective), or why it is broken."""

    id: str
    path: Path
    record: dict | None = None
    error: str | None = None  # set: the file is not a readable run, and says why

    @property
    def broken(self) -> bool:
        return self.error is not None

    @property
    def name(self) -> str:
        return "" if self.record is None else str(self.record.get("name") or "")

    @property
    def status(self) -> str:
        return "broken" if self.record is None else str(self.record.get("status"))

    def summary(self) -> dict:
        """The table row of this run (column name -> value), or ``{id, error}`` when broken."""
        if self.record is None:
            return {"id": self.id, "error": self.error}
        return summary(self.record)


def _read(path: Path) -> RunEntry:
    """Never raises: a broken entry says what is wrong with the file."""
    run_id = path.stem
    try:
        data = path.read_bytes()
    except OSError as exc:
        return RunEntry(run_id, path, error=f"cannot read: {exc.strerror or exc}")
    if not data.strip():
        return RunEntry(run_id, path, error="empty file")
    try:
        record = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return RunEntry(run_id, path, error=f"not JSON: {exc}")
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        return RunEntry(run_id, path, error="not a digitdesk run (JSON without \"format\": \"digitdesk-run\")")
    if record.get("status") not in STATUSES:
        return RunEntry(run_id, path, error=f"unknown status {record.get('status')!r}")
    record = {**record, "id": run_id, "status": effective_status(record)}
    return RunEntry(run_id, path, record)


def _sort_key(entry: RunEntry) -> tuple[float, str]:
    if entry.record is not None:
        try:
            return _dt.datetime.fromisoformat(str(entry.record.get("date"))).timestamp(), entry.id
        except ValueError:
            pass
    try:
        return entry.path.stat().st_mtime, entry.id
    except OSError:
        return 0.0, entry.id


class RunStore:
    """The runs folder (``root``, else :func:`runs_dir`); created when the first run is written."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else runs_dir()

    def path(self, run_id: str) -> Path:
        """The file of ``run_id``; RunError for a name that is not a run id (a path, a dot file)."""
        if not isinstance(run_id, str) or not _ID.fullmatch(run_id):
            raise RunError(f"{run_id!r} is not a run id (such as 20261201-132501-ab12)")
        return self.root / f"{run_id}.json"

    def write(self, record: dict) -> Path:
        """Write ``record`` (its ``id`` names the file) atomically; RunError when it cannot be."""
        path = self.path(record["id"])
        data = json.dumps({"format": FORMAT, **record}, indent=1, allow_nan=False, default=_plain).encode()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, data)
        except OSError as exc:
            raise RunError(f"cannot write the run {record['id']} in {self.root}: {exc.strerror or exc}") from None
        return path

    def new_id(self) -> str:
        """A run id not used in the store yet."""
        while True:
            run_id = new_run_id()
            if not self.path(run_id).exists():
                return run_id

    def list(self) -> list[RunEntry]:
        """Every file of the store, newest first; never raises (broken files are entries too)."""
        try:
            paths = [p for p in self.root.iterdir() if p.suffix == ".json" and not p.name.startswith(".")]
        except OSError:
            return []  # no folder yet (or unreadable): no runs
        return sorted((_read(p) for p in paths), key=_sort_key, reverse=True)

    def entry(self, run_id: str) -> RunEntry:
        """The file of ``run_id`` as a listing shows it (a broken entry when it cannot be read)."""
        return _read(self.path(run_id))

    def get(self, run_id: str) -> dict:
        """The record of ``run_id``; RunError when it is unknown or broken."""
        path = self.path(run_id)
        if not path.is_file():
            raise RunError(f"no run {run_id} in {self.root}")
        entry = _read(path)
        if entry.record is None:
            raise RunError(f"run {run_id}: {entry.error}")
        return entry.record

    def rename(self, run_id: str, name: str) -> dict:
        """Give ``run_id`` a new display name; returns the record."""
        name = name.strip()
        if not name:
            raise RunError("a run needs a name")
        return self._update(run_id, name=name)

    def set_model(self, run_id: str, path: str | os.PathLike) -> dict:
        """Record where the model trained by ``run_id`` was saved (the Train tab saves after the
        run has ended); returns the record. Nothing else of the run changes."""
        return self._update(run_id, model=str(Path(path).resolve()))

    def _update(self, run_id: str, **fields) -> dict:
        """Rewrite ``run_id`` with ``fields`` changed; RunError when it is unknown or broken."""
        record = self.get(run_id)
        stored = {k: v for k, v in record.items() if k != "format"}
        stored["status"] = self._stored_status(run_id, record)
        stored.update(fields)
        self.write(stored)
        return {**record, **fields}

    def delete(self, run_ids: list[str]) -> list[str]:
        """Delete each run (broken files too); RunError naming the ids that could not be deleted
        after deleting the others. Returns the ids deleted."""
        deleted, problems = [], []
        for run_id in run_ids:
            try:
                path = self.path(run_id)
                path.unlink()
                deleted.append(run_id)
            except FileNotFoundError:
                problems.append(f"no run {run_id}")
            except RunError as exc:
                problems.append(str(exc))
            except OSError as exc:
                problems.append(f"cannot delete {run_id}: {exc.strerror or exc}")
        if problems:
            raise RunError("; ".join(problems) + (f" (deleted {', '.join(deleted)})" if deleted else ""))
        return deleted

    def _stored_status(self, run_id: str, record: dict) -> str:
        """The status as written in the file (an "interrupted" run stays "running" on disk)."""
        try:
            return json.loads(self.path(run_id).read_bytes()).get("status", record["status"])
        except (OSError, ValueError, AttributeError):
            return record["status"]


def _plain(value):
    """JSON for numpy scalars and arrays (a record built from a Report or TrainResult)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


# The comparison table --------------------------------------------------------------------------


def _round(value, digits: int):
    return round(float(value), digits) if isinstance(value, (int, float)) else None


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def summary(record: dict) -> dict:
    """One run as a row of :data:`COLUMNS`: plain values (None when unknown)."""
    test = _dict(record.get("test"))
    macro = _dict(test.get("macro"))
    aug = _dict(record.get("augmentation"))
    return {
        "id": record.get("id"),
        "name": record.get("name"),
        "architecture": record.get("architecture"),
        "parameters": record.get("parameters") if isinstance(record.get("parameters"), int) else None,
        "epochs": record.get("epochs"),
        "augmentation": "on" if aug.get("on") else "off",
        "test accuracy": _round(test.get("accuracy"), 6),
        "loss": _round(test.get("loss"), 6),
        "macro precision": _round(macro.get("precision"), 4),
        "macro recall": _round(macro.get("recall"), 4),
        "macro F1": _round(macro.get("f1"), 4),
        "time": _round(record.get("wall_seconds"), 1),
        "status": record.get("status"),
    }


def table(entries: list[RunEntry]) -> list[dict]:
    """The rows of the readable runs (broken files have no row)."""
    return [e.summary() for e in entries if not e.broken]


def to_csv(rows: list[dict]) -> str:
    """The rows as CSV with a header of :data:`COLUMNS` (empty cells when unknown)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in COLUMNS})
    return out.getvalue()


def _md_cell(key: str, value) -> str:
    if value is None:
        return ""
    if key == "test accuracy":
        return f"{value * 100:.2f}%"
    if key == "parameters":
        return f"{value:,}"
    if key == "time":
        return f"{value:.1f} s"
    return str(value).replace("|", "\\|").replace("\n", " ")


def to_markdown(rows: list[dict]) -> str:
    """The rows as a Markdown table (accuracy in %, time in seconds)."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
    lines += ["| " + " | ".join(_md_cell(k, row.get(k)) for k in COLUMNS) + " |" for row in rows]
    return "\n".join(lines) + "\n"
