"""The frozen app (``pyinstaller build.spec``): startup to a visible window and to a loaded model,
and the size of the bundle.

    python -m benchmarks.bench_frozen [--app dist/digitdesk/digitdesk] [--runs 5] [--json PATH]
    python -m benchmarks.bench_frozen --app <new>/digitdesk --old-app <old>/digitdesk [--runs 9]

Each run launches the executable offscreen with DIGITDESK_REPORT_STARTUP=quit: the app prints
"window-visible <s>" at its first paint, "model-ready <s>" once the model is loaded and
"first-prediction <s>" once a number it writes on the Draw tab is read and shown (seconds since
the process started), then quits. One unrecorded run first warms the page cache, as a
second start of the app would be; its figures are shown as "first run". Times are also taken
from just before the launch call, as a cross-check.

With ``--old-app`` two bundles are launched in turn (old, new, old, ...; one warm-up each), so a
busy machine slows both alike: the medians side by side, new/old of the medians and the median of
the ratios of each pair of launches.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.suite import startup_marks

REPO = Path(__file__).resolve().parents[1]
DEFAULT_APP = REPO / "dist" / "digitdesk" / "digitdesk"
SOURCES = ("digitdesk", "resources", "models", "build.spec", "pyproject.toml")  # what goes into the bundle


def bundle_bytes(folder: Path) -> int:
    """Bytes in ``folder`` as `du -sb` counts them (links not followed)."""
    return sum(os.lstat(os.path.join(root, name)).st_size
               for root, dirs, files in os.walk(folder) for name in files + dirs)


def launch(app: Path, timeout: float = 180) -> dict[str, tuple[float, float]]:
    """Start the app once; {mark: (seconds since process start, seconds since the launch call)}."""
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, DIGITDESK_REPORT_STARTUP="quit", QT_QPA_PLATFORM="offscreen",
                   DIGITDESK_HOME=home, XDG_CONFIG_HOME=home)
        env.pop("PYTHONPATH", None)
        t0 = time.time()
        out = subprocess.run([str(app)], env=env, cwd=home, capture_output=True, text=True, timeout=timeout)
    marks = startup_marks(out.stdout, t0)
    if "window-visible" not in marks or "model-ready" not in marks:
        raise RuntimeError(f"{app} exited with {out.returncode} without reporting its startup:\n"
                           f"{out.stdout[-1000:]}\n{out.stderr[-2000:]}")
    return marks


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s | {min(values):.2f}-{max(values):.2f} s"


def staleness(app: Path) -> str:
    """When the bundle was built, and how many commits touched its sources since ("" outside git)."""
    built = app.stat().st_mtime
    try:
        out = subprocess.run(["git", "rev-list", "--count", f"--since={int(built)}", "HEAD", "--", *SOURCES],
                             cwd=REPO, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", *SOURCES],
                               cwd=REPO, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    if out.returncode != 0:
        return ""
    newer = [line[3:] for line in dirty.stdout.splitlines() if (REPO / line[3:]).exists()
             and (REPO / line[3:]).stat().st_mtime > built]
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(built))
    n = int(out.stdout.strip() or 0)
    return (f"built {when}; {n} commit{'s' if n != 1 else ''} to its sources since"
            + (f", {len(newer)} uncommitted file{'s' if len(newer) != 1 else ''} changed since" if newer else ""))


def measure(app: Path, runs: int) -> dict:
    """One unrecorded warm-up launch, then ``runs`` launches; seconds since the process started
    (and since the launch call) per mark, and the bundle size."""
    first = launch(app)
    launches = [launch(app) for _ in range(runs)]
    out: dict = {"app": str(app), "runs": runs, "first_run": {k: v[0] for k, v in first.items()}}
    for mark in ("window-visible", "model-ready", "first-prediction"):
        out[mark] = [r[mark][0] for r in launches if mark in r]
        out[mark + " (launch)"] = [r[mark][1] for r in launches if mark in r]
    out["bytes"] = bundle_bytes(app.parent)
    out["staleness"] = staleness(app)
    return out


MARKS = ("window-visible", "model-ready", "first-prediction")


def compare(old: Path, new: Path, runs: int) -> dict[str, dict[str, list[float]]]:
    """One unrecorded launch of each, then ``runs`` pairs of launches, old then new; seconds since
    the process started, per side and mark."""
    launch(old), launch(new)
    out: dict[str, dict[str, list[float]]] = {"old": {m: [] for m in MARKS}, "new": {m: [] for m in MARKS}}
    for _ in range(runs):
        pair = {"old": launch(old), "new": launch(new)}
        if all(m in pair["old"] and m in pair["new"] for m in MARKS):
            for side, marks in pair.items():
                for m in MARKS:
                    out[side][m].append(marks[m][0])
    return out


def compare_table(r: dict[str, dict[str, list[float]]]) -> list[str]:
    """The Markdown table of :func:`compare`'s figures."""
    lines = ["| since the process started | old: median (range) | new: median (range) | new/old | per pair, median |",
             "|---|---|---|---|---|"]
    for m in MARKS:
        old, new = r["old"][m], r["new"][m]
        if not old:
            continue
        ratio = statistics.median(new) / statistics.median(old)
        pairs = statistics.median(b / a for a, b in zip(old, new))
        lines.append(f"| {m.replace('-', ' ')} | {spread(old).replace(' | ', ' (')}) | {spread(new).replace(' | ', ' (')}) "
                     f"| {ratio:.2f} | {pairs:.2f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_frozen", description=__doc__.splitlines()[0])
    parser.add_argument("--app", default=str(DEFAULT_APP), help="the frozen executable")
    parser.add_argument("--runs", type=int, default=5, help="timed runs (after one warm-up run)")
    parser.add_argument("--old-app", help="another frozen executable, launched in turn with --app")
    parser.add_argument("--json", metavar="PATH", help="also write the raw figures to this JSON file")
    args = parser.parse_args(argv)
    app = Path(args.app).resolve()
    for exe in [app] + ([Path(args.old_app).resolve()] if args.old_app else []):
        if not exe.is_file():
            print(f"{exe}: not found; build it first with `pyinstaller --noconfirm build.spec`", file=sys.stderr)
            return 1
    command = "python -m benchmarks.bench_frozen " + shlex.join(sys.argv[1:] if argv is None else argv)
    if args.old_app:
        old = Path(args.old_app).resolve()
        load = os.getloadavg()
        r = compare(old, app, args.runs)
        print(f"old {old}\nnew {app}\n{args.runs} pairs of launches ({os.cpu_count()} cores, offscreen), load average "
              f"{load[0]:.2f} -> {os.getloadavg()[0]:.2f}\n")
        print("\n".join(compare_table(r)))
        print(f"\n`{command.strip()}`")
        if args.json:
            from benchmarks.suite import write_json

            write_json(args.json, r)
        return 0
    r = measure(app, args.runs)
    size = r["bytes"]
    print(f"frozen app {app} ({os.cpu_count()} cores), offscreen, {args.runs} runs after one warm-up run")
    print(f"{r['staleness']}\n" if r["staleness"] else "")
    print("| measure | median | range (min-max) | first run |")
    print("|---|---|---|---|")
    for mark, label in (("window-visible", "window visible"), ("model-ready", "model ready"),
                        ("first-prediction", "first prediction")):
        if not r[mark]:
            continue
        first = r["first_run"].get(mark)
        first = f"{first:.2f} s" if first is not None else ""
        print(f"| {label}, since the process started | {spread(r[mark])} | {first} |")
        print(f"| {label}, since the launch call | {spread(r[mark + ' (launch)'])} | |")
    print(f"| bundle size (`du -sb`) | {size / 1e6:.0f} MB ({size / 2**20:.0f} MiB) | | |")
    print(f"\n`{command.strip()}`")
    if args.json:
        from benchmarks.suite import write_json

        write_json(args.json, r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
