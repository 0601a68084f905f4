"""Writing a reading to JSON or CSV (plain functions, no Qt)."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from digitdesk.core.modelio import atomic_write_bytes

if TYPE_CHECKING:
    from digitdesk.core.recognizer import Reading

CSV_COLUMNS = ["index", "line", "digit", "confidence", "uncertain", "x", "y", "w", "h",
               "second", "second_p", "third", "third_p"]
FORMATS = {".json": "JSON (*.json)", ".csv": "CSV (*.csv)"}


def reading_to_json(reading: "Reading", source: str | None = None) -> str:
    """The reading as pretty JSON: ``{"source", "text", "digits": [...]}``."""
    data = {"source": source, **reading.to_dict()}
    for d, out in zip(reading.digits, data["digits"]):
        out["line"] = d.line
        out["uncertain"] = bool(d.uncertain)
    return json.dumps(data, indent=2) + "\n"


def reading_to_csv(reading: "Reading") -> str:
    """One CSV row per digit, in reading order."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for i, d in enumerate(reading.digits):
        top = list(d.top) + [(None, None)] * (3 - len(d.top))
        w.writerow([i, d.line, d.digit, f"{d.confidence:.4f}", int(d.uncertain), *d.box,
                    top[1][0], "" if top[1][1] is None else f"{top[1][1]:.4f}",
                    top[2][0], "" if top[2][1] is None else f"{top[2][1]:.4f}"])
    return buf.getvalue()


def export_reading(reading: "Reading", path: str | os.PathLike, source: str | None = None) -> Path:
    """Write ``reading`` to ``path`` as JSON or CSV, chosen by the suffix (default JSON)."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        path = path.with_suffix(".json")
    text = reading_to_csv(reading) if path.suffix.lower() == ".csv" else reading_to_json(reading, source)
    atomic_write_bytes(path, text.encode("utf-8"))  # a full disk keeps the previous file
    return path
