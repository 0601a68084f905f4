"""Reading digits on real kinds of paper (issue 11), on SYNTHETIC photos from benchmarks/paper_sets.py.

    python -m benchmarks.eval_paper [--model PATH] [--seed tuning|held-out|N] [--count N]
                                    [--only cond,...] [--json PATH] [--save-failures DIR]

Per condition: strings read exactly, character error rate (edit distance between the read and
the expected digits, line breaks removed, summed over the samples / expected digits) and, for
blank pages, the digits found where nothing is written. The held-out seed is for one final
measurement at the end of a piece of engine work: tune on the tuning seed (the default).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks import paper_sets  # noqa: E402

DEFAULT_COUNT = 16  # per condition: the tuning run takes about 2 minutes on 2 cores


def parse_seed(text: str) -> int:
    """"tuning", "held-out" or a number."""
    named = {"tuning": paper_sets.TUNING_SEED, "held-out": paper_sets.HELD_OUT_SEED,
             "heldout": paper_sets.HELD_OUT_SEED}
    if text in named:
        return named[text]
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seed: expected tuning, held-out or a number, not {text!r}") from None


def _failure_name(i: int, s: paper_sets.PaperSample, read: str) -> str:
    def flat(t: str) -> str:
        return t.replace("\n", "_") or "blank"

    note = re.sub(r"[^A-Za-z0-9_-]+", "", s.note)
    return f"{s.condition}_{i:03d}_{note}_expected-{flat(s.text)}_read-{flat(read) if read else 'nothing'}.png"


def evaluate_condition(rec, condition: str, count: int, seed: int, failures: Path | None = None) -> dict:
    """Read ``count`` samples of ``condition``: exact strings, character errors, false digits on blanks."""
    import cv2

    samples = paper_sets.make_set(condition, count, seed)
    exact = errors = digits = false_digits = 0
    read_ms = []
    wrong = []
    for i, s in enumerate(samples):
        t = time.perf_counter()
        read = rec.read(s.image).text
        read_ms.append((time.perf_counter() - t) * 1000)
        exact += read == s.text
        errors += paper_sets.char_errors(read, s.text)
        digits += len(s.text.replace("\n", ""))
        if not s.text:
            false_digits += len(read.replace("\n", ""))
        if read != s.text:
            wrong.append({"index": i, "expected": s.text, "read": read, "note": s.note})
            if failures is not None:
                cv2.imwrite(str(failures / _failure_name(i, s, read)), s.image)
    return {"condition": condition, "count": count, "exact": exact / max(count, 1), "char_errors": errors,
            "digits": digits, "cer": errors / digits if digits else None, "false_digits": false_digits,
            "median_read_ms": sorted(read_ms)[len(read_ms) // 2] if read_ms else None, "wrong": wrong}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model file (default: the bundled model)")
    parser.add_argument("--seed", type=parse_seed, default=paper_sets.TUNING_SEED,
                        help="tuning (default), held-out or a number")
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT, help="samples per condition")
    parser.add_argument("--only", help="conditions, comma-separated: " + ",".join(paper_sets.CONDITIONS))
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    parser.add_argument("--save-failures", metavar="DIR", help="write every misread image here")
    args = parser.parse_args(argv)
    conditions = list(paper_sets.CONDITIONS)
    if args.only:
        conditions = [c.strip() for c in args.only.split(",") if c.strip()]
        unknown = [c for c in conditions if c not in paper_sets.CONDITIONS]
        if unknown:
            parser.error(f"--only: unknown condition(s) {', '.join(unknown)}; choose from {', '.join(paper_sets.CONDITIONS)}")
    if paper_sets._mnist_test() is None:  # the sets would silently be fonts only: another set
        parser.error("the MNIST test split is not found: set DIGITDESK_DATA to the MNIST folder "
                     "(the sets draw their handwriting from it)")
    failures = None
    if args.save_failures:
        failures = Path(args.save_failures)
        failures.mkdir(parents=True, exist_ok=True)

    from digitdesk.core.recognizer import Recognizer

    rec = Recognizer.load(args.model)
    kind = paper_sets.seed_name(args.seed)
    t0 = time.perf_counter()
    print(f"command: python -m benchmarks.eval_paper {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip())
    print(f"model: {rec.path}")
    print(f"seed {args.seed}: the {kind} seed" + (" (reserved for the final measurement)" if kind == "held-out" else "")
          + f"; SYNTHETIC photos from benchmarks/paper_sets.py, {args.count} per condition")
    print()
    print("| condition | samples | strings read exactly | character error rate | false digits on blank pages |")
    print("|---|---|---|---|---|")
    results = []
    for c in conditions:
        r = evaluate_condition(rec, c, args.count, args.seed, failures)
        results.append(r)
        cer = f"{r['cer'] * 100:.1f}% ({r['char_errors']}/{r['digits']})" if r["cer"] is not None else "-"
        false = str(r["false_digits"]) if c == "blank" else ""
        print(f"| {c} | {r['count']} | {r['exact'] * 100:.0f}% | {cer} | {false} |", flush=True)
    elapsed = time.perf_counter() - t0
    print(f"\n({elapsed:.0f} s; seed {args.seed} = {kind} seed)")
    if failures is not None:
        print(f"misread images written to {failures}")
    if args.json:
        from benchmarks.suite import write_json

        write_json(args.json, {"seed": args.seed, "seed_kind": kind, "count": args.count, "model": str(rec.path),
                               "seconds": elapsed, "conditions": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
