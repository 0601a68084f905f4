"""MNIST framing of one digit: the model sees what MNIST digits look like.

The MNIST recipe: white ink on black, the ink's bounding box scaled (keeping the aspect ratio,
with anti-aliasing) so its longer side is 20 px, pasted into 28x28 so that the centre of mass
lands at the centre. Measured on the 60,000 MNIST training digits, the centre of mass sits at
(row 14.0, column 14.0) with a spread of 0.29 px; we put it there too.
"""

from __future__ import annotations

import cv2
import numpy as np

from digitdesk.core.imageio import to_gray

__all__ = ["to_gray", "frame_digit", "frame_ink", "to_ink", "is_dark_on_light", "centre_of_mass"]

PREPROCESS_VERSION = 1
BOX = 20  # longer side of the ink in the 28x28 frame
SIZE = 28
CENTRE = 14.0  # where MNIST puts the centre of mass (row and column index)
INK_FLOOR = 0.08  # ink below this fraction of the maximum counts as background


def is_dark_on_light(gray: np.ndarray) -> bool:
    """True if the ink is darker than the paper, judged by the image border (mostly paper)."""
    gray = np.asarray(gray)
    if min(gray.shape[:2]) < 3:
        return float(np.median(gray)) > 127
    border = float(np.median(np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])))
    step = max(1, int((gray.shape[0] * gray.shape[1] / 40_000) ** 0.5))  # a median of ~40k pixels is plenty
    return border > 127 or border > float(np.median(gray[1:-1:step, 1:-1:step]))


def to_ink(image: np.ndarray) -> np.ndarray:
    """Ink map in 0..1 (white ink on black) of a one-digit image of either polarity."""
    gray = to_gray(image).astype(np.float32)
    if is_dark_on_light(gray):
        gray = 255.0 - gray
    background = float(np.median(np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])))
    ink = np.clip(gray - background, 0, None)
    peak = float(ink.max(initial=0.0))
    return ink / peak if peak > 0 else ink


def frame_ink(ink: np.ndarray) -> np.ndarray:
    """MNIST-frame an ink map (0..1 or 0..255, white on black): a 28x28 uint8 image."""
    ink = np.asarray(ink, dtype=np.float32)
    peak = float(ink.max(initial=0.0))
    out = np.zeros((SIZE, SIZE), np.uint8)
    if peak <= 0:
        return out
    ink = ink / peak
    ys, xs = np.nonzero(ink > INK_FLOOR)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    crop = np.where(ink[y0:y1, x0:x1] > INK_FLOOR, ink[y0:y1, x0:x1], 0.0)
    h, w = crop.shape
    scale = BOX / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(crop, (nw, nh), interpolation=interp)
    small = np.clip(small / max(float(small.max()), 1e-6), 0, 1)
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
    return frame_ink(to_ink(image))


def centre_of_mass(image28: np.ndarray) -> tuple[float, float]:
    """(row, column) centre of mass of a framed digit."""
    img = np.asarray(image28, dtype=np.float64)
    total = img.sum()
    if total <= 0:
        return (CENTRE, CENTRE)
    rows = (img.sum(axis=1) * np.arange(img.shape[0])).sum() / total
    cols = (img.sum(axis=0) * np.arange(img.shape[1])).sum() / total
    return (float(rows), float(cols))
