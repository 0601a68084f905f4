"""``digitdesk explain IMAGE --out DIR``: "why this digit?" for each digit read in an image, as
PNGs (the input, a heatmap for the digit read and one for the runner-up, a sheet of the nearest
training digits of both) and ``summary.json``. TensorFlow is imported for the attributions only
after the image has been read (through LiteRT, as ``predict`` reads it)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from digitdesk.core.errors import DigitdeskError, ModelError

if TYPE_CHECKING:  # numpy, cv2 and the engine are imported by the command, not for --help
    import numpy as np

EXIT_SOME_FAILED = 2
TILE = 112  # a neighbour drawn 4x
LABEL_W = 150  # the sheet's left column: which digit the row is


def _write_png(path: Path, rgb: "np.ndarray") -> None:
    import cv2
    import numpy as np

    from digitdesk.core.modelio import atomic_write_bytes, describe_os_error

    ok, data = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]) if rgb.ndim == 3 else rgb)
    if not ok:
        raise DigitdeskError(f"{path}: cannot encode the PNG")
    try:
        atomic_write_bytes(path, data.tobytes())
    except OSError as exc:
        raise DigitdeskError(f"{path}: cannot write: {describe_os_error(exc)}") from None


def _enlarged(input28: "np.ndarray") -> "np.ndarray":
    """The 28x28 input at 280x280, its pixels kept square."""
    import cv2
    import numpy as np

    return cv2.resize(np.asarray(input28, np.uint8), (280, 280), interpolation=cv2.INTER_NEAREST)


def neighbour_sheet(rows: "list[tuple[str, list, np.ndarray]]") -> "np.ndarray":
    """An RGB sheet, one row per (title, neighbours, their 28x28 images): the digits 4x with
    their training-set number and cosine similarity under each."""
    import cv2
    import numpy as np

    cap = 26
    width = LABEL_W + 5 * (TILE + 8) + 8
    sheet = np.full((len(rows) * (TILE + cap + 16) + 8, width, 3), 246, np.uint8)
    for r, (title, found, images) in enumerate(rows):
        y = 8 + r * (TILE + cap + 16)
        for i, line in enumerate(title.split("\n")):
            cv2.putText(sheet, line, (10, y + 40 + 26 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.62, (40, 40, 40), 1, cv2.LINE_AA)
        for c, (n, img) in enumerate(zip(found, images)):
            x = LABEL_W + c * (TILE + 8)
            big = cv2.resize(np.asarray(img, np.uint8), (TILE, TILE), interpolation=cv2.INTER_NEAREST)
            sheet[y : y + TILE, x : x + TILE] = big[..., None]
            cv2.putText(sheet, f"#{n.index}  {n.similarity:.2f}", (x + 2, y + TILE + 18), cv2.FONT_HERSHEY_SIMPLEX,
                        0.45, (70, 70, 70), 1, cv2.LINE_AA)
    return sheet


class IndexProgress:
    """``building the index of training digits: 12,000 / 60,000`` on stderr (one line on a terminal)."""

    def __init__(self, what: str, stream=sys.stderr):
        self.what, self.stream, self.last = what, stream, 0.0
        self.tty = stream.isatty()

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if done not in (0, total) and now - self.last < (0.1 if self.tty else 5.0):
            return
        self.last = now
        line = f"building the index of {self.what}: {done:,} / {total:,}"
        self.stream.write(("\r\x1b[K" + line + ("\n" if done == total else "")) if self.tty else line + "\n")
        self.stream.flush()


def _digits_to_explain(reading, digit: int | None, image: str) -> list[int]:
    n = len(reading.digits)
    if n == 0:
        raise DigitdeskError(f"{image}: no digits found, so there is nothing to explain")
    if digit is None:
        return list(range(n))
    if not 1 <= digit <= n:
        raise DigitdeskError(f"--digit {digit}: {image} has {n} digit{'s' if n != 1 else ''} (numbered 1 to {n})")
    return [digit - 1]


def cmd_explain(args: argparse.Namespace) -> int:
    from digitdesk.core.explain import explainer_for, percent
    from digitdesk.core.imageio import read_image
    from digitdesk.core.neighbours import build_index, neighbours_of, training_digits
    from digitdesk.core.recognizer import Recognizer

    image = read_image(args.image)
    rec = Recognizer.load(args.model)
    reading = rec.read(image)
    chosen = _digits_to_explain(reading, args.digit, args.image)
    if rec.path is None or not rec.trainable:
        raise ModelError(f"{rec.path}: a LiteRT (.tflite) model reads digits but cannot explain them; "
                         "use the .keras model it was made from")
    explainer = explainer_for(rec.path, rec.model if rec.runtime == "keras" else None)
    out = Path(args.out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    entries, explanations = [], {}
    for i in chosen:
        d = reading.digits[i]
        e = explainer.explain(d.input28, (d.top[0][0], d.top[1][0]))
        explanations[i] = e
        why, why_not = e.heatmaps()
        stem = f"digit-{i + 1}"
        files = {"input": f"{stem}-input.png", "why": f"{stem}-why-{e.top.digit}.png",
                 "why_not": f"{stem}-why-not-{e.runner_up.digit}.png"}
        _write_png(out / files["input"], _enlarged(d.input28))
        _write_png(out / files["why"], why)
        _write_png(out / files["why_not"], why_not)
        entries.append({"number": i + 1, "digit": d.digit, "confidence": round(d.confidence, 6),
                        "read_top": [[k, round(p, 6)] for k, p in d.top], "box": [int(v) for v in d.box],
                        "top": e.top.to_dict(), "runner_up": e.runner_up.to_dict(),
                        "probabilities": [round(float(p), 6) for p in e.probabilities],
                        "files": files, "timings_ms": {"heatmaps": round(e.seconds * 1e3, 2)}})
        print(f"digit {i + 1}: {d.digit} ({percent(d.confidence)}), runner-up {e.runner_up.digit} "
              f"({percent(e.runner_up.probability)}): {files['why']}, {files['why_not']}")
    summary = {"image": str(args.image), "model": str(rec.path), "text": reading.text,
               "method": "integrated gradients from a blank input on the 28x28 input read "
                         f"({explainer.steps} points per digit), TensorFlow GradientTape on the .keras model",
               "digits": entries}
    status = _add_neighbours(summary, entries, explanations, reading, explainer, out, args.index_limit,
                             build_index, neighbours_of, training_digits)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"wrote {len(entries)} explanation{'s' if len(entries) != 1 else ''} and summary.json to {out}")
    return status


def _add_neighbours(summary, entries, explanations, reading, explainer, out: Path, limit: int | None,
                    build_index: Callable, neighbours_of: Callable, training_digits: Callable) -> int:
    """The nearest training digits of each explained digit, in ``summary`` and as sheets; a
    model without a penultimate layer keeps its heatmaps and says why there are none (status 2)."""
    from digitdesk.core.explain import percent

    try:
        explainer.embedding_model()
    except ModelError as exc:
        print(f"digitdesk: no nearest training digits: {exc}", file=sys.stderr)
        summary["neighbours_error"] = str(exc)
        return EXIT_SOME_FAILED
    split = training_digits(limit)
    index = build_index(explainer, split.images, split.labels,
                        on_progress=IndexProgress(f"{len(split):,} training digits (once per model)"))
    how = "read from" if index.from_cache else "built and kept in"
    print(f"index of {len(index):,} training digits {how} {index.path} in {index.seconds:.1f} s", file=sys.stderr)
    summary["index"] = {"digits": len(index), "from_cache": index.from_cache, "seconds": round(index.seconds, 3),
                        "path": str(index.path)}
    for entry in entries:
        i = entry["number"] - 1
        e = explanations[i]
        t0 = time.perf_counter()
        found = neighbours_of(explainer, index, reading.digits[i].input28, (e.top.digit, e.runner_up.digit))
        entry["timings_ms"]["neighbours"] = round((time.perf_counter() - t0) * 1e3, 2)
        entry["neighbours"] = {str(k): [n.to_dict() for n in v] for k, v in found.items()}
        rows = [(f"read as {e.top.digit}\n{percent(e.top.probability)}", found[e.top.digit]),
                (f"runner-up {e.runner_up.digit}\n{percent(e.runner_up.probability)}", found[e.runner_up.digit])]
        sheet = neighbour_sheet([(t, f, index.images[[n.index for n in f]]) for t, f in rows])
        entry["files"]["neighbours"] = f"digit-{i + 1}-neighbours.png"
        _write_png(out / entry["files"]["neighbours"], sheet)
    return 0


def add_explain_parser(sub, existing_file: Callable[[str], str], output_folder: Callable[[str], str],
                       whole_number: Callable[[int], Callable[[str], int]]) -> None:
    """The ``explain`` command, on the ``digitdesk`` sub-parsers ``sub``."""
    p = sub.add_parser("explain", help="why each digit in an image was read as it was: heatmaps and the "
                                       "nearest training digits, as PNGs and summary.json")
    p.add_argument("image", metavar="IMAGE", type=existing_file)
    p.add_argument("--out", required=True, metavar="DIR", type=output_folder, help="folder for the PNGs and summary.json")
    p.add_argument("--model", type=existing_file, help="the .keras model (default: the bundled model)")
    p.add_argument("--digit", type=whole_number(1), metavar="K", help="explain only the K-th digit read (1 = the first)")
    p.add_argument("--index-limit", type=whole_number(10), metavar="N",
                   help="look for the nearest digits among the first N training digits only (default: all 60,000)")
    p.set_defaults(func=cmd_explain)
