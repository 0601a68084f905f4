"""No Qt needed. MNIST framing properties on real images, and that it matches MNIST."""

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from digitdesk.core.preprocess import (CENTRE, border_is_light, centre_of_mass, frame_digit, frame_ink, median_and_mad,
                                       to_gray)


def _extent(img28):
    ys, xs = np.nonzero(img28)
    return ys.max() - ys.min() + 1, xs.max() - xs.min() + 1


def _drawn(text="7", size=(300, 220), thickness=18, offset=(30, 250), scale=7.0):
    img = np.full(size, 255, np.uint8)
    cv2.putText(img, text, offset, cv2.FONT_HERSHEY_SIMPLEX, scale, 0, thickness, cv2.LINE_AA)
    return img


@pytest.mark.parametrize("img", [
    _drawn("7"), _drawn("1", size=(300, 300), offset=(200, 280)), _drawn("0", size=(400, 260), thickness=4, scale=3.0, offset=(10, 90)),
])
def test_framing_properties_on_drawn_digits(img):
    out = frame_digit(img)
    assert out.shape == (28, 28) and out.dtype == np.uint8
    h, w = _extent(out)
    assert max(h, w) == 20
    cy, cx = centre_of_mass(out)
    assert abs(cy - CENTRE) <= 0.5 and abs(cx - CENTRE) <= 0.5
    # polarity: white ink on black; the border of the frame is background
    assert out.max() == 255 and out[0].max() == 0 and out[:, 0].max() == 0


def test_aspect_ratio_kept():
    img = np.full((300, 300), 255, np.uint8)
    cv2.line(img, (150, 40), (160, 260), 0, 16, cv2.LINE_AA)  # a "1": tall and narrow
    out = frame_digit(img)
    h, w = _extent(out)
    assert h == 20 and w < 10


def test_either_polarity_gives_the_same_frame():
    img = _drawn("4")
    a, b = frame_digit(img), frame_digit(255 - img)
    assert border_is_light(img) and not border_is_light(255 - img)
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_colour_input():
    img = cv2.cvtColor(_drawn("3"), cv2.COLOR_GRAY2BGR)
    img[:, :, 0] = np.maximum(img[:, :, 0], 90)  # blue-ish ink
    assert np.abs(frame_digit(img).astype(int) - frame_digit(_drawn("3")).astype(int)).mean() < 8


def test_blank_image_gives_blank_frame():
    assert frame_ink(np.zeros((50, 50))).max() == 0
    assert to_gray(np.zeros((5, 5, 3), np.float64)).dtype == np.uint8


def test_properties_on_mnist(mnist):
    for img in mnist.test.images[:500]:
        out = frame_ink(img)
        h, w = _extent(out)
        assert max(h, w) == 20
        cy, cx = centre_of_mass(out)
        assert abs(cy - CENTRE) <= 0.5 and abs(cx - CENTRE) <= 0.5


def test_reframing_mnist_costs_at_most_0_3_points(mnist, recognizer):
    images, labels = mnist.test.images, mnist.test.labels
    reframed = np.stack([frame_ink(img) for img in images])
    raw = (recognizer.classify(images).argmax(1) == labels).mean()
    ours = (recognizer.classify(reframed).argmax(1) == labels).mean()
    assert raw - ours <= 0.003, f"raw {raw:.4f} vs re-framed {ours:.4f}"


def _width28(img28):
    from digitdesk.core.preprocess import stroke_width

    up = cv2.resize(img28, None, fx=4, fy=4, interpolation=cv2.INTER_LINEAR)
    return stroke_width((up >= 128).astype(np.uint8)) / 4


@pytest.mark.parametrize("pen, height", [(3, 360), (60, 200)])
def test_stroke_width_brought_into_mnist_range(pen, height):
    img = np.full((400, 400), 255, np.uint8)
    cv2.ellipse(img, (200, 200), (height // 3, height // 2), 0, 0, 360, 0, pen, cv2.LINE_AA)  # a "0"
    out = frame_digit(img)
    assert 1.3 <= _width28(out) <= 4.0
    assert max(_extent(out)) == 20


@given(st.lists(st.integers(0, 255), min_size=1, max_size=600), st.sampled_from([1, 2, 3]))
def test_median_and_mad_are_the_numbers_numpy_gives(values, rows):
    """Counted from a histogram, the same floats as np.median on the values as float32 (even
    counts: the mean of the two middle values), for any layout of the pixels."""
    a = np.array(values[: len(values) // rows * rows] or values[:1], np.uint8).reshape(rows if len(values) >= rows else 1, -1)
    sample = a.astype(np.float32)
    paper = float(np.median(sample))
    assert median_and_mad(a) == (paper, float(np.median(np.abs(sample - paper))))
    assert median_and_mad(a.T[::-1]) == median_and_mad(a)  # a strided view


def test_median_and_mad_of_even_counts_take_the_middle_two():
    assert median_and_mad(np.array([[0, 3]], np.uint8)) == (1.5, 1.5)
    assert median_and_mad(np.array([[31, 0, 20, 10]], np.uint8)) == (15.0, 10.0)  # deviations 5, 5, 15, 16


def test_stretch_ink_clears_the_haze_and_keeps_a_faint_stroke():
    from digitdesk.core.preprocess import stretch_ink

    ink = np.zeros((30, 30), np.float32)
    ink[5:25, 5:10] = 0.8  # a stroke
    ink[5:25, 10:14] = 0.3  # grey haze beside it, a fifth or more of the ink
    out = stretch_ink(ink)
    assert out[10, 7] == 1.0 and out[10, 12] == 0.0 and out[0, 0] == 0.0
    faint = np.where(ink > 0.5, 0.25, 0.0).astype(np.float32)  # one faint stroke, all alike
    assert stretch_ink(faint)[10, 7] == pytest.approx(1.0)  # the whole stroke is kept, at full ink
    assert not stretch_ink(np.zeros((5, 5), np.float32)).any()
