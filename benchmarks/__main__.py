"""The benchmark suite: every measurement, one summary table in BENCHMARKS.md.

    python -m benchmarks [--quick] [--only GROUP,...] [--skip GROUP,...] [--build] [--no-write | --write]

Groups (in the order they run):
  engine    digit, canvas and 1 MP photo latency (in this process)
  accuracy  MNIST test accuracy of every models/*.keras (as distributed and re-framed), the
            synthetic drawn/hands/photo sets and canvas pen widths, the real sample images
  startup   source app: launch to visible window, to model ready, to first prediction
  gui       stroke-to-result on the Draw tab, webcam preview fps from a video file (a subprocess)
  training  plain model.fit samples/s; core train(), `digitdesk train` and the Train tab as ratios
            to it, alternating in one run; GUI event-loop stall during training (a subprocess)
  frozen    the PyInstaller app (dist/digitdesk/digitdesk): startup marks and bundle size
  close     File > Quit during training, webcam capture and a slow photo: time to process exit
  load      memory and latency drift over many canvas reads and minutes of webcam video
  paper     issue 11's real-paper conditions (SYNTHETIC, benchmarks/paper_sets.py), tuning seed only

Every row: median of its runs, the spread, the number of runs, the target (from BENCHMARKS.md)
with pass/fail, and the command that reproduces it. The block between ``<!-- suite:begin -->``
and ``<!-- suite:end -->`` in BENCHMARKS.md is rewritten; the rest of the file is left alone.
A ``--quick`` run (a smoke test: few repeats) or a partial run (``--only``/``--skip``) writes
the file only with ``--write``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchmarks.suite import (REPO, Row, git_commit, load_average, memory_gib, render, rewrite_file,  # noqa: E402
                              run_json, should_write, unavailable)

GROUPS = ("engine", "accuracy", "startup", "gui", "training", "frozen", "close", "load", "paper")
MS, S = "ms", "s"


class Settings:
    """Repeats and sizes of a full run, or of a --quick one."""

    def __init__(self, quick: bool):
        self.quick = quick
        self.repeats = 30 if quick else 300  # latency calls (the photo: a fifth, at least 30)
        self.count = 100 if quick else 1000  # synthetic digits per style
        self.startup_runs = 2 if quick else 5
        self.strokes, self.webcam_seconds, self.webcam_runs = (5, 2.0, 1) if quick else (30, 6.0, 3)
        self.train = (dict(images=1280, epochs=2, rounds=1, stall_runs=1) if quick
                      else dict(images=6400, epochs=3, rounds=3, stall_runs=2))
        self.frozen_runs = 2 if quick else 5
        self.close_runs = 1 if quick else 3
        self.load_images, self.load_minutes = (300, 0.25) if quick else (10000, 10.0)


def _ms(values: list[float]) -> list[float]:
    return [v * 1000 for v in values]


# Groups --------------------------------------------------------------------------------------

def group_engine(st: Settings) -> list[Row]:
    from benchmarks.bench_engine import CASES, measure_latency
    from digitdesk.core.recognizer import Recognizer

    rec = Recognizer.load()
    lat = measure_latency(rec, st.repeats)
    cmd = f"python -m benchmarks.bench_engine --skip-training --repeats {st.repeats}"
    targets = {"digit": 2.0, "canvas": 10.0, "photo": 40.0, "webcam": 20.0}
    return [Row.of("engine", name, lat[key], MS, "p10-p90", target=("<=", targets[key]), command=cmd)
            for key, name, _ in CASES]


def group_accuracy(st: Settings) -> list[Row]:
    from benchmarks.eval_handwriting import evaluate, evaluate_mnist
    from digitdesk.core.paths import default_model_path
    from digitdesk.core.recognizer import Recognizer

    rows = []
    default = Path(default_model_path()).resolve()
    for path in sorted((REPO / "models").glob("*.keras")):
        rel = path.relative_to(REPO)
        if path.resolve() == default:
            continue  # measured below with everything else
        m = evaluate_mnist(Recognizer.load(path))
        cmd = f"python -m benchmarks.eval_handwriting --model {rel} --count {st.count}"
        rows += [Row("accuracy", f"`{rel}`: MNIST test ({m['count']:,}), as distributed", "%", m["raw"] * 100, command=cmd),
                 Row("accuracy", f"`{rel}`: MNIST test, re-framed by our preprocessing", "%", m["reframed"] * 100,
                     command=cmd)]
    r = evaluate(str(default), count=st.count)
    rel = default.relative_to(REPO) if default.is_relative_to(REPO) else default
    cmd = f"python -m benchmarks.eval_handwriting --count {st.count}"
    m = r["mnist"]
    rows += [Row("accuracy", f"`{rel}`: MNIST test ({m['count']:,}), as distributed", "%", m["raw"] * 100, command=cmd),
             Row("accuracy", f"`{rel}`: MNIST test, re-framed by our preprocessing", "%", m["reframed"] * 100, command=cmd)]
    for s in r["styles"]:
        rows.append(Row("accuracy", f"synthetic {s['style']}: single digits ({s['count']}, seed {r['seed']})", "%",
                        s["digits"] * 100, command=cmd,
                        note=f"numbers of 2-6 digits: {s['numbers'] * 100:.1f}% of {s['n_numbers']}"))
    for c in r["canvas"]:
        lo, hi = c["size"]
        rows.append(Row("accuracy", f"canvas 400x400, pen {c['pen']} px, digits {lo * 400:.0f}-{hi * 400:.0f} px tall "
                        f"({c['count']})", "%", c["accuracy"] * 100, command=cmd))
    smp = r["samples"]
    wrong = [f"{x['file']} read {x['read']!r}" for x in smp["samples"] if x["read"] != x["expected"]]
    rows.append(Row("accuracy", "sample images in resources/samples (3 synthetic from core.synth, 1 photo of unrecorded origin), "
                    "whole text read", value=f"{smp['correct']}/{smp['count']}",
                    n=smp["count"], command=cmd, note="; ".join(wrong)))
    return rows


def group_startup(st: Settings) -> list[Row]:
    from benchmarks.bench_gui import measure_startup

    r = measure_startup(st.startup_runs)
    cmd = f"python -m benchmarks.bench_gui --only startup --runs {st.startup_runs}"
    rows = [Row.of("startup", "source: launch to visible window", r["visible"], S, target=("<=", 1.5), command=cmd),
            Row.of("startup", "source: launch to model ready", r["ready"], S, command=cmd),
            Row.of("startup", "source: launch to first prediction (a number on the Draw tab read and shown)",
                   r["first"], S, command=cmd)]
    if r["failed"]:
        rows[0].note = f"{len(r['failed'])} of {st.startup_runs} launches failed"
    return rows


def group_gui(st: Settings, tmp: Path) -> list[Row]:
    args = ["--only", "stroke,webcam", "--strokes", str(st.strokes), "--seconds", f"{st.webcam_seconds:g}",
            "--webcam-runs", str(st.webcam_runs)]
    r = run_json("benchmarks.bench_gui", args, tmp / "gui.json", timeout=900)
    cmd = "python -m benchmarks.bench_gui " + shlex.join(args)
    s, w = r["stroke"], r["webcam"]
    canvas = "x".join(str(v) for v in s["canvas"])
    paced, unpaced = w["paced"], w["unpaced"]
    return [
        Row.of("gui", f"stroke end to result shown, Draw tab {canvas}, warm", _ms(s["latency"]), MS, "p10-p90",
               target=("<=", 50.0), command=cmd),
        Row.of("gui", "of which the reading on the worker", _ms(s["read"]), MS, "p10-p90", command=cmd),
        Row.of("gui", "webcam preview 640x480 with overlays, video file paced at 30 fps", paced["fps"], "fps",
               target=(">=", 25.0), command=cmd, digits=1),
        Row.of("gui", "webcam readings per second at the same time", paced["readings"], "/s", command=cmd, digits=1),
        Row.of("gui", "webcam: longest gap between shown frames (paced)", _ms(paced["gap"]), MS, command=cmd, digits=0),
        Row.of("gui", "webcam preview unpaced (as fast as frames decode)", unpaced["fps"], "fps", command=cmd, digits=1),
    ]


def group_training(st: Settings, tmp: Path) -> list[Row]:
    t = st.train
    args = ["--images", str(t["images"]), "--epochs", str(t["epochs"]), "--rounds", str(t["rounds"]),
            "--stall-runs", str(t["stall_runs"]), "--paths", "fit,core,cli,gui"]
    r = run_json("benchmarks.bench_train_gui", args, tmp / "training.json", timeout=3600)
    cmd = "python -m benchmarks.bench_train_gui " + shlex.join(args)
    from benchmarks.bench_train_gui import throughput

    rounds = r["rounds"]
    what = f"digitnet, {t['images']:,} MNIST images (10% validation), epochs 2-{t['epochs']}"
    rows = [Row.of("training", f"plain model.fit ({what})", [throughput(x) for x in r["runs"]["fit"]],
                   "samples/s", command=cmd, digits=0)]
    for a, b, name, target in (
            ("core", "fit", "core train() / plain model.fit", 0.95),
            ("cli", "fit", "`digitdesk train` (own process) / plain model.fit", None),
            ("gui", "fit", "Train tab / plain model.fit", None),
            ("gui", "cli", "Train tab / `digitdesk train`", 0.9)):
        rows.append(Row.of("training", name, [x[a] / x[b] for x in rounds], "x",
                           target=(">=", target) if target else None, command=cmd, note="per-round ratios"))
    stall = [max(x["train"]) * 1000 for x in r["stall"] if x["train"]]
    tf = "TensorFlow already imported" if r.get("tensorflow_before_first_start") else "imports TensorFlow"
    rows.append(Row.of("training", f"GUI event-loop stall, first training of the session ({tf}; 10 ms heartbeat)",
                       stall[:1], MS, target=("<=", 100.0), command=cmd, digits=0))
    rows.append(Row.of("training", "GUI event-loop stall during later trainings (longest per run)",
                       stall[1:], MS, target=("<=", 100.0), command=cmd, digits=0))
    return rows


def group_frozen(st: Settings, build: bool) -> list[Row]:
    from benchmarks.bench_frozen import DEFAULT_APP, measure

    names = ["frozen: launch to visible window", "frozen: launch to model ready", "frozen: launch to first prediction",
             "frozen bundle size (`du -sb dist/digitdesk`)"]
    targets = [("<=", 3.0), None, None, ("<=", 1.1e9)]
    units = [S, S, S, "bytes"]
    rows: list[Row] = []
    if build:
        t0 = time.perf_counter()
        import subprocess

        out = subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "build.spec"], cwd=REPO,
                             capture_output=True, text=True, timeout=1800)
        if out.returncode != 0:
            print(out.stderr[-3000:], file=sys.stderr)
            return unavailable("frozen", names, f"build failed (exit {out.returncode})",
                               "pyinstaller --noconfirm build.spec", targets, units)
        rows.append(Row("frozen", "build (`pyinstaller --noconfirm build.spec`)", S, time.perf_counter() - t0,
                        command="pyinstaller --noconfirm build.spec", digits=0))
    if not DEFAULT_APP.is_file():
        return unavailable("frozen", names, "not built (run with --build)", "python -m benchmarks --only frozen --build",
                           targets, units)
    r = measure(DEFAULT_APP, st.frozen_runs)
    cmd = f"python -m benchmarks.bench_frozen --runs {st.frozen_runs}"
    note = r["staleness"]
    rows += [Row.of("frozen", names[0], r["window-visible"], S, target=targets[0], command=cmd, note=note),
             Row.of("frozen", names[1], r["model-ready"], S, command=cmd),
             Row.of("frozen", names[2], r["first-prediction"], S, command=cmd),
             Row("frozen", names[3], "bytes", float(r["bytes"]), target=targets[3], command=cmd,
                 note=f"{r['bytes']:,} bytes")]
    return rows


def group_close(st: Settings, tmp: Path) -> list[Row]:
    from benchmarks.bench_close import LIMIT_S, SCENARIOS

    args = ["--runs", str(st.close_runs)]
    r = run_json("benchmarks.bench_close", args, tmp / "close.json", timeout=1800)
    cmd = "python -m benchmarks.bench_close " + shlex.join(args)
    what = {"training": "training (3 epochs in)", "webcam": "webcam capture (30 frames in)",
            "photo": "reading a 6300x4300 page of 2,400 digits (0.5 s in)"}
    rows = []
    for sc in SCENARIOS:
        x = r[sc]
        problems = [f"{len(x['errors'])} run(s) failed: {'; '.join(x['errors'])}"] if x["errors"] else []
        problems += [f"threads left: {', '.join(x['left'])}"] if x["left"] else []
        problems += [f"crash on exit: {', '.join(sorted(set(x['crashes'])))}"] if x["crashes"] else []
        problems += [f"exit codes {sorted(set(x['codes']))}"] if set(x["codes"]) - {0} else []
        slowest = max(x["exit_s"]) if x["exit_s"] else float("nan")
        note = "; ".join(problems) or (f"slowest {slowest:.2f} s; no thread left, exit code 0, no crash; "
                                       f"window shutdown {statistics.median(x['shutdown_s']):.2f} s")
        rows.append(Row.of("close", f"File > Quit during {what[sc]} to process exit", x["exit_s"], S,
                           target=("<=", LIMIT_S), command=cmd, note=note))
    return rows


def group_load(st: Settings, tmp: Path) -> list[Row]:
    names = ["load: canvas reads, memory growth", "load: webcam video, memory growth"]
    try:
        import benchmarks.bench_load  # noqa: F401  (only to know it is there)
    except ImportError:
        return unavailable("load", names, "benchmarks/bench_load.py not present")
    args = ["--images", str(st.load_images), "--minutes", f"{st.load_minutes:g}"]
    r = run_json("benchmarks.bench_load", args, tmp / "load.json", timeout=3600)
    cmd = "python -m benchmarks.bench_load " + shlex.join(args)
    rows = []
    c, w = r.get("canvas"), r.get("webcam")
    if c:
        rows += [
            Row("load", f"canvas reads ({c['n']:,}): RSS growth after warm-up", "MiB", c["rss_end_mb"] - c["rss_start_mb"],
                n=c["n"], command=cmd, digits=1,
                note=f"RSS {c['rss_start_mb']:.0f} -> {c['rss_end_mb']:.0f} MiB, peak {c['peak_start_mb']:.0f} -> {c['peak_end_mb']:.0f} MiB"),
            Row("load", "canvas reads: latency drift (fit over chunk medians)", "ms/1000 reads", c["slope_ms_per_1000"],
                n=c["n"], command=cmd, digits=3,
                note=f"median {c['first_median_ms']:.2f} ms first chunk, {c['last_median_ms']:.2f} ms last; "
                     f"{c['accuracy'] * 100:.1f}% read correctly"),
        ]
    if w:
        rows += [
            Row("load", f"webcam video ({w['n']:,} frames, {w['video_seconds'] / 60:.1f} min): RSS growth after warm-up",
                "MiB", w["rss_end_mb"] - w["rss_start_mb"], n=w["n"], command=cmd, digits=1,
                note=f"RSS {w['rss_start_mb']:.0f} -> {w['rss_end_mb']:.0f} MiB, peak {w['peak_start_mb']:.0f} -> {w['peak_end_mb']:.0f} MiB"),
            Row("load", "webcam video: latency drift (fit over chunk medians)", "ms/min", w["slope_ms_per_minute"],
                n=w["n"], command=cmd, digits=3,
                note=f"median {w['first_median_ms']:.2f} ms first chunk, {w['last_median_ms']:.2f} ms last; "
                     f"{w['fps']:.0f} frames/s"),
        ]
    return rows


def group_paper(st: Settings) -> list[Row]:
    from benchmarks import paper_sets
    from benchmarks.eval_paper import DEFAULT_COUNT, evaluate_condition
    from digitdesk.core.recognizer import Recognizer

    rec, count, seed = Recognizer.load(), 4 if st.quick else DEFAULT_COUNT, paper_sets.TUNING_SEED
    cmd = f"python -m benchmarks.eval_paper --seed tuning --count {count}"
    rows = []
    for c in paper_sets.CONDITIONS:
        r = evaluate_condition(rec, c, count, seed)
        if c == "blank":
            rows.append(Row("paper", f"blank pages: digits found where nothing is written ({count}, tuning seed)",
                            value=str(r["false_digits"]), n=count, command=cmd))
        else:
            rows.append(Row("paper", f"SYNTHETIC {c}: strings read exactly ({count}, tuning seed)", "%", r["exact"] * 100,
                            n=count, command=cmd, digits=0, note=f"character error rate {r['cer'] * 100:.1f}%"))
    return rows


# Main ----------------------------------------------------------------------------------------

def _groups(text: str | None, parser: argparse.ArgumentParser, option: str) -> list[str]:
    if not text:
        return []
    names = [g.strip() for g in text.split(",") if g.strip()]
    unknown = [g for g in names if g not in GROUPS]
    if unknown:
        parser.error(f"{option}: unknown group(s) {', '.join(unknown)}; choose from {', '.join(GROUPS)}")
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0],
                                     epilog="groups: " + ", ".join(GROUPS))
    parser.add_argument("--only", metavar="GROUPS", help="run only these groups (comma-separated)")
    parser.add_argument("--skip", metavar="GROUPS", help="skip these groups (comma-separated)")
    parser.add_argument("--quick", action="store_true", help="a smoke test: few repeats, small sets; rows marked quick")
    parser.add_argument("--build", action="store_true", help="build the frozen app first (pyinstaller, ~2 min)")
    write = parser.add_mutually_exclusive_group()
    write.add_argument("--write", action="store_true", help="rewrite BENCHMARKS.md even for a quick or partial run")
    write.add_argument("--no-write", "--dry-run", dest="no_write", action="store_true",
                       help="print the table, do not touch BENCHMARKS.md")
    parser.add_argument("--file", default=str(REPO / "BENCHMARKS.md"), help="the file to rewrite (default: BENCHMARKS.md)")
    parser.add_argument("--json", metavar="PATH", help="also write every row to this JSON file")
    args = parser.parse_args(argv)
    only, skip = _groups(args.only, parser, "--only"), _groups(args.skip, parser, "--skip")
    groups = [g for g in GROUPS if (not only or g in only) and g not in skip]
    partial = len(groups) < len(GROUPS)
    do_write = should_write(args.quick, partial, args.write, args.no_write)
    st = Settings(args.quick)
    argv_list = sys.argv[1:] if argv is None else list(argv)
    command = ("python -m benchmarks " + shlex.join(argv_list)).strip()
    meta = {"command": command, "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), "commit": git_commit(),
            "cores": os.cpu_count(), "memory_gib": memory_gib(), "load_start": load_average()}
    la = ", ".join(f"{v:.2f}" for v in meta["load_start"]) if meta["load_start"] else "?"
    print(f"{command}: groups {', '.join(groups)}; commit {meta['commit']}; load average {la}",
          file=sys.stderr, flush=True)
    t_start = time.perf_counter()
    rows: list[Row] = []
    timings = {}
    with tempfile.TemporaryDirectory(prefix="digitdesk-suite-") as tmp_name:
        tmp = Path(tmp_name)
        for g in groups:
            t0 = time.perf_counter()
            print(f"[{g}] ...", file=sys.stderr, flush=True)
            try:
                if g == "engine":
                    got = group_engine(st)
                elif g == "accuracy":
                    got = group_accuracy(st)
                elif g == "startup":
                    got = group_startup(st)
                elif g == "gui":
                    got = group_gui(st, tmp)
                elif g == "training":
                    got = group_training(st, tmp)
                elif g == "frozen":
                    got = group_frozen(st, args.build)
                elif g == "close":
                    got = group_close(st, tmp)
                elif g == "paper":
                    got = group_paper(st)
                else:
                    got = group_load(st, tmp)
            except Exception as exc:  # one broken group must not lose the others' figures
                traceback.print_exc()
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                got = [Row(g, f"{g} (all rows)", value=f"error: {type(exc).__name__}: {first[:160]}",
                           command=f"python -m benchmarks --only {g}")]
            for row in got:
                row.quick = st.quick
            rows += got
            timings[g] = time.perf_counter() - t0
            print(f"[{g}] {timings[g]:.0f} s", file=sys.stderr, flush=True)
            for row in got:
                print("   " + " | ".join(row.cells()[:3] + row.cells()[4:6]), file=sys.stderr, flush=True)
    meta.update(load_end=load_average(), duration_s=time.perf_counter() - t_start, timings=timings)
    if partial:
        meta["command"] += f" (groups not run: {', '.join(g for g in GROUPS if g not in groups)})"
    block = render(rows, meta)
    print(block)
    if args.json:
        from benchmarks.suite import write_json

        write_json(args.json, {"meta": meta, "rows": [r.to_dict() for r in rows]})
    if do_write:
        rewrite_file(args.file, block)
        print(f"\nrewrote the summary in {args.file}", file=sys.stderr)
    else:
        why = "--no-write" if args.no_write else "a quick run" if args.quick else "a partial run"
        print(f"\n{args.file} not changed ({why}; --write to write it anyway)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
