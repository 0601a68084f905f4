"""The pieces shared by ``python -m benchmarks``: the row type, statistics, machine facts and
the rewrite of the summary table in BENCHMARKS.md (between two markers). No TensorFlow, no Qt.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

REPO = Path(__file__).resolve().parents[1]
BEGIN = "<!-- suite:begin -->"
END = "<!-- suite:end -->"


# Statistics ----------------------------------------------------------------------------------

def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` by linear interpolation (numpy's default method)."""
    v = sorted(values)
    if not v:
        return math.nan
    pos = q * (len(v) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def summarize(values: Sequence[float], spread: str = "min-max") -> tuple[float, float, float]:
    """(median, low, high) of ``values``; the spread is ``"min-max"`` or ``"p10-p90"``."""
    if not values:
        return math.nan, math.nan, math.nan
    if spread == "min-max":
        return statistics.median(values), min(values), max(values)
    if spread == "p10-p90":
        return statistics.median(values), percentile(values, 0.1), percentile(values, 0.9)
    raise ValueError(f"unknown spread {spread!r}")


def timed_ms(fn: Callable[[], object], repeats: int, warmup: int = 1) -> list[float]:
    """Milliseconds of ``repeats`` calls of ``fn`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


# Rows ----------------------------------------------------------------------------------------

@dataclasses.dataclass
class Row:
    """One line of the summary table.

    ``target`` is ``("<=", 2.0)`` or ``(">=", 0.95)`` in the row's unit (or None); pass/fail
    compares the median with it. ``value`` replaces the numbers for rows that could not be
    measured ("not built (run with --build)") or that are counts ("4/4"); such a row has no median.
    """

    group: str
    name: str
    unit: str = ""
    median: float | None = None
    low: float | None = None
    high: float | None = None
    spread: str = "min-max"  # how low/high were taken: "min-max", "p10-p90", "" (none)
    n: int = 1
    target: tuple[str, float] | None = None
    command: str = ""
    value: str | None = None
    note: str = ""
    quick: bool = False
    digits: int = 2  # decimals shown

    @classmethod
    def of(cls, group: str, name: str, values: Sequence[float], unit: str, spread: str = "min-max",
           **kw) -> "Row":
        med, lo, hi = summarize(values, spread)
        return cls(group, name, unit, med, lo, hi, spread if len(values) > 1 else "", len(values), **kw)

    @property
    def passed(self) -> bool | None:
        if self.target is None or self.median is None or math.isnan(self.median):
            return None
        op, limit = self.target
        return self.median <= limit if op == "<=" else self.median >= limit

    def fmt(self, x: float | None) -> str:
        if x is None or math.isnan(x):
            return "-"
        if self.unit == "%":
            return f"{x:.{self.digits}f}%"
        if self.unit == "x":
            return f"{x:.{self.digits}f}x"
        if self.unit == "bytes":
            return f"{x / 1e6:,.0f} MB"
        text = f"{x:,.{self.digits}f}"
        return f"{text} {self.unit}".rstrip()

    def cells(self) -> list[str]:
        if self.median is None:
            value, spread, n = self.value or "-", "", "" if self.value and self.n <= 1 else str(self.n)
        else:
            value = self.fmt(self.median)
            spread = (f"{self.fmt(self.low)} - {self.fmt(self.high)} ({self.spread})"
                      if self.spread and self.low is not None else "")
            n = str(self.n)
        target = ""
        if self.target is not None:
            op, limit = self.target
            target = f"{op} {self.fmt(limit)}"
        result = {True: "pass", False: "FAIL", None: ""}[self.passed]
        name = self.name + (" *(quick)*" if self.quick else "") + (f" ({self.note})" if self.note else "")
        return [name, value, spread, n, target, result, f"`{self.command}`" if self.command else ""]

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "passed": self.passed}

    @classmethod
    def from_dict(cls, d: dict) -> "Row":
        fields = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in fields}
        if kw.get("target") is not None:
            kw["target"] = tuple(kw["target"])
        return cls(**kw)


def unavailable(group: str, names: Sequence[str], why: str, command: str = "",
                targets: Sequence[tuple[str, float] | None] = (), units: Sequence[str] = ()) -> list[Row]:
    """Rows that say why they have no figure (never a made-up number)."""
    targets = list(targets) + [None] * (len(names) - len(targets))
    units = list(units) + [""] * (len(names) - len(units))
    return [Row(group, name, unit, value=why, command=command, target=t)
            for name, t, unit in zip(names, targets, units)]


# Machine facts -------------------------------------------------------------------------------

def load_average() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except (OSError, AttributeError):
        return None


def git_commit() -> str:
    """Short hash of HEAD, with ``-dirty`` if tracked files differ from it ("unknown" outside git)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head + ("-dirty" if dirty else "")) if head else "unknown"


def memory_gib() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return None


# Subprocesses --------------------------------------------------------------------------------

def run_json(module: str, args: Sequence[str], out: Path, timeout: float, env: dict | None = None) -> dict:
    """Run ``python -m module args --json out`` from the repository root and return what it wrote."""
    cmd = [sys.executable, "-m", module, *args, "--json", str(out)]
    proc = subprocess.run(cmd, cwd=REPO, env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0 or not out.is_file():
        raise RuntimeError(f"`{shlex.join(cmd[2:])}` exited with {proc.returncode}:\n"
                           f"{proc.stdout[-1500:]}\n{proc.stderr[-2500:]}")
    return json.loads(out.read_text())


def write_json(path: str | os.PathLike, data: dict) -> None:
    Path(path).write_text(json.dumps(data, indent=1, default=float))


# Markdown ------------------------------------------------------------------------------------

HEADER = ["measurement", "median", "spread", "runs", "target", "result", "command"]


def table(rows: Sequence[Row]) -> str:
    """The rows as one markdown table, a sub-heading row per group."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    group = None
    for row in rows:
        if row.group != group:
            group = row.group
            lines.append(f"| **{group}** |" + " |" * (len(HEADER) - 1))
        lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in row.cells()) + " |")
    return "\n".join(lines)


def render(rows: Sequence[Row], meta: dict) -> str:
    """The whole block that goes between the markers."""
    load = meta.get("load_start"), meta.get("load_end")

    def la(x):
        return "?" if not x else ", ".join(f"{v:.2f}" for v in x)

    passed = sum(r.passed is True for r in rows)
    failed = [r.name for r in rows if r.passed is False]
    quick = any(r.quick for r in rows)
    lines = [
        f"`{meta.get('command', 'python -m benchmarks')}` on {meta.get('date', '?')}, commit "
        f"`{meta.get('commit', '?')}`; {meta.get('cores', '?')} cores"
        + (f", {meta['memory_gib']:.0f} GiB" if meta.get("memory_gib") else "")
        + f"; load average (1, 5, 15 min) {la(load[0])} at the start, {la(load[1])} at the end; "
        f"{meta.get('duration_s', 0) / 60:.1f} min in all."
        + (" **Quick run: few repeats, figures are only a smoke test.**" if quick else ""),
        "",
        "Each figure is the median of its runs; the spread is min-max of the runs or p10-p90 of many calls "
        "(as named); a ratio is measured within one run, alternating the two sides, and its spread is that "
        "of the per-round ratios. Pass/fail compares the median with the target. Each command reproduces "
        "its row (from the repository root, with `DIGITDESK_DATA` set).",
        "",
        table(rows),
        "",
        f"{passed} of {sum(r.passed is not None for r in rows)} targets met"
        + (f"; missed: {', '.join(failed)}." if failed else "."),
    ]
    if meta.get("timings"):
        lines.append("Time per group: " + ", ".join(f"{g} {t:.0f} s" for g, t in meta["timings"].items()) + ".")
    return "\n".join(lines)


def replace_block(text: str, block: str) -> str:
    """``text`` with everything between the markers replaced by ``block``; the rest unchanged."""
    start = text.find(BEGIN)
    end = text.find(END)
    if start < 0 or end < 0 or end < start:
        raise ValueError(f"markers {BEGIN} ... {END} not found (in that order)")
    if text.find(BEGIN, start + 1) >= 0 or text.find(END, end + 1) >= 0:
        raise ValueError("the suite markers occur more than once")
    return text[: start + len(BEGIN)] + "\n" + block.strip("\n") + "\n" + text[end:]


def should_write(quick: bool, partial: bool, write: bool, no_write: bool) -> bool:
    """Whether a run rewrites BENCHMARKS.md: a full run does; a quick or partial one only with
    ``--write`` (quick figures must never land by accident); never with ``--no-write``."""
    return not no_write and (write or not (quick or partial))


def rewrite_file(path: str | os.PathLike, block: str) -> None:
    p = Path(path)
    p.write_text(replace_block(p.read_text(), block))


STARTUP_MARKS = ("window-visible", "model-ready", "first-prediction", "model-failed")


def startup_marks(stdout: str, launched: float) -> dict[str, tuple[float, float]]:
    """The lines the app prints with DIGITDESK_REPORT_STARTUP (``<mark> <s since process start>
    <epoch> ...``) as {mark: (seconds since the process started, seconds since ``launched``)}."""
    marks = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] in STARTUP_MARKS:
            marks[parts[0]] = (float(parts[1]), float(parts[2]) - launched)
    return marks
