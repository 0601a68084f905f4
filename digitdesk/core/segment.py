"""Finding the digits in a larger image (a canvas, a scan, a phone photo).

Steps: grayscale -> the writing surface (a sheet against its surround, flattened:
:mod:`digitdesk.core.surface`) -> paper/ink polarity on that surface -> divide out uneven
lighting -> threshold with hysteresis (faint parts of a stroke count when they join a clear
part) -> remove printed structure: rules, grids, boxes (:mod:`digitdesk.core.structure`) ->
connected components -> merge the strokes of one digit -> drop specks -> split touching digits
-> reading order (lines top to bottom, left to right).
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from digitdesk.core.errors import raise_if_stopped
from digitdesk.core.preprocess import frame_ink, is_dark_on_light, sample_step, stroke_width, to_gray
from digitdesk.core.structure import fill_outlined, long_lines, remove_structure, rule_angle, writing_height
from digitdesk.core.surface import Surface, find_surface

MIN_CONTRAST = 0.18  # weakest ink (relative to the paper) that still counts as writing
WORK_SIDE = 1024  # images are analysed at most this large (longer side); boxes are scaled back
NOISY = 8.0  # grey levels of pixel noise above which an image is smoothed before reading
MIN_DIGIT_PX = 7  # a mark shorter than this (at the working scale) is a speck, not a digit


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
    surface: np.ndarray | None = None  # outline (N x 2, image pixels) of the sheet read, if one was found


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
    step = sample_step(gray.shape[0] * gray.shape[1])
    sample = gray[::step, ::step].astype(np.int16)
    paper = int(np.median(sample))
    darker = float((sample < paper - 40).mean())
    lighter = float((sample > paper + 40).mean())
    return paper > 150 and darker >= 0.002 and darker >= 3 * lighter


NOISE_SIGMAS = 7.0  # clear ink stands this many noise deviations above the paper
WEAK = 0.7  # faint ink joined to clear ink counts down to this share of the clear level
SMOOTH_ABOVE = 7.0  # ink noise (grey levels) above which the ink is smoothed and faint parts recovered


def _ink_u8(ink: np.ndarray) -> np.ndarray:
    return np.round(ink * 255).astype(np.uint8)


def _paper_noise(u8: np.ndarray) -> tuple[float, float]:
    """The paper's ink level and its noise (a robust standard deviation), from ~40k pixels."""
    step = sample_step(u8.size)
    sample = u8[::step, ::step].astype(np.float32)
    paper = float(np.median(sample))
    return paper, 1.4826 * float(np.median(np.abs(sample - paper)))


def _denoised(gray: np.ndarray) -> np.ndarray:
    """``gray`` smoothed in proportion to its pixel noise (a dim webcam frame's sensor noise), or
    as it is when that noise is low: the noise is the spread of what a 3x3 median takes away."""
    step = sample_step(gray.size)
    sample = gray[::step, ::step]
    if min(sample.shape) < 8:
        return gray
    residual = sample.astype(np.int16) - cv2.medianBlur(sample, 3).astype(np.int16)
    sigma = 1.4826 * float(np.median(np.abs(residual))) * 1.5
    if sigma < NOISY:
        return gray
    return cv2.GaussianBlur(gray, (0, 0), min(2.5, sigma / 6))


def _components(binary: np.ndarray, min_area: int, join: bool = True,
                stroke: float | None = None) -> tuple[int, np.ndarray, np.ndarray]:
    """Connected components of ``binary`` (count, labels, stats as OpenCV gives them). Where the
    strokes threshold as chains of pieces (pencil on grainy paper, a skipping pen), pieces that
    close are one component, the labels covering ``binary``'s pixels only. Pieces are joined
    across gaps of two pixels, or of up to about a stroke width (``stroke``) when that still
    leaves 10-60% of the marks and does not run whole rows of digits together."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    marks = int((stats[1:, cv2.CC_STAT_AREA] >= min_area).sum())
    if not join or marks < 8:
        return n, labels, stats
    radii = sorted({2, max(2, int(round(0.8 * stroke)))} if stroke else {2}, reverse=True)
    for r in radii:
        nj, joined, jstats, _ = cv2.connectedComponentsWithStats(
            cv2.dilate(binary, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))), connectivity=8)
        joined_marks = jstats[1:][jstats[1:, cv2.CC_STAT_AREA] >= min_area]
        wide = np.median(joined_marks[:, cv2.CC_STAT_WIDTH] / np.maximum(joined_marks[:, cv2.CC_STAT_HEIGHT], 1)) > 2 \
            if len(joined_marks) else True
        if 0.1 * marks <= len(joined_marks) < 0.6 * marks and not wide \
                and (r == 2 or not _glues_digits(labels, stats, joined, binary, min_area)):
            break
    else:
        return n, labels, stats  # nothing to join, or joining runs whole rows of digits together
    joined[binary == 0] = 0
    jstats = jstats.copy()
    jstats[:, cv2.CC_STAT_AREA] = np.bincount(joined.ravel(), minlength=nj)
    h, w = binary.shape
    x0 = np.minimum(jstats[:, 0] + r, w - 1)
    y0 = np.minimum(jstats[:, 1] + r, h - 1)
    jstats[:, 2] = np.maximum(1, np.minimum(jstats[:, 0] + jstats[:, 2], w) - r - x0)
    jstats[:, 3] = np.maximum(1, np.minimum(jstats[:, 1] + jstats[:, 3], h) - r - y0)
    jstats[:, 0], jstats[:, 1] = x0, y0
    jstats[0, cv2.CC_STAT_AREA] = 0
    return nj, joined, jstats


def _glues_digits(labels: np.ndarray, stats: np.ndarray, joined: np.ndarray, binary: np.ndarray,
                  min_area: int) -> bool:
    """Whether joining put two marks side by side into one, each nearly as tall as the tallest
    and together wider than a digit: two whole digits, not the pieces of one."""
    owner = np.zeros(len(stats), np.int64)
    ink = binary > 0
    owner[labels[ink]] = joined[ink]
    by_joined: dict[int, list[int]] = defaultdict(list)
    for i in np.nonzero(stats[:, cv2.CC_STAT_AREA] >= min_area)[0][1:] if len(stats) > 1 else []:
        by_joined[int(owner[i])].append(int(i))
    for pieces in by_joined.values():
        top = max(stats[i, cv2.CC_STAT_HEIGHT] for i in pieces)
        tall = [i for i in pieces if stats[i, cv2.CC_STAT_HEIGHT] >= 0.6 * top]
        x0 = min(stats[i, 0] for i in tall)
        y0 = min(stats[i, 1] for i in tall)
        x1 = max(stats[i, 0] + stats[i, 2] for i in tall)
        y1 = max(stats[i, 1] + stats[i, 3] for i in tall)
        if x1 - x0 <= 0.9 * (y1 - y0):
            continue  # digit-shaped together: the halves of a broken 0, say
        for a, b in ((a, b) for k, a in enumerate(tall) for b in tall[k + 1:]):
            ax0, aw, bx0, bw = stats[a, 0], stats[a, 2], stats[b, 0], stats[b, 2]
            if min(ax0 + aw, bx0 + bw) - max(ax0, bx0) < 0.3 * min(aw, bw):
                return True
    return False


def _writing_marks(binary: np.ndarray, inside_only: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Which marks in ``binary`` are shaped like handwritten digits: away from the edge (unless
    not ``inside_only``), neither specks nor large, made of strokes rather than solid. A bool per
    component label (0 is the background) and the labels."""
    h, w = binary.shape
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    x, y, bw, bh, area = (stats[:, i] for i in range(5))
    inside = (x > 0) & (y > 0) & (x + bw < w) & (y + bh < h)
    sized = (bh >= max(MIN_DIGIT_PX, 0.02 * h)) & (bh <= 0.5 * h) & (bw <= 1.5 * bh) & (bw >= 0.1 * bh)
    fill = area / np.maximum(bw * bh, 1)
    marks = (inside | (not inside_only)) & sized & (fill >= 0.08) & (fill <= 0.6)
    marks[0] = False
    return marks, labels


def _writing_stroke(binary: np.ndarray) -> float | None:
    """The stroke width of the digit-shaped marks in ``binary`` (a dim frame's specks of noise,
    a hand's texture and rules left out), or of all its ink when none is digit-shaped. Measured
    as the widest opening that keeps half of the marks' ink: the ragged edges and pinholes of a
    noisy thick stroke make its centre-line distances small, but it survives an opening."""
    marks, labels = _writing_marks(binary, inside_only=False)  # a region may cut a digit
    if not marks.any():
        return stroke_width(binary)
    ink = marks[labels].astype(np.uint8)
    ys, xs = np.nonzero(ink)
    ink = ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    ink = cv2.copyMakeBorder(ink, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    half = 0.5 * float(ink.sum())
    for r in range(1, 64):
        disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        if float(cv2.morphologyEx(ink, cv2.MORPH_OPEN, disk).sum()) < half:
            return float(max(1.5, 2 * r - 1))
    return 127.0


def _looks_written_dark(gray: np.ndarray) -> bool:
    """Whether dark writing shows clearly better than light writing: for a frame whose edge is
    darker than the middle (a sheet held before a dim wall) where no sheet outline was found.
    Both readings are tried at a small size and their digit-shaped marks counted."""
    h, w = gray.shape
    f = min(1.0, 512 / max(h, w))
    small = cv2.resize(gray, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA) if f < 1 else gray
    dark = int(_writing_marks(_threshold(ink_map(small, dark_ink=True))[0])[0].sum())
    light = int(_writing_marks(_threshold(ink_map(small, dark_ink=False))[0])[0].sum())
    return dark >= 2 * light + 1


def _stroke_otsu(u8: np.ndarray, gate: float) -> float:
    """Otsu's level of the ink, leaving out broad dark areas that come in from the image's edge
    (a strip of desk, a hand's shadow): beside them faint writing would fall below the level
    that splits them from the paper. Writing, however thick, stays in."""
    h, w = u8.shape
    k = max(7, int(min(h, w) / 48)) | 1
    broad = cv2.morphologyEx((u8 > gate).astype(np.uint8), cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(broad, connectivity=8)
    x, y, bw, bh = (stats[:, i] for i in range(4))
    edge = (x == 0) | (y == 0) | (x + bw == w) | (y + bh == h)
    edge[0] = False
    if not edge.any():
        return float(cv2.threshold(u8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[0])
    step = max(1, sample_step(u8.size) // 2)  # four times the usual sample: the writing is a small part
    values = u8[::step, ::step][~edge[labels[::step, ::step]]]
    if values.size < 16:
        return float(cv2.threshold(u8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[0])
    return float(cv2.threshold(values.reshape(-1, 1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[0])


def _threshold(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The writing and the faint marks.

    The writing: ink above Otsu's level (at least a floor, and well above the paper's noise:
    grain, sensor noise, JPEG), plus fainter ink down to half that level where it joins it: a
    pencil stroke's light parts, a calligraphic pen's hairlines. The faint marks: anything
    clearly above the noise, where printed rules (often lighter than the writing) are looked
    for. On noisy paper, measured on the ink lightly smoothed (keeps strokes, flattens noise)."""
    u8 = _ink_u8(ink)
    if int(u8.max()) < MIN_CONTRAST * 255:
        return np.zeros_like(u8), np.zeros_like(u8)
    paper, noise = _paper_noise(u8)
    if noise >= SMOOTH_ABOVE:  # noisy paper: measure on the ink lightly smoothed (clean images stay crisp)
        u8 = _ink_u8(cv2.GaussianBlur(ink, (0, 0), 1.0))
        paper, noise = _paper_noise(u8)
    otsu = _stroke_otsu(u8, paper + NOISE_SIGMAS * noise)
    t = max(otsu, MIN_CONTRAST * 255 * 0.6, paper + NOISE_SIGMAS * noise)
    strong = u8 > t
    faint = (u8 > max(0.3 * t, paper + 0.5 * NOISE_SIGMAS * noise)).astype(np.uint8) * 255
    if noise < SMOOTH_ABOVE:  # a clean image (a canvas, a clean scan, most photos): no faint strokes to recover
        return strong.astype(np.uint8) * 255, faint
    weak = (u8 > max(WEAK * t, MIN_CONTRAST * 255 * 0.4, paper + 0.5 * NOISE_SIGMAS * noise)).astype(np.uint8)
    sw = stroke_width(strong.astype(np.uint8))
    if sw is not None:
        # Faint ink counts where it is no broader than the strokes: a soft shadow across the
        # writing is broad and stays out.
        k = int(2 * max(sw, 1.5)) | 1
        broad = cv2.morphologyEx(weak, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
        weak[(broad > 0) & ~strong] = 0
    n, labels = cv2.connectedComponents(weak, connectivity=8)
    if n <= 1:
        return strong.astype(np.uint8) * 255, faint
    keep = np.zeros(n, bool)
    keep[labels[strong]] = True
    keep[0] = False
    return keep[labels].astype(np.uint8) * 255, faint


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


def _drop_dashes(blobs: list[_Blob]) -> list[_Blob]:
    """Drop a line broken into dashes (a sheet's edge or a faint rule that thresholded in
    pieces): four or more thin marks, longer than wide, whose centres lie on one straight,
    nearly vertical (or horizontal) line within 2 px. Handwriting is never that straight."""
    drop: set[int] = set()
    for vertical in (True, False):
        def along(b: _Blob) -> float:
            return (b.y0 + b.y1) / 2 if vertical else (b.x0 + b.x1) / 2

        def across(b: _Blob) -> float:
            return (b.x0 + b.x1) / 2 if vertical else (b.y0 + b.y1) / 2

        thin = sorted((i for i, b in enumerate(blobs)
                       if min(b.w, b.h) <= 6 and (b.h if vertical else b.w) > 2 * (b.w if vertical else b.h)),
                      key=lambda i: across(blobs[i]))
        start = 0
        for end in range(1, len(thin) + 1):
            if end < len(thin) and across(blobs[thin[end]]) - across(blobs[thin[start]]) <= 12:
                continue
            group = thin[start:end]
            if len(group) >= 4:
                t = np.array([along(blobs[i]) for i in group])
                c = np.array([across(blobs[i]) for i in group])
                fit = np.polyfit(t, c, 1)
                if abs(fit[0]) <= 0.1 and float(np.abs(np.polyval(fit, t) - c).max()) <= 2:
                    drop.update(group)
            start = end
    return [b for i, b in enumerate(blobs) if i not in drop]


def _is_blot(b: _Blob) -> bool:
    """A solid mark much wider than tall: a shadow's edge, a smear, a bar; no digit looks so."""
    return b.area >= 0.7 * b.w * b.h and b.w >= 1.8 * b.h


def _drop_edge_slivers(blobs: list[_Blob], width: int, height: int) -> list[_Blob]:
    """Drop what touches the image's edge and is taller than the writing away from it: the
    edge of the sheet, the desk beyond it, a shadow. (Writing cut off by the edge is lost
    anyway; a digit that merely touches it is no taller than the others.)"""
    m = max(2, round(0.01 * max(width, height)))  # "at the edge": within 1% of it
    inner = [b for b in blobs if b.x0 > m and b.y0 > m and b.x1 < width - m and b.y1 < height - m]
    if not inner:  # marks at the edge only: keep those shaped like digits (a number cut by a region)
        return [b for b in blobs if min(b.w, b.h) > 4 and max(b.w, b.h) < 4 * min(b.w, b.h)]
    if len(inner) == len(blobs):
        return blobs
    limit = 1.6 * _typical_height(inner)
    return [b for b in blobs if b in inner or b.h <= limit]


def _typical_height(blobs: list[_Blob]) -> float:
    """Median height of the blobs at least half as tall as the tallest: the digits, not specks.
    With five blobs or more, "the tallest" is the 90th percentile: one tall stray mark (a
    sheet's edge, a shadow) does not make every digit look like a speck."""
    heights = [b.h for b in blobs]
    tallest = float(np.percentile(heights, 90)) if len(heights) >= 5 else max(heights)
    return float(np.median([h for h in heights if h >= 0.5 * tallest]))


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


def _bounding(corners: np.ndarray, width: int, height: int) -> tuple[int, int, int, int]:
    """The box ``(x, y, w, h)`` around ``corners`` (image pixels), clipped to the image."""
    x0 = int(np.clip(np.floor(corners[:, 0].min()), 0, width - 1))
    y0 = int(np.clip(np.floor(corners[:, 1].min()), 0, height - 1))
    x1 = int(np.clip(np.ceil(corners[:, 0].max()), x0 + 1, width))
    y1 = int(np.clip(np.ceil(corners[:, 1].max()), y0 + 1, height))
    return x0, y0, x1 - x0, y1 - y0


def segment(image: np.ndarray, keep_stages: bool = False,
            should_stop: Callable[[], bool] | None = None, dark_ink: bool | None = None) -> Segmentation:
    """Find every digit in ``image`` (grayscale or BGR, either polarity), in reading order.

    ``dark_ink``: the polarity, when the caller knows it and the image is a plain page (the Draw
    tab's canvas): no surface, printed lines or noise are looked for and the polarity is not
    guessed. ``should_stop`` is
    called between the stages and inside the long loops (a thread-safe flag, e.g. a closing
    window's); once it returns True, :class:`~digitdesk.core.errors.Cancelled` is raised.
    ``Segmentation.surface`` is the sheet found (outline in image pixels), if any."""
    check = _stop_check(should_stop)
    check()
    gray = to_gray(image)
    h0, w0 = gray.shape[:2]
    scale = 1.0
    if max(h0, w0) > WORK_SIDE:
        scale = WORK_SIDE / max(h0, w0)
        gray = cv2.resize(gray, (max(1, round(w0 * scale)), max(1, round(h0 * scale))), interpolation=cv2.INTER_AREA)
    stages: dict[str, np.ndarray] = {"gray": gray} if keep_stages else {}
    if min(gray.shape) < 4:
        return Segmentation([], stages)
    image_size = gray.shape[1], gray.shape[0]  # the working scale, before any flattening
    surface = find_surface(gray) if dark_ink is None and min(gray.shape) >= 32 else None
    if surface is not None:
        if keep_stages:
            stages["surface"] = _draw_outline(gray, surface)
        gray = surface.flatten(gray)
    plain = dark_ink is not None  # a canvas: no sheet, no print, no sensor noise
    if not plain:
        gray = _denoised(gray)
    h, w = gray.shape
    min_area = max(4, int(h * w * 2e-5))
    check()
    if dark_ink is None:
        dark_ink = ink_is_dark(gray) or _looks_written_dark(gray)
    ink = ink_map(gray, dark_ink=dark_ink)
    binary, faint = _threshold(ink)
    check()
    sw = stroke_width(binary) if plain else _writing_stroke(cv2.subtract(binary, long_lines(binary)))  # the writing's, not the rules'
    if sw is not None and 3 * sw < 0.6 * max(h, w) / 8:
        # Thin strokes: estimate the paper more locally, so shadows and lighting edges
        # are not mistaken for ink.
        ink = ink_map(gray, stroke=max(sw, 1.5), dark_ink=dark_ink)
        binary, faint = _threshold(ink)
        check()
    to_work = surface.matrix if surface is not None else np.eye(3)
    angle = None if plain else rule_angle(faint)
    if angle is not None and abs(angle) >= 0.7:  # turn the rules level: they are found as level runs
        turn = np.vstack([cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0), [0, 0, 1]])
        ink = cv2.warpAffine(ink, turn[:2], (w, h), flags=cv2.INTER_LINEAR)
        binary = cv2.warpAffine(binary, turn[:2], (w, h), flags=cv2.INTER_NEAREST)
        faint = cv2.warpAffine(faint, turn[:2], (w, h), flags=cv2.INTER_NEAREST)
        to_work = turn @ to_work
    thresholded = binary
    printed = np.zeros_like(binary)
    if not plain:
        # The writing's height, measured without the page-long lines (a margin with stubs of
        # rules looks like tall marks), sets how long a rule must be.
        digit_h = writing_height(cv2.subtract(binary, long_lines(cv2.bitwise_or(binary, faint))), spanning=False)
        binary, printed = remove_structure(binary, faint, _ink_u8(cv2.GaussianBlur(ink, (0, 0), 1.0)), digit_h)
    filled = binary if plain else fill_outlined(binary, writing_height(binary))
    if filled is not binary and binary.any():
        # The filled bodies get the writing's ink strength, out to the outline's inner edge.
        body = cv2.dilate((filled > binary).astype(np.uint8), np.ones((5, 5), np.uint8))
        ink = np.maximum(ink, body.astype(np.float32) * float(np.percentile(ink[binary > 0], 90)))
        binary = filled
    n, labels, stats = _components(binary, min_area, join=not plain, stroke=sw)
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
    blobs = _drop_dashes(_drop_edge_slivers(blobs, w, h))
    if blobs:
        typical_h = _typical_height(blobs)
        blobs = [b for b in blobs if b.h >= max(MIN_DIGIT_PX, 0.4 * typical_h) and b.area >= 0.02 * typical_h ** 2
                 and not _is_blot(b)]
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
        if not np.array_equal(to_work, np.eye(3)):
            corners = np.float32([[x, y], [x + bw, y], [x + bw, y + bh], [x, y + bh]])
            corners = cv2.perspectiveTransform(corners[None], np.linalg.inv(to_work))[0]
            box = _bounding(corners / scale, w0, h0)
        else:
            box = (x, y, bw, bh) if scale == 1.0 else _scale_box((x, y, bw, bh), scale, w0, h0)
        regions.append(Region(box, line, frame_ink(crop)))
    if keep_stages:
        stages["ink"] = np.round(ink * 255).astype(np.uint8)
        stages["binary"] = thresholded
        if printed.any():
            vis = cv2.cvtColor(255 - binary, cv2.COLOR_GRAY2BGR)
            vis[printed > 0] = (60, 60, 230)  # what was removed, in red
            stages["structure"] = vis
        vis = cv2.cvtColor(255 - binary, cv2.COLOR_GRAY2BGR)
        for (x, y, bw, bh), _mask in pieces:
            cv2.rectangle(vis, (x, y), (x + bw - 1, y + bh - 1), (0, 160, 0), max(1, round(max(h, w) / 400)))
        stages["components"] = vis
        if not np.array_equal(to_work, np.eye(3)):  # the stages view overlays boxes in image pixels
            back = np.linalg.inv(to_work)
            for key in ("ink", "binary", "structure", "components"):
                if key in stages:
                    stages[key] = cv2.warpPerspective(stages[key], back, image_size, flags=cv2.INTER_NEAREST,
                                                      borderValue=(0, 0, 0) if key in ("ink", "binary") else (255, 255, 255))
    outline = None if surface is None else (surface.outline / scale).astype(np.float32)
    return Segmentation(regions, stages, outline)


def _draw_outline(gray: np.ndarray, surface: Surface) -> np.ndarray:
    """The image with the surface's outline drawn in green (the stages view)."""
    vis = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    pts = np.round(surface.outline).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(vis, [pts], True, (0, 200, 0), max(2, round(max(gray.shape) / 300)), cv2.LINE_AA)
    return vis
