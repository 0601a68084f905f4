"""Runs side by side, without Qt: the rows of the Runs view (broken files too), how a cell reads
and sorts, and the per-epoch curves and confusion matrix of a run, from :mod:`digitdesk.core.runs`.

Records can be hand-edited or written by an older digitdesk: every function here takes what it
can and returns None or NaN for the rest, never raising on a record's content.
"""

from __future__ import annotations

import math

import numpy as np

from digitdesk.core.runs import RunEntry

COLUMNS = ("name", "architecture", "parameters", "epochs", "augmentation", "test accuracy", "loss",
           "macro precision", "macro recall", "macro F1", "time", "status")  # runs.COLUMNS without the id
NUMERIC = frozenset({"parameters", "epochs", "test accuracy", "loss", "macro precision", "macro recall",
                     "macro F1", "time"})
STATUS_NOTES = {
    "running": "still training",
    "finished": "trained to the end (or until early stopping)",
    "cancelled": "stopped on request (Stop or Ctrl+C)",
    "interrupted": "its process ended before the run did (closed, killed or crashed)",
}
CURVE_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def rows(entries: list[RunEntry]) -> list[dict]:
    """One row per entry, in order: the run's :func:`~digitdesk.core.runs.summary`, plus
    ``broken`` (why the file cannot be read, else None), ``note`` (what its status means) and the
    run's ``date``, ``data`` and saved ``model`` when known.
    A broken file's row is named after the file and has the status "broken"."""
    out = []
    for entry in entries:
        if entry.broken:
            row = {key: None for key in COLUMNS}
            row.update(id=entry.id, name=entry.path.name, status="broken", broken=entry.error,
                       note=f"cannot be read: {entry.error}")
        else:
            record = entry.record
            row = {**entry.summary(), "broken": None, "date": record.get("date"), "data": record.get("data"),
                   "model": record.get("model")}
            row["name"] = str(row["name"] or entry.id)
            status, error = entry.status, entry.record.get("error")
            row["note"] = f"failed: {error}" if status == "failed" else STATUS_NOTES.get(status, "")
            if status == "cancelled" and error:
                row["note"] += f" ({error})"
        out.append(row)
    return out


def cell_text(key: str, value) -> str:
    """How the Runs view shows one cell: accuracy in %, parameters with thousands separators,
    time as m:ss, metrics to 3-4 decimals; an empty string when unknown."""
    if value is None:
        return ""
    number = _number(value)
    if key in NUMERIC and number is None:
        return str(value)  # a hand-edited record: shown as it is, sorted last
    if key == "test accuracy":
        return f"{number:.2%}"
    if key == "parameters":
        return f"{int(number):,}"
    if key == "epochs":
        return f"{number:g}"
    if key == "loss":
        return f"{number:.4f}"
    if key in ("macro precision", "macro recall", "macro F1"):
        return f"{number:.3f}"
    if key == "time":
        s = int(round(number))
        return f"{s // 60}:{s % 60:02d}" if s < 3600 else f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
    return str(value)


def sort_key(key: str, value) -> tuple:
    """A key that orders a column: numbers as numbers, text without case; unknown values come
    after the known ones in ascending order."""
    if key in NUMERIC:
        number = _number(value)
        return (1, 0.0) if number is None else (0, number)
    return (1, "") if value in (None, "") else (0, str(value).casefold())


def curves(record: dict | None) -> dict[str, np.ndarray]:
    """The per-epoch curves of a run: ``epoch`` and the training and validation ``loss``,
    ``accuracy``, ``val_loss``, ``val_accuracy`` (NaN where unknown); empty arrays without any."""
    history = record.get("epoch_history") if isinstance(record, dict) else None
    points = [e for e in history if isinstance(e, dict) and _number(e.get("epoch")) is not None] \
        if isinstance(history, list) else []
    out = {"epoch": np.array([_number(e["epoch"]) for e in points], dtype=float)}
    for key in CURVE_KEYS:
        out[key] = np.array([np.nan if _number(e.get(key)) is None else _number(e.get(key)) for e in points],
                            dtype=float)
    return out


def confusion(record: dict | None) -> np.ndarray | None:
    """The test confusion matrix of a run (10 x 10 counts, rows: true digits), or None."""
    test = record.get("test") if isinstance(record, dict) else None
    matrix = test.get("confusion") if isinstance(test, dict) else None
    try:
        array = np.asarray(matrix, dtype=float)
    except (TypeError, ValueError):
        return None
    if array.shape != (10, 10) or not np.isfinite(array).all() or (array < 0).any():
        return None
    return array.astype(np.int64)
