"""Desktop GUI figures: startup, stroke-to-result on the Draw tab, webcam preview rate.

    python -m benchmarks.bench_gui [--runs 5] [--strokes 30] [--seconds 6] [--only startup,stroke,webcam] [--json PATH]

(a) startup: the app is launched in a subprocess (offscreen) with DIGITDESK_REPORT_STARTUP=quit;
    it prints "window-visible <s>" at its first paint, "model-ready <s>" (seconds since the
    process started) and, once a number it writes on the Draw tab has been read and shown,
    "first-prediction <s>" to stdout, and quits. Also timed from just before the launch, as a cross-check.
(b) stroke-to-result: a digit is drawn on the Draw tab with QTest mouse events; the time from the
    last mouse release to the result label update (the tab's readingShown signal), warm.
(c) webcam: the Webcam tab plays a 640x480 MJPG video (a hand-held camera over the sample photo,
    30 fps) with overlays; frames shown per second, readings per second and the longest gap
    between shown frames. Once paced at the file's 30 fps (what a camera delivers), once unpaced.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.suite import startup_marks

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]


def summary(values: list[float], unit: str, scale: float = 1.0) -> str:
    v = sorted(x * scale for x in values)
    if not v:
        return "no data"
    p90 = v[min(len(v) - 1, int(round(0.9 * (len(v) - 1))))]
    return (f"median {statistics.median(v):.1f} {unit}, min {v[0]:.1f}, p90 {p90:.1f}, max {v[-1]:.1f}"
            f" (n={len(v)})")



def launch(timeout: float = 180) -> dict[str, tuple[float, float]]:
    """Start the app from source once (offscreen, DIGITDESK_REPORT_STARTUP=quit); returns
    {mark: (seconds since the process started, seconds since the launch call)}."""
    entry = "digitdesk" if importlib.util.find_spec("digitdesk.cli") else "digitdesk.gui"
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, DIGITDESK_REPORT_STARTUP="quit", DIGITDESK_HOME=home, XDG_CONFIG_HOME=home,
                   PYTHONPATH=str(REPO))
        t0 = time.time()
        out = subprocess.run([sys.executable, "-m", entry], cwd=REPO, env=env, capture_output=True,
                             text=True, timeout=timeout)
    marks = startup_marks(out.stdout, t0)
    if "window-visible" not in marks or "model-ready" not in marks:
        raise RuntimeError(f"run failed (exit {out.returncode}):\n{out.stderr[-2000:]}")
    return marks


def measure_startup(runs: int) -> dict[str, list[float]]:
    """Seconds since the process started: {"visible": [...], "ready": [...], "first": [...]}, and
    "outside": window visible timed from just before the launch call."""
    res: dict[str, list[float]] = {"visible": [], "ready": [], "first": [], "outside": [], "failed": []}
    for _ in range(runs):
        try:
            marks = launch()
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            res["failed"].append(str(exc)[-500:])
            print(f"  {exc}")
            continue
        res["visible"].append(marks["window-visible"][0])
        res["ready"].append(marks["model-ready"][0])
        res["outside"].append(marks["window-visible"][1])
        if "first-prediction" in marks:
            res["first"].append(marks["first-prediction"][0])
    return res


def bench_startup(runs: int) -> dict:
    entry = "digitdesk" if importlib.util.find_spec("digitdesk.cli") else "digitdesk.gui"
    res = measure_startup(runs)
    print(f"(a) startup, `python -m {entry}`, offscreen, {runs} runs")
    print(f"    window visible: {summary(res['visible'], 's')}  [since process start]")
    print(f"    window visible: {summary(res['outside'], 's')}  [since the launch call]")
    print(f"    model ready:    {summary(res['ready'], 's')}")
    if res["first"]:
        print(f"    first prediction (a number written on the Draw tab, read and shown): {summary(res['first'], 's')}")
    return res


def _app_and_window():
    from PySide6.QtWidgets import QApplication

    from digitdesk.gui import create_main_window
    from digitdesk.gui.app import configure_application
    from digitdesk.gui.workers.recognition import load_recognizer
    from PySide6.QtCore import QSettings

    app = QApplication.instance() or QApplication([])
    configure_application(app)
    settings = tempfile.mkdtemp()
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings)
    rec = load_recognizer()
    win = create_main_window(recognizer=rec)
    win.resize(1180, 780)
    win.show()
    app.processEvents()
    return app, win, rec


def _wait_signal(signal, timeout_ms: int = 5000) -> bool:
    from PySide6.QtCore import QEventLoop, QTimer

    loop, got = QEventLoop(), []
    def done(*_):
        got.append(1)
        loop.quit()
    signal.connect(done)
    QTimer.singleShot(timeout_ms, loop.quit)
    if not got:
        loop.exec()
    signal.disconnect(done)
    return bool(got)


def bench_stroke(app, win, strokes: int) -> dict:
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    from digitdesk.core.strokes import number_strokes

    tab, canvas = win.draw_tab, win.draw_tab.canvas
    win.tabs.setCurrentWidget(tab)
    app.processEvents()
    reads = []
    tab._reader.finished.connect(lambda tag, result: reads.append(result[1]))

    def draw(stroke, release_timer: list | None = None):
        pts = [QPoint(round(x), round(y)) for x, y in stroke]
        QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[0])
        for p in pts[1:]:
            QTest.mouseMove(canvas, p)
        if release_timer is not None:
            release_timer.append(time.perf_counter())
        QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[-1])

    latencies, read_times = [], []
    digits = "0123456789"
    for i in range(strokes + 5):  # the first 5 warm up
        canvas.clear()
        app.processEvents()
        text = digits[i % 10] + digits[(3 * i + 1) % 10]
        all_strokes = number_strokes(text, 120, 70, 220)
        for s in all_strokes[:-1]:
            draw(s)
            _wait_signal(tab.readingShown, 3000)
        t0: list[float] = []
        reads.clear()
        draw(all_strokes[-1], t0)
        ok = _wait_signal(tab.readingShown, 3000)
        t1 = time.perf_counter()
        if ok and i >= 5:
            latencies.append(t1 - t0[0])
            if reads:
                read_times.append(reads[-1])
    w, h = canvas.width(), canvas.height()
    print(f"(b) stroke-to-result, Draw tab {w}x{h} canvas, two-digit numbers, {len(latencies)} strokes, warm")
    print(f"    mouse release -> result label: {summary(latencies, 'ms', 1000)}")
    print(f"    of which rec.read on the worker: {summary(read_times, 'ms', 1000)}")
    return {"latency": latencies, "read": read_times, "canvas": [w, h]}


def _run_events(seconds: float) -> None:
    """Run Qt's event loop for ``seconds``."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def _times_shown(preview) -> list[float]:
    """From now on, the time each frame is handed to ``preview`` (undone by the caller)."""
    times: list[float] = []
    original = preview.set_frame

    def timed(frame) -> None:
        times.append(time.perf_counter())
        original(frame)

    preview.set_frame = timed
    return times


def bench_webcam(app, win, seconds: float, runs: int = 3) -> dict:
    from digitdesk.core.imageio import read_image
    from digitdesk.core.paths import resource_path
    from digitdesk.gui.dev.demo import demo_video

    tab = win.webcam_tab
    readings = []
    result = {}
    tab.readingShown.connect(lambda text: readings.append(time.perf_counter()))
    with tempfile.TemporaryDirectory() as tmp:
        video = demo_video(Path(tmp) / "camera.avi", read_image(resource_path("resources", "samples", "photo_2026_4071.jpg")),
                           frames=300)
        win.tabs.setCurrentWidget(tab)
        for pace in (True, False):
            fps, rps, gaps = [], [], []
            for _ in range(runs):
                tab.pace = pace
                tab.start(str(video))
                _run_events(1.5)  # warm-up
                shown = _times_shown(tab.preview)
                f0, r0, t0 = tab.frames_shown, len(readings), time.perf_counter()
                _run_events(seconds)  # Qt's own event loop, as in the app: no polling, no sleeps
                dt = time.perf_counter() - t0
                del tab.preview.set_frame  # undo _times_shown
                fps.append((tab.frames_shown - f0) / dt)
                rps.append((len(readings) - r0) / dt)
                gaps.append(max((b - a for a, b in zip(shown, shown[1:])), default=dt))
                tab.stop()
            label = "paced at the file's 30 fps" if pace else "unpaced (as fast as frames decode)"
            result["paced" if pace else "unpaced"] = {"fps": fps, "readings": rps, "gap": gaps}
            print(f"(c) webcam 640x480 with overlays, {label}, {runs} runs x {seconds:.0f} s")
            print(f"    preview:  {summary(fps, 'fps')}")
            print(f"    readings: {summary(rps, '/s')}")
            print(f"    longest gap between shown frames: {summary(gaps, 'ms', 1000)}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_gui", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="startup runs")
    parser.add_argument("--strokes", type=int, default=30, help="timed strokes")
    parser.add_argument("--seconds", type=float, default=6.0, help="seconds per webcam run")
    parser.add_argument("--webcam-runs", type=int, default=3, help="webcam runs, paced and unpaced each")
    parser.add_argument("--only", help="startup, stroke and/or webcam (comma-separated; default: all)")
    parser.add_argument("--json", metavar="PATH", help="also write the raw figures to this JSON file")
    args = parser.parse_args(argv)
    parts = set(args.only.split(",")) if args.only else {"startup", "stroke", "webcam"}
    if parts - {"startup", "stroke", "webcam"}:
        parser.error(f"--only: unknown part(s) {', '.join(sorted(parts - {'startup', 'stroke', 'webcam'}))}")
    result: dict = {}
    if "startup" in parts:
        result["startup"] = bench_startup(args.runs)
    if parts & {"stroke", "webcam"}:
        app, win, rec = _app_and_window()
        print(f"model: {rec.name} (MNIST {rec.accuracy})")
        if "stroke" in parts:
            result["stroke"] = bench_stroke(app, win, args.strokes)
        if "webcam" in parts:
            result["webcam"] = bench_webcam(app, win, args.seconds, args.webcam_runs)
        win.close()
    if args.json:
        from benchmarks.suite import write_json

        write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
