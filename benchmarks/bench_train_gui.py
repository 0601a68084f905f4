"""Training through the Train tab: is the GUI responsive, and is training as fast as the CLI?

    python -m benchmarks.bench_train_gui [--arch digitnet] [--images 12800] [--epochs 3] [--rounds 3]
        [--paths gui,core,cli,fit] [--json PATH]

(a) Event-loop stall: a 10 ms QTimer heartbeat (precise timer) runs on the GUI thread while the
    Train tab trains (its worker thread, live plots redrawn by their timer, progress per batch).
    Reported: the gaps between heartbeats beyond the 10 ms period, during training (Start to the
    thread's end) and while the results are computed and shown (evaluation on a worker, then the
    confusion matrix, table and gallery drawn on the GUI thread). Target: max stall <= 100 ms.
    The first Start of a session is reported apart from the later ones: reading never imports
    TensorFlow (issue 12), so that Start imports it on the worker, and Keras traces its first
    graphs, while the GUI runs (whether TensorFlow was in before it is printed; with
    ``DIGITDESK_READER=keras`` the model is read with Keras and it is, as before issue 12).
(b) Training speed: the same settings through the Train tab and through the core ``train()`` with
    the CLI's progress bar (what ``digitdesk train`` runs) on the main thread, no event loop,
    alternating runs in this process (GUI CLI CLI GUI ...; no heartbeat, which is an instrument
    with its own cost). Samples/s of the epochs after the first (the first includes tracing).
    Target: GUI / CLI >= 0.9. ``--paths`` adds the real ``digitdesk train`` command in a new process
    (on the same data, written to a temporary mnist.npz) and plain ``model.fit`` (same model, data
    pipeline, optimizer and validation; target: core / fit >= 0.95) to the rotation.

The event loop runs as in the app (``QEventLoop.exec``, no polling); the machine's load average is
printed, since another process competing for the CPU moves both numbers.

Both use a seeded random subset of the MNIST training set (``--images``), 10% of it held out for
validation, batch 128, cosine schedule, augmentation on (the "Standard" preset, fewer epochs).
"""

from __future__ import annotations

import argparse
import io
import re
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pct(values: list[float], q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))] if v else float("nan")


class Heartbeat:
    """Records the time of every tick of a 10 ms precise QTimer on the GUI thread."""

    def __init__(self, period_ms: int = 10):
        from PySide6.QtCore import Qt, QTimer

        self.period = period_ms / 1000
        self.ticks: list[float] = []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(period_ms)
        self.timer.timeout.connect(lambda: self.ticks.append(time.perf_counter()))

    def start(self) -> None:
        self.ticks.clear()
        self.timer.start()

    def stalls(self, t0: float, t1: float) -> list[float]:
        """Gaps beyond the period (seconds) between ticks within [t0, t1]."""
        ticks = [t for t in self.ticks if t0 <= t <= t1]
        return [max(0.0, b - a - self.period) for a, b in zip(ticks, ticks[1:])]


def wait(done, timeout: float, signal=None) -> bool:
    """Run the event loop (as ``app.exec()`` does: no polling) until ``done()``, checked when
    ``signal`` fires and every 100 ms."""
    from PySide6.QtCore import QEventLoop, QTimer

    if done():
        return True
    loop = QEventLoop()
    check = QTimer()
    check.setInterval(100)
    end = time.monotonic() + timeout

    def maybe_quit(*_):
        if done() or time.monotonic() > end:
            loop.quit()

    check.timeout.connect(maybe_quit)
    if signal is not None:
        signal.connect(maybe_quit)
    check.start()
    loop.exec()
    check.stop()
    if signal is not None:
        signal.disconnect(maybe_quit)
    return done()


def pause(seconds: float) -> None:
    """Run the event loop for ``seconds``."""
    t = time.monotonic() + seconds
    wait(lambda: time.monotonic() >= t, seconds + 1)


def setup(args):
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    os.environ["DIGITDESK_HOME"] = tempfile.mkdtemp()  # saves nothing in the user's folder
    app = QApplication.instance() or QApplication([])
    from digitdesk.gui import create_main_window
    from digitdesk.gui.app import configure_application
    from digitdesk.gui.workers.recognition import load_recognizer

    configure_application(app)
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    rec = load_recognizer()  # as the app does at start (LiteRT: no TensorFlow; DIGITDESK_READER=keras: TensorFlow)
    win = create_main_window(recognizer=rec)
    win.resize(1180, 780)
    win.show()
    tab = win.train_tab
    win.tabs.setCurrentWidget(tab)
    form = tab.form
    form.apply_preset("Standard")
    form.arch_combo.setCurrentIndex(form.arch_combo.findData(args.arch))
    form.epochs_spin.setValue(args.epochs)
    form.max_train_spin.setValue(args.images)
    form.max_test_spin.setValue(args.test_images)
    pause(1.0)  # the tab's plots are built and laid out while idle
    return app, win, tab


def gui_run(tab, beat: Heartbeat | None, timeout: float) -> dict:
    """One run through the Train tab's Start, with the heartbeat if given."""
    if beat is not None:
        beat.start()
    pause(0.3)
    idle = beat.stalls(0, time.perf_counter()) if beat else []
    t0 = time.perf_counter()
    tab.start()
    if not wait(lambda: not tab.running, timeout, tab.session.ended):
        raise RuntimeError("training through the GUI did not finish")
    t1 = time.perf_counter()
    wait(lambda: tab.evaluation is not None, timeout, tab.evaluated)
    pause(0.3)
    t2 = time.perf_counter()
    if beat is None:
        return {"sps": [e.samples_per_s for e in tab.history.epochs[1:]], "seconds": t1 - t0}
    beat.timer.stop()
    epochs = tab.history.epochs
    return {"train": beat.stalls(t0, t1), "results": beat.stalls(t1, t2), "idle": idle,
            "sps": [e.samples_per_s for e in epochs[1:]], "batches": len(tab.history.x),
            "redraws": tab.plot.redraws, "seconds": t1 - t0}


def cli_run(tab) -> dict:
    """What ``digitdesk train`` does (core train with the CLI's progress bar), on this thread."""
    from digitdesk.cli import ProgressBar
    from digitdesk.core.training import train
    from digitdesk.core.trainrequest import load_data

    request = tab.form.request()
    data = load_data(request)
    epochs = []
    bar = ProgressBar(stream=io.StringIO())

    def on_progress(p):
        bar(p)
        if p.kind == "epoch":
            epochs.append(p)

    t0 = time.perf_counter()
    train(request.config, data.dataset.train, on_progress=on_progress)
    return {"sps": [e.samples_per_s for e in epochs[1:]], "seconds": time.perf_counter() - t0}


def fit_run(tab) -> dict:
    """Plain ``model.fit`` with the same model, data, pipeline, optimizer and validation, on this thread."""
    from benchmarks.bench_engine import plain_fit
    from digitdesk.core.training import split_validation
    from digitdesk.core.trainrequest import load_data

    request = tab.form.request()
    config = request.config
    data, validation = split_validation(load_data(request).dataset.train, config.validation_split, config.seed)
    t0 = time.perf_counter()
    sps = plain_fit(config, data, validation)
    return {"sps": sps, "seconds": time.perf_counter() - t0}


EPOCH_LINE = re.compile(r"^epoch (\d+)/\d+  loss .*?  ([\d,]+) samples/s", re.MULTILINE)


def write_npz(tab, folder: str) -> str:
    """The Train tab's data (its limited MNIST subsets) as an mnist.npz the CLI can read."""
    import numpy as np

    from digitdesk.core.trainrequest import load_data

    ds = load_data(tab.form.request()).dataset
    path = os.path.join(folder, "mnist-subset.npz")
    np.savez(path, x_train=ds.train.images, y_train=ds.train.labels, x_test=ds.test.images, y_test=ds.test.labels)
    return path


def process_run(tab, npz: str, folder: str, timeout: float) -> dict:
    """The real ``digitdesk train`` command in a new process, on the same data and settings; the
    samples/s of its epochs after the first, read from its progress output."""
    c = tab.form.request().config
    cmd = [sys.executable, "-m", "digitdesk", "train", "--data", npz, "--arch", c.arch, "--epochs", str(c.epochs),
           "--batch-size", str(c.batch_size), "--lr", str(c.learning_rate), "--schedule", c.schedule,
           "--augment" if c.augment else "--no-augment", "--val-split", str(c.validation_split),
           "--early-stopping", str(c.early_stopping), "--seed", str(c.seed),
           "--out", os.path.join(folder, "cli-model.keras")]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                         env={**os.environ, "DIGITDESK_HOME": folder})
    seconds = time.perf_counter() - t0
    epochs = {int(e): float(sps.replace(",", "")) for e, sps in EPOCH_LINE.findall(out.stderr)}
    if out.returncode != 0 or len(epochs) < c.epochs:
        raise RuntimeError(f"`digitdesk train` exited with {out.returncode}:\n{out.stderr[-2000:]}")
    return {"sps": [epochs[e] for e in sorted(epochs)[1:]], "seconds": seconds}


PATHS = {  # name: label in the table
    "gui": "Train tab (worker QThread, live plots)",
    "core": "core train() + CLI progress bar (main thread)",
    "cli": "`digitdesk train` (a new process, same data and settings)",
    "fit": "plain model.fit (same model, data, pipeline, optimizer, validation)",
}


def throughput(sps: list[float]) -> float:
    """Samples/s of a run from its epochs' samples/s (total samples / total time)."""
    return len(sps) / sum(1 / x for x in sps) if sps else float("nan")


def measure(args, log=lambda msg: print(msg, file=sys.stderr)) -> dict:
    """(a) stall runs with the heartbeat, (b) alternating speed rounds over ``args.paths``."""
    paths = [p for p in args.paths.split(",") if p]
    unknown = set(paths) - set(PATHS)
    if unknown:
        raise ValueError(f"unknown path(s) {', '.join(sorted(unknown))}; choose from {', '.join(PATHS)}")
    load_before = os.getloadavg()
    _app, win, tab = setup(args)
    tf_before = "tensorflow" in sys.modules
    beat = Heartbeat()
    stall_runs = []
    for r in range(args.stall_runs):
        stall_runs.append(gui_run(tab, beat, args.timeout))
        log(f"  (a) run {r + 1}: max stall {max(stall_runs[-1]['train']) * 1000:.0f} ms")
    runs: dict[str, list[dict]] = {p: [] for p in paths}
    rounds: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="digitdesk-bench-") as folder:
        npz = write_npz(tab, folder) if "cli" in paths else ""
        for r in range(args.rounds):
            this = {}
            for what in (paths if r % 2 == 0 else paths[::-1]):
                if what == "gui":
                    run = gui_run(tab, None, args.timeout)
                elif what == "core":
                    run = cli_run(tab)
                elif what == "fit":
                    run = fit_run(tab)
                else:
                    run = process_run(tab, npz, folder, args.timeout)
                runs[what].append(run)
                this[what] = throughput(run["sps"])
                log(f"  (b) round {r + 1} {what}: {this[what]:,.0f} samples/s")
            rounds.append(this)
    win.close()
    return {"settings": {"arch": args.arch, "images": args.images, "epochs": args.epochs, "paths": paths},
            "tensorflow_before_first_start": tf_before,
            "cpus": os.cpu_count(), "load_before": load_before, "load_after": os.getloadavg(),
            "stall": [{k: r[k] for k in ("train", "results", "idle", "redraws", "batches")} for r in stall_runs],
            "runs": {p: [r["sps"] for r in v] for p, v in runs.items()}, "rounds": rounds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_train_gui", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="digitnet")
    parser.add_argument("--images", type=int, default=12_800, help="MNIST training images used")
    parser.add_argument("--test-images", type=int, default=2000, help="test images evaluated after a run")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--stall-runs", type=int, default=2, help="GUI runs with the heartbeat, for (a)")
    parser.add_argument("--rounds", type=int, default=3, help="(b): rounds over --paths, alternating GUI CLI CLI GUI ...")
    parser.add_argument("--paths", default="gui,core",
                        help="(b): training paths compared, from gui, core (train() with the CLI's progress bar, "
                             "in this process), cli (the `digitdesk train` command in a new process), fit (plain "
                             "model.fit); default gui,core")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--json", metavar="PATH", help="also write the raw figures to this JSON file")
    args = parser.parse_args(argv)
    cmd = "python -m benchmarks.bench_train_gui " + " ".join(argv if argv is not None else sys.argv[1:])
    r = measure(args)
    if args.json:
        from benchmarks.suite import write_json

        write_json(args.json, r)

    def la(x):
        return ", ".join(f"{v:.2f}" for v in x)

    def flat(runs, key):
        return [s for run in runs for s in run[key]]

    stall_runs = r["stall"]
    idle_stalls = flat(stall_runs, "idle")
    ms = 1000

    def row(name, stalls, target=""):
        if not stalls:
            return f"| {name} | 0 | | | | | {target} |"
        return (f"| {name} | {len(stalls)} | {statistics.median(stalls) * ms:.1f} | {pct(stalls, 0.99) * ms:.1f} | "
                f"{max(stalls) * ms:.1f} | {sum(s > 0.05 for s in stalls)} | {target} |")

    print(f"\n`{cmd.strip()}`\n")
    print(f"{args.arch}, {args.images:,} MNIST images (10% validation), {args.epochs} epochs, batch 128, "
          f"augmentation on; {os.cpu_count()} CPUs; load average before: {la(r['load_before'])}; "
          f"after: {la(r['load_after'])}\n")
    if stall_runs:
        print(f"(a) GUI event loop during {len(stall_runs)} runs, 10 ms heartbeat: stall = gap beyond 10 ms\n")
        print("| phase | gaps | median ms | p99 ms | max ms | gaps > 50 ms | target |")
        print("|---|---|---|---|---|---|---|")
        print(row("idle (before Start)", idle_stalls))
        first, later = stall_runs[:1], stall_runs[1:]
        tf = "TensorFlow already imported" if r["tensorflow_before_first_start"] else "imports TensorFlow"
        for name, runs in ((f"first Start of the session ({tf})", first), ("later Starts", later)):
            if not runs:
                continue
            stalls = flat(runs, "train")
            met = "met" if stalls and max(stalls) <= 0.1 else "MISSED"
            print(row(f"training, {name}: Start to end of thread", stalls, f"max <= 100 ms: {met}"))
            print(row(f"results, {name}: test on a worker, then draw", flat(runs, "results")))
        print(f"\nfull plot redraws per run: {[x['redraws'] for x in stall_runs]} "
              f"(curves blitted 4x/s) for {[x['batches'] for x in stall_runs]} batches\n")
    paths = r["settings"]["paths"]
    if not paths or not args.rounds:
        return 0
    print("(b) training speed, samples/s of epochs 2+, alternating runs (no heartbeat)\n")
    print("| path | runs | samples/s (median) | each epoch 2+ |")
    print("|---|---|---|---|")
    sps = {p: [s for run in r["runs"][p] for s in run] for p in paths}
    for p in paths:
        print(f"| {PATHS[p]} | {len(r['runs'][p])} | {statistics.median(sps[p]):,.0f} | "
              f"{', '.join(f'{s:,.0f}' for s in sps[p])} |")
    print()
    pairs = [(a, b, t) for a, b, t in (("gui", "core", 0.9), ("gui", "cli", 0.9), ("core", "fit", 0.95),
                                       ("cli", "fit", None), ("gui", "fit", None)) if a in paths and b in paths]
    label = {"gui": "GUI", "core": "CLI" if "cli" not in paths else "core", "cli": "CLI", "fit": "fit"}
    for a, b, target in pairs:
        ratio = statistics.median(sps[a]) / statistics.median(sps[b])
        per_round = [x[a] / x[b] for x in r["rounds"]]
        verdict = f"; target >= {target}: {'met' if ratio >= target else 'MISSED'}" if target else ""
        print(f"{label[a]} / {label[b]} = {ratio:.3f} (medians{verdict}); "
              f"per round (adjacent runs): {', '.join(f'{x:.2f}' for x in per_round)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
