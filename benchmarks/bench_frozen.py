"""The frozen app (``pyinstaller build.spec``): startup to a visible window and to a loaded model,
and the size of the bundle.

    python -m benchmarks.bench_frozen [--app dist/digitdesk/digitdesk] [--runs 5]

Each run launches the executable offscreen with DIGITDESK_REPORT_STARTUP=quit: the app prints
"window-visible <s>" at its first paint and "model-ready <s>" once the model is loaded (seconds
since the process started), then quits. One unrecorded run first warms the page cache, as a
second start of the app would be; its figures are shown as "first run". Times are also taken
from just before the launch call, as a cross-check.
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

REPO = Path(__file__).resolve().parents[1]
MARKS = ("window-visible", "model-ready", "model-failed")


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
    marks = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] in MARKS:
            marks[parts[0]] = (float(parts[1]), float(parts[2]) - t0)
    if "window-visible" not in marks or "model-ready" not in marks:
        raise RuntimeError(f"{app} exited with {out.returncode} without reporting its startup:\n"
                           f"{out.stdout[-1000:]}\n{out.stderr[-2000:]}")
    return marks


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s | {min(values):.2f}-{max(values):.2f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_frozen", description=__doc__.splitlines()[0])
    parser.add_argument("--app", default=str(REPO / "dist" / "digitdesk" / "digitdesk"), help="the frozen executable")
    parser.add_argument("--runs", type=int, default=5, help="timed runs (after one warm-up run)")
    args = parser.parse_args(argv)
    app = Path(args.app).resolve()
    if not app.is_file():
        print(f"{app}: not found; build it first with `pyinstaller --noconfirm build.spec`", file=sys.stderr)
        return 1
    first = launch(app)
    runs = [launch(app) for _ in range(args.runs)]
    size = bundle_bytes(app.parent)
    command = "python -m benchmarks.bench_frozen " + shlex.join(sys.argv[1:] if argv is None else argv)
    print(f"frozen app {app} ({os.cpu_count()} cores), offscreen, {args.runs} runs after one warm-up run\n")
    print("| measure | median | range (min-max) | first run |")
    print("|---|---|---|---|")
    for mark, label in (("window-visible", "window visible"), ("model-ready", "model ready")):
        since_start = [r[mark][0] for r in runs]
        since_launch = [r[mark][1] for r in runs]
        print(f"| {label}, since the process started | {spread(since_start)} | {first[mark][0]:.2f} s |")
        print(f"| {label}, since the launch call | {spread(since_launch)} | {first[mark][1]:.2f} s |")
    print(f"| bundle size (`du -sb`) | {size / 1e6:.0f} MB ({size / 2**20:.0f} MiB) | | |")
    print(f"\n`{command.strip()}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
