"""The writing surface: the sheet, card or note the digits are written on, found in a photo or a
webcam frame whatever surrounds it (a desk, hands, a keyboard, a wall), and flattened.

A surface is a large, bright, even region with four corners and sharp edges, set off from what
surrounds it: cut out at a brightness level, or, barely lighter than a blotchy wall, parted
from it along its sharp edges. A lit wall found so is looked in for the sheet held before it.
It is warped to a rectangle (a sheet held at an angle reads as if seen straight on), and
reading then works inside it only, with the ink polarity decided there.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from digitdesk.core.labelling import components_with_stats

ANALYSIS_SIDE = 256  # the surface is looked for at this size (longer side)
MIN_AREA = 0.06  # of the image: smaller bright regions are not the surface
MAX_AREA = 0.985  # of the image: a region this large is the whole picture (no surround to cut)
MIN_STEP = 28  # grey levels between the surface and its surround
PARTED_STEP = 16  # ...and for a surface parted from it along its sharpest edges (see _parted)
NEST_AREA = 0.45  # of the image: a surface this large is looked in for a surface on it...
NEST_SHARE = 0.6  # ...at most this share of it (``nested``)
MIN_SURROUND = 0.015  # of the image outside the surface (a strip of desk at one edge counts)
MIN_SOLIDITY = 0.88  # area over convex hull area: a sheet is convex, a patch of light is not
CLEAR_STEP = 80  # grey levels: a surround this much darker is no shadow (see _outline_clear)...
SHARP_CLEAR_STEP = 60  # ...nor one this much darker across an outline as sharp as a sheet's edge:
SHARP_EDGE = 0.18  # (a soft patch of light scores 0.12-0.15; a sheet's edge 0.2+, and so may a hard shadow's)
MIN_FLAT_SIDE = 640  # a flattened surface is at least this large (longer side)...
MAX_GROW = 2.5  # ...but grown at most this much
MIN_EDGE = 0.12  # the step across the outline per pixel, over the whole step: an edge, not a light fall-off


@dataclass
class Surface:
    """Where the writing is: ``outline`` (4x2 float32, image pixels, clockwise from top-left),
    flattened by ``matrix`` (3x3, image -> flat) to ``size`` (w, h)."""

    outline: np.ndarray
    matrix: np.ndarray
    size: tuple[int, int]

    def flatten(self, gray: np.ndarray) -> np.ndarray:
        """The surface alone, warped flat."""
        return cv2.warpPerspective(gray, self.matrix, self.size, flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REPLICATE)

    def grown(self, flat: np.ndarray) -> tuple[np.ndarray, "Surface"]:
        """A flattened surface small in the frame (a card held up to a webcam) made larger, so
        that its strokes are a few pixels wide for the stroke measures; with the surface whose
        matrix maps the image onto it. Done after noise filtering, which works on the pixels as
        the camera took them. Unchanged when the surface is large enough."""
        grow = min(MAX_GROW, MIN_FLAT_SIDE / max(self.size))
        if grow <= 1:
            return flat, self
        size = (int(round(self.size[0] * grow)), int(round(self.size[1] * grow)))
        scale = np.diag([size[0] / self.size[0], size[1] / self.size[1], 1.0])
        return (cv2.resize(flat, size, interpolation=cv2.INTER_LINEAR),
                Surface(self.outline, scale @ self.matrix, size))


def _order(quad: np.ndarray) -> np.ndarray:
    """Corners clockwise from the top-left."""
    q = quad.reshape(4, 2).astype(np.float32)
    s, d = q.sum(axis=1), np.diff(q, axis=1).ravel()
    return np.float32([q[np.argmin(s)], q[np.argmin(d)], q[np.argmax(s)], q[np.argmax(d)]])


def _quad_of(contour: np.ndarray) -> np.ndarray | None:
    """Four corners that fit the region's outline closely, or None."""
    hull = cv2.convexHull(contour)
    area = cv2.contourArea(hull)
    if area <= 0:
        return None
    peri = cv2.arcLength(hull, True)
    for eps in (0.02, 0.03, 0.045, 0.06):
        approx = cv2.approxPolyDP(hull, eps * peri, True)
        if len(approx) == 4 and cv2.isContourConvex(approx):
            if cv2.contourArea(approx) >= 0.9 * area:
                return _order(approx)
            return None
    return None


def _edge_strength(level: np.ndarray, contour: np.ndarray, step: float) -> float:
    """How sharp the region's outline is, where it does not run along the image's border: the
    brightness change per pixel across it over the whole step (an edge, the border of a sheet,
    scores high; the soft fall-off of light across one surface, low)."""
    gx = cv2.Sobel(level, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(level, cv2.CV_32F, 0, 1, ksize=3) / 8
    grad = cv2.dilate(np.hypot(gx, gy), np.ones((3, 3), np.uint8))
    pts = contour.reshape(-1, 2)
    h, w = level.shape
    inner = (pts[:, 0] > 1) & (pts[:, 0] < w - 2) & (pts[:, 1] > 1) & (pts[:, 1] < h - 2)
    if inner.sum() < 8:
        return 0.0
    return float(np.median(grad[pts[inner, 1], pts[inner, 0]])) / max(step, 1.0)


def _outline_clear(small: np.ndarray, level: np.ndarray, quad: np.ndarray, step: float, edge: float = 0.0) -> bool:
    """Whether the four sides run clear of the writing where they are inside the image (a sheet's
    edge does not cut through strokes; the edge of a patch of light or shadow does), and at
    least one side is inside it. Against a surround much darker than the surface (``step`` of
    CLEAR_STEP or more, or SHARP_CLEAR_STEP across an outline of SHARP_EDGE or more: a sheet
    before a dim room, a grey wall or a dark desk, not a shadow on paper), a stroke counts as
    cut only with ink just outside the outline too: writing may come close to a sheet's edge.
    In a shadow the strokes outside show too faintly to tell, so there any ink just inside
    counts."""
    h, w = small.shape
    centre = quad.mean(axis=0)
    reach = max(8.0, float(np.linalg.norm(quad - centre, axis=1).min()))
    t = np.linspace(0.0, 1.0, 60, endpoint=False)[:, None]

    def ring(offset: float) -> tuple[np.ndarray, np.ndarray]:
        corners = centre + (quad - centre) * (1 + offset / reach)
        pts = np.concatenate([corners[i] + t * (corners[(i + 1) % 4] - corners[i]) for i in range(4)])
        return np.round(pts[:, 0]).astype(int), np.round(pts[:, 1]).astype(int)

    near = cv2.erode(cv2.medianBlur(small, 5), np.ones((3, 3), np.uint8))  # the darkest around each point, noise aside

    def on_ink(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return near[y, x].astype(np.int16) < level[y, x].astype(np.int16) - MIN_STEP

    (xi, yi), (xo, yo) = ring(-5.0), ring(4.0)  # just inside, just outside
    inner = (xi > 2) & (xi < w - 3) & (yi > 2) & (yi < h - 3)
    if inner.sum() < 30:
        return False  # the whole picture
    outer = inner & (xo >= 0) & (xo < w) & (yo >= 0) & (yo < h)
    cut = np.zeros(len(xi), bool)
    cut[inner] = on_ink(xi[inner], yi[inner])
    crossing = np.zeros(len(xi), bool)
    crossing[outer] = on_ink(xo[outer], yo[outer])
    if step >= CLEAR_STEP:
        cut &= crossing | ~outer
        return int(cut.sum()) <= 1
    # A shadow's edge may be sharp too. Across it, a stroke broader than the paper level's
    # closing (a close-up's) shows as ink on both sides against each side's own paper.
    if outer.any():
        inside, outside = near[yi[outer], xi[outer]].astype(np.int16), near[yo[outer], xo[outer]].astype(np.int16)
        if int(((inside < np.median(inside) - MIN_STEP) & (outside < np.median(outside) - MIN_STEP)).sum()) > 1:
            return False
    if step >= SHARP_CLEAR_STEP and edge >= SHARP_EDGE:
        cut &= crossing | ~outer
    return int(cut.sum()) <= 1


def _candidate(level: np.ndarray, t: float, k: int, small: np.ndarray) -> tuple[float, np.ndarray] | None:
    """The largest region brighter than ``t`` as a possible surface: (score, four corners), or
    None if it is too small or large, not set off from its surround, uneven, not convex,
    without a sharp outline or without four corners (a patch of light, paper between thick
    strokes)."""
    sh, sw = level.shape
    bright = cv2.morphologyEx((level > t).astype(np.uint8) * 255, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    n, labels, stats = components_with_stats(bright, connectivity=4)
    if n <= 1:
        return None
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    area = stats[best, cv2.CC_STAT_AREA] / (sh * sw)
    if not (MIN_AREA <= area <= MAX_AREA):
        return None
    region = (labels == best).astype(np.uint8) * 255
    return _judged(level, cv2.morphologyEx(region, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))),
                   area, small, MIN_STEP)


def _parted(level: np.ndarray, k: int, small: np.ndarray) -> tuple[float, np.ndarray] | None:
    """The brightest region parted from its surround where the brightness changes most sharply
    (a watershed from the brightest part of the picture and the darker half of it), as a
    possible surface: a sheet only a little lighter than the blotchy wall behind it, which no
    brightness level cuts out whole (the wall's light blotches join it), but whose edge is
    sharper than the blotches' soft fall-off. Judged as a surface with a smaller step
    (PARTED_STEP)."""
    sh, sw = level.shape
    darker, brightest = np.percentile(level, (50, 88))
    n, labels, stats = components_with_stats((level >= brightest).astype(np.uint8), connectivity=4)
    if n <= 1:
        return None
    seed = cv2.erode((labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))).astype(np.uint8), np.ones((3, 3), np.uint8))
    markers = (level <= darker).astype(np.int32)
    markers[seed > 0] = 2
    if not (markers == 1).any() or not (markers == 2).any():
        return None
    parted = cv2.watershed(cv2.cvtColor(level, cv2.COLOR_GRAY2BGR), markers)
    region = cv2.morphologyEx(((parted == 2) * 255).astype(np.uint8), cv2.MORPH_CLOSE,
                              cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    area = float(np.count_nonzero(region)) / (sh * sw)
    if not (MIN_AREA <= area <= MAX_AREA):
        return None
    return _judged(level, region, area, small, PARTED_STEP)


def _judged(level: np.ndarray, region: np.ndarray, area: float, small: np.ndarray,
            min_step: float) -> tuple[float, np.ndarray] | None:
    """``region`` (a uint8 mask, ``area`` of the image) as a surface: (score, four corners), or
    None if it is not set off from its surround by ``min_step``, uneven, not convex, without a
    sharp outline or without four corners clear of the writing."""
    sh, sw = level.shape
    inside, outside = level[region > 0], level[region == 0]
    if outside.size < MIN_SURROUND * sh * sw:
        return None
    step = float(np.median(inside)) - float(np.median(outside))
    if step < min_step or float(inside.std()) > 0.5 * step + 12:
        return None  # not set off, or not an even surface (a bright part of a busy scene)
    contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    contour = max(contours, key=cv2.contourArea)
    hull_area = cv2.contourArea(cv2.convexHull(contour))
    solidity = cv2.contourArea(contour) / hull_area if hull_area > 0 else 0.0
    if solidity < MIN_SOLIDITY:
        return None
    edge = _edge_strength(level, contour, step)
    if edge < MIN_EDGE:
        return None
    quad = _quad_of(contour)
    if quad is None or not _outline_clear(small, level, quad, step, edge):
        return None
    return edge * solidity * area ** 0.25, quad


def find_surface(gray: np.ndarray, nested: bool = True) -> Surface | None:
    """The sheet in ``gray`` (uint8) if one stands out from a darker surround, else None (the
    whole image is the page: a scan, a close-up photo, a canvas). Several brightness levels are
    tried (Otsu's and a range of percentiles): a sheet may be only a little lighter than a
    blotchy wall behind it. If none cuts out a surface, the brightest region is parted from the
    rest along the sharpest edges (see _parted). ``nested``: a surface of NEST_AREA of the
    image or more (a lit wall above a desk) is looked in, flattened, for a surface on it at
    most NEST_SHARE of its size (the sheet held before it), which is then the one found."""
    h, w = gray.shape
    f = ANALYSIS_SIDE / max(h, w)
    small = cv2.resize(gray, (max(8, round(w * f)), max(8, round(h * f))), interpolation=cv2.INTER_AREA) if f < 1 else gray
    f = small.shape[1] / w
    # Writing and rules are thin: a closing wider than them leaves the paper level everywhere.
    k = max(3, int(max(small.shape) / 32) | 1)
    level = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    level = cv2.GaussianBlur(level, (0, 0), 1.5)
    otsu, _ = cv2.threshold(level, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    levels = [float(otsu), *np.percentile(level, (30, 45, 60, 70, 80, 88)).tolist()]
    found = [c for t in levels if (c := _candidate(level, t, k, small)) is not None]
    if not found and (c := _parted(level, k, small)) is not None:
        found = [c]
    if not found:
        return None
    _score, quad = max(found, key=lambda c: c[0])
    quad = quad / f
    # Pull the corners in a little: the sheet's edge (and its shadow) is no writing.
    centre = quad.mean(axis=0)
    quad = (centre + (quad - centre) * 0.97).astype(np.float32)
    if nested and cv2.contourArea(quad) >= NEST_AREA * h * w:
        # A surface this large may be a lit wall above a desk or between arms, with the sheet
        # held before it: a much smaller surface found on it, flattened, is the sheet.
        outer = _surface_at(quad)
        inner = find_surface(outer.flatten(gray), nested=False)
        if inner is not None and cv2.contourArea(inner.outline) <= NEST_SHARE * outer.size[0] * outer.size[1]:
            return _surface_at(cv2.perspectiveTransform(inner.outline[None], np.linalg.inv(outer.matrix))[0].astype(np.float32))
    return _surface_at(quad)


def _surface_at(quad: np.ndarray) -> Surface:
    """The surface with these corners (4x2 float32, image pixels, clockwise from top-left)."""
    top, right = np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[1])
    bottom, left = np.linalg.norm(quad[2] - quad[3]), np.linalg.norm(quad[3] - quad[0])
    size = (max(8, int(round(max(top, bottom)))), max(8, int(round(max(left, right)))))
    target = np.float32([[0, 0], [size[0] - 1, 0], [size[0] - 1, size[1] - 1], [0, size[1] - 1]])
    return Surface(quad, cv2.getPerspectiveTransform(quad, target), size)
