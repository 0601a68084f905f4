"""The fast stand-ins of digitdesk.core.labelling give what OpenCV gives, pixel for pixel."""

import cv2
import numpy as np
import pytest

from digitdesk.core.labelling import components_with_stats, open_line


def _images():
    rng = np.random.default_rng(4)
    out = [np.zeros((7, 9), np.uint8), np.full((7, 9), 255, np.uint8), np.full((1, 1), 255, np.uint8)]
    for k in range(120):
        h, w = (int(v) for v in rng.integers(1, 50, 2))
        share = rng.uniform(0.01, 0.15) if k % 2 else rng.uniform(0.2, 0.95)  # sparse and dense
        out.append((rng.random((h, w)) < share).astype(np.uint8) * 255)
    page = np.zeros((120, 160), np.uint8)  # lines and blobs, some touching the edges
    page[10, :] = page[:, 0] = page[50:53, 30:140] = page[119, 100:] = 255
    cv2.circle(page, (80, 90), 15, 255, 2)
    out.append(page)
    return out


@pytest.mark.parametrize("connectivity", [4, 8])
def test_components_with_stats_is_opencvs(connectivity):
    for image in _images():
        n, labels, stats, _ = cv2.connectedComponentsWithStats(image, connectivity=connectivity)
        n2, labels2, stats2 = components_with_stats(image, connectivity)
        assert n2 == n
        assert labels2.dtype == labels.dtype and np.array_equal(labels2, labels)
        assert stats2.dtype == stats.dtype and np.array_equal(stats2, stats), (image.shape, stats, stats2)


def _sparse_pages():
    """Marks in a small part of a page, at odd and even offsets, near and on its edges (labelled
    in their box), among them pages tall enough for OpenCV to label in parallel stripes."""
    rng = np.random.default_rng(7)
    out = []
    for k in range(60):
        h, w = (int(rng.integers(8, 90)), int(rng.integers(8, 90))) if k % 3 else (int(rng.integers(300, 800)), int(rng.integers(300, 1000)))
        page = np.zeros((h, w), np.uint8)
        bh, bw = int(rng.integers(1, max(2, h // 2))), int(rng.integers(1, max(2, w // 3)))
        y, x = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
        if k % 5 == 0:
            y = 0 if k % 2 else h - bh
        if k % 7 == 0:
            x = 0 if k % 2 else w - bw
        page[y : y + bh, x : x + bw] = (rng.random((bh, bw)) < rng.uniform(0.05, 0.9)) * 255
        if k % 4 == 0:
            page[y : y + bh, x : x + bw][:: 2, :] = 255  # full rows too: the box's paper in gaps only
        out.append(page)
    return out


@pytest.mark.parametrize("connectivity", [4, 8])
def test_components_of_marks_in_a_box_are_opencvs(connectivity, monkeypatch):
    from digitdesk.core import labelling

    boxes = []
    real = labelling._in_box
    monkeypatch.setattr(labelling, "_in_box", lambda *a: boxes.append(a[2:]) or real(*a))
    pages = _sparse_pages()
    for image in pages:
        n, labels, stats, _ = cv2.connectedComponentsWithStats(image, connectivity=connectivity)
        n2, labels2, stats2 = components_with_stats(image, connectivity)
        assert n2 == n
        assert labels2.dtype == labels.dtype and np.array_equal(labels2, labels), image.shape
        assert stats2.dtype == stats.dtype and np.array_equal(stats2, stats), (image.shape, stats[:3], stats2[:3])
    assert len(boxes) >= len(pages) // 2  # most were labelled in their box
    assert any(x0 % 2 == 0 and x0 > 0 for x0, *_ in boxes)


def test_open_line_is_opencvs_opening():
    for image in _images():
        h, w = image.shape
        for length in sorted({1, 2, 3, 4, 6, 7, 10, h, w, w + 2, max(h, w) // 2 + 1}):
            for horizontal in (True, False):
                kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1) if horizontal else (1, length))
                expected = cv2.morphologyEx(image, cv2.MORPH_OPEN, kernel)
                got = open_line(image, length, horizontal)
                assert got.dtype == np.uint8 and np.array_equal(got, expected), (image.shape, length, horizontal)


def test_open_line_of_a_grey_image_is_opencvs_too():
    image = np.random.default_rng(1).integers(0, 256, (30, 40)).astype(np.uint8)
    expected = cv2.morphologyEx(image, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 1)))
    assert np.array_equal(open_line(image, 5, True), expected)
