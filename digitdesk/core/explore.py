"""Data exploration for any :class:`~digitdesk.core.data.Split` (the Data tab): class
distribution, mean image per class, pixel intensity histogram, a grid of samples per class.

Pure numpy: every function returns plain arrays or dicts, ready to plot or show.
"""

from __future__ import annotations

import numpy as np

from digitdesk.core.data import Split
from digitdesk.core.errors import DataError

SIZE = 28
NUM_CLASSES = 10


def _labels(split: Split) -> np.ndarray:
    if split.labels is None:
        raise DataError("this data set has no labels, so it cannot be split by digit")
    return np.asarray(split.labels, dtype=np.int64)


def class_counts(split: Split) -> np.ndarray:
    """Images per digit: int array ``(10,)``."""
    return np.bincount(_labels(split), minlength=NUM_CLASSES)[:NUM_CLASSES].astype(np.int64)


def mean_images(split: Split) -> np.ndarray:
    """Mean image of each digit, ``(10, 28, 28)`` float in 0..255 (zeros for a digit with no images)."""
    labels = _labels(split)
    means = np.zeros((NUM_CLASSES, SIZE, SIZE), np.float64)
    for digit in range(NUM_CLASSES):
        chosen = split.images[labels == digit]
        if len(chosen):
            means[digit] = chosen.sum(axis=0, dtype=np.float64) / len(chosen)
    return means


def intensity_histogram(split: Split, bins: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Pixel counts per intensity bin over all images: ``(counts (bins,), edges (bins + 1,))``,
    the edges spanning 0..256 (so bin ``i`` holds values ``edges[i] <= v < edges[i + 1]``)."""
    if not 1 <= bins <= 256:
        raise ValueError(f"bins must be between 1 and 256, not {bins}")
    per_value = np.bincount(np.asarray(split.images, dtype=np.uint8).ravel(), minlength=256)
    edges = np.linspace(0.0, 256.0, bins + 1)
    counts, _ = np.histogram(np.arange(256), bins=edges, weights=per_value)
    return counts.astype(np.int64), edges


def sample_indices(split: Split, per_class: int = 8, seed: int = 0) -> np.ndarray:
    """Indices into ``split`` of up to ``per_class`` random images of each digit: ``(10, per_class)``,
    ``-1`` where a digit has fewer images. For browsing: ``split.images[i]`` with ``split.labels[i]``."""
    if per_class < 1:
        raise ValueError(f"per_class must be at least 1, not {per_class}")
    labels = _labels(split)
    rng = np.random.default_rng(seed)
    out = np.full((NUM_CLASSES, per_class), -1, np.int64)
    for digit in range(NUM_CLASSES):
        idx = np.flatnonzero(labels == digit)
        if len(idx) > per_class:
            idx = np.sort(rng.choice(idx, per_class, replace=False))
        out[digit, : len(idx)] = idx
    return out


def sample_grid(split: Split, per_class: int = 8, seed: int = 0) -> np.ndarray:
    """One image of random samples: row ``d`` shows digit ``d``; ``(10 * 28, per_class * 28)`` uint8,
    black where a digit has fewer than ``per_class`` images."""
    idx = sample_indices(split, per_class, seed)
    grid = np.zeros((NUM_CLASSES * SIZE, per_class * SIZE), np.uint8)
    for digit in range(NUM_CLASSES):
        for col, i in enumerate(idx[digit]):
            if i >= 0:
                grid[digit * SIZE: (digit + 1) * SIZE, col * SIZE: (col + 1) * SIZE] = split.images[i]
    return grid


def summary(split: Split) -> dict:
    """Key figures of a data set: size, labels, class balance, intensity and blank images."""
    images = np.asarray(split.images)
    n = len(images)
    flat = images.reshape(n, -1) if n else np.zeros((0, SIZE * SIZE), np.uint8)
    info: dict = {
        "count": int(n),
        "labelled": split.labels is not None,
        "image_shape": [SIZE, SIZE],
        "mean_intensity": round(float(flat.mean()), 3) if n else 0.0,
        "ink_fraction": round(float((flat > 127).mean()), 4) if n else 0.0,  # pixels clearly ink
        "blank_images": int((flat.max(axis=1) == 0).sum()) if n else 0,
    }
    if split.labels is not None:
        counts = class_counts(split)
        present = counts[counts > 0]
        info.update({
            "class_counts": [int(c) for c in counts],
            "smallest_class": int(np.argmin(counts)),
            "largest_class": int(np.argmax(counts)),
            "missing_classes": [d for d in range(NUM_CLASSES) if counts[d] == 0],
            "imbalance": round(float(present.max() / present.min()), 3) if len(present) else None,
        })
    return info
