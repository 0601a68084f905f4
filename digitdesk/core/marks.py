"""From marks to digits: connected components (pieces of a broken or grainy stroke joined),
the strokes of one digit merged, frames, dashes, blots, slivers and strips of desk at the
edge dropped, touching digits split, and the reading order. Used by :mod:`digitdesk.core.segment`.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from digitdesk.core.errors import raise_if_stopped
from digitdesk.core.ink import MIN_DIGIT_PX
from digitdesk.core.labelling import components_with_stats

LINE_SPREAD = 0.05  # a straight line's ink spreads across it by under 5% of its spread along it


def components(binary: np.ndarray, min_area: int, join: bool = True,
                stroke: float | None = None) -> tuple[int, np.ndarray, np.ndarray]:
    """Connected components of ``binary`` (count, labels, stats as OpenCV gives them). Where the
    strokes threshold as chains of pieces (pencil on grainy paper, a skipping pen), pieces that
    close are one component, the labels covering ``binary``'s pixels only. Pieces are joined
    across the widest gap, of 0.8 stroke widths (``stroke``), 4 or 2 pixels, that still leaves
    10-60% of the marks and neither runs whole rows of digits together nor glues two digits. A
    handful of marks (under 8) all of a height are whole digits and are left as they are."""
    n, labels, stats = components_with_stats(binary, connectivity=8)
    sized = stats[1:][stats[1:, cv2.CC_STAT_AREA] >= min_area]
    marks = len(sized)
    if not join or marks < 2:
        return n, labels, stats
    if marks < 8 and sized[:, cv2.CC_STAT_HEIGHT].min() >= 0.6 * sized[:, cv2.CC_STAT_HEIGHT].max():
        return n, labels, stats  # a few marks all of a height: whole digits, no pieces to join
    radii = sorted({2, 4, max(2, int(round(0.8 * stroke)))} if stroke else {2, 4}, reverse=True)
    for r in radii:
        nj, joined, jstats = components_with_stats(
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
    sized = np.nonzero(stats[:, cv2.CC_STAT_AREA] >= min_area)[0]
    for i in sized[sized > 0]:  # label 0 is the paper
        by_joined[int(owner[i])].append(int(i))
    for pieces in by_joined.values():
        # Nearly as tall as the joined mark: a whole digit. (Measured against the tallest piece,
        # two fragments of one pencil digit looked like two digits.)
        joined_h = max(stats[i, 1] + stats[i, 3] for i in pieces) - min(stats[i, 1] for i in pieces)
        tall = [i for i in pieces if stats[i, cv2.CC_STAT_HEIGHT] >= 0.6 * joined_h]
        if len(tall) < 2:
            continue
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


@dataclass
class Blob:
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

    def merged(self, o: "Blob") -> "Blob":
        return Blob(min(self.x0, o.x0), min(self.y0, o.y0), max(self.x1, o.x1), max(self.y1, o.y1),
                     self.labels + o.labels, self.area + o.area)


def drop_frames(blobs: list[Blob], image_area: int) -> list[Blob]:
    """Drop thin frames around other writing: the edge of a sheet or card against a darker
    desk or room, a box drawn around the digits. A large, sparse blob whose box holds others."""
    def is_frame(f: Blob) -> bool:
        if f.w * f.h < 0.2 * image_area or f.area > 0.4 * f.w * f.h:
            return False
        return any(o is not f and f.x0 <= o.x0 and o.x1 <= f.x1 and f.y0 <= o.y0 and o.y1 <= f.y1
                   and o.h >= 0.1 * f.h for o in blobs)

    return [b for b in blobs if not is_frame(b)]


FRAGMENT_GAP = 1.0  # a fragment may lie 0.3 x this many digit heights from what it merges with


def should_merge(a: Blob, b: Blob, typical_h: float) -> bool:
    """Strokes of one digit: stacked with horizontal overlap (a 5's flag, a 7's bar, a 4 in two
    strokes), close vertically, and together no taller than a digit. A fragment (under half a
    digit tall: a piece of a stroke where a pen skipped) may lie further off, FRAGMENT_GAP."""
    overlap = min(a.x1, b.x1) - max(a.x0, b.x0)
    small = min(a, b, key=lambda blob: blob.h)
    is_fragment = small.h < 0.5 * typical_h
    if is_fragment:
        if overlap < -0.1 * typical_h:  # a detached flag or bar may sit just beside its body
            return False
    elif overlap < 0.5 * min(a.w, b.w):
        return False
    gap = max(a.y0, b.y0) - min(a.y1, b.y1)
    if gap > 0.3 * max(a.h, b.h, typical_h * (FRAGMENT_GAP if is_fragment else 0.5)):
        return False
    return max(a.y1, b.y1) - min(a.y0, b.y0) <= 1.5 * typical_h


def drop_dashes(blobs: list[Blob]) -> list[Blob]:
    """Drop a line broken into dashes (a sheet's edge or a faint rule that thresholded in
    pieces): four or more thin marks, longer than wide, whose centres lie on one straight,
    nearly vertical (or horizontal) line within 2 px. Handwriting is never that straight."""
    drop: set[int] = set()
    for vertical in (True, False):
        def along(b: Blob) -> float:
            return (b.y0 + b.y1) / 2 if vertical else (b.x0 + b.x1) / 2

        def across(b: Blob) -> float:
            return (b.x0 + b.x1) / 2 if vertical else (b.y0 + b.y1) / 2

        thin = sorted((i for i, b in enumerate(blobs)
                       if min(b.w, b.h) <= 6 and (b.h if vertical else b.w) > 2 * (b.w if vertical else b.h)),
                      key=lambda i: across(blobs[i]))
        pos = [across(blobs[i]) for i in thin]
        end = 0
        for start in range(len(thin)):  # every window 12 px wide across, from each mark on
            end = max(end, start)
            while end < len(thin) and pos[end] - pos[start] <= 12:
                end += 1
            group = thin[start:end]
            if len(group) >= 4 and not drop.issuperset(group):
                t = np.array([along(blobs[i]) for i in group])
                c = np.array([across(blobs[i]) for i in group])
                fit = np.polyfit(t, c, 1)
                if abs(fit[0]) <= 0.1 and float(np.abs(np.polyval(fit, t) - c).max()) <= 2:
                    drop.update(group)
    return [b for i, b in enumerate(blobs) if i not in drop]


def is_blot(b: Blob) -> bool:
    """A solid mark much wider than tall: a shadow's edge, a smear, a bar; no digit looks so."""
    return b.area >= 0.7 * b.w * b.h and b.w >= 1.8 * b.h


FAINT_SOLID_INK = 0.8  # a mark whose strongest ink is under this much of the page's marks' typical...
FAINT_SOLID_THICK = 0.8  # ...that is at least this many writing strokes thick...
FAINT_ROW_GAP = 0.5  # ...and has no mark beside it within this many digit heights is no writing...
FAINT_SOLID_MAX = 4  # ...when a page has at most this many such marks (two thumbs, two arms)
FAINT_PAGE = 40  # more faint marks than this are a page of faint writing (not looked at one by one)


def drop_faint_solids(blobs: list[Blob], labels: np.ndarray, ink: np.ndarray, stroke: float) -> list[Blob]:
    """Drop the few marks much fainter than the page's writing, too thick to be a thin stroke of
    it and alone (no mark beside it in a row): the thumbs and arms holding a sheet up to a
    webcam, a shadow on the sheet. Ink of one pen reaches its full strength in every digit (the
    95th percentile of each mark's ink, against the median mark's). Kept: a faint thin line (a
    calligraphic hairline digit, whose blur keeps it from full strength), a number in a lighter
    pen beside darker writing (its digits stand beside each other), and every mark when more
    than FAINT_SOLID_MAX of them would go (a page written in two pens; at most that many lone
    digits in a lighter pen are lost). Needs three marks or more to know the page's writing."""
    if len(blobs) < 3:
        return blobs
    masks = [np.isin(labels[b.y0 : b.y1, b.x0 : b.x1], b.labels) for b in blobs]
    strength = [float(np.percentile(ink[b.y0 : b.y1, b.x0 : b.x1][m], 95)) for b, m in zip(blobs, masks)]
    typical = float(np.median(strength))
    faint = [i for i, s in enumerate(strength) if s < FAINT_SOLID_INK * typical]
    if not faint or len(faint) > FAINT_PAGE:
        return blobs  # nothing faint, or a page of faint writing

    def thick(i: int) -> bool:
        inside = cv2.distanceTransform(np.pad(masks[i], 1).astype(np.uint8), cv2.DIST_L2, 3)
        return 2 * float(inside.max()) >= FAINT_SOLID_THICK * stroke

    gap = FAINT_ROW_GAP * typical_height(blobs)

    def alone(a: Blob) -> bool:
        return not any(b is not a and min(a.y1, b.y1) - max(a.y0, b.y0) > 0.5 * min(a.h, b.h)
                       and max(b.x0 - a.x1, a.x0 - b.x1) < gap for b in blobs)

    drop = {i for i in faint if thick(i) and alone(blobs[i])}
    if len(drop) > FAINT_SOLID_MAX:
        return blobs
    return [b for i, b in enumerate(blobs) if i not in drop]


def edge_margin(height: int, width: int) -> int:
    """How close to an image's edge a mark "is at the edge": within 3% of its longer side (noise
    and the last rows of a webcam frame leave an arm coming in from the edge a few pixels short)."""
    return max(2, round(0.03 * max(width, height)))


def drop_edge_slivers(blobs: list[Blob], width: int, height: int) -> list[Blob]:
    """Drop what touches the image's edge and is taller than the writing away from it (the
    edge of the sheet, the desk beyond it, a shadow), and the thin slivers on the border itself
    (a strip of the sheet's edge). Writing cut off by the edge is lost anyway; a digit that
    merely comes close to it is no taller than the others, nor that thin."""
    m = max(2, round(0.01 * max(width, height)))  # on the border itself: within 1% of it
    clear = [b for b in blobs if b.x0 >= m and b.y0 >= m and b.x1 <= width - m and b.y1 <= height - m]
    if not clear:  # marks on the border only: keep those shaped like digits (a number cut by a
        # region), but not the sheet's edge running along the image (nearly all of one side, at
        # most half of the other)
        def across(b: Blob) -> bool:
            return (b.w >= 0.9 * width and b.h <= 0.5 * height) or (b.h >= 0.9 * height and b.w <= 0.5 * width)

        return [b for b in blobs if min(b.w, b.h) > 4 and max(b.w, b.h) < 4 * min(b.w, b.h) and not across(b)]
    inner = inner_blobs(blobs, width, height)
    if len(inner) == len(blobs):
        return blobs
    typical_h = typical_height(inner or clear)

    def kept(b: Blob) -> bool:
        if b in inner:
            return True
        sliver = b not in clear and min(b.w, b.h) < 0.2 * typical_h  # a strip of the sheet's edge, the desk
        return b.h <= 1.6 * typical_h and not sliver

    return [b for b in blobs if kept(b)]


EDGE_STRIP_COVER = 0.5  # marks at one edge of the image covering this share of it are what surrounds the page
EDGE_STRIP_MARKS = 3  # ...when there are at least this many of them


def drop_edge_strips(blobs: list[Blob], width: int, height: int) -> list[Blob]:
    """Drop the marks at an edge of the image (:func:`edge_margin`), EDGE_STRIP_MARKS or more,
    that together run along EDGE_STRIP_COVER of it or more: a strip of desk or wall beside a
    sheet that no surface was found for, its blotches thresholded as a row of marks. Writing cut
    off by the edge is lost anyway; writing near it runs along a small part of it."""
    m = edge_margin(height, width)
    sides = (
        (lambda b: b.x0 <= m, lambda b: (b.y0, b.y1), height),
        (lambda b: b.x1 >= width - m, lambda b: (b.y0, b.y1), height),
        (lambda b: b.y0 <= m, lambda b: (b.x0, b.x1), width),
        (lambda b: b.y1 >= height - m, lambda b: (b.x0, b.x1), width),
    )
    strip: set[int] = set()
    for at, span, length in sides:
        marks = [i for i, b in enumerate(blobs) if at(b)]
        if len(marks) < EDGE_STRIP_MARKS:
            continue
        covered = np.zeros(length, bool)
        for i in marks:
            lo, hi = span(blobs[i])
            covered[max(0, lo) : min(length, hi)] = True
        if covered.mean() >= EDGE_STRIP_COVER:
            strip.update(marks)
    return [b for i, b in enumerate(blobs) if i not in strip]


def drop_long_lines(blobs: list[Blob], labels: np.ndarray, page_side: int) -> list[Blob]:
    """Drop straight lines far longer than the writing beside them, at any slant: the edge of a
    sheet on a desk, a rule left over. A line is a mark at least a fifth of the page long whose
    ink spreads across it by under LINE_SPREAD of its spread along it (second moments), and at
    least 2.5 times as long as the median height of the other marks; a lone long stroke (a 1
    written large) is kept."""
    if len(blobs) < 2:
        return blobs

    def straight(b: Blob) -> bool:
        if max(b.w, b.h) < 0.2 * page_side:
            return False
        m = cv2.moments(np.isin(labels[b.y0 : b.y1, b.x0 : b.x1], b.labels).astype(np.uint8), binaryImage=True)
        if m["m00"] <= 0:
            return False
        a, c, bb = m["mu20"] / m["m00"], m["mu02"] / m["m00"], m["mu11"] / m["m00"]
        root = np.sqrt(max(0.0, ((a - c) / 2) ** 2 + bb ** 2))
        major, minor = (a + c) / 2 + root, max(0.0, (a + c) / 2 - root)
        return major > 0 and np.sqrt(minor / major) < LINE_SPREAD

    lines = [b for b in blobs if straight(b)]
    keep = [b for b in blobs if b not in lines]
    if not lines or not keep:
        return blobs
    writing_h = float(np.median([b.h for b in keep]))
    return [b for b in blobs if b not in lines or max(b.w, b.h) < 2.5 * writing_h]


REMNANT_SHARE = 0.8  # a mark this much within REMNANT_PX of printed lines removed is left of them
REMNANT_PX = 2


def drop_printed_remnants(blobs: list[Blob], labels: np.ndarray, printed: np.ndarray) -> list[Blob]:
    """Drop the marks lying almost wholly along the printed lines and box sides removed
    (``printed``, their mask): a side that thresholded as two lines side by side, one of them
    left. A digit crossing a line, or written along one, has most of its ink away from it."""
    if not blobs or not printed.any():
        return blobs
    near = cv2.dilate(printed, np.ones((2 * REMNANT_PX + 1, 2 * REMNANT_PX + 1), np.uint8)) > 0

    def remnant(b: Blob) -> bool:
        mask = np.isin(labels[b.y0 : b.y1, b.x0 : b.x1], b.labels)
        ink = int(np.count_nonzero(mask))
        return ink > 0 and np.count_nonzero(mask & near[b.y0 : b.y1, b.x0 : b.x1]) >= REMNANT_SHARE * ink

    return [b for b in blobs if not remnant(b)]


COMB_ROW = 1.0  # a comb's row of writing is this many digit heights above its line


def drop_outside_boxes(blobs: list[Blob], boxes: np.ndarray, digit_h: float | None) -> list[Blob]:
    """On a form, drop the marks level with a row of printed boxes (or with a comb's row of
    writing, COMB_ROW digit heights above its line) but clear of them: the form's
    printed labels ("Qty", "Ref", "Date") beside its boxes (``boxes``: the mask of the printed
    lines and box sides removed). A digit poking out of its box still overlaps it; writing on
    rows without a box found, and any page with no box of a digit's height, keep everything."""
    if not blobs or digit_h is None or not boxes.any():
        return blobs
    k = max(3, int(round(0.2 * digit_h)))  # rejoin the sides where written strokes cross them
    joined = cv2.dilate(boxes, np.ones((k, k), np.uint8))
    n, _, stats = components_with_stats(joined, connectivity=8)
    frames = [(x, y, x + w, y + h) for x, y, w, h, _ in stats[1:]
              if 0.7 * digit_h <= h <= 3 * digit_h and w >= 0.7 * digit_h]  # a row of boxes, not a sheet's edge
    # A comb (a line with short ticks standing on it) is written on: its row reaches a digit's
    # height above the line.
    frames += [(x, y + h - int(COMB_ROW * digit_h) - k, x + w, y + h) for x, y, w, h, _ in stats[1:]
               if 0.2 * digit_h <= h < 1.2 * digit_h and w >= 3 * digit_h
               and _ticks(boxes[y : y + h, x : x + w], 0.2 * digit_h) >= 3]
    if not frames:
        return blobs
    pad = 0.15 * digit_h

    def beside_a_box(b: Blob) -> bool:
        level = [(x0, x1) for x0, y0, x1, y1 in frames if min(b.y1, y1) - max(b.y0, y0) > 0.5 * b.h]
        return bool(level) and not any(b.x0 < x1 + pad and b.x1 > x0 - pad for x0, x1 in level)

    return [b for b in blobs if not beside_a_box(b)]


def _ticks(printed: np.ndarray, tall: float) -> int:
    """How many upright strokes stand ``tall`` px or more out of the line in ``printed`` (a
    comb's ticks; a rule, even one broken where strokes cross it, has none): narrow runs of
    columns with that much more ink than the line's typical column."""
    ink = (printed > 0).sum(axis=0)
    if not ink.any():
        return 0
    step = np.diff(np.concatenate([[0], ink >= np.median(ink[ink > 0]) + tall, [0]]).astype(np.int8))
    return int(np.count_nonzero(np.flatnonzero(step < 0) - np.flatnonzero(step > 0) <= 2 * tall))


def typical_height(blobs: list[Blob]) -> float:
    """Median height of the blobs at least half as tall as the tallest: the digits, not specks.
    With five blobs or more, "the tallest" is the 90th percentile: one tall stray mark (a
    sheet's edge, a shadow) does not make every digit look like a speck."""
    heights = [b.h for b in blobs]
    tallest = float(np.percentile(heights, 90)) if len(heights) >= 5 else max(heights)
    return float(np.median([h for h in heights if h >= 0.5 * tallest]))


def inner_blobs(blobs: list[Blob], width: int, height: int) -> list[Blob]:
    """The blobs away from the image's edge (see :func:`edge_margin`)."""
    m = edge_margin(height, width)
    return [b for b in blobs if b.x0 > m and b.y0 > m and b.x1 < width - m and b.y1 < height - m]


def merge_strokes(blobs: list[Blob], should_stop: Callable[[], bool] | None = None,
                  digit_h: float | None = None, frame: tuple[int, int] | None = None) -> list[Blob]:
    """Merge the strokes of each digit; the blobs left, largest area first.

    The rule: sort by area (largest first, ties kept in their current order), merge the first
    pair ``i < j`` that :func:`should_merge`, repeat until no pair does. This finds the same
    merges in the same order without comparing every pair after each merge: a blob only merges
    with one lying within ``0.1 * typical_h`` sideways and ``1.5 * typical_h`` up or down (a grid
    of cells finds those); a blob found to merge with nothing can later merge only with a newly
    merged blob, which is checked first; the sort order is the key ``(-area, age)``. Areas must
    be positive. ``should_stop``: see :func:`segment`. ``frame``: the image's (width, height), when
    marks at its edge (an arm, a desk) are to be left out of the writing's typical height.
    """
    if not blobs:
        return blobs
    inner = inner_blobs(blobs, *frame) if frame else blobs  # what comes in from the edge sets no height
    typical_h = max(typical_height(inner or blobs), digit_h or 0.0)
    reach_x, reach_y = 0.1 * typical_h, 1.5 * typical_h
    cell = max(1.0, reach_y)
    live: dict[int, Blob] = {}  # id -> blob; the sort key is (-area, id)
    grid: dict[tuple[int, int], set[int]] = defaultdict(set)  # cell -> ids of blobs that may merge

    def cells(x0: float, y0: float, x1: float, y1: float) -> Iterator[tuple[int, int]]:
        for cx in range(int(x0 // cell), int(x1 // cell) + 1):
            for cy in range(int(y0 // cell), int(y1 // cell) + 1):
                yield cx, cy

    def add(i: int, b: Blob) -> None:
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
        found = [j for j in near if should_merge(a, live[j], typical_h)]
        return min(found, key=lambda j: (-live[j].area, j)) if found else None

    for i, b in enumerate(blobs):
        add(i, b)
    waiting = [(-b.area, i) for i, b in enumerate(blobs)]  # not yet known to merge with nothing
    heapq.heapify(waiting)
    next_id = len(blobs)
    merged: int | None = None  # the blob just merged: it may merge again, first
    check = lambda: raise_if_stopped(should_stop, "segmentation")  # noqa: E731
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


SPLIT_PART_HEIGHT = 0.5  # each of touching digits split apart spans at least this much of their height


def split_wide(blob: Blob, mask: np.ndarray) -> list[tuple[int, int]]:
    """Column ranges of touching digits inside a blob much wider than tall (``mask``: its pixels).
    Each part spans at least SPLIT_PART_HEIGHT of the blob's rows: a shorter one (a 5's bar, a 2's
    tail run out sideways) is joined to its neighbour."""
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
    least = SPLIT_PART_HEIGHT * max(1, _row_span(mask))
    while len(edges) > 2:  # a part much shorter than the blob is a stroke of its neighbour (a 5's bar)
        spans = [_row_span(mask[:, a:b]) for a, b in zip(edges, edges[1:])]
        k = int(np.argmin(spans))
        if spans[k] >= least:
            break
        # Joined across the cut its ink runs over (the cut nearer in ink to the part beside it).
        left = _contact(mask, edges[k]) if k > 0 else -1
        right = _contact(mask, edges[k + 1]) if k + 1 < len(edges) - 1 else -1
        del edges[k if left >= right else k + 1]
    return [(blob.x0 + a, blob.x0 + b) for a, b in zip(edges, edges[1:]) if b - a >= 2]


def _contact(mask: np.ndarray, c: int) -> int:
    """How many rows of ink in column ``c - 1`` of ``mask`` touch ink in column ``c``."""
    a, b = mask[:, c - 1], mask[:, c]
    near = b.copy()
    near[1:] |= b[:-1]
    near[:-1] |= b[1:]
    return int(np.count_nonzero(a & near))


def _row_span(mask: np.ndarray) -> int:
    """How many rows lie between the first and the last row with ink in ``mask``."""
    rows = np.nonzero(mask.any(axis=1))[0]
    return int(rows[-1] - rows[0] + 1) if len(rows) else 0


def reading_order(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int]]:
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
