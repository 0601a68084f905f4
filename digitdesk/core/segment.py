"""Finding the digits in a larger image (a canvas, a scan, a phone photo).

Steps: grayscale -> the writing surface (a sheet against its surround, flattened:
:mod:`digitdesk.core.surface`) -> paper/ink polarity on that surface -> divide out uneven
lighting -> threshold with hysteresis (faint parts of a stroke count when they join a clear
part; :mod:`digitdesk.core.ink`) -> remove printed structure: rules, grids, boxes
(:mod:`digitdesk.core.structure`) -> connected components -> merge the strokes of one digit ->
drop specks -> split touching digits -> reading order (lines top to bottom, left to right;
:mod:`digitdesk.core.marks`). A canvas (``dark_ink`` known) skips the surface, the printed
structure and the noise steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from digitdesk.core.errors import raise_if_stopped
from digitdesk.core.ink import (MIN_DIGIT_PX, denoised, ink_u8, looks_written_dark, page_ink, page_ink_is_dark,
                                threshold, writing_stroke)
from digitdesk.core.labelling import components_with_stats
from digitdesk.core.marks import (Blob, components, drop_dashes, drop_edge_slivers, drop_edge_strips, drop_faint_solids,
                                  drop_frames, drop_long_lines, drop_outside_boxes, drop_printed_remnants, edge_margin, is_blot,
                                  merge_strokes, reading_order, split_wide, typical_height)
from digitdesk.core.preprocess import frame_ink, stretch_ink, to_gray
from digitdesk.core.structure import (fill_outlined, long_lines, remove_boxes, remove_structure, rule_angle,
                                      writing_height)
from digitdesk.core.surface import Surface, find_surface

WORK_SIDE = 1024  # images are analysed at most this large (longer side); boxes are scaled back
# Small writing in a photo (see _zoomed): digits under ZOOM_BELOW px at the working scale are read
# again from the photo's own pixels with the digits ZOOM_TO px tall, when that is at least
# ZOOM_GAIN times larger, for at most ZOOM_MAX_MARKS marks (dense pages read better as they are).
ZOOM_BELOW = 20
ZOOM_GAIN = 1.5
ZOOM_TO = 40
ZOOM_MAX_MARKS = 60


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


def _stop_check(should_stop: Callable[[], bool] | None) -> Callable[[], None]:
    """A function that raises :class:`~digitdesk.core.errors.Cancelled` once ``should_stop()`` is
    true (never, for None)."""
    return lambda: raise_if_stopped(should_stop, "segmentation")


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
            should_stop: Callable[[], bool] | None = None, dark_ink: bool | None = None,
            zoom: bool = True, stretch: bool = False) -> Segmentation:
    """Find every digit in ``image`` (grayscale or BGR, either polarity), in reading order.

    ``dark_ink``: the polarity, when the caller knows it and the image is a plain page (the Draw
    tab's canvas): no surface, printed lines or noise are looked for and the polarity is not
    guessed. ``zoom``: small writing in a large photo (digits a few pixels tall at the working
    scale) is read again from the image's own pixels around it (see ZOOM_BELOW), each digit's own
    contrast stretched (``stretch``: see :func:`~digitdesk.core.preprocess.stretch_ink`); without
    it, no surface is looked for and the page is not turned to level its rules (a zoomed crop).
    ``should_stop`` is called between the stages and inside the long loops (a thread-safe flag,
    e.g. a closing window's); once it returns True, :class:`~digitdesk.core.errors.Cancelled` is
    raised.
    ``Segmentation.surface`` is the sheet found (outline in image pixels), if any."""
    check = _stop_check(should_stop)
    check()
    gray = full = to_gray(image)
    h0, w0 = gray.shape[:2]
    scale = 1.0
    if max(h0, w0) > WORK_SIDE:
        scale = WORK_SIDE / max(h0, w0)
        gray = cv2.resize(gray, (max(1, round(w0 * scale)), max(1, round(h0 * scale))), interpolation=cv2.INTER_AREA)
    stages: dict[str, np.ndarray] = {"gray": gray} if keep_stages else {}
    if min(gray.shape) < 4:
        return Segmentation([], stages)
    image_size = gray.shape[1], gray.shape[0]  # the working scale, before any flattening
    surface = find_surface(gray) if dark_ink is None and zoom and min(gray.shape) >= 32 else None
    if surface is not None:
        if keep_stages:
            stages["surface"] = _draw_outline(gray, surface)
        gray = surface.flatten(gray)
    plain = dark_ink is not None  # a canvas: no sheet, no print, no sensor noise
    if not plain:
        gray = denoised(gray)
    if surface is not None:
        gray, surface = surface.grown(gray)
    h, w = gray.shape
    min_area = max(4, int(h * w * 2e-5))
    check()
    if dark_ink is None:  # a surface is brighter than its surround: paper, with dark writing on it
        dark_ink = surface is not None or page_ink_is_dark(gray) or looks_written_dark(gray)
    if plain:  # a canvas's paper is its background, the same everywhere
        ink = np.asarray(gray, np.float32) * np.float32(1 / 255)
        ink = 1.0 - ink if dark_ink else ink
    else:
        ink = page_ink(gray, dark_ink=dark_ink)
    binary, faint = threshold(ink, plain=plain)
    check()
    sw = None if plain else writing_stroke(cv2.subtract(binary, long_lines(binary)))  # the writing's, not the rules'
    if sw is not None and 3 * sw < 0.6 * max(h, w) / 8:
        # Thin strokes: estimate the paper more locally, so shadows and lighting edges
        # are not mistaken for ink.
        ink = page_ink(gray, stroke=max(sw, 1.5), dark_ink=dark_ink)
        binary, faint = threshold(ink)
        check()
    to_work = surface.matrix if surface is not None else np.eye(3)
    # A zoomed crop (zoom=False) comes from a page that was not turned: its rows are level.
    angle = None if plain or not zoom else rule_angle(faint)
    if angle is not None and abs(angle) >= 0.7:  # turn the rules level: they are found as level runs
        turn = np.vstack([cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0), [0, 0, 1]])
        ink = cv2.warpAffine(ink, turn[:2], (w, h), flags=cv2.INTER_LINEAR)
        binary = cv2.warpAffine(binary, turn[:2], (w, h), flags=cv2.INTER_NEAREST)
        faint = cv2.warpAffine(faint, turn[:2], (w, h), flags=cv2.INTER_NEAREST)
        to_work = turn @ to_work
    thresholded = binary
    printed = np.zeros_like(binary)
    box_h = None  # the writing's height, as the printed boxes were looked for
    if not plain:
        # The writing's height, measured without the page-long lines (a margin with stubs of
        # rules looks like tall marks), sets how long a rule must be.
        digit_h = writing_height(cv2.subtract(binary, long_lines(cv2.bitwise_or(binary, faint))), spanning=False)
        binary, printed = remove_structure(binary, faint, ink_u8(cv2.GaussianBlur(ink, (0, 0), 1.0)), digit_h)
        box_h = writing_height(binary)
        binary, boxes = remove_boxes(binary, sw, box_h, cv2.subtract(faint, printed))
        printed = cv2.bitwise_or(printed, boxes)
    filled = binary if plain else fill_outlined(binary, writing_height(binary))
    if filled is not binary and binary.any():
        # The filled bodies get the writing's ink strength, out to the outline's inner edge.
        body = cv2.dilate((filled > binary).astype(np.uint8), np.ones((5, 5), np.uint8))
        ink = np.maximum(ink, body.astype(np.float32) * float(np.percentile(ink[binary > 0], 90)))
        binary = filled
    n, labels, stats = components_with_stats(binary) if plain else components(binary, min_area, stroke=sw)
    check()
    blobs = []
    for i in range(1, n):
        x, y, bw, bh, area = (int(v) for v in stats[i])
        if area < min_area:
            continue
        if (bw > 0.9 * w and bh > 0.9 * h) or (bw >= 0.6 * w and bh < bw / 12) or (bh >= 0.8 * h and bw < bh / 20 and (x < w // 8 or x + bw > w - w // 8)):
            continue  # page border or a ruled line
        blobs.append(Blob(x, y, x + bw, y + bh, [i], area))
    blobs = merge_strokes(drop_frames(blobs, h * w), should_stop, None if plain else _joined_height(binary, sw, min_area),
                          None if plain else (w, h))
    if not plain:  # a canvas has no printed lines, and nothing comes in from its edge
        blobs = drop_edge_slivers(drop_edge_strips(drop_dashes(drop_long_lines(blobs, labels, max(w, h))), w, h), w, h)
    blobs = drop_outside_boxes(drop_printed_remnants(blobs, labels, printed), printed, box_h)
    if blobs:
        typical_h = typical_height(blobs)
        if zoom and not plain and surface is None and np.array_equal(to_work, np.eye(3)) and typical_h < ZOOM_BELOW:
            writing = [b for b in blobs if b.h >= 0.4 * typical_h and b.area >= 0.02 * typical_h ** 2 and not is_blot(b)]
            zoomed = _zoomed(full, writing, typical_h, scale, should_stop)
            if zoomed is not None:
                zoomed.stages = stages
                return zoomed
        blobs = [b for b in blobs if b.h >= max(MIN_DIGIT_PX, 0.4 * typical_h) and b.area >= 0.02 * typical_h ** 2
                 and not is_blot(b)]
        if not plain and sw is not None:
            blobs = drop_faint_solids(blobs, labels, ink, sw)
    pieces = []  # (box, mask) per digit
    for b in blobs:
        check()
        mask = np.isin(labels[b.y0 : b.y1, b.x0 : b.x1], b.labels)
        for c0, c1 in split_wide(b, mask):
            sub = mask[:, c0 - b.x0 : c1 - b.x0]
            rows = np.nonzero(sub.any(axis=1))[0]
            if len(rows) == 0:
                continue
            y0, y1 = b.y0 + int(rows[0]), b.y0 + int(rows[-1]) + 1
            pieces.append(((c0, y0, c1 - c0, y1 - y0), mask[y0 - b.y0 : y1 - b.y0, c0 - b.x0 : c1 - b.x0]))
    regions = []
    check()
    for line, i in reading_order([p[0] for p in pieces]):
        check()
        (x, y, bw, bh), mask = pieces[i]
        soft = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        crop = np.where(soft, ink[y : y + bh, x : x + bw], 0.0)
        if stretch:
            crop = stretch_ink(crop)
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


def _zoomed(image: np.ndarray, writing: list[Blob], typical_h: float, scale: float,
            should_stop: Callable[[], bool] | None) -> Segmentation | None:
    """Small writing read again at a larger scale: the part of ``image`` (the full-size uint8
    grey image) around the marks of ``writing`` (found at ``scale``), scaled so that the digits are
    ZOOM_TO pixels tall (the crop at most WORK_SIDE), segmented without a surface or a further
    zoom, its boxes moved back into ``image``. None if there is no writing or the crop would not
    be read at least ZOOM_GAIN times larger than at the working scale, or the writing is more
    than ZOOM_MAX_MARKS marks."""
    if not writing or len(writing) > ZOOM_MAX_MARKS:
        return None
    h0, w0 = image.shape[:2]
    pad = 2.0 * typical_h
    x0 = max(0, int((min(b.x0 for b in writing) - pad) / scale))
    y0 = max(0, int((min(b.y0 for b in writing) - pad) / scale))
    x1 = min(w0, int(np.ceil((max(b.x1 for b in writing) + pad) / scale)))
    y1 = min(h0, int(np.ceil((max(b.y1 for b in writing) + pad) / scale)))
    f = min(ZOOM_TO / (typical_h / scale), WORK_SIDE / max(1, x1 - x0, y1 - y0))  # the crop's own scale
    if f / scale < ZOOM_GAIN:  # read no larger than at the working scale
        return None
    crop = image[y0:y1, x0:x1]
    if f != 1.0:
        crop = cv2.resize(crop, (max(1, round(crop.shape[1] * f)), max(1, round(crop.shape[0] * f))),
                          interpolation=cv2.INTER_CUBIC if f > 1 else cv2.INTER_AREA)
    found = segment(crop, should_stop=should_stop, zoom=False, stretch=True)
    for r in found.regions:
        x, y, bw, bh = r.box
        bx0, by0 = x0 + int(x / f), y0 + int(y / f)
        r.box = (bx0, by0, max(1, min(w0, x0 + int(np.ceil((x + bw) / f))) - bx0),
                 max(1, min(h0, y0 + int(np.ceil((y + bh) / f))) - by0))
    return found


def _joined_height(binary: np.ndarray, stroke: float | None, min_area: int) -> float | None:
    """The digits' height with the gaps of a skipping pen closed: the typical height of the marks,
    no wider than tall, once the pieces within a stroke width (2-4 px) of each other are joined;
    None if fewer than two."""
    r = int(round(min(4.0, max(2.0, stroke or 2.0))))
    joined = cv2.dilate(binary, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    n, _labels, stats = components_with_stats(joined, connectivity=8)
    w, h = stats[1:, cv2.CC_STAT_WIDTH] - 2 * r, stats[1:, cv2.CC_STAT_HEIGHT] - 2 * r
    # One digit each: marks wider than tall are digits run together (a row, or rows of a block).
    single = (stats[1:, cv2.CC_STAT_AREA] >= min_area) & (h > 0) & (w <= 1.2 * h)
    # Away from the image's edge: what comes in from it (arms holding a card, a desk) is no writing.
    m = edge_margin(*binary.shape)
    x, y = stats[1:, cv2.CC_STAT_LEFT], stats[1:, cv2.CC_STAT_TOP]
    single &= (x > m) & (y > m) & (x + stats[1:, cv2.CC_STAT_WIDTH] < binary.shape[1] - m) \
        & (y + stats[1:, cv2.CC_STAT_HEIGHT] < binary.shape[0] - m)
    heights = [int(v) for v in h[single]]
    if len(heights) < 2:
        return None
    tallest = float(np.percentile(heights, 90))
    return float(np.median([v for v in heights if v >= 0.5 * tallest]))


def _draw_outline(gray: np.ndarray, surface: Surface) -> np.ndarray:
    """The image with the surface's outline drawn in green (the stages view)."""
    vis = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    pts = np.round(surface.outline).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(vis, [pts], True, (0, 200, 0), max(2, round(max(gray.shape) / 300)), cv2.LINE_AA)
    return vis
