"""Load: many recognitions in one process; memory must stay flat and latency must not drift.

    python -m benchmarks.bench_load [--images 10000] [--minutes 10] [--quick] [--json PATH]

(a) canvas: ``--images`` 400x400 canvases (a pool of 300 distinct synthetic ones, drawn and
    hand-lettered numbers of 1-4 digits, generated before timing and never changed) through
    ``Recognizer.read`` of the bundled model, one after another. Readings are checked and dropped.
(b) webcam: ``--minutes`` of 30 fps video (18,000 frames for 10 minutes) from a 36 s 640x480 MJPG
    clip of phone-photo-style numbers written to a temporary folder, played looping by the app's
    ``VideoFileSource`` through its capture loop ``run_capture`` (unpaced: as fast as frames
    decode) into a ``LatestFrame``; every frame is then taken the way the Webcam tab does: converted
    for the preview (``array_to_qimage``) and read with ``timed_read``, the tab's reader function.
    Every frame is read (the tab skips frames while its reader is busy; here none are skipped).
    Latency is ``rec.read`` as timed by ``timed_read``; CPU time per frame also covers decoding and
    the preview conversion.

Memory: VmRSS (current) and VmHWM (peak) of this process from /proc/self/status, after warm-up
and at the end, plus RSS every chunk. The peak is reset (``/proc/self/clear_refs``) before each
part when the kernel allows it, so each part's peak is its own. Latency: median and p90 of the
first and last chunk (1,000 calls; one minute of video), and the slope of a straight line through
the chunk medians. Also the process CPU time (all threads) per call in each chunk and its slope,
which other processes competing for the cores hardly disturb: a real drift shows there too.
Timings are noisy on a busy machine; the memory figures are what matter.
``run()`` returns the figures as a dict for the benchmark suite.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

POOL = 300  # distinct canvases
CANVAS = (400, 400)
FPS = 30.0
CLIP_SAMPLES, CLIP_SEGMENT = 24, 45  # 24 numbers x 1.5 s = a 36 s clip
FRAME = (640, 480)


# ---------------------------------------------------------------- measurements


def memory_mb() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MiB."""
    values = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, kb = line.split()[:2]
                values[key[:-1]] = int(kb) / 1024
    return values.get("VmRSS", float("nan")), values.get("VmHWM", float("nan"))


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False if not possible here."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _pct(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


def _slope(ys: list[float]) -> float:
    """Slope of the least-squares line through ys at x = 0, 1, 2, ... (nan for fewer than 2)."""
    if len(ys) < 2:
        return float("nan")
    return float(np.polyfit(np.arange(len(ys), dtype=np.float64), np.asarray(ys, np.float64), 1)[0])


def _summarise(lat_ms: np.ndarray, chunk: int, rss_chunks: list[float], cpu_chunks: list[float]) -> dict:
    """Latency figures of per-call latencies in ms, in chunks of ``chunk`` calls; ``cpu_chunks``
    is the process CPU time per call (all threads) of each chunk, in ms."""
    n = len(lat_ms)
    chunks = [lat_ms[i: i + chunk] for i in range(0, n - chunk + 1, chunk)] or [lat_ms]
    medians = [float(np.median(c)) for c in chunks]
    first, last = lat_ms[:chunk], lat_ms[-chunk:]
    return {
        "chunk": chunk,
        "first_median_ms": float(np.median(first)), "first_p90_ms": _pct(first, 90),
        "last_median_ms": float(np.median(last)), "last_p90_ms": _pct(last, 90),
        "chunk_medians_ms": [round(m, 3) for m in medians],
        "slope_ms_per_chunk": _slope(medians),
        # CPU time is little affected by other processes competing for the cores: a drift shows here too
        "cpu_chunks_ms": [round(c, 3) for c in cpu_chunks],
        "cpu_slope_ms_per_chunk": _slope(cpu_chunks),
        "rss_chunks_mb": [round(r, 1) for r in rss_chunks],
        # RSS trend after the first chunk (allocator pools fill during the first one)
        "rss_slope_mb_per_chunk": _slope(rss_chunks[1:]) if len(rss_chunks) > 2 else _slope(rss_chunks),
    }


def _load_recognizer():
    """The bundled model, loaded the way the app does."""
    from digitdesk.gui.workers.recognition import load_recognizer

    return load_recognizer()


# ---------------------------------------------------------------- (a) canvases


def canvas_pool(count: int = POOL, seed: int = 11) -> list[tuple[np.ndarray, str]]:
    """``count`` distinct 400x400 canvases with the number each shows."""
    from digitdesk.core import synth

    rng = np.random.default_rng(seed)
    pool = []
    for i in range(count):
        text = "".join(str(d) for d in rng.integers(0, 10, int(rng.integers(1, 5))))
        sample = synth.make_number_sample(text, "drawn" if i % 3 else "hands", rng, canvas=CANVAS)
        img = sample.image
        img.setflags(write=False)  # the pool is never changed
        pool.append((img, sample.text))
    return pool


def bench_canvas(rec, images: int, pool: list[tuple[np.ndarray, str]], warmup: int = 100) -> dict:
    chunk = 1000 if images >= 5000 else max(1, images // 10)
    for i in range(warmup):
        rec.read(pool[i % len(pool)][0])
    gc.collect()
    peak_reset = reset_peak()
    rss0, peak0 = memory_mb()
    objects0 = len(gc.get_objects())
    lat = np.empty(images, np.float64)
    correct = np.zeros(images, np.bool_)
    rss_chunks: list[float] = []
    cpu_chunks: list[float] = []
    perf = time.perf_counter
    t_start = perf()
    cpu = time.process_time()
    for i in range(images):
        img, text = pool[(i * 7) % len(pool)]  # stride 7: neighbours differ in size and content
        t0 = perf()
        reading = rec.read(img)
        lat[i] = perf() - t0
        correct[i] = reading.text == text
        del reading
        if (i + 1) % chunk == 0:
            rss_chunks.append(memory_mb()[0])
            cpu, cpu_before = time.process_time(), cpu
            cpu_chunks.append((cpu - cpu_before) * 1000 / chunk)
    wall = perf() - t_start
    rss1, peak1 = memory_mb()
    gc.collect()
    objects1 = len(gc.get_objects())
    lat_ms = lat * 1000
    out = {
        "n": images, "pool": len(pool), "warmup": warmup, "seconds": wall, "per_second": images / wall,
        "rss_start_mb": rss0, "rss_end_mb": rss1, "peak_start_mb": peak0, "peak_end_mb": peak1,
        "peak_reset": peak_reset, "py_objects_start": objects0, "py_objects_end": objects1,
        "accuracy": float(correct.mean()),
        "accuracy_first": float(correct[:chunk].mean()), "accuracy_last": float(correct[-chunk:].mean()),
    }
    out.update(_summarise(lat_ms, chunk, rss_chunks, cpu_chunks))
    out["slope_ms_per_1000"] = out["slope_ms_per_chunk"] * 1000 / chunk
    out["cpu_slope_ms_per_1000"] = out["cpu_slope_ms_per_chunk"] * 1000 / chunk
    out["rss_slope_mb_per_1000"] = out["rss_slope_mb_per_chunk"] * 1000 / chunk
    return out


# ---------------------------------------------------------------- (b) webcam frames from a video file


def write_clip(path: Path, samples: int = CLIP_SAMPLES, segment: int = CLIP_SEGMENT, seed: int = 5) -> list[str]:
    """An MJPG .avi at 30 fps: ``samples`` phone-photo-style numbers, ``segment`` frames each, with a
    hand-held drift and sensor noise. Returns the number shown in each segment."""
    import cv2

    from digitdesk.core import synth

    w, h = FRAME
    rng = np.random.default_rng(seed)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (w, h))
    if not writer.isOpened():
        raise OSError(f"cannot write {path}")
    texts = []
    try:
        for s in range(samples):
            text = "".join(str(d) for d in rng.integers(0, 10, int(rng.integers(2, 6))))
            image = synth.make_number_sample(text, "photo", rng, canvas=(h, w)).image
            if image.ndim == 2:
                image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
            texts.append(text)
            for i in range(segment):
                k = s * segment + i
                m = cv2.getRotationMatrix2D((w / 2, h / 2), 1.2 * np.sin(k / 15), 1.0 + 0.015 * np.sin(k / 23))
                m[0, 2] += 6 * np.sin(k / 9)
                m[1, 2] += 4 * np.cos(k / 13)
                frame = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
                frame = np.clip(frame + rng.normal(0, 3, frame.shape), 0, 255).astype(np.uint8)
                writer.write(frame)
    finally:
        writer.release()
    return texts


class _Pipeline:
    """What the Webcam tab does with each frame it takes, minus the painting: convert it for the
    preview and read it on the reader (here synchronously, so no frame is skipped)."""

    def __init__(self, rec, frames: int, warmup: int, texts: list[str], segment: int, chunk: int):
        from digitdesk.core.frames import LatestFrame
        from digitdesk.gui.widgets.qimage import array_to_qimage
        from digitdesk.gui.workers.recognition import timed_read

        self.rec, self.frames, self.warmup, self.texts, self.segment, self.chunk = rec, frames, warmup, texts, segment, chunk
        self.buffer = self._make_buffer(LatestFrame)
        self.to_qimage, self.timed_read = array_to_qimage, timed_read
        self.seen = 0
        self.count = -warmup  # frames processed; negative while warming up
        self.read_ms = np.empty(frames, np.float64)  # rec.read as timed by timed_read
        self.frame_ms = np.empty(frames, np.float64)  # decode + preview conversion + read, per frame
        self.correct = np.zeros(frames, np.bool_)
        self.rss_chunks: list[float] = []
        self.cpu_chunks: list[float] = []  # process CPU ms per frame, per chunk
        self._cpu = time.process_time()
        self.start: dict = {}
        self._last = time.perf_counter()

    def _make_buffer(self, base):
        pipeline = self

        class Buffer(base):
            def put(self, frame):
                super().put(frame)
                pipeline.on_frame()

        return Buffer()

    def should_stop(self) -> bool:
        return self.count >= self.frames

    def on_frame(self) -> None:
        got = self.buffer.take(self.seen)
        if got is None:
            return
        self.seen, frame = got
        self.to_qimage(frame)  # the preview image (built and dropped; nothing paints offscreen here)
        reading, seconds = self.timed_read(self.rec, frame)
        now = time.perf_counter()
        i = self.count
        if i >= 0:
            self.read_ms[i] = seconds * 1000
            self.frame_ms[i] = (now - self._last) * 1000
            shown = (self.seen - 1) % (len(self.texts) * self.segment) // self.segment
            self.correct[i] = reading.text.replace("\n", "") == self.texts[shown]
            if (i + 1) % self.chunk == 0:
                self.rss_chunks.append(memory_mb()[0])
                self._cpu, before = time.process_time(), self._cpu
                self.cpu_chunks.append((self._cpu - before) * 1000 / self.chunk)
        del reading
        self.count += 1
        if self.count == 0:  # warm-up done: the measured run starts now
            gc.collect()
            peak_reset = reset_peak()
            rss, peak = memory_mb()
            self.start = {"rss_start_mb": rss, "peak_start_mb": peak, "peak_reset": peak_reset,
                          "py_objects_start": len(gc.get_objects()), "t": time.perf_counter()}
            self._cpu = time.process_time()
            now = time.perf_counter()
        self._last = now


def bench_webcam(rec, minutes: float, clip_dir: Path, warmup: int = 60) -> dict:
    from digitdesk.core.frames import VideoFileSource, run_capture

    frames = max(1, int(round(minutes * 60 * FPS)))
    chunk = int(60 * FPS) if minutes >= 2 else max(1, frames // 10)  # a minute of video, or a tenth
    clip = clip_dir / "webcam_load.avi"
    t = time.perf_counter()
    texts = write_clip(clip)
    clip_seconds = time.perf_counter() - t
    source = VideoFileSource(clip, loop=True)
    source.open()
    pipeline = _Pipeline(rec, frames, warmup, texts, CLIP_SEGMENT, chunk)
    try:
        outcome = run_capture(source, pipeline.buffer, pipeline.should_stop, pace=False)
    finally:
        source.close()
    wall = time.perf_counter() - pipeline.start["t"]
    rss1, peak1 = memory_mb()
    gc.collect()
    n = min(pipeline.count, frames)
    out = {
        "n": n, "video_seconds": n / FPS, "clip_seconds": len(texts) * CLIP_SEGMENT / FPS,
        "clip_frames": len(texts) * CLIP_SEGMENT, "clip_size": f"{FRAME[0]}x{FRAME[1]}", "clip_write_s": clip_seconds,
        "loops": n / (len(texts) * CLIP_SEGMENT), "outcome": outcome, "warmup": warmup,
        "seconds": wall, "fps": n / wall,
        "rss_start_mb": pipeline.start["rss_start_mb"], "rss_end_mb": rss1,
        "peak_start_mb": pipeline.start["peak_start_mb"], "peak_end_mb": peak1,
        "peak_reset": pipeline.start["peak_reset"],
        "py_objects_start": pipeline.start["py_objects_start"], "py_objects_end": len(gc.get_objects()),
        "accuracy": float(pipeline.correct[:n].mean()),
        "accuracy_first": float(pipeline.correct[:chunk].mean()),
        "accuracy_last": float(pipeline.correct[n - chunk:n].mean()),
        "frame_median_ms": float(np.median(pipeline.frame_ms[:n])),
    }
    out.update(_summarise(pipeline.read_ms[:n], chunk, pipeline.rss_chunks, pipeline.cpu_chunks))
    per_minute = 60 * FPS / chunk
    out["slope_ms_per_minute"] = out["slope_ms_per_chunk"] * per_minute
    out["cpu_slope_ms_per_minute"] = out["cpu_slope_ms_per_chunk"] * per_minute
    out["rss_slope_mb_per_minute"] = out["rss_slope_mb_per_chunk"] * per_minute
    return out


# ---------------------------------------------------------------- entry points


def run(images: int = 10000, minutes: float = 10.0, quick: bool = False,
        parts: tuple[str, ...] = ("canvas", "webcam")) -> dict:
    """Run the load test; returns ``{"canvas": {...}, "webcam": {...}, "load_average": ..., ...}``."""
    if quick:
        images, minutes = min(images, 1000), min(minutes, 1.0)
    t0 = time.perf_counter()
    rss_import, _ = memory_mb()
    rec = _load_recognizer()
    rss_model, _ = memory_mb()
    result: dict = {"model": rec.name, "load_average_start": os.getloadavg(), "cpus": os.cpu_count(),
                    "rss_before_model_mb": rss_import, "rss_after_model_mb": rss_model}
    if "canvas" in parts and images > 0:
        pool = canvas_pool()
        result["canvas"] = bench_canvas(rec, images, pool)
        del pool
        gc.collect()
    if "webcam" in parts and minutes > 0:
        with tempfile.TemporaryDirectory(prefix="digitdesk-load-") as tmp:
            result["webcam"] = bench_webcam(rec, minutes, Path(tmp))
    result["load_average_end"] = os.getloadavg()
    result["total_seconds"] = time.perf_counter() - t0
    return result


def _fmt_load(la) -> str:
    return " ".join(f"{v:.2f}" for v in la)


def report(r: dict) -> str:
    """The figures of :func:`run` as text: a heading and one markdown table, a column per part."""
    lines = [f"model: {r['model']}; {r['cpus']} CPUs; load average (1/5/15 min) at start "
             f"{_fmt_load(r['load_average_start'])}, at end {_fmt_load(r['load_average_end'])}; "
             f"total {r['total_seconds']:.0f} s",
             f"RSS before loading the model {r['rss_before_model_mb']:.0f} MiB, "
             f"after {r['rss_after_model_mb']:.0f} MiB", ""]
    c, w = r.get("canvas"), r.get("webcam")
    # (heading, figures, unit of drift, key suffix of the drift figures, what a chunk is)
    cols = []
    if c:
        cols.append(("(a) canvas 400x400", c, "1000 calls", "1000", f"{c['chunk']:,} calls"))
    if w:
        cols.append((f"(b) webcam {w['clip_size']} video", w, "minute of video", "minute", f"{w['chunk']:,} frames"))
    if not cols:
        return "\n".join(lines)
    lines.append("| measurement | " + " | ".join(col[0] for col in cols) + " |")
    lines.append("|---|" + "---|" * len(cols))

    def row(name, fn):
        lines.append(f"| {name} | " + " | ".join(fn(*col[1:]) for col in cols) + " |")

    def what(f, *_):
        if "video_seconds" in f:
            return (f"{f['n']:,} ({round(f['video_seconds'] / 60, 2):g} min at 30 fps, "
                    f"{f['clip_seconds']:.0f} s clip x {f['loops']:.1f})")
        return f"{f['n']:,} (pool of {f['pool']})"

    def arrow(f, start, end):
        return f"{f[start]:.1f} -> {f[end]:.1f} MiB ({f[end] - f[start]:+.1f})"

    row("recognitions", what)
    row("wall time, rate", lambda f, *_: f"{f['seconds']:.0f} s, {f.get('fps', f.get('per_second')):.0f}/s")
    row("RSS after warm-up -> end", lambda f, *_: arrow(f, "rss_start_mb", "rss_end_mb"))
    row("peak RSS after warm-up -> end", lambda f, *_: arrow(f, "peak_start_mb", "peak_end_mb")
        + ("" if f["peak_reset"] else " (peak not reset)"))
    row("RSS trend after the first chunk", lambda f, unit, key, _: f"{f[f'rss_slope_mb_per_{key}']:+.2f} MiB per {unit}")
    row("RSS per chunk (MiB)", lambda f, *_: " ".join(f"{v:.0f}" for v in f["rss_chunks_mb"]))
    row("Python objects after warm-up -> end", lambda f, *_: f"{f['py_objects_start']:,} -> {f['py_objects_end']:,}")
    row("read latency, first chunk: median / p90",
        lambda f, unit, key, chunk: f"{f['first_median_ms']:.2f} / {f['first_p90_ms']:.2f} ms ({chunk})")
    row("read latency, last chunk: median / p90", lambda f, *_: f"{f['last_median_ms']:.2f} / {f['last_p90_ms']:.2f} ms")
    row("latency drift (fit over chunk medians)", lambda f, unit, key, _: f"{f[f'slope_ms_per_{key}']:+.3f} ms per {unit}")
    row("chunk medians (ms)", lambda f, *_: " ".join(f"{v:.1f}" for v in f["chunk_medians_ms"]))
    row("CPU time per call, all threads: drift",
        lambda f, unit, key, _: f"{f[f'cpu_slope_ms_per_{key}']:+.3f} ms per {unit}")
    row("CPU time per call per chunk (ms)", lambda f, *_: " ".join(f"{v:.1f}" for v in f["cpu_chunks_ms"]))
    row("read correctly: all / first / last chunk",
        lambda f, *_: f"{f['accuracy']:.1%} / {f['accuracy_first']:.1%} / {f['accuracy_last']:.1%}")
    if w:
        lines.append(f"\n(b) per frame incl. decoding and the preview conversion: median {w['frame_median_ms']:.2f} ms; "
                     f"capture loop ended: {w['outcome']}; clip written in {w['clip_write_s']:.0f} s (not timed)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_load", description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10000, help="canvases to read (default 10,000)")
    parser.add_argument("--minutes", type=float, default=10.0, help="minutes of 30 fps video to read (default 10)")
    parser.add_argument("--quick", action="store_true", help="1,000 canvases and 1 minute of video")
    parser.add_argument("--only", choices=["canvas", "webcam"])
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    given = " ".join(argv if argv is not None else sys.argv[1:])
    print(f"command: python -m benchmarks.bench_load {given}".rstrip(), flush=True)
    parts = (args.only,) if args.only else ("canvas", "webcam")
    result = run(args.images, args.minutes, args.quick, parts=parts)
    print(report(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
