"""Issue 14: two local workers (``digitdesk train --workers``) against one process, the same
recipe for the same total epochs on the same data.

    python -m benchmarks.bench_multiworker [--arch simple_cnn] [--epochs 2] [--train 12000] [--repeats 2]

Writes ``--train`` MNIST training digits and the 10,000 test digits to a temporary mnist.npz,
then, alternating ``--repeats`` times, runs ``digitdesk train`` once as one process and once as
two worker processes on 127.0.0.1 (global batch size the same, so the same steps). Reports for
each: the wall time of the command(s) (start-up included), the training time the chief's
metadata records, and the test accuracy; then the ratios. The machine's load average is printed
before and after: on a shared machine the two workers share its cores with everything else.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _load() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


def _command(args, data: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "digitdesk", "train", "--arch", args.arch, "--epochs", str(args.epochs),
            "--batch-size", str(args.batch_size), "--seed", "0", "--data", str(data), "--out", str(out)]


def _env(home: Path) -> dict:
    return {**os.environ, "DIGITDESK_HOME": str(home), "TF_CPP_MIN_LOG_LEVEL": "3",
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}


def _result(out: Path, wall: float) -> dict:
    meta = json.loads(out.with_suffix(".json").read_text())
    return {"wall": wall, "train": meta["training_seconds"], "accuracy": meta["test_accuracy"]}


def run_single(args, tmp: Path, data: Path, i: int) -> dict:
    out = tmp / f"single{i}.keras"
    t0 = time.perf_counter()
    done = subprocess.run(_command(args, data, out), env=_env(tmp / "home"), capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode:
        sys.exit(f"one process failed: {done.stderr[-2000:]}")
    return _result(out, wall)


def run_workers(args, tmp: Path, data: Path, i: int, n: int = 2) -> dict:
    workers = ",".join(f"127.0.0.1:{p}" for p in _free_ports(n))
    outs = [tmp / f"workers{i}-{w}.keras" for w in range(n)]
    t0 = time.perf_counter()
    procs = [subprocess.Popen(_command(args, data, outs[w]) + ["--workers", workers, "--worker-index", str(w)],
                              env=_env(tmp / f"home{w}"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for w in range(n)]
    errs = [p.communicate()[1] for p in procs]
    wall = time.perf_counter() - t0
    for w, (p, err) in enumerate(zip(procs, errs)):
        if p.returncode:
            sys.exit(f"worker {w} failed: {err[-2000:]}")
    return _result(outs[0], wall)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="simple_cnn")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=128, help="the global batch (each of two workers: half)")
    ap.add_argument("--train", type=int, default=12000, help="MNIST training digits used")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args(argv)

    sys.path.insert(0, str(REPO))
    from digitdesk.core.data import load_mnist

    mnist = load_mnist()
    print(f"{args.arch}, {args.epochs} epochs, batch {args.batch_size}, {args.train} training digits, "
          f"10,000 test digits; {os.cpu_count()} cores; load average before: {_load()}", flush=True)
    single, multi = [], []
    with tempfile.TemporaryDirectory(prefix="bench-multiworker-") as name:
        tmp = Path(name)
        data = tmp / "mnist.npz"
        np.savez(data, x_train=mnist.train.images[:args.train], y_train=mnist.train.labels[:args.train],
                 x_test=mnist.test.images, y_test=mnist.test.labels)
        for i in range(args.repeats):
            for label, fn, into in (("one process", run_single, single), ("two workers", run_workers, multi)):
                r = fn(args, tmp, data, i)
                into.append(r)
                print(f"  run {i + 1} {label:<11}: wall {r['wall']:6.1f} s, training {r['train']:6.1f} s, "
                      f"test accuracy {r['accuracy'] * 100:.2f}%", flush=True)
    med = {k: (statistics.median(r[k] for r in single), statistics.median(r[k] for r in multi))
           for k in ("wall", "train", "accuracy")}
    print(f"median, one process vs two workers: wall {med['wall'][0]:.1f} s vs {med['wall'][1]:.1f} s "
          f"(two workers take x{med['wall'][1] / med['wall'][0]:.2f}); training {med['train'][0]:.1f} s vs "
          f"{med['train'][1]:.1f} s (x{med['train'][1] / med['train'][0]:.2f}); test accuracy "
          f"{med['accuracy'][0] * 100:.2f}% vs {med['accuracy'][1] * 100:.2f}%")
    print(f"load average after: {_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
