"""Segmentation speed (``digitdesk.core.segment``) on the images that stress it: noise (hundreds
to thousands of specks, the fuzz test's worst case), a 1-megapixel photo, the 6300x4300 page of
2,400 printed digits the GUI's "slow photo" test reads, and a 40-megapixel page of 3,500 digits.

    python -m benchmarks.bench_segment [--repeats 3] [--json PATH]

Times are the median of ``--repeats`` calls of ``segment(image)``;
"merge" is the part spent merging strokes. "components" counts the blobs that enter the stroke
merge (connected components above the speck size), "merged" what is left after it, "digits" the
regions found.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import cv2
import numpy as np


def noisy(h: int, w: int, paper: int = 0, noise: int = 61, seed: int = 1) -> np.ndarray:
    """Black paper with uniform noise of +-``noise`` levels (clipped: half the pixels stay 0): the
    fuzz test's slowest drawn images (``tests/core/test_fuzz_pipeline.py``), thousands of specks."""
    rng = np.random.default_rng(seed)
    img = np.full((h, w), paper, np.int16)
    return np.clip(img + rng.integers(-noise, noise + 1, img.shape), 0, 255).astype(np.uint8)


def photo_1mp() -> np.ndarray:
    """A ~1 megapixel phone-style photo of a 6-digit number (as in bench_engine)."""
    from digitdesk.core import synth

    img = synth.make_number_sample("271828", "photo", np.random.default_rng(3)).image
    scale = (1_000_000 / (img.shape[0] * img.shape[1])) ** 0.5
    return cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)


def printed_page(rows: int, cols: int, width: int, seed: int = 0) -> np.ndarray:
    """A page of ``rows`` x ``cols`` printed digits, JPEG-compressed and decoded (as
    ``tests/gui/test_faults.py::big_photo`` builds it: 40 x 60 on 6300 px is its 6300x4300 page)."""
    rng = np.random.default_rng(seed)
    img = np.full((rows * 104 + 140, width, 3), 245, np.uint8)
    for r in range(rows):
        text = "".join(str(d) for d in rng.integers(0, 10, cols))
        cv2.putText(img, text, (20, 100 + r * 104), cv2.FONT_HERSHEY_SIMPLEX, 2.4, (30, 30, 30), 6)
    ok, jpeg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return cv2.imdecode(jpeg, cv2.IMREAD_COLOR)


CASES = {
    "noisy strip 40x1000": lambda: noisy(40, 1000),
    "noisy image 240x480": lambda: noisy(240, 480),
    "photo 1 MP": photo_1mp,
    "page 6300x4300, 2,400 digits": lambda: printed_page(40, 60, 6300),
    "page 40 MP, 3,500 digits": lambda: printed_page(50, 70, 7750),
}


def measure(image: np.ndarray, repeats: int) -> dict:
    """Median seconds of ``segment(image)`` and of its stroke merge, and the counts."""
    from digitdesk.core import segment as seg

    merge_seconds: list[float] = []
    counts: dict[str, int] = {}
    original = seg._merge_strokes

    def timed_merge(blobs, *args):
        counts["components"] = len(blobs)
        t0 = time.perf_counter()
        out = original(blobs, *args)
        merge_seconds.append(time.perf_counter() - t0)
        counts["merged"] = len(out)
        return out

    seg._merge_strokes = timed_merge
    try:
        totals = []
        for _ in range(max(1, repeats)):
            t0 = time.perf_counter()
            result = seg.segment(image)
            totals.append(time.perf_counter() - t0)
    finally:
        seg._merge_strokes = original
    return {"seconds": statistics.median(totals),
            "merge_seconds": statistics.median(merge_seconds) if merge_seconds else 0.0,
            "components": counts.get("components", 0), "merged": counts.get("merged", 0),
            "digits": len(result.regions), "shape": list(image.shape)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="segment() speed on noisy, photo and page images")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", help="run only the cases whose name contains this text")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    results = {}
    print("| image | segment() median | of which merging | components | after merging | digits |")
    print("|---|---|---|---|---|---|")
    for name, make in CASES.items():
        if args.only and args.only not in name:
            continue
        r = measure(make(), args.repeats)
        results[name] = r
        print(f"| {name} | {r['seconds'] * 1000:.0f} ms | {r['merge_seconds'] * 1000:.0f} ms | {r['components']:,} | "
              f"{r['merged']:,} | {r['digits']:,} |", flush=True)
    if args.json:
        from benchmarks.suite import write_json

        write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
