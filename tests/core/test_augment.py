"""The augmentation's pen and paper styles, on real MNIST-like strokes through real TensorFlow ops."""

import numpy as np
import tensorflow as tf

from digitdesk.core.augment import AugmentParams, augment_batch

STILL = dict(rotation=0.0, scale=0.0, aspect=0.0, shift=0.0, shear=0.0, thicken=0.0, thin=0.0)


def _strokes(n=8):
    """``n`` 28x28 digits: a ring (a 0) and a bar (a 1), 3 px strokes, 0..255."""
    import cv2

    out = np.zeros((n, 28, 28, 1), np.float32)
    for i in range(n):
        img = np.zeros((28, 28), np.uint8)
        if i % 2:
            cv2.line(img, (14, 4), (14, 23), 255, 3)
        else:
            cv2.ellipse(img, (14, 14), (6, 9), 0, 0, 360, 255, 3)
        out[i, ..., 0] = img
    return out


def _run(params, x=None):
    x = _strokes() if x is None else x
    return x, augment_batch(tf.constant(x), params, tf.constant([3, 4], tf.int64)).numpy()


def _ink(a):
    return (a > 127).sum(axis=(1, 2, 3))


def test_styles_are_off_by_default_and_the_usual_draws_do_not_change():
    x = _strokes()
    plain = AugmentParams()
    assert plain.styles() == 0
    _, a = _run(plain, x)
    _, b = _run(AugmentParams(heavy=0.0, outline=0.0), x)
    np.testing.assert_array_equal(a, b)
    # with a style on, the shared draws (rotation, shift...) stay the same: style-free digits match
    _, c = _run(AugmentParams(gap_line=1e-9), x)
    np.testing.assert_allclose(a, c, atol=1e-3)


def test_heavy_is_thicker_and_soft():
    x, y = _run(AugmentParams(**STILL, heavy=1.0))
    assert (_ink(y) > 1.5 * _ink(x)).all()
    grey = ((y > 30) & (y < 220)).sum(axis=(1, 2, 3))
    assert (grey > ((x > 30) & (x < 220)).sum(axis=(1, 2, 3))).all()  # blown up from a small size


def test_outline_is_hollow():
    x, y = _run(AugmentParams(**STILL, outline=1.0))
    ring = x[0, ..., 0] > 127
    centre = y[0, 14, 14, 0]
    assert centre < 30  # the 0's inside stays empty
    on_stroke = y[0, ..., 0][ring]
    assert (on_stroke < 127).mean() > 0.3  # the stroke's middle is hollowed out
    assert _ink(y)[1] > 0


def test_breaks_cut_the_strokes():
    import cv2

    x, y = _run(AugmentParams(**STILL, breaks=1.0))
    assert (_ink(y) <= _ink(x)).all() and (_ink(y) < _ink(x)).any()
    pieces = [cv2.connectedComponents((y[i, ..., 0] > 127).astype(np.uint8))[0] - 1 for i in range(len(y))]
    assert max(pieces) >= 2  # some digit is in pieces


def test_hairline_thins_one_direction_and_gap_line_erases_a_band():
    x, y = _run(AugmentParams(**STILL, hairline=1.0))
    assert (_ink(y) < _ink(x)).all()
    x, y = _run(AugmentParams(**STILL, gap_line=1.0))
    empty_rows = [(y[i, 5:23, 10:19, 0].max(axis=1) < 1).sum() for i in (1, 3, 5, 7)]  # the bars
    assert min(empty_rows) >= 1


def _extent(img, axis):
    ink = np.flatnonzero((img[..., 0] > 127).any(axis=axis))
    return ink[-1] - ink[0] + 1


def test_zoom_scales_width_and_height_independently_by_one_over_1_plus_minus_zoom():
    """ImageDataGenerator's zoom_range: each axis its own factor z in [0.75, 1.25], the digit 1/z as large."""
    ring = np.repeat(_strokes(2)[:1], 64, axis=0)
    _, y = _run(AugmentParams(**STILL, zoom=0.25), ring)
    w0, h0 = _extent(ring[0], 0), _extent(ring[0], 1)
    w = np.array([_extent(a, 0) for a in y]) / w0
    h = np.array([_extent(a, 1) for a in y]) / h0
    assert w.min() > 1 / 1.25 - 0.1 and w.max() < 1 / 0.75 + 0.1
    assert h.min() > 1 / 1.25 - 0.1 and h.max() < 1 / 0.75 + 0.1
    assert w.max() - w.min() > 0.25 and h.max() - h.min() > 0.25
    assert np.std(w / h) > 0.12  # not one factor for both axes (0.22 measured; 0.05 with one)
    # off by default, and the other draws stay the same with it off
    _, a = _run(AugmentParams(), ring)
    _, b = _run(AugmentParams(zoom=0.0), ring)
    np.testing.assert_array_equal(a, b)
