"""Tests for the synthetic non-MNIST digit generator (digitdesk.core.synth)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from digitdesk.core import synth
from digitdesk.core.synth import STYLES, Sample, make_digit_sample, make_number_sample, make_set, render_digit


def _gray(img: np.ndarray) -> np.ndarray:
    return img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)


def _ink(img: np.ndarray, style: str) -> np.ndarray:
    """Boolean mask of pixels clearly darker than the (local) paper."""
    g = _gray(img).astype(np.int16)
    if style != "photo":
        return g < int(np.median(g)) - 50
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (41, 41))  # closing removes ink, keeps shading
    background = cv2.morphologyEx(g.astype(np.uint8), cv2.MORPH_CLOSE, kernel).astype(np.int16)
    return g < background - 60


def _outside_boxes(mask: np.ndarray, boxes) -> np.ndarray:
    out = mask.copy()
    for x, y, w, h in boxes:
        out[y: y + h, x: x + w] = False
    return out


@pytest.mark.parametrize("style", STYLES)
def test_deterministic_for_a_seed(style):
    a, b = make_set(style, 6, seed=5), make_set(style, 6, seed=5)
    assert all(np.array_equal(x.image, y.image) and x.boxes == y.boxes for x, y in zip(a, b))
    c = make_set(style, 6, seed=6)
    assert not all(x.image.shape == y.image.shape and np.array_equal(x.image, y.image) for x, y in zip(a, c))
    n1 = make_number_sample("2026\n17", style, np.random.default_rng(3))
    n2 = make_number_sample("2026\n17", style, np.random.default_rng(3))
    assert np.array_equal(n1.image, n2.image) and n1.boxes == n2.boxes


@pytest.mark.parametrize("style", STYLES)
def test_shapes_and_dtypes(style):
    for s in make_set(style, 10, seed=1):
        assert isinstance(s, Sample) and s.style == style
        assert s.image.dtype == np.uint8 and s.image.shape[:2] == (280, 280)
        if style == "drawn":
            assert s.image.ndim == 2
        elif style == "photo":
            assert s.image.ndim == 3 and s.image.shape[2] == 3
        else:
            assert s.image.ndim == 2 or s.image.shape[2] == 3
        assert len(s.boxes) == 1 and s.text in "0123456789"
    img = render_digit(3, style, np.random.default_rng(0), size=120)
    assert img.dtype == np.uint8 and img.shape[:2] == (120, 120)
    s = make_digit_sample(8, style, np.random.default_rng(0), canvas=(100, 160))
    assert s.image.shape[:2] == (100, 160)


def test_drawn_is_black_on_white_canvas():
    for s in make_set("drawn", 10, seed=2):
        assert np.median(s.image) == 255 and s.image.min() == 0
        x, y, w, h = s.boxes[0]
        assert (s.image[:, :x] == 255).all() and (s.image[y + h:, :] == 255).all()


def test_labels_balanced():
    samples = make_set("drawn", 30, seed=0)
    labels = [int(s.text) for s in samples]
    assert labels[:10] == list(range(10))
    assert np.bincount(labels, minlength=10).tolist() == [3] * 10


@pytest.mark.parametrize("style", STYLES)
def test_ink_inside_boxes_and_image(style):
    samples = make_set(style, 10, seed=4) + [make_number_sample("305\n7", style, np.random.default_rng(9))]
    for s in samples:
        hgt, wid = s.image.shape[:2]
        ink = _ink(s.image, style)
        assert ink.sum() > 30
        for x, y, w, h in s.boxes:
            assert 0 <= x and 0 <= y and w > 0 and h > 0 and x + w <= wid and y + h <= hgt
            assert ink[y: y + h, x: x + w].any()  # every box holds ink
        assert _outside_boxes(ink, s.boxes).sum() <= 0.01 * ink.sum()


@pytest.mark.parametrize("style", STYLES)
def test_number_boxes_reading_order_no_overlap_and_gap(style):
    rng = np.random.default_rng(11)
    for text in ("2026", "1111", "48\n90715", "7 1"):
        s = make_number_sample(text, style, rng)
        assert s.text == text
        lines = [ln.replace(" ", "") for ln in text.split("\n")]
        assert len(s.boxes) == sum(map(len, lines))
        i = 0
        prev_bottom = -1
        for ln in lines:
            row = s.boxes[i: i + len(ln)]
            i += len(ln)
            assert min(b[1] for b in row) > prev_bottom - 5  # lines go downwards
            prev_bottom = max(b[1] + b[3] for b in row)
            for a, b in zip(row, row[1:]):
                gap = b[0] - (a[0] + a[2])
                min_gap = 0.3 if style != "photo" else 0.15
                assert gap >= min_gap * max(a[3], b[3]) - 1, (text, style, a, b)
        for j, a in enumerate(s.boxes):  # no two boxes overlap at all
            for b in s.boxes[j + 1:]:
                assert a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0] or a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1]


def test_number_sample_fits_given_canvas():
    s = make_number_sample("1234567890", "hands", np.random.default_rng(0), canvas=(120, 300))
    assert s.image.shape[:2] == (120, 300) and len(s.boxes) == 10
    assert all(x + w <= 300 and y + h <= 120 for x, y, w, h in s.boxes)


def test_photo_is_colour_paper_not_pure_white():
    for s in make_set("photo", 10, seed=3):
        img = s.image
        assert img.ndim == 3
        x, y, w, h = s.boxes[0]
        paper = _outside_boxes(np.ones(img.shape[:2], bool), s.boxes)
        assert img[paper].mean() < 245  # paper is not pure white
        assert np.percentile(img[paper], 99) < 255 or img[paper].std() > 2
        assert img[y: y + h, x: x + w].reshape(-1, 3).min(0).max() > 0  # ink is not pure black in all channels


def test_two_stroke_digits_have_separate_components():
    assert "two_stroke_gap" in synth.VARIANTS[5] and "crossed" in synth.VARIANTS[7]
    counts = []
    for seed in range(12):
        img = render_digit(5, "drawn", np.random.default_rng(seed), variant="two_stroke_gap")
        n, _ = cv2.connectedComponents((img < 128).astype(np.uint8))
        counts.append(n - 1)
    assert max(counts) >= 2 and sum(c >= 2 for c in counts) >= 9
    one = render_digit(5, "drawn", np.random.default_rng(0), variant="one_stroke")
    assert cv2.connectedComponents((one < 128).astype(np.uint8))[0] - 1 == 1


def test_variants_render_and_bad_input_rejected():
    rng = np.random.default_rng(0)
    for d, names in synth.VARIANTS.items():
        assert len(names) >= 2
        for v in names:
            img = render_digit(d, "drawn", rng, size=64, variant=v)
            assert (img < 128).sum() > 20
    with pytest.raises(ValueError):
        make_digit_sample(3, "oil-paint", rng)
    with pytest.raises(ValueError):
        make_number_sample("12a", "drawn", rng)
