"""Quitting the app in the middle of work: how long until the process has exited?

    python -m benchmarks.bench_close [--runs 3] [--only training,webcam,photo]

Each run starts the app from source in a fresh process (offscreen, its own settings and data
folder), waits for the model, starts one kind of work and, once it is well under way, triggers
File > Quit, the path a person takes:

  training  the Train tab trains (tiny network, 3,000 MNIST images, 50 epochs); quit after 3 epochs
  webcam    the Webcam tab plays a 640x480 video file; quit after 30 frames shown
  photo     the Image tab reads a 6300x4300 page of 2,400 printed digits (seconds of work); quit
            0.5 s into the reading

Reported per scenario (median and range of the runs): quit to the end of the window's shutdown
(the event loop has returned and every worker thread has been stopped), and quit to the process
exit as the launching process sees it (includes Python's and TensorFlow's teardown). A run also
records the worker threads still running after the shutdown and whether stderr shows a crash.
Target: the process has exited within 2 s, with no thread left and no crash.

``--stop-gaps`` also reads the page in this process and reports what bounds the photo case: the
time to decode it (one call that cannot be stopped) and the longest stretch between two checks
of ``should_stop`` while ``Recognizer.read`` runs.
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

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = ("training", "webcam", "photo")
LIMIT_S = 2.0
CRASH_MARKS = ("QThread: Destroyed while thread is still running", "Aborted", "Traceback", "Fatal Python error",
               "Segmentation fault")

CHILD = textwrap.dedent(r'''
    import json, os, sys, time
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from digitdesk.gui.app import configure_application, install_excepthook
    from digitdesk.gui import create_main_window
    from digitdesk.gui.workers.threads import running_threads

    scenario, media = sys.argv[1], sys.argv[2]
    app = QApplication(sys.argv[:1])
    configure_application(app)
    install_excepthook()
    window = create_main_window()
    window.resize(1160, 720)
    window.show()
    quit_action = next(a for a in window.findChildren(type(window.menuBar().actions()[0])) if a.text() == "&Quit")
    state = {"ready": False, "started": None}
    window.model.ready.connect(lambda _rec: state.update(ready=True))

    def start():
        if scenario == "training":
            tab = window.train_tab
            window.tabs.setCurrentWidget(tab)
            f = tab.form
            f.arch_combo.setCurrentIndex(f.arch_combo.findText("tiny"))
            f.epochs_spin.setValue(50)
            f.max_train_spin.setValue(3000)
            f.augment_check.setChecked(False)
            tab.start()
        elif scenario == "webcam":
            window.tabs.setCurrentWidget(window.webcam_tab)
            window.webcam_tab.start(media)
        else:
            window.open_image(media)

    def under_way():
        if scenario == "training":
            return len(window.train_tab.history.x) >= 3
        if scenario == "webcam":
            return window.webcam_tab.frames_shown >= 30
        return time.monotonic() - state["started"] >= 0.5 and "image-reader" in running_threads()

    def watch():
        if not state["ready"]:
            QTimer.singleShot(20, watch)
            return
        if state["started"] is None:
            state["started"] = time.monotonic()
            start()
        if under_way():
            state["busy"] = running_threads()
            state["t0"] = time.time()
            quit_action.trigger()
            return
        QTimer.singleShot(20, watch)

    QTimer.singleShot(0, watch)
    code = app.exec()
    window.shutdown()
    print("CLOSE " + json.dumps({"quit": state.get("t0"), "shut": time.time(), "busy": state.get("busy"),
                                 "left": running_threads(), "code": code}), flush=True)
    sys.exit(code)
''')


def make_video(path: Path, seconds: float = 4.0) -> Path:
    """A 640x480 MJPG clip of a hand-held number (synth photo style), 30 fps."""
    import cv2
    import numpy as np

    from digitdesk.core import synth

    rng = np.random.default_rng(3)
    base = synth.make_number_sample("4071", "photo", rng, canvas=(480, 640)).image
    if base.ndim == 2:
        base = cv2.cvtColor(base, cv2.COLOR_GRAY2BGR)
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (640, 480))
    for i in range(int(seconds * 30)):
        shift = np.float32([[1, 0, 6 * np.sin(i / 9)], [0, 1, 4 * np.cos(i / 7)]])
        out.write(cv2.warpAffine(base, shift, (640, 480), borderMode=cv2.BORDER_REPLICATE))
    out.release()
    return path


def make_page(path: Path, rows: int = 40, cols: int = 60) -> Path:
    """A 6300x4300 JPEG of ``rows`` x ``cols`` printed digits: seconds of work for the reader."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(0)
    img = np.full((rows * 104 + 140, 6300, 3), 245, np.uint8)
    for r in range(rows):
        text = "".join(str(d) for d in rng.integers(0, 10, cols))
        cv2.putText(img, text, (20, 100 + r * 104), cv2.FONT_HERSHEY_SIMPLEX, 2.4, (30, 30, 30), 6)
    cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


def run_once(scenario: str, media: Path, work: Path, timeout: float = 300) -> dict:
    """One launch; seconds from quit to shutdown done and to process exit, threads, crash marks."""
    home = Path(tempfile.mkdtemp(dir=work))
    env = {**os.environ, "PYTHONPATH": str(REPO), "DIGITDESK_HOME": str(home / "data"),
           "XDG_CONFIG_HOME": str(home / "config"), "QT_QPA_PLATFORM": "offscreen", "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, scenario, str(media)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return {"error": f"no exit within {timeout:.0f} s", "stderr": err[-1500:]}
    exited = time.time()
    line = next((x for x in out.splitlines() if x.startswith("CLOSE ")), None)
    if line is None:
        return {"error": f"exit {proc.returncode} before quitting", "stderr": err[-1500:]}
    r = json.loads(line[6:])
    return {"shutdown_s": r["shut"] - r["quit"], "exit_s": exited - r["quit"], "code": proc.returncode,
            "busy": r["busy"], "left": r["left"], "crash": [m for m in CRASH_MARKS if m in err]}


def measure(runs: int = 3, scenarios: tuple[str, ...] = SCENARIOS) -> dict:
    """{scenario: {"shutdown_s": [...], "exit_s": [...], "left": [...], "codes": [...], "crashes": [...],
    "errors": [...]}} over ``runs`` launches each."""
    res = {}
    with tempfile.TemporaryDirectory(prefix="digitdesk-close-") as tmp:
        work = Path(tmp)
        media = {"training": work / "none", "webcam": make_video(work / "clip.avi"), "photo": make_page(work / "page.jpg")}
        for sc in scenarios:
            got = {"shutdown_s": [], "exit_s": [], "left": [], "codes": [], "crashes": [], "errors": [], "busy": []}
            for _ in range(runs):
                r = run_once(sc, media[sc], work)
                if "error" in r:
                    got["errors"].append(r["error"])
                    print(f"  {sc}: {r['error']}\n{r['stderr']}", file=sys.stderr)
                    continue
                for k in ("shutdown_s", "exit_s"):
                    got[k].append(r[k])
                got["left"] += r["left"]
                got["codes"].append(r["code"])
                got["crashes"] += r["crash"]
                got["busy"].append(r["busy"])
            res[sc] = got
    return res


def stop_gaps(runs: int = 3) -> dict:
    """Decode time of the page and the longest gap between ``should_stop`` checks in a read."""
    from digitdesk.core.imageio import read_image
    from digitdesk.core.recognizer import Recognizer

    rec = Recognizer.load()
    res = {"decode_s": [], "read_s": [], "max_gap_s": [], "checks": []}
    with tempfile.TemporaryDirectory(prefix="digitdesk-close-") as tmp:
        page = make_page(Path(tmp) / "page.jpg")
        for _ in range(runs):
            t0 = time.perf_counter()
            image = read_image(page)
            t1 = time.perf_counter()
            calls = [t1]
            rec.read(image, should_stop=lambda: calls.append(time.perf_counter()) or False)
            calls.append(time.perf_counter())
            res["decode_s"].append(t1 - t0)
            res["read_s"].append(calls[-1] - t1)
            res["max_gap_s"].append(max(b - a for a, b in zip(calls, calls[1:])))
            res["checks"].append(len(calls) - 2)
    return res


def _fmt(values: list[float]) -> str:
    if not values:
        return "no data"
    return f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_close", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="launches per scenario")
    parser.add_argument("--only", help="scenarios, comma-separated: " + ",".join(SCENARIOS))
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    parser.add_argument("--stop-gaps", action="store_true", help="also time the page's decoding and stop checks")
    args = parser.parse_args(argv)
    scenarios = tuple(s.strip() for s in args.only.split(",")) if args.only else SCENARIOS
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}")
    res = measure(args.runs, scenarios)
    print(f"{'quit during':<10} {'to shutdown done':<24} {'to process exit':<24} threads left, exit codes, crashes")
    ok = True
    for sc, r in res.items():
        fine = (not r["errors"] and not r["left"] and not r["crashes"] and set(r["codes"]) <= {0}
                and r["exit_s"] and max(r["exit_s"]) <= LIMIT_S)
        ok &= bool(fine)
        print(f"{sc:<10} {_fmt(r['shutdown_s']):<24} {_fmt(r['exit_s']):<24} {r['left'] or 'none'}, "
              f"{sorted(set(r['codes']))}, {r['crashes'] or 'none'}{'' if fine else '  <- FAILS'}"
              f"{'; errors: ' + '; '.join(r['errors']) if r['errors'] else ''}")
    if args.stop_gaps:
        g = res["stop_gaps"] = stop_gaps(args.runs)
        print(f"the 6300x4300 page: decoding {_fmt(g['decode_s'])} (cannot be stopped); reading {_fmt(g['read_s'])}, "
              f"{g['checks'][0]} stop checks, longest gap between two {_fmt(g['max_gap_s'])}")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    print(f"target: process exited within {LIMIT_S:g} s of quitting, no thread left, no crash: "
          f"{'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
