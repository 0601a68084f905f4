"""Ink against its paper: how strong the ink is relative to the local paper brightness, which
polarity it has, how noisy the paper is, and which pixels are writing (a threshold with
hysteresis above the paper's noise). Used by :mod:`digitdesk.core.segment`.
"""

from __future__ import annotations

import cv2
import numpy as np

from digitdesk.core.labelling import components_with_stats
from digitdesk.core.preprocess import border_is_light, median_and_mad, sample_step, stroke_width

MIN_CONTRAST = 0.18  # weakest ink (relative to the paper) that still counts as writing
NOISY = 8.0  # grey levels of pixel noise above which an image is smoothed before reading
MIN_DIGIT_PX = 7  # a mark shorter than this (at the working scale) is a speck, not a digit


def page_ink(gray: np.ndarray, stroke: float | None = None, dark_ink: bool | None = None) -> np.ndarray:
    """Ink strength 0..1 relative to the local paper brightness, for dark or light ink.

    The paper is estimated by a closing wider than the strokes: about a quarter of the image
    without ``stroke``, three stroke widths with it (so broad shadows stay paper).
    """
    if dark_ink is None:
        dark_ink = page_ink_is_dark(gray)
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


def page_ink_is_dark(gray: np.ndarray) -> bool:
    """Whether the writing is darker than its paper. The image border is mostly paper, except
    when a bright sheet lies on a dark desk: then the most common level is bright paper and
    clearly more pixels are darker than it than lighter."""
    if border_is_light(gray):
        return True
    step = sample_step(gray.shape[0] * gray.shape[1])
    sample = gray[::step, ::step].astype(np.int16)
    paper = int(np.median(sample))
    gap = int(np.clip(0.27 * paper, 25, 40))  # dim paper (a webcam's) has dimmer ink
    darker = float((sample < paper - gap).mean())
    lighter = float((sample > paper + gap).mean())
    return paper > 80 and darker >= 0.002 and darker >= 3 * lighter


NOISE_SIGMAS = 7.0  # clear ink stands this many noise deviations above the paper
WEAK = 0.7  # faint ink joined to clear ink counts down to this share of the clear level
SMOOTH_ABOVE = 7.0  # ink noise (grey levels) above which the ink is smoothed and faint parts recovered


def ink_u8(ink: np.ndarray) -> np.ndarray:
    return np.round(ink * 255).astype(np.uint8)


def _paper_noise(u8: np.ndarray) -> tuple[float, float]:
    """The paper's ink level and its noise (a robust standard deviation), from ~40k pixels."""
    step = sample_step(u8.size)
    paper, spread = median_and_mad(u8[::step, ::step])
    return paper, 1.4826 * spread


def denoised(gray: np.ndarray) -> np.ndarray:
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


def writing_marks(binary: np.ndarray, inside_only: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Which marks in ``binary`` are shaped like handwritten digits: away from the edge (unless
    not ``inside_only``), neither specks nor large, made of strokes rather than solid. A bool per
    component label (0 is the background) and the labels."""
    h, w = binary.shape
    n, labels, stats = components_with_stats(binary, connectivity=8)
    x, y, bw, bh, area = (stats[:, i] for i in range(5))
    inside = (x > 0) & (y > 0) & (x + bw < w) & (y + bh < h)
    sized = (bh >= max(MIN_DIGIT_PX, 0.02 * h)) & (bh <= 0.5 * h) & (bw <= 1.5 * bh) & (bw >= 0.1 * bh)
    fill = area / np.maximum(bw * bh, 1)
    marks = (inside | (not inside_only)) & sized & (fill >= 0.08) & (fill <= 0.6)
    marks[0] = False
    return marks, labels


def writing_stroke(binary: np.ndarray) -> float | None:
    """The stroke width of the digit-shaped marks in ``binary`` (a dim frame's specks of noise,
    a hand's texture and rules left out), or of all its ink when none is digit-shaped. Measured
    as the widest opening that keeps half of the marks' ink: the ragged edges and pinholes of a
    noisy thick stroke make its centre-line distances small, but it survives an opening."""
    marks, labels = writing_marks(binary, inside_only=False)  # a region may cut a digit
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


def looks_written_dark(gray: np.ndarray) -> bool:
    """Whether dark writing shows clearly better than light writing: for a frame whose edge is
    darker than the middle (a sheet held before a dim wall) where no sheet outline was found.
    Both readings are tried at a small size and their digit-shaped marks counted."""
    h, w = gray.shape
    f = min(1.0, 512 / max(h, w))
    small = cv2.resize(gray, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA) if f < 1 else gray
    dark = int(writing_marks(threshold(page_ink(small, dark_ink=True))[0])[0].sum())
    light = int(writing_marks(threshold(page_ink(small, dark_ink=False))[0])[0].sum())
    return dark >= 2 * light + 1


def _edge_strips(dark: np.ndarray) -> tuple[slice, slice]:
    """The rows and columns of ``dark`` (bool) inside the dark strips along the image's edges:
    from each edge inwards, up to an eighth of the image, the lines mostly dark (the frame's
    black border, a sliver of desk; writing never fills half a line). A deeper dark area is no
    strip: it is left whole to the broad areas' test."""
    h, w = dark.shape

    def strip(share: np.ndarray, most: int) -> int:
        light = np.flatnonzero(share[:most] < 0.5)
        return int(light[0]) if light.size else 0

    rows, cols = dark.mean(axis=1), dark.mean(axis=0)
    top, bottom = strip(rows, h // 8), strip(rows[::-1], h // 8)
    left, right = strip(cols, w // 8), strip(cols[::-1], w // 8)
    return slice(top, h - bottom), slice(left, w - right)


def _stroke_otsu(u8: np.ndarray, gate: float) -> float:
    """Otsu's level of the ink, leaving out broad dark areas that come in from the image's edge
    (a strip of desk, a hand's shadow) and thin dark strips along it (a frame's black border):
    beside them faint writing would fall below the level that splits them from the paper.
    Writing, however thick, stays in."""
    dark = u8 > gate
    rows, cols = _edge_strips(dark)
    u8 = u8[rows, cols]
    h, w = u8.shape
    k = max(7, int(min(h, w) / 48)) | 1
    broad = cv2.morphologyEx(dark[rows, cols].astype(np.uint8), cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    n, labels, stats = components_with_stats(broad, connectivity=8)
    x, y, bw, bh = (stats[:, i] for i in range(4))
    edge = (x == 0) | (y == 0) | (x + bw == w) | (y + bh == h)
    edge[0] = False
    values = u8
    if edge.any():
        step = max(1, sample_step(u8.size) // 2)  # four times the usual sample: the writing is a small part
        kept = u8[::step, ::step][~edge[labels[::step, ::step]]]
        values = kept.reshape(-1, 1) if kept.size >= 16 else u8
    return float(cv2.threshold(np.ascontiguousarray(values), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[0])


def threshold(ink: np.ndarray, plain: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The writing and the faint marks.

    ``plain``: a canvas, its background the same everywhere and nothing coming in from its edge,
    so Otsu's level is taken over all of it (no edge areas to leave out).

    The writing: ink above Otsu's level (at least a floor, and well above the paper's noise:
    grain, sensor noise, JPEG), plus fainter ink down to half that level where it joins it: a
    pencil stroke's light parts, a calligraphic pen's hairlines. The faint marks: anything
    clearly above the noise, where printed rules (often lighter than the writing) are looked
    for. On noisy paper, measured on the ink lightly smoothed (keeps strokes, flattens noise)."""
    u8 = ink_u8(ink)
    if int(u8.max()) < MIN_CONTRAST * 255:
        return np.zeros_like(u8), np.zeros_like(u8)
    paper, noise = _paper_noise(u8)
    if noise >= SMOOTH_ABOVE:  # noisy paper: measure on the ink lightly smoothed (clean images stay crisp)
        u8 = ink_u8(cv2.GaussianBlur(ink, (0, 0), float(np.clip(noise / SMOOTH_ABOVE, 1.0, 2.0))))
        paper, noise = _paper_noise(u8)
    if plain:
        otsu = float(cv2.threshold(u8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[0])
    else:
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
