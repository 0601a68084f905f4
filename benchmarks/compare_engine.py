"""The engine of this tree against another checkout of digitdesk, side by side in one run.

    git worktree add /tmp/digitdesk-old <commit>
    python -m benchmarks.compare_engine --old-tree /tmp/digitdesk-old [--rounds 3] [--repeats 40]

Both read the same files, made once by this tree's ``bench_engine``: the 400x400 canvas, the
1152x864 JPEG of a ruled page (decoded in the time) and a 640x480 webcam frame. Each round runs
a fresh process per side, old and new in turn, and prints the medians and the new/old ratio of
each round: on a noisy machine the ratio is the figure to quote. The canvas is read as the Draw
tab reads it (``dark_ink=True``) where the engine takes that argument.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CASES = ("canvas", "photo", "webcam")

# Runs in a child process with the tree to time first on sys.path (an editable install's import
# hook, which would bring back this tree, is removed).
CHILD = r"""
import inspect, json, statistics, sys, time
sys.meta_path[:] = [f for f in sys.meta_path if "ditable" not in type(f).__name__ and "ditable" not in getattr(f, "__name__", "")]
sys.path.insert(0, sys.argv[1])
import cv2
from digitdesk.core.imageio import read_image
from digitdesk.core.recognizer import Recognizer
assert Recognizer.__module__ and __import__("digitdesk").__file__.startswith(sys.argv[1]), __import__("digitdesk").__file__
rec = Recognizer.load()
folder, repeats = sys.argv[2], int(sys.argv[3])
canvas = cv2.imread(folder + "/canvas.png", cv2.IMREAD_GRAYSCALE)
frame = cv2.imread(folder + "/webcam.png")
plain = {"dark_ink": True} if "dark_ink" in inspect.signature(rec.read).parameters else {}
fns = {"canvas": lambda: rec.read(canvas, **plain), "photo": lambda: rec.read(read_image(folder + "/photo.jpg")),
       "webcam": lambda: rec.read(frame)}
out = {}
for key, fn in fns.items():
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter(); fn(); times.append((time.perf_counter() - t) * 1000)
    out[key] = statistics.median(times)
out["texts"] = {k: f().text for k, f in fns.items()}
print(json.dumps(out))
"""


def make_inputs(folder: str) -> None:
    import cv2

    from benchmarks.bench_engine import canvas_image, photo_file, webcam_frame

    cv2.imwrite(os.path.join(folder, "canvas.png"), canvas_image())
    os.replace(photo_file(folder), os.path.join(folder, "photo.jpg"))
    cv2.imwrite(os.path.join(folder, "webcam.png"), webcam_frame())


def run_side(tree: Path, folder: str, repeats: int) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    out = subprocess.run([sys.executable, "-c", CHILD, str(tree), folder, str(repeats)], capture_output=True,
                         text=True, env=env, timeout=900)
    if out.returncode != 0:
        raise SystemExit(f"timing {tree} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old-tree", required=True, type=Path, help="another checkout of digitdesk (e.g. a git worktree)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=40, help="calls per case per round and side")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if not (args.old_tree / "digitdesk" / "core" / "segment.py").is_file():
        parser.error(f"--old-tree: {args.old_tree} is not a digitdesk checkout")
    print(f"command: python -m benchmarks.compare_engine {' '.join(argv if argv is not None else sys.argv[1:])}")
    rounds = []
    with tempfile.TemporaryDirectory(prefix="digitdesk-compare-") as folder:
        make_inputs(folder)
        for k in range(args.rounds):
            old = run_side(args.old_tree.resolve(), folder, args.repeats)
            new = run_side(REPO, folder, args.repeats)
            rounds.append({"old": old, "new": new})
            print(f"round {k + 1}: " + "; ".join(f"{c} {old[c]:.1f} -> {new[c]:.1f} ms ({new[c] / old[c]:.2f}x)" for c in CASES),
                  flush=True)
    print("\n| input | old (median of rounds) | new | new/old, per round |\n|---|---|---|---|")
    for c in CASES:
        ratios = ", ".join(f"{r['new'][c] / r['old'][c]:.2f}" for r in rounds)
        print(f"| {c} | {statistics.median(r['old'][c] for r in rounds):.1f} ms | "
              f"{statistics.median(r['new'][c] for r in rounds):.1f} ms | {ratios} |")
    print("readings: old " + json.dumps(rounds[0]["old"]["texts"]) + "; new " + json.dumps(rounds[0]["new"]["texts"]))
    if args.json:
        Path(args.json).write_text(json.dumps(rounds, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
