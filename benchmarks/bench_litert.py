"""Reading through LiteRT (the new path) against Keras/TensorFlow (the old one), side by side.

    python -m benchmarks.bench_litert [--rounds 5] [--quick] [--json PATH]

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
(d) in one process: one digit (``classify`` of one 28x28, median of 2,000 calls) and a 400x400
    canvas to digits (``read`` of bench_engine's canvas, median of 200), old and new.
(e) same results: the 10,000 MNIST test digits and 300 synthetic images of each style
    (``synth.make_set``), read both ways: digits that differ, and the largest difference in any
    probability.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
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
    rss = int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1]) // 1024
    print("first", took, rss, "tensorflow" in sys.modules, window.model.recognizer.runtime, flush=True)
    window.close()
""")


def _env(old: bool) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("DIGITDESK_READER", None)
    if old:
        env["DIGITDESK_READER"] = "keras"
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


def run(rounds: int = 5, quick: bool = False) -> dict:
    rounds = 2 if quick else rounds
    res: dict = {"predict": {"old": [], "new": []}, "first": {"old": [], "new": []}, "quit": {"old": [], "new": []}}
    for _ in range(rounds):
        for name in ("old", "new"):
            res["predict"][name].append(predict_cold(name == "old"))
            res["first"][name].append(first_reading(name == "old"))
            res["quit"][name].append(quit_while_loading(name == "old"))
    res["in_process"] = in_process(quick)
    return res


def _median(rows, i):
    return statistics.median(r[i] for r in rows)


def report(res: dict) -> str:
    lines = [f"{'figure':<44}{'old (Keras)':>14}{'new (LiteRT)':>14}{'new/old':>9}"]

    def row(label, old, new, fmt):
        lines.append(f"{label:<44}{fmt.format(old):>14}{fmt.format(new):>14}{new / old:>9.2f}")

    p, f, q, ip = res["predict"], res["first"], res["quit"], res["in_process"]
    row("predict one.jpg, cold: wall (s)", _median(p["old"], 0), _median(p["new"], 0), "{:.2f}")
    row("predict one.jpg, cold: peak RSS (MB)", _median(p["old"], 1), _median(p["new"], 1), "{:.0f}")
    row("launch to first reading, source (s)", _median(f["old"], 0), _median(f["new"], 0), "{:.2f}")
    row("app RSS at the first reading (MB)", _median(f["old"], 1), _median(f["new"], 1), "{:.0f}")
    row("quit while the model loads (s)", statistics.median(q["old"]), statistics.median(q["new"]), "{:.2f}")
    row("one digit (ms)", ip["digit_ms_old"], ip["digit_ms_new"], "{:.3f}")
    row("400x400 canvas -> digits (ms)", ip["canvas_ms_old"], ip["canvas_ms_new"], "{:.2f}")
    lines.append(f"TensorFlow imported by the app's first reading: old {any(r[2] for r in f['old'])}, "
                 f"new {any(r[2] for r in f['new'])}")
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
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    res = run(args.rounds, args.quick)
    print(report(res))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
