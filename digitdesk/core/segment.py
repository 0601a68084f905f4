"""Finding the digits in a larger image (a canvas, a scan, a phone photo).

Steps: grayscale -> paper/ink polarity -> divide out uneven lighting -> threshold -> remove
ruled lines and page borders -> connected components -> merge the strokes of one digit ->
drop specks -> split touching digits -> reading order (lines top to bottom, left to right).
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from digitdesk.core.errors import raise_if_stopped
from digitdesk.core.preprocess import frame_ink, is_dark_on_light, stroke_width, to_gray

MIN_CONTRAST = 0.18  # weakest ink (relative to the paper) that still counts as writing
WORK_SIDE = 1024  # images are analysed at most this large (longer side); boxes are scaled back


@dataclass
class Region:
    """One digit found in an image: its box ``(x, y, w, h)`` in image pixels, its line number
    and its 28x28 MNIST-framed input."""

    box: tuple[int, int, int, int]
    line: int
    digit28: np.ndarray


@dataclass
class Segmentation:
    """Every digit found, in reading order, plus the intermediate images for a pipeline view."""

    regions: list[Region]
    stages: dict[str, np.ndarray] = field(default_factory=dict)


def ink_map(gray: np.ndarray, stroke: float | None = None, dark_ink: bool | None = None) -> np.ndarray:
    """Ink strength 0..1 relative to the local paper brightness, for dark or light ink.

    The paper is estimated by a closing wider than the strokes: about a quarter of the image
    without ``stroke``, three stroke widths with it (so broad shadows stay paper).
    """
    if dark_ink is None:
        dark_ink = ink_is_dark(gray)
    g8 = np.asarray(gray, np.uint8) if dark_ink else 255 - np.asarray(gray, np.uint8)
    h, w = g8.shape
    if stroke is None:
        f = max(1, int(max(h, w) / 128))
        k_full = max(h, w) / 8
    else:
        f = max(1, int(stroke / 1.5))  # strokes stay >= 1.5 px wide at the working scale
        k_full = 3 * stroke
    small = cv2.resize(g8, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA) if f > 1 else g8
    k = max(5, int(k_full / f) | 1)
    # uint8 morphology and box blur: several times faster than on float32
    paper = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    paper = cv2.blur(paper, (k, k))
    if f > 1:
        paper = cv2.resize(paper, (w, h), interpolation=cv2.INTER_LINEAR)
    g = g8.astype(np.float32)
    paper = np.maximum(paper.astype(np.float32), g)
    return np.clip((paper - g) / np.maximum(paper, 32.0), 0.0, 1.0)


def ink_is_dark(gray: np.ndarray) -> bool:
    """Whether the writing is darker than its paper. The image border is mostly paper, except
    when a bright sheet lies on a dark desk: then the most common level is bright paper and
    clearly more pixels are darker than it than lighter."""
    if is_dark_on_light(gray):
        return True
    step = max(1, int((gray.shape[0] * gray.shape[1] / 40_000) ** 0.5))
    sample = gray[::step, ::step].astype(np.int16)
    paper = int(np.median(sample))
    darker = float((sample < paper - 40).mean())
    lighter = float((sample > paper + 40).mean())
    return paper > 150 and darker >= 0.002 and darker >= 3 * lighter


def _threshold(ink: np.ndarray) -> np.ndarray:
    u8 = np.round(ink * 255).astype(np.uint8)
    if int(u8.max()) < MIN_CONTRAST * 255:
        return np.zeros_like(u8)
    otsu, _ = cv2.threshold(u8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    t = max(otsu, MIN_CONTRAST * 255 * 0.6)
    return (u8 > t).astype(np.uint8) * 255


def _remove_lines(binary: np.ndarray) -> np.ndarray:
    """Remove horizontal runs spanning most of the width (ruled lines, page edges) and
    vertical ones spanning most of the height near the left or right edge."""
    h, w = binary.shape
    out = binary
    if w >= 40:
        horiz = cv2.morphologyEx(binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (int(w * 0.75), 1)))
        if horiz.any():
            out = cv2.subtract(out, cv2.dilate(horiz, np.ones((3, 1), np.uint8)))
    if h >= 40:
        vert = cv2.morphologyEx(binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, int(h * 0.8))))
        if vert.any():
            edge = np.zeros_like(vert)
            margin = max(2, w // 8)
            edge[:, :margin], edge[:, w - margin :] = vert[:, :margin], vert[:, w - margin :]
            out = cv2.subtract(out, cv2.dilate(edge, np.ones((1, 3), np.uint8)))
    return out


@dataclass
class _Blob:
    x0: int
    y0: int
    x1: int
    y1: int
    labels: list[int]
    area: int

    @property
    def h(self) -> int:
        return self.y1 - self.y0

    @property
    def w(self) -> int:
        return self.x1 - self.x0

    def merged(self, o: "_Blob") -> "_Blob":
        return _Blob(min(self.x0, o.x0), min(self.y0, o.y0), max(self.x1, o.x1), max(self.y1, o.y1),
                     self.labels + o.labels, self.area + o.area)


def _drop_frames(blobs: list[_Blob], image_area: int) -> list[_Blob]:
    """Drop thin frames around other writing: the edge of a sheet or card against a darker
    desk or room, a box drawn around the digits. A large, sparse blob whose box holds others."""
    def is_frame(f: _Blob) -> bool:
        if f.w * f.h < 0.2 * image_area or f.area > 0.4 * f.w * f.h:
            return False
        return any(o is not f and f.x0 <= o.x0 and o.x1 <= f.x1 and f.y0 <= o.y0 and o.y1 <= f.y1
                   and o.h >= 0.1 * f.h for o in blobs)

    return [b for b in blobs if not is_frame(b)]


def _should_merge(a: _Blob, b: _Blob, typical_h: float) -> bool:
    """Strokes of one digit: stacked with horizontal overlap (a 5's flag, a 7's bar, a 4 in two
    strokes), close vertically, and together no taller than a digit."""
    overlap = min(a.x1, b.x1) - max(a.x0, b.x0)
    small = min(a, b, key=lambda blob: blob.h)
    is_fragment = small.h < 0.5 * typical_h
    if is_fragment:
        if overlap < -0.1 * typical_h:  # a detached flag or bar may sit just beside its body
            return False
    elif overlap < 0.5 * min(a.w, b.w):
        return False
    gap = max(a.y0, b.y0) - min(a.y1, b.y1)
    if gap > 0.3 * max(a.h, b.h, typical_h * 0.5):
        return False
    return max(a.y1, b.y1) - min(a.y0, b.y0) <= 1.5 * typical_h


def _typical_height(blobs: list[_Blob]) -> float:
    """Median height of the blobs at least half as tall as the tallest: the digits, not specks."""
    tallest = max(b.h for b in blobs)
    return float(np.median([b.h for b in blobs if b.h >= 0.5 * tallest]))


def _stop_check(should_stop: Callable[[], bool] | None) -> Callable[[], None]:
    """A function that raises :class:`~digitdesk.core.errors.Cancelled` once ``should_stop()`` is
    true (never, for None)."""
    return lambda: raise_if_stopped(should_stop, "segmentation")


def _merge_strokes(blobs: list[_Blob], should_stop: Callable[[], bool] | None = None) -> list[_Blob]:
    """Merge the strokes of each digit; the blobs left, largest area first.

    The rule: sort by area (largest first, ties kept in their current order), merge the first
    pair ``i < j`` that :func:`_should_merge`, repeat until no pair does. This finds the same
    merges in the same order without comparing every pair after each merge: a blob only merges
    with one lying within ``0.1 * typical_h`` sideways and ``1.5 * typical_h`` up or down (a grid
    of cells finds those); a blob found to merge with nothing can later merge only with a newly
    merged blob, which is checked first; the sort order is the key ``(-area, age)``. Areas must
    be positive. ``should_stop``: see :func:`segment`.
    """
    if not blobs:
        return blobs
    typical_h = _typical_height(blobs)
    reach_x, reach_y = 0.1 * typical_h, 1.5 * typical_h
    cell = max(1.0, reach_y)
    live: dict[int, _Blob] = {}  # id -> blob; the sort key is (-area, id)
    grid: dict[tuple[int, int], set[int]] = defaultdict(set)  # cell -> ids of blobs that may merge

    def cells(x0: float, y0: float, x1: float, y1: float) -> Iterator[tuple[int, int]]:
        for cx in range(int(x0 // cell), int(x1 // cell) + 1):
            for cy in range(int(y0 // cell), int(y1 // cell) + 1):
                yield cx, cy

    def add(i: int, b: _Blob) -> None:
        live[i] = b
        if b.h <= reach_y:  # a taller blob never merges
            for c in cells(b.x0, b.y0, b.x1, b.y1):
                grid[c].add(i)

    def remove(i: int) -> None:
        b = live.pop(i)
        if b.h <= reach_y:
            for c in cells(b.x0, b.y0, b.x1, b.y1):
                grid[c].discard(i)

    def first_partner(i: int) -> int | None:
        a = live[i]
        if a.h > reach_y:
            return None
        near = set()
        for c in cells(a.x0 - reach_x, a.y1 - reach_y, a.x1 + reach_x, a.y0 + reach_y):
            near.update(grid.get(c, ()))
        near.discard(i)
        found = [j for j in near if _should_merge(a, live[j], typical_h)]
        return min(found, key=lambda j: (-live[j].area, j)) if found else None

    for i, b in enumerate(blobs):
        add(i, b)
    waiting = [(-b.area, i) for i, b in enumerate(blobs)]  # not yet known to merge with nothing
    heapq.heapify(waiting)
    next_id = len(blobs)
    merged: int | None = None  # the blob just merged: it may merge again, first
    check = _stop_check(should_stop)
    while True:
        check()
        if merged is not None:
            i = merged
        else:
            while waiting and waiting[0][1] not in live:
                heapq.heappop(waiting)
            if not waiting:
                break
            i = heapq.heappop(waiting)[1]
        j = first_partner(i)
        if j is None:
            merged = None  # i merges with nothing now, nor later unless with a newly merged blob
            continue
        first, second = sorted((i, j), key=lambda k: (-live[k].area, k))
        m = live[first].merged(live[second])
        remove(first)
        remove(second)
        add(next_id, m)
        merged, next_id = next_id, next_id + 1
    return [live[i] for i in sorted(live, key=lambda k: (-live[k].area, k))]


def _split_wide(blob: _Blob, mask: np.ndarray) -> list[tuple[int, int]]:
    """Column ranges of touching digits inside a blob much wider than tall (``mask``: its pixels)."""
    if blob.w < 1.15 * blob.h:
        return [(blob.x0, blob.x1)]
    cols = mask.sum(axis=0).astype(float)
    parts = max(2, round(blob.w / (0.8 * blob.h)))
    cuts = []
    for k in range(1, parts):
        centre = int(blob.w * k / parts)
        lo, hi = max(1, centre - blob.h // 3), min(blob.w - 1, centre + blob.h // 3)
        if hi <= lo:
            continue
        c = lo + int(np.argmin(cols[lo:hi]))
        if cols[c] <= 0.35 * cols.mean():
            cuts.append(c)
    edges = [0, *sorted(set(cuts)), blob.w]
    return [(blob.x0 + a, blob.x0 + b) for a, b in zip(edges, edges[1:]) if b - a >= 2]


def _reading_order(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int]]:
    """(line, index) pairs: boxes grouped into lines by vertical overlap, lines top to bottom."""
    order = sorted(range(len(boxes)), key=lambda i: boxes[i][1] + boxes[i][3] / 2)
    lines: list[list[int]] = []
    spans: list[list[float]] = []
    for i in order:
        x, y, w, h = boxes[i]
        for line, span in zip(lines, spans):
            overlap = min(span[1], y + h) - max(span[0], y)
            if overlap >= 0.5 * min(h, span[1] - span[0]):
                line.append(i)
                span[0], span[1] = min(span[0], y), max(span[1], y + h)
                break
        else:
            lines.append([i])
            spans.append([y, y + h])
    result = []
    for n, line in enumerate(sorted(zip(spans, lines), key=lambda s: (s[0][0] + s[0][1]) / 2)):
        for i in sorted(line[1], key=lambda i: boxes[i][0]):
            result.append((n, i))
    return result


def _scale_box(box: tuple[int, int, int, int], scale: float, width: int, height: int) -> tuple[int, int, int, int]:
    """A box found at the working scale, in image pixels: its corners scaled back (not its size,
    whose rounding could push it past the image edge), and at least one pixel wide and high."""
    x, y, bw, bh = box
    x0, x1 = (min(width - 1, int(round(x / scale))), min(width, int(round((x + bw) / scale))))
    y0, y1 = (min(height - 1, int(round(y / scale))), min(height, int(round((y + bh) / scale))))
    return x0, y0, max(1, x1 - x0), max(1, y1 - y0)


def segment(image: np.ndarray, keep_stages: bool = False,
            should_stop: Callable[[], bool] | None = None) -> Segmentation:
    """Find every digit in ``image`` (grayscale or BGR, either polarity), in reading order.

    ``should_stop`` is called between the stages and inside the long loops (a thread-safe flag,
    e.g. a closing window's); once it returns True, :class:`~digitdesk.core.errors.Cancelled`
    is raised."""
    check = _stop_check(should_stop)
    check()
    gray = to_gray(image)
    h0, w0 = gray.shape[:2]
    scale = 1.0
    if max(h0, w0) > WORK_SIDE:
        scale = WORK_SIDE / max(h0, w0)
        gray = cv2.resize(gray, (max(1, round(w0 * scale)), max(1, round(h0 * scale))), interpolation=cv2.INTER_AREA)
    h, w = gray.shape
    stages: dict[str, np.ndarray] = {"gray": gray} if keep_stages else {}
    if h < 4 or w < 4:
        return Segmentation([], stages)
    min_area = max(4, int(h * w * 2e-5))
    check()
    dark_ink = ink_is_dark(gray)
    ink = ink_map(gray, dark_ink=dark_ink)
    binary = _threshold(ink)
    check()
    sw = stroke_width(binary)
    if sw is not None and 3 * sw < 0.6 * max(h, w) / 8:
        # Thin strokes: estimate the paper more locally, so shadows and lighting edges
        # are not mistaken for ink.
        ink = ink_map(gray, stroke=max(sw, 1.5), dark_ink=dark_ink)
        binary = _threshold(ink)
        check()
    binary = _remove_lines(binary)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    check()
    blobs = []
    for i in range(1, n):
        x, y, bw, bh, area = (int(v) for v in stats[i])
        if area < min_area:
            continue
        if (bw > 0.9 * w and bh > 0.9 * h) or (bw >= 0.6 * w and bh < bw / 12) or (bh >= 0.8 * h and bw < bh / 20 and (x < w // 8 or x + bw > w - w // 8)):
            continue  # page border or a ruled line
        blobs.append(_Blob(x, y, x + bw, y + bh, [i], area))
    blobs = _merge_strokes(_drop_frames(blobs, h * w), should_stop)
    if blobs:
        typical_h = _typical_height(blobs)
        blobs = [b for b in blobs if b.h >= 0.4 * typical_h and b.area >= 0.02 * typical_h ** 2]
    pieces = []  # (box, mask) per digit
    for b in blobs:
        check()
        mask = np.isin(labels[b.y0 : b.y1, b.x0 : b.x1], b.labels)
        for c0, c1 in _split_wide(b, mask):
            sub = mask[:, c0 - b.x0 : c1 - b.x0]
            rows = np.nonzero(sub.any(axis=1))[0]
            if len(rows) == 0:
                continue
            y0, y1 = b.y0 + int(rows[0]), b.y0 + int(rows[-1]) + 1
            pieces.append(((c0, y0, c1 - c0, y1 - y0), mask[y0 - b.y0 : y1 - b.y0, c0 - b.x0 : c1 - b.x0]))
    regions = []
    check()
    for line, i in _reading_order([p[0] for p in pieces]):
        check()
        (x, y, bw, bh), mask = pieces[i]
        soft = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        crop = np.where(soft, ink[y : y + bh, x : x + bw], 0.0)
        box = (x, y, bw, bh) if scale == 1.0 else _scale_box((x, y, bw, bh), scale, w0, h0)
        regions.append(Region(box, line, frame_ink(crop)))
    if keep_stages:
        stages["ink"] = np.round(ink * 255).astype(np.uint8)
        stages["binary"] = binary
        vis = cv2.cvtColor(255 - binary, cv2.COLOR_GRAY2BGR)
        for r in regions:
            x, y, bw, bh = (int(round(v * scale)) for v in r.box)
            cv2.rectangle(vis, (x, y), (x + bw - 1, y + bh - 1), (0, 160, 0), max(1, round(max(h, w) / 400)))
        stages["components"] = vis
    return Segmentation(regions, stages)
