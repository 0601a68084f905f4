"""Fast stand-ins for two OpenCV calls the engine makes many times per photo, giving the same
results bit for bit.

``cv2.connectedComponentsWithStats`` spends most of its time on the statistics (about 15 ms on
a 1024x768 page, blank or not, against about 1 ms for the labels alone): :func:`components_with_stats`
labels with ``cv2.connectedComponents`` and counts the statistics from the runs of each label
along the rows.
``cv2.morphologyEx(..., MORPH_OPEN, <a 1xN or Nx1 rectangle>)`` costs time in proportion to
the kernel's length (a rule search opens with kernels of 800 px): on a 0/255 image
:func:`open_line` keeps the straight runs long enough instead, with OpenCV's border rule.
"""

from __future__ import annotations

import cv2
import numpy as np


def components_with_stats(binary: np.ndarray, connectivity: int = 8) -> tuple[int, np.ndarray, np.ndarray]:
    """``(n, labels, stats)`` exactly as ``cv2.connectedComponentsWithStats(binary,
    connectivity=connectivity)[:3]`` gives them for a 2-D uint8 image (labels int32, stats
    int32 ``n x 5``: left, top, width, height, area; row 0 the background's). The statistics
    are counted from the runs of one label along the rows (a page has a few thousand)."""
    binary = np.ascontiguousarray(binary)
    if binary.ndim != 2:
        return cv2.connectedComponentsWithStats(binary, connectivity=connectivity)[:3]
    if binary.dtype == np.uint8:
        h, w = binary.shape
        x, y, bw, bh = cv2.boundingRect(binary)
        if bw == 0:  # no ink: the background alone, the whole image
            return 1, np.zeros((h, w), np.int32), np.array([[0, 0, w, h, h * w]], np.int32)
        x0, y0, x1, y1 = x & ~1, y & ~1, x + bw, y + bh
        if (x1 - x0) * (y1 - y0) <= 0.5 * h * w:
            return _in_box(binary, connectivity, x0, y0, x1, y1)
    return _components(binary, connectivity)


def _in_box(binary: np.ndarray, connectivity: int, x0: int, y0: int, x1: int, y1: int) -> tuple[int, np.ndarray, np.ndarray]:
    """:func:`components_with_stats` of ``binary`` whose ink lies in ``[x0, x1) x [y0, y1)``,
    labelled in that box only (a page's later stages keep a few marks). The box starts on an even
    row and column, so that OpenCV's scan in 2x2 blocks numbers the components in the same order.
    The background's box joins the paper in the box and the paper around it."""
    h, w = binary.shape
    n, box_labels, stats = _components(np.ascontiguousarray(binary[y0:y1, x0:x1]), connectivity)
    labels = np.zeros((h, w), np.int32)
    labels[y0:y1, x0:x1] = box_labels
    stats[1:, 0] += x0
    stats[1:, 1] += y0
    left, top, right, bottom = w, h, -1, -1  # the paper's box, from the box's paper (if any) and the outside
    if stats[0, 4] > 0:
        left, top = x0 + int(stats[0, 0]), y0 + int(stats[0, 1])
        right, bottom = left + int(stats[0, 2]) - 1, top + int(stats[0, 3]) - 1
    if x0 > 0 or x1 < w:  # whole columns of paper beside the box
        top, bottom = 0, h - 1
        left, right = min(left, 0 if x0 > 0 else x1), max(right, w - 1 if x1 < w else x0 - 1)
    if y0 > 0 or y1 < h:  # whole rows above or below it
        left, right = 0, w - 1
        top, bottom = min(top, 0 if y0 > 0 else y1), max(bottom, h - 1 if y1 < h else y0 - 1)
    stats[0] = (left, top, right - left + 1, bottom - top + 1, h * w - int(stats[1:, 4].sum()))
    return n, labels, stats


def _components(binary: np.ndarray, connectivity: int) -> tuple[int, np.ndarray, np.ndarray]:
    """:func:`components_with_stats` of a C-contiguous 2-D image, for the whole of it."""
    n, labels = cv2.connectedComponents(binary, connectivity=connectivity, ltype=cv2.CV_32S)
    h, w = labels.shape
    change = np.empty((h, w), bool)
    change[:, 0] = True
    np.not_equal(labels[:, 1:], labels[:, :-1], out=change[:, 1:])
    starts = np.flatnonzero(change)  # where each run of one label begins, in raster order
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:] - 1  # its last pixel: before the next run (or at the end of its row)
    ends[-1] = h * w - 1
    lab = labels.ravel()[starts]
    marked = lab != 0
    starts, ends, lab = starts[marked], ends[marked], lab[marked]
    ys = starts // w
    x0, x1 = starts - ys * w, ends - ys * w
    stats = np.zeros((n, 5), np.int32)
    area = np.zeros(n, np.int64)
    np.add.at(area, lab, x1 - x0 + 1)
    top, left = np.full(n, h, np.int64), np.full(n, w, np.int64)
    bottom, right = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
    np.minimum.at(top, lab, ys)
    np.maximum.at(bottom, lab, ys)
    np.minimum.at(left, lab, x0)
    np.maximum.at(right, lab, x1)
    stats[1:, 0] = left[1:]
    stats[1:, 1] = top[1:]
    stats[1:, 2] = right[1:] - left[1:] + 1
    stats[1:, 3] = bottom[1:] - top[1:] + 1
    stats[1:, 4] = area[1:]
    stats[0, 4] = h * w - int(area.sum())
    if stats[0, 4] == 0:  # what OpenCV gives a label with no pixels
        stats[0, :4] = (-1, np.iinfo(np.int32).max, 0, 0)
    else:
        paper = binary == 0
        rows = np.flatnonzero(paper.any(axis=1))
        cols = np.flatnonzero(paper.any(axis=0))
        stats[0, :4] = (cols[0], rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1)
    return n, labels, stats


def _keep_runs(mask: np.ndarray, length: int, before: int) -> np.ndarray:
    """What an opening of the rows of ``mask`` (bool, C-contiguous) with a 1 x ``length``
    kernel anchored ``before`` pixels from its left end leaves, as uint8 0/255, by runs. OpenCV
    erodes with the outside counted as ink and dilates with it counted as paper, with the same
    anchor both times (not mirrored: a kernel of even length moves a run one pixel right)."""
    h, w = mask.shape
    padded = np.zeros((h, w + 2), np.int8)
    padded[:, 1:-1] = mask
    steps = np.diff(padded, axis=1).ravel()  # h x (w + 1): +1 where a run starts, -1 one past its end
    starts = np.flatnonzero(steps == 1)
    ends = np.flatnonzero(steps == -1)
    out = np.zeros((h, w), np.uint8)
    if len(starts) == 0:
        return out
    row = starts // (w + 1)
    s = starts - row * (w + 1)
    e = ends - row * (w + 1)  # one past the run's last pixel
    after = length - 1 - before
    # The eroded pixels of each run: x with [x - before, x + after] inside the run or the outside.
    lo = np.where(s == 0, 0, s + before)
    hi = np.where(e == w, w - 1, e - 1 - after)
    keep = lo <= hi
    if not keep.any():
        return out
    # Dilated back: x sets [x - after, x + before] (OpenCV's dilation reads x - before + k).
    first = np.maximum(0, lo[keep] - after)
    last = np.minimum(w - 1, hi[keep] + before)
    sizes = last - first + 1
    offsets = np.cumsum(sizes) - sizes  # where each run's pixels begin in the list of all of them
    pixels = np.repeat(row[keep] * w + first - offsets, sizes) + np.arange(int(sizes.sum()))
    out.ravel()[pixels] = 255
    return out


def open_line(image: np.ndarray, length: int, horizontal: bool) -> np.ndarray:
    """``cv2.morphologyEx(image, cv2.MORPH_OPEN, kernel)`` for a rectangular kernel 1 pixel
    thick and ``length`` long (``(length, 1)`` if ``horizontal``, else ``(1, length)``), the
    same pixels for a 0/255 uint8 image; any other image goes to OpenCV."""
    image = np.ascontiguousarray(image)
    if image.dtype != np.uint8 or image.ndim != 2 or length < 1 or np.count_nonzero(image == 255) != np.count_nonzero(image):
        size = (length, 1) if horizontal else (1, length)
        return cv2.morphologyEx(image, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, size))
    before = length // 2  # OpenCV's default anchor: the kernel's centre
    if horizontal:
        return _keep_runs(image > 0, length, before)
    return cv2.transpose(_keep_runs(cv2.transpose(image) > 0, length, before))
