"""MNIST framing of one digit: the model sees what MNIST digits look like.

The MNIST recipe: white ink on black, the ink's bounding box scaled (keeping the aspect ratio,
with anti-aliasing) so its longer side is 20 px, pasted into 28x28 so that the centre of mass
lands at the centre. Measured on the 60,000 MNIST training digits, the centre of mass sits at
(row 14.0, column 14.0) with a spread of 0.29 px; we put it there too.
"""

from __future__ import annotations

import cv2
import numpy as np

from digitdesk.core.errors import ImageError
from digitdesk.core.imageio import to_gray

__all__ = ["to_gray", "frame_digit", "frame_ink", "digit_ink", "border_is_light", "centre_of_mass", "stroke_width",
           "sample_step", "median_and_mad", "stretch_ink"]

PREPROCESS_VERSION = 1
BOX = 20  # longer side of the ink in the 28x28 frame
SIZE = 28
CENTRE = 14.0  # where MNIST puts the centre of mass (row and column index)
INK_FLOOR = 0.08  # ink below this fraction of the maximum counts as background
# MNIST stroke widths in the 28x28 frame (measured on the test set, on the frame blown up 4x):
# median 2.0 px, 5th percentile 1.4, 97th about 3.8. Strokes outside STROKE_RANGE are brought
# to STROKE_TARGET by a dilation or erosion at 4x, by at most MAX_STROKE_CHANGE.
STROKE_RANGE = (1.4, 3.8)
STROKE_TARGET = (1.8, 3.0)
MAX_STROKE_CHANGE = 3.0  # px in the 28x28 frame
FINE = 4
SAMPLE_PIXELS = 40_000  # a median or a spread over about this many pixels is plenty
# stretch_ink: a digit's 20th percentile of ink is no ink, its 95th full ink (the low end at
# most 0.6 of the high one); a crop of fewer ink pixels than STRETCH_MIN_PIXELS is left alone.
STRETCH_PERCENTILES = (20, 95)
STRETCH_CAP = 0.6
STRETCH_MIN_PIXELS = 20


def sample_step(size: int) -> int:
    """The stride along both axes that samples about :data:`SAMPLE_PIXELS` of an image of
    ``size`` pixels (``image[::step, ::step]``)."""
    return max(1, int((size / SAMPLE_PIXELS) ** 0.5))


def median_and_mad(u8: np.ndarray) -> tuple[float, float]:
    """The median of uint8 values and the median of their absolute deviations from it, the same
    numbers ``np.median`` gives on the values as float32, counted from a 256-level histogram
    (several times faster than sorting)."""
    values = np.ascontiguousarray(u8, np.uint8)
    counts = cv2.calcHist([values.reshape(-1, 1)], [0], None, [256], [0, 256]).ravel().astype(np.int64)
    levels = np.arange(256, dtype=np.float64)
    median = _counted_median(levels, counts)
    deviation = np.abs(levels - median)
    order = np.argsort(deviation, kind="stable")
    return median, _counted_median(deviation[order], counts[order])


def _counted_median(values: np.ndarray, counts: np.ndarray) -> float:
    """The median of ``values`` (ascending) each repeated ``counts`` times: the middle one, or the
    mean of the two middle ones."""
    n = int(counts.sum())
    if n == 0:
        return float("nan")
    reached = np.cumsum(counts)
    lower = values[np.searchsorted(reached, (n - 1) // 2, side="right")]
    upper = values[np.searchsorted(reached, n // 2, side="right")]
    return float((lower + upper) / 2)


def border_is_light(gray: np.ndarray) -> bool:
    """True if the ink is darker than the paper, judged by the image border (mostly paper)."""
    gray = np.asarray(gray)
    if min(gray.shape[:2]) < 3:
        return float(np.median(gray)) > 127
    border = float(np.median(np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])))
    step = sample_step(gray.shape[0] * gray.shape[1])
    return border > 127 or border > float(np.median(gray[1:-1:step, 1:-1:step]))


def digit_ink(image: np.ndarray) -> np.ndarray:
    """Ink map in 0..1 (white ink on black) of a one-digit image of either polarity."""
    gray = to_gray(image).astype(np.float32)
    if border_is_light(gray):
        gray = 255.0 - gray
    background = float(np.median(np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])))
    ink = np.clip(gray - background, 0, None)
    peak = float(ink.max(initial=0.0))
    return ink / peak if peak > 0 else ink


def stroke_width(binary: np.ndarray) -> float | None:
    """Typical stroke width in pixels of a binary ink image, or None if there is no ink: twice
    the distance to the background along the strokes' centre lines, at a low percentile so that
    one broad shadow or blot, even one joined to the strokes, does not count."""
    binary = np.ascontiguousarray(binary, dtype=np.uint8)
    if not binary.any():
        return None
    binary = cv2.copyMakeBorder(binary, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)  # ink may fill the frame
    dt = cv2.distanceTransform(binary, cv2.DIST_L2, 3)
    ridge = (dt > 0) & (dt >= cv2.dilate(dt, np.ones((3, 3), np.uint8)))
    return float(2 * np.percentile(dt[ridge], 30))


def _ink_box(ink: np.ndarray) -> tuple[slice, slice] | None:
    """The rows and columns that hold ink above INK_FLOOR, or None."""
    inked = ink > INK_FLOOR
    rows = np.flatnonzero(inked.any(axis=1))
    if len(rows) == 0:
        return None
    cols = np.flatnonzero(inked.any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _scaled(crop: np.ndarray, box: float) -> np.ndarray:
    h, w = crop.shape
    scale = box / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(crop, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


def _final_stroke_width(fine: np.ndarray, fine_scale: int) -> float | None:
    """Stroke width in final (28x28) pixels, measured as on MNIST: on the final-size image
    blown back up ``fine_scale`` times, so anti-aliased edges count the way they do there."""
    small = _scaled(fine, max(fine.shape) / fine_scale)
    up = cv2.resize(small / max(float(small.max()), 1e-6), (fine.shape[1], fine.shape[0]), interpolation=cv2.INTER_LINEAR)
    sw = stroke_width((up >= 0.5).astype(np.uint8))
    return None if sw is None else sw / fine_scale


def normalise_stroke(fine: np.ndarray, fine_scale: int = FINE) -> np.ndarray:
    """Thicken strokes thinner than MNIST's (a thin pen on a big digit) or thin ones much
    bolder, in an ink image drawn ``fine_scale`` times larger than the final 20 px box."""
    sw = _final_stroke_width(fine, fine_scale)
    if sw is None or STROKE_RANGE[0] <= sw <= STROKE_RANGE[1]:
        return fine
    thicken = sw < STROKE_RANGE[0]
    op = cv2.dilate if thicken else cv2.erode
    most = int(round(MAX_STROKE_CHANGE * fine_scale)) | 1  # a filled blob is no stroke to thin
    result = fine
    for k in range(3, most + 1, 2):  # grow the change until the measure reaches the target
        result = op(fine, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
        sw = _final_stroke_width(result, fine_scale)
        if sw is None or (sw >= STROKE_TARGET[0] if thicken else sw <= STROKE_TARGET[1]):
            break
    return result if sw is not None else fine


def stretch_ink(ink: np.ndarray) -> np.ndarray:
    """A digit's ink map (0..1, white on black) with its own contrast stretched, for small writing
    blown up from a photo's pixels, where the blur of a few pixels greys a thick pen's loops and
    halo: its faintest fifth (STRETCH_PERCENTILES) becomes no ink and its strong strokes full ink,
    as in MNIST. The ramp starts at most STRETCH_CAP of the strong ink, so a faint stroke stays. A
    crop with too little ink to measure is only scaled to its peak."""
    a = np.asarray(ink, np.float32)
    peak = float(a.max(initial=0.0))
    if peak <= 0:
        return a
    a = a / peak
    values = a[a > INK_FLOOR]
    if len(values) < STRETCH_MIN_PIXELS:
        return a
    low, high = (float(v) for v in np.percentile(values, STRETCH_PERCENTILES))
    low = min(low, STRETCH_CAP * high)
    return np.clip((a - low) / max(high - low, 1e-3), 0.0, 1.0)


def _unit_ink(ink: np.ndarray) -> np.ndarray:
    """An ink map ``(H, W)`` of any real dtype as float32 scaled to 0..1 by its peak: NaN and
    negative values are no ink, +inf is full ink."""
    a = np.asarray(ink)
    if a.dtype.kind not in "biuf" or a.ndim != 2:
        raise ImageError(f"expected an ink map of numbers with shape (H, W), got {a.dtype} of shape {a.shape}")
    a = a.astype(np.float64 if a.dtype.itemsize > 4 else np.float32)  # float64 values may overflow float32
    full = np.isposinf(a)
    a = np.where(np.isfinite(a), np.maximum(a, 0), 0)
    peak = float(a.max(initial=0.0))
    if peak > 0:
        a = a / peak
    a[full] = 1.0
    return a.astype(np.float32, copy=False)


def frame_ink(ink: np.ndarray) -> np.ndarray:
    """MNIST-frame an ink map (0..1 or 0..255, white on black): a 28x28 uint8 image."""
    ink = _unit_ink(ink)
    out = np.zeros((SIZE, SIZE), np.uint8)
    box = _ink_box(ink)
    if box is None:
        return out
    crop = np.where(ink[box] > INK_FLOOR, ink[box], 0.0)
    # Measure and correct the stroke width at FINE x the final size, then re-crop (a thicker
    # stroke reaches further out) and scale the ink's longer side to BOX pixels.
    fine = normalise_stroke(_scaled(crop, BOX * FINE))
    fine_box = _ink_box(fine / max(float(fine.max()), 1e-6))
    if fine_box is None:
        return out
    small = _scaled(fine[fine_box], BOX)
    small = np.clip(small / max(float(small.max()), 1e-6), 0, 1)
    nh, nw = small.shape
    mass = float(small.sum())
    if mass <= 0:
        return out
    cy = float((small.sum(axis=1) * np.arange(nh)).sum() / mass)
    cx = float((small.sum(axis=0) * np.arange(nw)).sum() / mass)
    top = int(np.clip(round(CENTRE - cy), 0, SIZE - nh))
    left = int(np.clip(round(CENTRE - cx), 0, SIZE - nw))
    out[top : top + nh, left : left + nw] = np.round(small * 255).astype(np.uint8)
    return out


def frame_digit(image: np.ndarray) -> np.ndarray:
    """MNIST-frame one digit from a grayscale or colour image of either polarity: 28x28 uint8."""
    return frame_ink(digit_ink(image))


def centre_of_mass(image28: np.ndarray) -> tuple[float, float]:
    """(row, column) centre of mass of a framed digit."""
    img = _unit_ink(image28).astype(np.float64)
    total = img.sum()
    if total <= 0:
        return (CENTRE, CENTRE)
    rows = (img.sum(axis=1) * np.arange(img.shape[0])).sum() / total
    cols = (img.sum(axis=0) * np.arange(img.shape[1])).sum() / total
    return (float(rows), float(cols))
