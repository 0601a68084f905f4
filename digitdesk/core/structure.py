"""Printed structure on the paper is not writing: ruled lines, margin lines, squared-paper grids,
the boxes and combs of forms.

They are found in the thresholded ink as long straight runs (much longer than a digit is wide or
tall), plus the short straight ticks and box sides that stand on those runs. They are removed,
except where a written stroke crosses them: there the stroke is put back, so a 7 crossed by a
ruled line stays one 7.
"""

from __future__ import annotations

import itertools

import cv2
import numpy as np

from digitdesk.core.labelling import components_with_stats, open_line

MIN_RULE_FRACTION = 0.8  # before the writing is measured, a rule spans most of the page
MIN_RULE_SHARE = 0.2  # and even then a rule spans a fifth of the page (a thin pen's curve does not)
MIN_RULE_PX = 40
RULE_PEAK_PX = 96  # ...or along this many of its (at most 320) pixels: a form's short rows photographed aslant
MIN_RULE_COVER = 0.75  # a rule has ink in this share of its cross-sections, after its small gaps
BOX_SIDE_COVER = 0.9  # a box's side has ink along this share of the box's height or width
BOX_MIN_ASPECT = 0.55  # a form's cell is at least this wide for its height (cells are often taller than wide)
BOX_ASPECT = 0.75  # a cell narrower than this share of its height is a box only beside another, as on a form
BOX_INSIDE_INK = 0.45  # a box's inside (its middle two thirds) is at most this share ink, with a digit in it
BOX_TURN = 0.7  # a mark whose long sides slope by this many degrees or more is turned level to find its box's sides
BOX_TURNED_ASPECT = 1.2  # turned, a mark on its own is a box only this much wider than tall (a tilted boxy 0 is not)
MAX_RULE_PX = 12  # a printed line is at most this thick (and thin for its length)
COMB_TICK = 0.8  # a comb's evenly spaced ticks are at most this share of the writing's height
BAND_MAX_WIDTH = 0.4  # an outlined stroke's inside is at most this share of the writing's height wide


def _runs(binary: np.ndarray, length: int, horizontal: bool, digit_h: float | None = None,
          shared: dict | None = None) -> np.ndarray:
    """Pixels of ``binary`` on straight runs at least ``length`` long, allowing a gentle slope
    and small breaks (the runs are found in a copy thickened across them by a few pixels and
    with gaps of a few pixels along them closed: a thin printed line thresholds ragged).
    ``shared``: a dict kept for further calls on the same ``binary`` (unchanged), which then
    reuse the thickened copy and the distances to the paper."""
    shared = {} if shared is None else shared
    thick = shared.get(("thick", horizontal))
    if thick is None:
        if horizontal:
            across, gaps = np.ones((5, 1), np.uint8), np.ones((1, 7), np.uint8)
        else:
            across, gaps = np.ones((1, 5), np.uint8), np.ones((7, 1), np.uint8)
        thick = shared[("thick", horizontal)] = cv2.morphologyEx(cv2.dilate(binary, across), cv2.MORPH_CLOSE, gaps)
    band = open_line(thick, length, horizontal)  # an opening with a 1 x length rectangle
    if not band.any():
        return band
    # A printed line is thin for its length, and thin where it runs (a bold stroke of a big
    # digit is thick under a narrow straight band through it: its distance to the paper tells).
    n, labels, stats = components_with_stats(band, connectivity=8)
    run = stats[:, cv2.CC_STAT_WIDTH if horizontal else cv2.CC_STAT_HEIGHT].astype(np.float64)
    across_px = stats[:, cv2.CC_STAT_AREA] / np.maximum(run, 1)  # the band's thickness (4 px of slope allowance)
    thin = across_px <= np.minimum(MAX_RULE_PX + 4, 0.08 * run)
    if digit_h:  # much thinner than the writing is tall (a row of tiny digits is as thick as they are)
        thin &= across_px <= 0.5 * digit_h + 4
    thin[0] = False
    if not thin.any():
        return np.zeros_like(binary)
    depth = shared.get("depth")
    if depth is None:
        depth = shared["depth"] = cv2.distanceTransform(binary, cv2.DIST_L2, 3)
    axis = 0 if horizontal else 1
    band = np.zeros_like(binary)
    for i in np.flatnonzero(thin):  # each looked at in its own box (the same sums, in the same order)
        x, y, bw, bh = (int(v) for v in stats[i, :4])
        comp = labels[y : y + bh, x : x + bw] == i
        inked = comp & (binary[y : y + bh, x : x + bw] > 0)
        count = int(np.count_nonzero(inked))
        total = np.bincount(np.zeros(count, np.intp), weights=depth[y : y + bh, x : x + bw][inked], minlength=1)[0]
        if not 2 * (total / max(count, 1)) <= MAX_RULE_PX / 2:
            continue
        # ...and solid along its length: ink in most of its cross-sections (a row of small printed
        # or written digits closes into a band too, but with gaps between the digits).
        cover = inked.any(axis=axis)
        if cover.size == 0 or float(cover.mean()) < MIN_RULE_COVER:
            continue
        band[y : y + bh, x : x + bw][comp] = 255
    if not band.any():
        return band
    return cv2.bitwise_and(binary, cv2.dilate(band, np.ones((3, 3), np.uint8)))


def long_lines(binary: np.ndarray, share: float = MIN_RULE_FRACTION) -> np.ndarray:
    """The pixels of ``binary`` on thin straight lines spanning ``share`` of its width or height
    (a quick look for rules: to measure the writing without them)."""
    h, w = binary.shape
    lines = np.zeros_like(binary)
    shared: dict = {}
    for horizontal, side in ((True, w), (False, h)):
        if side >= 2 * MIN_RULE_PX:
            lines = cv2.bitwise_or(lines, _runs(binary, int(side * share), horizontal, shared=shared))
    return lines


def _thickness(lines: np.ndarray, horizontal: bool) -> int:
    """The typical thickness of the runs in ``lines``: pixels across a run, median over the
    cross-sections that meet any."""
    a = lines > 0
    axis = 0 if horizontal else 1
    per = a.sum(axis=axis)
    runs = (np.diff(a.astype(np.int8), axis=axis) > 0).sum(axis=axis) + a.take(0, axis=axis)
    keep = runs > 0
    return max(1, int(round(float(np.median(per[keep] / runs[keep]))))) if keep.any() else 1


def writing_height(binary: np.ndarray, spanning: bool = True) -> float | None:
    """The typical height of the written marks in ``binary``, ignoring rules and whatever is
    glued to them (long thin boxes), solid blots and specks; None if nothing looks like writing.
    ``spanning=False`` ignores marks spanning most of the page too (a network of rules with
    writing glued to it), so that only writing clear of the rules is measured."""
    h, w = binary.shape
    n, _, stats = components_with_stats(binary, connectivity=8)
    if n <= 1:
        return None
    st = stats[1:]
    bw, bh, area = st[:, 2], st[:, 3], st[:, 4]
    ok = ((bh >= 6) & (bw * bh < 0.5 * h * w) & (np.maximum(bw / bh, bh / np.maximum(bw, 1)) < 6)
          & (area < 0.9 * bw * bh) & (area >= 0.04 * bw * bh) & (area >= max(4, h * w * 2e-5)))
    if not spanning:
        ok &= (bw <= 0.8 * w) & (bh <= 0.8 * h)
    if not ok.any():
        return None
    heights = bh[ok]
    return float(np.median(heights[heights >= 0.5 * np.percentile(heights, 90)]))


def _restore_crossings(without: np.ndarray, lines: np.ndarray, thick: int, horizontal: bool) -> np.ndarray:
    """Pixels of ``lines`` that join writing above and below a horizontal run (left and right
    of a vertical one): a stroke that crosses the run."""
    k = thick + 9  # the run found, widened by the slope allowance (4) and a pixel each side
    kernel = np.ones((k, 1), np.uint8) if horizontal else np.ones((1, k), np.uint8)
    closed = cv2.morphologyEx(without, cv2.MORPH_CLOSE, kernel)
    return cv2.bitwise_and(closed, lines)


def _stroke_ends(labels: np.ndarray, stats: np.ndarray, i: int, grown: np.ndarray, horizontal_rules: bool,
                 thin: int) -> tuple[bool, bool] | None:
    """Whether mark ``i`` (of ``labels``, with ``stats``) touches the ``grown`` rules at its
    first and at its last end, if it is a thin, solid, straight stroke across the rules (at
    most ``thin`` px thick); None if it is not."""
    x, y, w, h, area = (int(v) for v in stats[i])
    long_side, short_side = (h, w) if horizontal_rules else (w, h)
    if long_side < 6 or short_side > thin or area < 0.5 * long_side * max(1, short_side - 1):
        return None
    near = grown[y : y + h, x : x + w] & (labels[y : y + h, x : x + w] == i)
    if horizontal_rules:
        return near[:2].any(), near[-2:].any()
    return near[:, :2].any(), near[:, -2:].any()


def _standing_strokes(rest: np.ndarray, rules: np.ndarray, horizontal_rules: bool, thick: int,
                      digit_h: float | None, left: list[int] | None = None) -> np.ndarray:
    """Straight strokes as thin as the rules, at right angles to them, standing on them: the
    sides of printed boxes (touching a rule at both ends, also when thresholded in pieces a few
    pixels apart) and the ticks of a comb (short, at one end). A written 1 on a ruled line is
    kept: it is taller than a tick and meets one rule.
    ``left``, if given, gets the labels of the strokes standing on the rules that are kept."""
    n, labels, stats = components_with_stats(rest, connectivity=8)
    if n <= 1:
        return np.zeros_like(rest)
    standing = []
    grown = cv2.dilate(rules, np.ones((5, 5), np.uint8)) > 0
    ticks = []  # longer one-ended marks: a comb's ticks if they come evenly spaced
    thin = max(3, 2 * thick + 1)
    taken = np.zeros(n, bool)  # the labels removed
    for i in range(1, n):
        ends = _stroke_ends(labels, stats, i, grown, horizontal_rules, thin)
        if ends is None:
            continue  # not a thin, solid, straight stroke across the rules
        long_side = int(stats[i, cv2.CC_STAT_HEIGHT if horizontal_rules else cv2.CC_STAT_WIDTH])
        tick = any(ends) and digit_h is not None and long_side <= 0.6 * digit_h
        if any(ends):
            standing.append(i)
        if all(ends) or tick:
            taken[i] = True
        if any(ends) and not all(ends) and digit_h is not None and long_side <= COMB_TICK * digit_h:
            # the short ticks too: with them, a longer one is even
            ticks.append((i, tuple(int(v) for v in stats[i, :4])))
    taken[_comb_ticks(ticks, horizontal_rules)] = True
    out = taken[labels] if taken.any() else None
    for i in standing:
        if taken[i]:
            continue
        out = np.zeros(rest.shape, bool) if out is None else out
        taken[i] = _side_in_pieces(rest, labels, stats, i, grown, horizontal_rules, thin, out)
    if left is not None:
        left += [i for i in standing if not taken[i]]
    return np.zeros_like(rest) if out is None else out.view(np.uint8) * np.uint8(255)


def _sides_in_writing(rest: np.ndarray, rules: np.ndarray, thick: int, digit_h: float | None) -> np.ndarray:
    """Box sides merged into the writing that touches them (a digit written against its cell's
    side, a comb's divider under a 7's bar): straight upright runs of ink at least most of a
    digit tall (``digit_h``), as thin as a printed line (``thick`` px, the level ``rules``'),
    that meet a rule at both ends. What :func:`_standing_strokes` takes from a side standing
    alone; here the side is part of a larger mark. The strokes that cross a side stay."""
    if digit_h is None or not rules.any():
        return np.zeros_like(rest)
    length = max(6, int(0.7 * digit_h))
    upright = cv2.bitwise_and(open_line(cv2.dilate(rest, np.ones((1, 3), np.uint8)), length, False), rest)
    n, labels, stats = components_with_stats(upright, connectivity=8)
    grown = cv2.dilate(rules, np.ones((5, 5), np.uint8)) > 0
    thin = max(3, 2 * thick + 1)
    sides = np.zeros(rest.shape, bool)
    for i in range(1, n):
        x, y, w, h = (int(v) for v in stats[i, :4])
        if w > thin or not grown[y : y + 2, x : x + w].any() or not grown[y + h - 2 : y + h, x : x + w].any():
            continue
        sides[y : y + h, x : x + w] |= labels[y : y + h, x : x + w] == i
    if not sides.any():
        return np.zeros_like(rest)
    side = sides.view(np.uint8) * np.uint8(255)
    crossing = _restore_crossings(cv2.subtract(rest, side), side, thin, horizontal=False)
    return cv2.subtract(side, crossing)


def _side_in_pieces(rest: np.ndarray, labels: np.ndarray, stats: np.ndarray, i: int, grown: np.ndarray,
                    horizontal_rules: bool, thin: int, out: np.ndarray) -> bool:
    """Whether the stroke ``i`` standing on one rule is a piece of a box's side thresholded in
    pieces: joined to the pieces a few pixels from it along the side, it runs from rule to rule.
    If so, the joined stroke is marked in ``out``. Looked at in a window around the piece, as
    long again as the piece either way along it."""
    x, y, w, h = (int(v) for v in stats[i, :4])
    H, W = rest.shape
    if horizontal_rules:
        y0, y1, x0, x1 = max(0, y - h - 2), min(H, y + 2 * h + 2), max(0, x - 2), min(W, x + w + 2)
        along = np.ones((5, 1), np.uint8)
    else:
        y0, y1, x0, x1 = max(0, y - 2), min(H, y + h + 2), max(0, x - w - 2), min(W, x + 2 * w + 2)
        along = np.ones((1, 5), np.uint8)
    window = rest[y0:y1, x0:x1]
    jn, jlabels, jstats = components_with_stats(cv2.morphologyEx(window, cv2.MORPH_CLOSE, along), connectivity=8)
    j = int(np.bincount(jlabels[labels[y0:y1, x0:x1] == i], minlength=jn).argmax())
    if j == 0 or _stroke_ends(jlabels, jstats, j, grown[y0:y1, x0:x1], horizontal_rules, thin) != (True, True):
        return False
    out[y0:y1, x0:x1] |= (jlabels == j) & (window > 0)
    return True


def _comb_ticks(marks: list[tuple[int, tuple[int, int, int, int]]], horizontal_rules: bool) -> list[int]:
    """The labels of the marks, among short straight strokes standing on a rule, that form a
    comb's ticks: three or more of the same length, ending on the same line, evenly spaced
    along it (a tick merged into a digit touching it leaves a gap twice as wide). Written 1s
    that short are rarely all three."""
    def key(box):  # (position along the rule, where the mark stands, its length)
        x, y, w, h = box
        return (x + w / 2, y + h, h) if horizontal_rules else (y + h / 2, x + w, w)

    marks = sorted(marks, key=lambda m: (round(key(m[1])[1] / 4), key(m[1])[0]))
    found: list[int] = []
    for _, group in itertools.groupby(marks, key=lambda m: round(key(m[1])[1] / 4)):
        group = list(group)
        if len(group) < 3:
            continue
        along = np.array([key(b)[0] for _, b in group])
        length = np.array([key(b)[2] for _, b in group], float)
        gaps = np.diff(along)
        if gaps.min() <= 0:
            continue
        steps = gaps / gaps.min()  # a tick hidden in a digit touching it leaves a double gap
        if length.std() <= 0.15 * length.mean() and np.abs(steps - np.round(steps)).max() <= 0.15:
            found += [i for i, _ in group]
    return found


def _darker_than_rules(on_rules: np.ndarray, lines: np.ndarray, strength: np.ndarray | None) -> np.ndarray:
    """Pixels of the writing on a rule whose ink is clearly stronger than the rule's own (the
    median over the rule, which is mostly rule): a stroke running along a rule (a loop's bottom
    resting on it) that crossing tests miss. Rules as strong as the writing give nothing."""
    if strength is None or not lines.any():
        return np.zeros_like(on_rules)
    level = float(np.median(strength[lines > 0]))
    return ((on_rules > 0) & (strength > max(1.6 * level, level + 40))).astype(np.uint8) * 255


def remove_structure(binary: np.ndarray, faint: np.ndarray | None = None, strength: np.ndarray | None = None,
                     digit_h: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``binary`` (uint8 0/255: the writing) without rules, grids, boxes and combs, and the mask
    of what was removed. Rules are looked for in ``faint`` (every mark above the noise, default
    ``binary``: printed lines are often lighter than the writing and only partly in it). A rule
    is a straight run at least three digit heights and a fifth of the page long (``digit_h``,
    by default measured on the writing clear of the rules; if none is, the lines spanning most of
    the page are removed first and the writing left is measured). Written strokes that cross a rule are kept whole, and so are
    strokes along a rule whose ink (``strength``, uint8) is clearly stronger than the rule's."""
    faint = binary if faint is None else cv2.bitwise_or(faint, binary)
    if digit_h is None:
        digit_h = writing_height(binary, spanning=False)
    if digit_h is not None:
        return _remove(binary, faint, strength, digit_h)
    out, removed, faint = _remove(binary, faint, strength, None, keep_faint=True)
    digit_h = writing_height(out)
    if digit_h is None:  # nothing like writing: combs and lines shorter than the page, if anything
        digit_h = _marks_height(out)
    if digit_h is None:
        return out, removed
    out, more = _remove(out, faint, strength, digit_h)
    removed = cv2.bitwise_or(removed, more)
    for horizontal in (True, False):  # box sides and ticks standing on the rules of the first pass
        standing = _standing_strokes(out, removed, horizontal, _thickness(removed, horizontal), digit_h)
        out = cv2.subtract(out, standing)
        removed = cv2.bitwise_or(removed, standing)
    return out, removed


def _marks_height(binary: np.ndarray) -> float | None:
    """The height of writing that a page with none on it was printed for (a blank form's combs):
    the marks at least 6 px tall in ``binary``, whatever their shape, are taken for the ticks of
    a comb (90th percentile of their heights), as tall as a tick can be for its writing; None
    if there are no such marks."""
    n, _, stats = components_with_stats(binary, connectivity=8)
    heights = stats[1:, cv2.CC_STAT_HEIGHT]
    heights = heights[heights >= 6]
    return float(np.percentile(heights, 90)) / COMB_TICK if heights.size else None


def _remove(binary: np.ndarray, faint: np.ndarray, strength: np.ndarray | None, digit_h: float | None,
            keep_faint: bool = False):
    """One pass of :func:`remove_structure` with runs of ``3 * digit_h`` (None: most of the
    page); with ``keep_faint`` the faint marks left are returned too."""
    h, w = binary.shape
    removed = np.zeros_like(binary)
    out = binary
    search = faint  # the columns are looked for with the rows still in: cut out, a grid's columns are dashes
    level = None  # the level rules found and their thickness, if no upright ones are
    for horizontal in (True, False):
        side = w if horizontal else h
        length = max(MIN_RULE_PX, int(max(3 * digit_h, side * MIN_RULE_SHARE)) if digit_h
                     else int(side * MIN_RULE_FRACTION))
        if length > side:
            continue
        shared: dict = {}  # faint's thickened copy and depth, for the short combs' search too
        lines = _runs(search, length, horizontal, digit_h, shared)
        comb_ticks = None
        if horizontal and digit_h and length > 3 * digit_h:
            combs, comb_ticks = _short_combs(out, search, lines, digit_h, shared)
            lines = cv2.bitwise_or(lines, combs)
        if not lines.any():
            continue
        thick = _thickness(lines, horizontal)
        on_rules = cv2.bitwise_and(out, lines)
        without = cv2.subtract(out, lines)
        crossing = cv2.bitwise_and(_restore_crossings(without, lines, thick, horizontal), on_rules)
        crossing = cv2.bitwise_or(crossing, _darker_than_rules(on_rules, lines, strength))
        rule_only = cv2.subtract(lines, crossing)
        out = cv2.bitwise_or(without, crossing)
        faint = cv2.subtract(faint, rule_only)
        standing = _standing_strokes(out, rule_only, horizontal, thick, digit_h)
        if horizontal:
            level = (rule_only, thick)
        else:
            level = None  # a grid: its columns are rules too, and a stroke along one spans a cell
        if comb_ticks is not None:  # all of a short comb's ticks, as they were found on it
            standing = cv2.bitwise_or(standing, cv2.bitwise_and(out, comb_ticks))
        out = cv2.subtract(out, standing)
        faint = cv2.subtract(faint, standing)
        removed = cv2.bitwise_or(removed, cv2.bitwise_or(rule_only, standing))
    if level is not None:  # level rules only (a form's rows of boxes): their sides in the writing
        sides = _sides_in_writing(out, *level, digit_h)
        out = cv2.subtract(out, sides)
        faint = cv2.subtract(faint, sides)
        removed = cv2.bitwise_or(removed, sides)
    out, removed = _drop_debris(out, removed, digit_h)
    return (out, removed, faint) if keep_faint else (out, removed)


def _short_combs(out: np.ndarray, faint: np.ndarray, lines: np.ndarray, digit_h: float,
                 shared: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Level runs too short for a rule (under a fifth of the page) but three digit heights long,
    with three or more ticks standing on them and no other straight stroke: a form's comb of a
    few cells, taken whole or not at all (ticks left standing alone would read as 1s). Without
    its ticks such a run is kept (an underline, a long bar of a written 7). The runs and their
    ticks, as masks. ``shared``: as for :func:`_runs`, from the search for rules in ``faint``."""
    short = _runs(faint, max(MIN_RULE_PX, int(3 * digit_h)), True, digit_h, shared)
    short = cv2.subtract(short, cv2.dilate(lines, np.ones((3, 3), np.uint8)))
    n, labels, stats = components_with_stats(short, connectivity=8)
    combs, all_ticks = np.zeros_like(short), np.zeros_like(short)
    for i in range(1, n):
        if stats[i, cv2.CC_STAT_WIDTH] < 3 * digit_h:
            continue
        run = (labels == i).astype(np.uint8) * 255
        left: list[int] = []
        ticks = _standing_strokes(cv2.subtract(out, run), run, True, _thickness(run, True), digit_h, left)
        if not left and cv2.connectedComponents(ticks, connectivity=8)[0] - 1 >= 3:
            combs = cv2.bitwise_or(combs, run)
            all_ticks = cv2.bitwise_or(all_ticks, ticks)
    return combs, all_ticks


def _drop_debris(out: np.ndarray, removed: np.ndarray, digit_h: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Drop the bits of printed lines left after removing them (a rule's ragged edge, the end of
    a margin line): small marks touching what was removed, much shorter than a digit."""
    if not removed.any():
        return out, removed
    n, labels, stats = components_with_stats(out, connectivity=8)
    if n <= 1:
        return out, removed
    touching = np.zeros(n, bool)
    touching[labels[cv2.dilate(removed, np.ones((5, 5), np.uint8)) > 0]] = True
    touching[0] = False
    longest = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    debris = touching & (longest < (0.4 * digit_h if digit_h else 12))
    if not debris.any():
        return out, removed
    mask = debris[labels]
    out = out.copy()
    out[mask] = 0
    return out, cv2.bitwise_or(removed, mask.astype(np.uint8) * 255)


def rule_angle(faint: np.ndarray, max_angle: float = 8.0, step: float = 0.5, least: float = 3.0) -> float | None:
    """The slope in degrees of the page's rules, or None if there are none: the angle within
    ``max_angle`` of level at which the faint marks (at most 320 px wide) pile up into the
    sharpest rows, if some row then holds marks along 40% of the page or RULE_PEAK_PX pixels
    (and there are ``least`` marked pixels per column). A photo taken at a slight angle turns
    its rules and margins."""
    h, w = faint.shape
    f = min(1.0, 320 / max(h, w))
    small = cv2.resize(faint, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA) if f < 1 else faint
    ys, xs = np.nonzero(small > 64)
    sw = small.shape[1]
    if len(xs) < least * sw:
        return None
    best, best_score, best_peak = 0.0, -1.0, 0
    xc = xs.astype(np.float32) - sw / 2
    angles = np.arange(-max_angle, max_angle + step / 2, step)
    # The angles a few at a time, each one's rows counted in one bincount (a small mark's many
    # angles cost one call, a page's stay in a few MB).
    for chunk in np.array_split(angles, max(1, len(angles) * len(xs) // 400_000)):
        rows = np.round(ys - xc * np.tan(np.radians(chunk))[:, None]).astype(np.int64)
        rows -= rows.min(axis=1, keepdims=True)
        span = int(rows.max()) + 1
        counts = np.bincount((rows + span * np.arange(len(chunk))[:, None]).ravel(),
                             minlength=span * len(chunk)).reshape(len(chunk), span)
        scores = (counts.astype(np.float64) ** 2).sum(axis=1)
        k = int(np.argmax(scores))
        if scores[k] > best_score:  # the first of equal scores, as the angles come
            best, best_score, best_peak = float(chunk[k]), float(scores[k]), int(counts[k].max())
    return best if best_peak >= min(0.4 * sw, RULE_PEAK_PX) else None


def fill_outlined(binary: np.ndarray, digit_h: float | None = None) -> np.ndarray:
    """Fill the bodies of hollow (outlined) strokes, on a page written that way: a hole in the
    writing that is a long, narrow band (as wide as a stroke, several times longer than wide) is
    the inside of a stroke drawn as its outline. Only when such bands are common (in at least
    two marks of five): a plain 0 or 8 has a narrow loop now and then, which stays open."""
    inverse = cv2.bitwise_not(binary)
    n, labels, stats = components_with_stats(inverse, connectivity=4)
    if n <= 2:
        return binary
    h, w = binary.shape
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    bands = []
    for i in range(1, n):
        x, y, bw, bh, area = (int(v) for v in stats[i])
        if i == biggest or area < 12 or x == 0 or y == 0 or x + bw == w or y + bh == h:
            continue  # the background, a speck of paper, or paper open to the edge
        if digit_h is not None and max(bw, bh) > 2 * digit_h:
            continue
        hole = (labels[y : y + bh, x : x + bw] == i).astype(np.uint8)
        width = 2 * float(cv2.distanceTransform(cv2.copyMakeBorder(hole, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0),
                                                cv2.DIST_L2, 3).max())
        if width <= 0:
            continue
        elongation = area / (width / 2) ** 2  # about 3 for a round hole, 4 L / W for a band
        if elongation >= 10 and (digit_h is None or width <= BAND_MAX_WIDTH * digit_h):
            bands.append((x, y, hole))
    marks = _tall_marks(binary, digit_h)
    if len(bands) < max(2, 0.4 * marks):
        return binary
    out = binary.copy()
    for x, y, hole in bands:
        out[y : y + hole.shape[0], x : x + hole.shape[1]][hole > 0] = 255
    return out


def _tall_marks(binary: np.ndarray, digit_h: float | None) -> int:
    """How many marks in ``binary`` are at least half a digit tall (``digit_h``; 8 px without)."""
    n, _, stats = components_with_stats(binary, connectivity=8)
    return int((stats[1:, cv2.CC_STAT_HEIGHT] >= (0.5 * digit_h if digit_h else 8)).sum())


def _frame_lines(cover: np.ndarray, least: int) -> tuple[int, int] | None:
    """The first and last index where ``cover`` (a box's ink coverage per column or row) is
    high, ``least`` or more apart (two sides of a box), or None."""
    idx = np.flatnonzero(cover >= BOX_SIDE_COVER)
    if len(idx) < 2 or idx[-1] - idx[0] < least:
        return None
    return int(idx[0]), int(idx[-1])


def _box_sides(tall: np.ndarray, wide: np.ndarray, min_w: int, min_h: int):
    """The columns and rows of a box's four sides, ``((left, right), (top, bottom))``, or None.
    The sides are measured within each other's span, so that a digit poking out of the box (a
    7's bar above it) does not hide them: the rows first, then the columns between them, then
    the rows again between the columns; or the other way round."""
    for rows_first in (True, False):
        rows = cols = None
        r_span, c_span = slice(None), slice(None)
        for step in range(3):
            if (step % 2 == 0) == rows_first:
                rows = _frame_lines(wide[:, c_span].mean(axis=1), min_h)
                if rows is None:
                    break
                r_span = slice(rows[0], rows[1] + 1)
            else:
                cols = _frame_lines(tall[r_span].mean(axis=0), min_w)
                if cols is None:
                    break
                c_span = slice(cols[0], cols[1] + 1)
        if rows is not None and cols is not None:
            return cols, rows
    return None


def _in_a_row(box: tuple[int, int, int, int], boxes: list[tuple[int, int, int, int]]) -> bool:
    """Whether another of ``boxes`` (x, y, w, h) stands level with ``box`` and beside it, about
    as tall: a form's cells come in rows."""
    x, y, w, h = box
    for other in boxes:
        ox, oy, ow, oh = other
        if other == box or not 0.8 * h <= oh <= 1.25 * h:
            continue
        if min(y + h, oy + oh) - max(y, oy) > 0.5 * h and max(ox - (x + w), x - (ox + ow)) < 0.5 * w:
            return True
    return False


def remove_boxes(binary: np.ndarray, stroke: float | None, digit_h: float | None,
                 faint: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``binary`` without the printed boxes of a form (a box per digit, a framed field), and the
    mask of what was removed. A box is a mark at least most of a digit tall, about as wide as
    tall or wider (a comb), with two columns of
    ink running down nearly all of it and two rows running across nearly all of it, its four
    sides; a written digit has at most one such line (a 1's stem, a 7's bar). The four sides
    are taken out (a stroke's width either side); what was written in the box stays, a digit
    touching the frame or poking out of it included. The rules found before this step have
    turned the page level; a box that still slopes (a form with no rules, photographed at a
    slight angle) is turned level to find its sides. Boxes are looked for in ``binary`` with
    the ``faint`` marks that touch it (a thin printed line thresholds broken, its gaps faint; a
    box printed fainter than that is not in the writing, and the strokes along it stay)."""
    removed = np.zeros_like(binary)
    if digit_h is None or not binary.any():
        return binary, removed
    band = int(round(max(2.0, 1.2 * max(1.5, stroke or 2.0))))
    search = binary
    if faint is not None:  # the faint marks next to the ink: the gaps of a broken line, not a faint box of its own
        search = cv2.bitwise_or(binary, cv2.bitwise_and(faint, cv2.dilate(binary, np.ones((5, 5), np.uint8))))
    n, labels, stats = components_with_stats(search, connectivity=8)
    candidates = []  # (box, mask, turn, mask turned level, its columns widened by a degree's slant, sides)
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        if h < 0.7 * digit_h or w < BOX_MIN_ASPECT * h or h > 4 * digit_h:
            continue  # no box for a digit (a box is not much narrower than tall)
        comp = (labels[y : y + h, x : x + w] == i).astype(np.uint8)
        if area > 0.45 * w * h and comp[h // 6 : h - h // 6, w // 6 : w - w // 6].mean() > BOX_INSIDE_INK:
            continue  # a filled blob (a box with a bold digit in it has its ink on the frame)
        turn, level = _levelled(comp)
        tall, wide = _slanted(level, 0.01)  # a degree
        found = _box_sides(tall, wide, int(0.4 * digit_h), int(0.7 * digit_h))
        # The sides found make a box as wide as the mark's are (a 5 on an underline has two
        # rows and two columns, of a frame too narrow for a box).
        if found is not None and found[0][1] - found[0][0] >= BOX_MIN_ASPECT * (found[1][1] - found[1][0]):
            candidates.append(((x, y, w, h), comp, turn, level, tall, found))
    out = binary.copy()
    for (x, y, w, h), comp, turn, level, tall, found in candidates:
        alone = not _in_a_row((x, y, w, h), [c[0] for c in candidates])
        if alone and (w < BOX_ASPECT * h or (turn is not None and w < BOX_TURNED_ASPECT * h)) \
                and not _holds_writing(stats, (x, y, w, h), digit_h):
            continue  # a narrow mark with four straight sides on its own: a boxy 0, not a form's cell
        # What is taken is the ink on the sides (the faint marks beside a side would make it look
        # crossed by a stroke), turned as the box was.
        ink = comp & (binary[y : y + h, x : x + w] > 0)
        if turn is None:
            take = _frame_taken(ink, tall, found, band)
        else:  # found level, taken back to the box as it stands, widened (sampled back, a thin side breaks)
            level_ink = cv2.warpAffine(ink, turn, level.shape[::-1], flags=cv2.INTER_NEAREST)
            take = _frame_taken(level_ink, tall, found, band)
            take = cv2.warpAffine(cv2.dilate(take.astype(np.uint8), np.ones((3, 3), np.uint8)), turn, (w, h),
                                  flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP) > 0
        take &= ink > 0  # the ink under it
        out[y : y + h, x : x + w][take] = 0
        removed[y : y + h, x : x + w][take] = 255
    return out, removed


def _holds_writing(stats: np.ndarray, box: tuple[int, int, int, int], digit_h: float) -> bool:
    """Whether another mark (``stats`` of the marks) at least a third of a digit tall lies
    inside ``box`` well clear of its sides, somewhere: a box with something written in it, not
    a 0 (the inner outline of a hollow 0 runs close to the outer one all round)."""
    x, y, w, h = box
    sx, sy, sw, sh = (stats[1:, i].astype(np.int64) for i in range(4))
    inside = (sx > x) & (sy > y) & (sx + sw < x + w) & (sy + sh < y + h) & (sh >= digit_h / 3)
    gaps = np.stack([sx - x, x + w - (sx + sw), sy - y, y + h - (sy + sh)])
    clear = gaps.max(axis=0) >= 0.25 * min(w, h)
    return bool((inside & clear).any())


def _slanted(comp: np.ndarray, slope: float) -> tuple[np.ndarray, np.ndarray]:
    """A mark's columns widened and its rows thickened by what a side sloping by ``slope``
    (rise over run) drifts across the mark: ``(tall, wide)`` for :func:`_box_sides`."""
    h, w = comp.shape
    slant_x, slant_y = 2 * max(1, round(slope * h)) + 1, 2 * max(1, round(slope * w)) + 1
    return (cv2.dilate(comp, np.ones((1, slant_x), np.uint8)) > 0,
            cv2.dilate(comp, np.ones((slant_y, 1), np.uint8)) > 0)


def _levelled(comp: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """A mark that may be a printed box (``comp``, uint8 0/1), turned so that its longest
    straight rows run level (a form photographed at a slight angle, whose boxes are too short to
    turn the page by: :func:`rule_angle`), and the turn (a 2 x 3 affine matrix from ``comp``
    to the level copy, cut to the mark), or None and ``comp`` if it stands level."""
    h, w = comp.shape
    angle = rule_angle(comp * 255, least=1.0)
    if angle is None or abs(angle) < BOX_TURN:
        return None, comp
    pad = int(np.ceil(0.5 * max(h, w) * np.sin(np.radians(abs(angle))))) + 2
    turn = cv2.getRotationMatrix2D(((w - 1) / 2 + pad, (h - 1) / 2 + pad), angle, 1.0)
    turn[:, 2] += pad  # from comp's pixels into the padded copy, then about its centre
    level = cv2.warpAffine(comp, turn, (w + 2 * pad, h + 2 * pad), flags=cv2.INTER_NEAREST)
    ys, xs = np.nonzero(level)
    if len(xs) == 0:
        return None, comp
    turn[:, 2] -= (xs.min(), ys.min())  # and cut to the mark, as ``comp`` is (a box's sides span it)
    return turn, level[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def _frame_taken(comp: np.ndarray, tall: np.ndarray, found, band: int) -> np.ndarray:
    """The pixels of a level box's mark (``comp``) on its frame, ``found`` by :func:`_box_sides`
    (``tall``: its columns widened by a degree's slant), each side ``band`` px either side of
    its line: what is printed, not the writing that crosses a side."""
    h, w = comp.shape
    (c0, c1), (r0, r1) = found
    frame = np.zeros((h, w), np.uint8)
    cv2.rectangle(frame, (c0, r0), (c1, r1), 255, 2 * band + 1)
    # A comb: the boxes side by side share the top and bottom lines; their inner sides run
    # down nearly all of the frame too (a digit inside a box stays clear of its top and bottom).
    inner = tall[r0 : r1 + 1, c0 : c1 + 1].mean(axis=0) >= BOX_SIDE_COVER
    for c in np.flatnonzero(inner):
        frame[r0 : r1 + 1, max(0, c0 + c - band) : c0 + c + band + 1] = 255
    take = (comp > 0) & (frame > 0)
    rest = np.where(take, 0, comp * 255).astype(np.uint8)
    # Strokes that cross a side (a digit overlapping its box) are kept: the side's pixels
    # with writing on both sides of it.
    k = 2 * (2 * band + 1) + 1
    sides_h, sides_v = np.zeros_like(frame), np.zeros_like(frame)
    sides_h[[r0, r1]] = 255
    sides_v[:, [c0, c1]] = 255
    sides_v[:, np.flatnonzero(inner) + c0] = 255
    sides_h = cv2.dilate(sides_h, np.ones((2 * band + 3, 1), np.uint8)) & frame  # as thick as drawn
    sides_v = cv2.dilate(sides_v, np.ones((1, 2 * band + 3), np.uint8)) & frame
    crossing = ((cv2.morphologyEx(rest, cv2.MORPH_CLOSE, np.ones((k, 1), np.uint8)) & sides_h)
                | (cv2.morphologyEx(rest, cv2.MORPH_CLOSE, np.ones((1, k), np.uint8)) & sides_v)) > 0
    return take & ~crossing
