"""Launch to first reading of this tree against another checkout of digitdesk, side by side.

    git worktree add --detach /tmp/digitdesk-old <commit>
    python -m benchmarks.compare_startup --old-tree /tmp/digitdesk-old [--rounds 7] [--no-bytecode-cache]
    python -m benchmarks.compare_startup --bytecode [--rounds 7]

Each round launches ``python -m digitdesk`` from each tree in turn (offscreen, a fresh
``DIGITDESK_HOME``, ``DIGITDESK_REPORT_STARTUP=quit``: the app writes a number on the Draw tab
once its model is in and quits when the reading is shown) and takes the marks the app prints:
window visible, model ready, first prediction, in seconds since the process started. The medians
and the new/old ratio of each round are printed; on a noisy machine the ratio is the figure to quote.

Python caches compiled modules as a source checkout's user gets them: each side writes its
``.pyc`` files to its own temporary ``PYTHONPYCACHEPREFIX`` (the trees are left alone), filled by
one untimed launch. ``--no-bytecode-cache`` compiles every module of the tree at each launch
instead (as with ``PYTHONDONTWRITEBYTECODE=1`` and no ``__pycache__``). ``--bytecode`` runs this
tree on both sides, "old" compiling at every launch and "new" with the cache: what the cache is worth.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.suite import startup_marks

REPO = Path(__file__).resolve().parents[1]
MARKS = ("window-visible", "model-ready", "first-prediction")


def _env(tree: Path, home: str, pycache: str | None) -> dict:
    env = dict(os.environ, DIGITDESK_REPORT_STARTUP="quit", QT_QPA_PLATFORM="offscreen", TF_CPP_MIN_LOG_LEVEL="2",
               DIGITDESK_HOME=home, XDG_CONFIG_HOME=home, PYTHONPATH=str(tree))
    for name in ("DIGITDESK_READER", "PYTHONPYCACHEPREFIX", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    if pycache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def check_tree(tree: Path) -> None:
    """Exit unless ``python -m digitdesk`` run as :func:`launch` runs it imports ``tree``'s code."""
    out = subprocess.run([sys.executable, "-c", "import digitdesk; print(digitdesk.__file__)"], cwd=tree,
                         env=_env(tree, "/nonexistent", None), capture_output=True, text=True)
    if not out.stdout.strip().startswith(str(tree)):
        raise SystemExit(f"{tree}: the child imports digitdesk from {out.stdout.strip() or out.stderr[-500:]}")


def launch(tree: Path, pycache: str | None, timeout: float = 120) -> dict[str, float]:
    """One launch of the app from ``tree``: {mark: seconds since the process started}."""
    with tempfile.TemporaryDirectory() as home:
        t0 = time.time()
        out = subprocess.run([sys.executable, "-m", "digitdesk"], cwd=tree, env=_env(tree, home, pycache),
                             capture_output=True, text=True, timeout=timeout)
    marks = startup_marks(out.stdout, t0)
    if any(m not in marks for m in MARKS):
        raise SystemExit(f"{tree}: exit {out.returncode} without its startup marks:\n{out.stdout[-800:]}\n"
                         f"{out.stderr[-1500:]}")
    return {m: marks[m][0] for m in MARKS}


def run(old: Path, new: Path, rounds: int, bytecode_cache: bool = True, compare_bytecode: bool = False) -> dict:
    """``compare_bytecode``: the old side compiles at every launch, the new one has the cache."""
    with tempfile.TemporaryDirectory() as caches:
        pycache = {side: (os.path.join(caches, side) if bytecode_cache else None) for side in ("old", "new")}
        if compare_bytecode:
            pycache = {"old": None, "new": os.path.join(caches, "new")}
        trees = {"old": old, "new": new}
        for side in trees:
            check_tree(trees[side])
            launch(trees[side], pycache[side])  # untimed: fills the bytecode and page caches
        res: dict = {"old": [], "new": [], "bytecode_cache": bytecode_cache, "compare_bytecode": compare_bytecode,
                     "rounds": rounds,
                     "old_tree": str(old), "new_tree": str(new), "load_before": os.getloadavg()}
        for _ in range(rounds):
            for side in ("old", "new"):
                res[side].append(launch(trees[side], pycache[side]))
        res["load_after"] = os.getloadavg()
    return res


def report(res: dict) -> str:
    cache = "cached bytecode" if res["bytecode_cache"] else "no bytecode cache"
    if res.get("compare_bytecode"):
        cache = "old: this tree compiled at each launch, new: the same tree with cached bytecode"
    lines = [f"python -m digitdesk, {res['rounds']} rounds, {cache}; load average "
             f"{', '.join(f'{v:.2f}' for v in res['load_before'])} -> {', '.join(f'{v:.2f}' for v in res['load_after'])}",
             f"{'seconds since process start':<30}{'old':>8}{'new':>8}{'new/old':>9}  per-round new/old"]
    for mark in MARKS:
        old = [r[mark] for r in res["old"]]
        new = [r[mark] for r in res["new"]]
        ratios = [n / o for n, o in zip(new, old)]
        lines.append(f"{mark:<30}{statistics.median(old):>8.3f}{statistics.median(new):>8.3f}"
                     f"{statistics.median(ratios):>9.2f}  {min(ratios):.2f}-{max(ratios):.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old-tree", type=Path, help="another checkout of digitdesk")
    parser.add_argument("--new-tree", type=Path, default=REPO, help="default: this checkout")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-bytecode-cache", action="store_true", help="compile the tree's modules at each launch")
    parser.add_argument("--bytecode", action="store_true", help="this tree compiled (old) against cached (new)")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    if (args.old_tree is None) == (not args.bytecode):
        parser.error("give --old-tree, or --bytecode (which compares this tree with itself)")
    old = args.new_tree if args.bytecode else args.old_tree
    res = run(old.resolve(), args.new_tree.resolve(), args.rounds, not args.no_bytecode_cache, args.bytecode)
    print(report(res))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
