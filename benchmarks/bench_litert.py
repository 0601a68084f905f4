"""Reading through LiteRT (the new path) against Keras/TensorFlow (the old one), side by side.

    python -m benchmarks.bench_litert [--rounds 5] [--quick] [--only PARTS] [--readings 1000]
                                      [--webcam-seconds 6] [--no-bytecode-cache] [--json PATH]

The old path is the same code with ``DIGITDESK_READER=keras`` (the Recognizer then reads the
bundled ``.keras`` model with a traced ``tf.function``, as before issue 12). Both run in the same
benchmark run, alternating, so a busy machine slows both; each figure is given with new/old.

(a) ``digitdesk predict photo.jpg`` in a cold process (``python -m digitdesk``): wall time from
    spawn to exit, and the child's peak RSS (``os.wait4``'s ``ru_maxrss``). Median of ``--rounds``.
(b) launch to first reading, from source: a child builds the window as ``digitdesk`` does
    (``create_main_window``, model loaded after the first paint), draws "38" on the canvas as soon
    as the model is in, and reports when the Draw tab shows the reading; wall from spawn. Also
    the process's RSS then, and whether TensorFlow is in ``sys.modules``.
(c) quit while the model loads: the same window closed 50 ms after the load starts; from
    ``close()`` to the process's exit, timed by the parent.
(d) in one process: one digit (``classify`` of one 28x28, median of 2,000 calls; for LiteRT also
    the interpreter's ``invoke`` alone, the rest being our code) and a 400x400 canvas to digits
    (``read`` of bench_engine's canvas, median of 200), old and new.
(e) same results: the 10,000 MNIST test digits and 300 synthetic images of each style
    (``synth.make_set``), read both ways: digits that differ, and the largest difference in any
    probability.
(f) app RSS after ``--readings`` canvas readings (no training started): the window of (b) writes
    that many numbers (1-4 digits, seeded) one after the other on the Draw tab, each read and shown
    before the next, then reports its RSS and peak RSS (``VmRSS``, ``VmHWM``). One child per side.
(g) webcam preview unpaced, with overlays: bench_gui's webcam part (the Webcam tab playing a
    640x480 MJPG file as fast as it decodes, readings and overlays on) in a child per side, frames
    shown per second. The tab is woken once per frame it can take and paints it pre-scaled, so
    the decoding, painting and the reader thread's share of the two cores set this figure.

Children run with Python's bytecode cache as a source checkout's user has it (their ``.pyc``
files go to a temporary ``PYTHONPYCACHEPREFIX``, filled by an untimed launch of each side);
``--no-bytecode-cache`` compiles digitdesk's modules at every launch instead (as a shell with
``PYTHONDONTWRITEBYTECODE=1`` and no ``__pycache__`` does). Parts (``--only``): predict, first,
quit, in_process, rss, webcam.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "resources" / "samples" / "photo_2026_4071.jpg"

WINDOW = textwrap.dedent(r"""
    import sys, time
    t_start = float(sys.argv[1]); quit_early = sys.argv[2] == "quit"
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication
    from digitdesk.gui import app as gui_app, create_main_window
    from digitdesk.gui.widgets.canvas import draw_number
    qapp = QApplication(sys.argv[:1])
    gui_app.configure_application(qapp)
    window = create_main_window()
    window.show()
    if quit_early:
        window.model.loading.connect(lambda _w: QTimer.singleShot(50, lambda: (print("close", time.time(), flush=True),
                                                                               window.close(), qapp.quit())))
        qapp.exec()
        sys.exit(0)
    shown = []
    window.draw_tab.readingShown.connect(shown.append)
    while window.model.recognizer is None:
        qapp.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
    draw_number(window.draw_tab.canvas, "38")
    while "38" not in shown:
        qapp.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
    took = time.time() - t_start
    status = lambda key: int(next(l for l in open("/proc/self/status") if l.startswith(key)).split()[1]) // 1024
    print("first", took, status("VmRSS"), "tensorflow" in sys.modules, window.model.recognizer.runtime, flush=True)
    if sys.argv[2] == "rss":  # then sys.argv[3] more readings, each shown before the next is drawn
        import random
        rng, right = random.Random(12), 0
        for _ in range(int(sys.argv[3])):
            text = str(rng.randrange(10 ** rng.randrange(1, 5)))
            window.draw_tab.canvas.clear()
            n = len(shown)
            draw_number(window.draw_tab.canvas, text)
            while len(shown) == n or shown[-1] == "":
                qapp.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
            right += shown[-1] == text
        print("rss", status("VmRSS"), status("VmHWM"), right, "tensorflow" in sys.modules, flush=True)
    window.close()
""")


WEBCAM = textwrap.dedent(r"""
    import json, sys, time
    from benchmarks.bench_gui import _app_and_window, bench_webcam
    app, win, _rec = _app_and_window()
    res = bench_webcam(app, win, float(sys.argv[1]), int(sys.argv[2]))
    print("webcam", json.dumps({"fps": res["unpaced"]["fps"], "readings": res["unpaced"]["readings"],
                                "runtime": win.model.recognizer.runtime}), flush=True)
    win.close()
""")

HOMES: dict[str, str] = {}  # set by run(): each side's DIGITDESK_HOME (settings, models) and bytecode cache


def _env(old: bool) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TF_CPP_MIN_LOG_LEVEL": "2"}
    for name in ("DIGITDESK_READER", "PYTHONPYCACHEPREFIX", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    if old:
        env["DIGITDESK_READER"] = "keras"
    home = HOMES.get("old" if old else "new")
    if home is not None:  # the user's own settings and models are left alone
        env["DIGITDESK_HOME"] = env["XDG_CONFIG_HOME"] = home
    if HOMES.get("bytecode") == "cached" and home is not None:
        env["PYTHONPYCACHEPREFIX"] = os.path.join(home, "pycache")
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _spawn(args: list[str], old: bool) -> tuple[float, int, str]:
    """Run a child; (wall seconds, its peak RSS in MB, its stdout)."""
    t0 = time.perf_counter()
    child = subprocess.Popen(args, cwd=REPO, env=_env(old), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True)
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if child.returncode != 0:
        raise SystemExit(f"{args}: exit status {child.returncode}\n{out}")
    return wall, usage.ru_maxrss // 1024, out


def predict_cold(old: bool) -> tuple[float, int]:
    wall, rss, _ = _spawn([sys.executable, "-m", "digitdesk", "predict", str(SAMPLE)], old)
    return wall, rss


def first_reading(old: bool) -> tuple[float, int, bool]:
    _, _, out = _spawn([sys.executable, "-c", WINDOW, repr(time.time()), "read"], old)
    line = next(l for l in out.splitlines() if l.startswith("first"))
    _, took, rss, tf, _runtime = line.split()
    return float(took), int(rss), tf == "True"


def rss_after_readings(old: bool, readings: int) -> dict:
    """The app's RSS and peak RSS (MB) after ``readings`` canvas readings on the Draw tab."""
    _, _, out = _spawn([sys.executable, "-c", WINDOW, repr(time.time()), "rss", str(readings)], old)
    _, rss, peak, right, tf = next(l for l in out.splitlines() if l.startswith("rss ")).split()
    return {"readings": readings, "rss_mb": int(rss), "peak_mb": int(peak), "read_right": int(right),
            "tensorflow": tf == "True"}


def webcam_unpaced(old: bool, seconds: float, runs: int) -> dict:
    """Frames shown per second by the Webcam tab playing a file unpaced, with overlays (bench_gui)."""
    _, _, out = _spawn([sys.executable, "-c", WEBCAM, str(seconds), str(runs)], old)
    return json.loads(next(l for l in out.splitlines() if l.startswith("webcam ")).split(" ", 1)[1])


def quit_while_loading(old: bool) -> float:
    child = subprocess.Popen([sys.executable, "-c", WINDOW, repr(time.time()), "quit"], cwd=REPO, env=_env(old),
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = child.stdout.read()  # the pipe closes when the process exits
    child.wait()
    t_exit = time.time()
    closed = float(next(l for l in out.splitlines() if l.startswith("close")).split()[1])
    return t_exit - closed


def in_process(quick: bool) -> dict:
    """One digit, a canvas, and the same-results comparison, old and new in this process."""
    from benchmarks.bench_engine import canvas_image
    from digitdesk.core import synth
    from digitdesk.core.data import load_mnist
    from digitdesk.core.modelio import load_model
    from digitdesk.core.paths import default_model_path
    from digitdesk.core.recognizer import Recognizer

    new = Recognizer.load()
    assert new.runtime == "litert", new.twin_problem
    old = Recognizer(load_model(default_model_path()), default_model_path())
    digit = np.zeros((28, 28), np.uint8)
    digit[6:22, 12:16] = 255
    canvas = canvas_image()
    out: dict = {}
    for name, rec in (("old", old), ("new", new)):
        for _ in range(20):
            rec.classify(digit)
        times = []
        for _ in range(300 if quick else 2000):
            t = time.perf_counter()
            rec.classify(digit)
            times.append(time.perf_counter() - t)
        out[f"digit_ms_{name}"] = statistics.median(times) * 1e3
        if rec.runtime == "litert":  # the interpreter alone, on the same digit (rec.classify minus our code)
            interp, batch = rec._run._interp, digit.astype(np.float32)[None, ..., None]
            interp.set_tensor(rec._run._in, batch)
            times = []
            for _ in range(300 if quick else 2000):
                t = time.perf_counter()
                interp.invoke()
                times.append(time.perf_counter() - t)
            out[f"invoke_ms_{name}"] = statistics.median(times) * 1e3
        times = []
        for _ in range(30 if quick else 200):
            t = time.perf_counter()
            rec.read(canvas, dark_ink=True)
            times.append(time.perf_counter() - t)
        out[f"canvas_ms_{name}"] = statistics.median(times) * 1e3
    test = load_mnist(download=False).test
    images = test.images[:1000] if quick else test.images
    p_new, p_old = new.classify_many(images), old.classify_many(images)
    out["mnist"] = {"digits": len(images), "differ": int((p_new.argmax(1) != p_old.argmax(1)).sum()),
                    "max_prob_diff": float(np.abs(p_new - p_old).max()),
                    "accuracy_new": float((p_new.argmax(1) == test.labels[:len(images)]).mean()),
                    "accuracy_old": float((p_old.argmax(1) == test.labels[:len(images)]).mean())}
    for style in synth.STYLES:
        differ = total = 0
        diff = 0.0
        for sample in synth.make_set(style, 60 if quick else 300, seed=5):
            a, b = new.read(sample.image), old.read(sample.image)
            total += 1
            differ += a.text != b.text
            for da, db in zip(a.digits, b.digits):
                diff = max(diff, max(abs(pa - pb) for (_, pa), (_, pb) in zip(da.top, db.top)))
        out[f"synthetic_{style}"] = {"images": total, "readings_differ": differ, "max_top3_prob_diff": diff}
    return out


PARTS = ("predict", "first", "quit", "in_process", "rss", "webcam")


def run(rounds: int = 5, quick: bool = False, parts: tuple[str, ...] = PARTS, readings: int = 1000,
        webcam_seconds: float = 6.0, bytecode_cache: bool = True) -> dict:
    rounds = 2 if quick else rounds
    res: dict = {"parts": list(parts), "bytecode_cache": bytecode_cache, "load_before": os.getloadavg()}
    res.update({part: {"old": [], "new": []} for part in ("predict", "first", "quit", "rss", "webcam") if part in parts})
    with tempfile.TemporaryDirectory() as homes:
        HOMES.update(old=os.path.join(homes, "old"), new=os.path.join(homes, "new"),
                     bytecode="cached" if bytecode_cache else "compiled")
        for name in ("old", "new"):
            os.mkdir(HOMES[name])
            if bytecode_cache and parts != ("in_process",):
                first_reading(name == "old")  # untimed: fills this side's bytecode cache
        for _ in range(rounds):
            for name in ("old", "new"):
                old = name == "old"
                if "predict" in parts:
                    res["predict"][name].append(predict_cold(old))
                if "first" in parts:
                    res["first"][name].append(first_reading(old))
                if "quit" in parts:
                    res["quit"][name].append(quit_while_loading(old))
        for name in ("old", "new"):  # long ones: one child per side
            if "rss" in parts:
                res["rss"][name].append(rss_after_readings(name == "old", 100 if quick else readings))
            if "webcam" in parts:
                res["webcam"][name].append(webcam_unpaced(name == "old", 2.0 if quick else webcam_seconds, 1 if quick else 3))
        HOMES.clear()
    if "in_process" in parts:
        res["in_process"] = in_process(quick)
    res["load_after"] = os.getloadavg()
    return res


def _median(rows, i):
    return statistics.median(r[i] for r in rows)


def report(res: dict) -> str:
    lines = [f"{'figure':<44}{'old (Keras)':>14}{'new (LiteRT)':>14}{'new/old':>9}"]

    def row(label, old, new, fmt):
        lines.append(f"{label:<44}{fmt.format(old):>14}{fmt.format(new):>14}{new / old:>9.2f}")

    load = lambda key: ", ".join(f"{v:.2f}" for v in res[key])
    lines.insert(0, f"{'cached bytecode' if res['bytecode_cache'] else 'no bytecode cache'}; load average "
                    f"{load('load_before')} -> {load('load_after')}")
    if "predict" in res:
        p = res["predict"]
        row("predict one.jpg, cold: wall (s)", _median(p["old"], 0), _median(p["new"], 0), "{:.2f}")
        row("predict one.jpg, cold: peak RSS (MB)", _median(p["old"], 1), _median(p["new"], 1), "{:.0f}")
    if "first" in res:
        f = res["first"]
        row("launch to first reading, source (s)", _median(f["old"], 0), _median(f["new"], 0), "{:.2f}")
        row("app RSS at the first reading (MB)", _median(f["old"], 1), _median(f["new"], 1), "{:.0f}")
        lines.append(f"TensorFlow imported by the app's first reading: old {any(r[2] for r in f['old'])}, "
                     f"new {any(r[2] for r in f['new'])}")
    if "quit" in res:
        row("quit while the model loads (s)", statistics.median(res["quit"]["old"]),
            statistics.median(res["quit"]["new"]), "{:.2f}")
    if "rss" in res:
        r_old, r_new = res["rss"]["old"][0], res["rss"]["new"][0]
        row(f"app RSS after {r_new['readings']:,} canvas readings (MB)", r_old["rss_mb"], r_new["rss_mb"], "{:.0f}")
        row("  peak RSS then (MB)", r_old["peak_mb"], r_new["peak_mb"], "{:.0f}")
        lines.append(f"  read exactly: old {r_old['read_right']}, new {r_new['read_right']} of {r_new['readings']}; "
                     f"TensorFlow imported: old {r_old['tensorflow']}, new {r_new['tensorflow']}")
    if "webcam" in res:
        w_old, w_new = res["webcam"]["old"][0], res["webcam"]["new"][0]
        row("webcam preview unpaced, overlays (fps)", statistics.median(w_old["fps"]), statistics.median(w_new["fps"]), "{:.1f}")
        row("  webcam readings at the same time (/s)", statistics.median(w_old["readings"]),
            statistics.median(w_new["readings"]), "{:.1f}")
    if "in_process" not in res:
        return "\n".join(lines)
    ip = res["in_process"]
    row("one digit (ms)", ip["digit_ms_old"], ip["digit_ms_new"], "{:.3f}")
    lines.append(f"  of which LiteRT's invoke: {ip['invoke_ms_new']:.3f} ms (our code: "
                 f"{ip['digit_ms_new'] - ip['invoke_ms_new']:.3f} ms)")
    row("400x400 canvas -> digits (ms)", ip["canvas_ms_old"], ip["canvas_ms_new"], "{:.2f}")
    m = ip["mnist"]
    lines.append(f"MNIST test: {m['digits']} digits, {m['differ']} read differently, largest probability "
                 f"difference {m['max_prob_diff']:.2g} (accuracy old {m['accuracy_old']:.2%}, new {m['accuracy_new']:.2%})")
    for key, s in ip.items():
        if key.startswith("synthetic_"):
            lines.append(f"synthetic {key[10:]}: {s['images']} images, {s['readings_differ']} read differently, "
                         f"largest top-3 probability difference {s['max_top3_prob_diff']:.2g}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", help=f"comma-separated parts (default: all): {', '.join(PARTS)}")
    parser.add_argument("--readings", type=int, default=1000, help="canvas readings before the RSS of (f)")
    parser.add_argument("--webcam-seconds", type=float, default=6.0, help="length of each webcam run of (g)")
    parser.add_argument("--no-bytecode-cache", action="store_true", help="children compile digitdesk at each launch")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    parts = tuple(args.only.split(",")) if args.only else PARTS
    if set(parts) - set(PARTS):
        parser.error(f"--only: unknown part(s) {', '.join(sorted(set(parts) - set(PARTS)))}")
    res = run(args.rounds, args.quick, parts, args.readings, args.webcam_seconds, not args.no_bytecode_cache)
    print(report(res))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
