"""No Qt needed. Property-based tests of the recognition pipeline: preprocessing
(digitdesk.core.preprocess), segmentation (digitdesk.core.segment) and Recognizer.read/classify
with the bundled model. Any array, of any dtype and shape, either gives the documented result
(28x28 uint8 frames, boxes inside the image, probabilities summing to 1) or raises ImageError
with a message for a person.

Case counts are in the test names: ``..._1000`` runs 1,000 hypothesis examples.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from digitdesk.core.errors import DigitdeskError, ImageError
from digitdesk.core.preprocess import SIZE, centre_of_mass, frame_digit, frame_ink, digit_ink
from digitdesk.core.segment import Segmentation, segment
from tests.core.fuzzing import any_arrays, assert_human, fuzz, outcome

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")  # no overflow / empty-slice sloppiness either


def _refused(result) -> bool:
    if isinstance(result, DigitdeskError):
        assert isinstance(result, ImageError), type(result)
        return True
    return False


def _image_size(a: np.ndarray) -> tuple[int, int]:
    return a.shape[0], a.shape[1]


def _check_frame(f) -> None:
    assert isinstance(f, np.ndarray) and f.dtype == np.uint8 and f.shape == (SIZE, SIZE)


def _check_segmentation(seg, a: np.ndarray) -> None:
    assert isinstance(seg, Segmentation)
    h, w = _image_size(a)
    lines = [r.line for r in seg.regions]
    assert lines == sorted(lines) and all(line >= 0 for line in lines)
    for r in seg.regions:
        x, y, bw, bh = r.box
        assert all(isinstance(v, int) for v in r.box), r.box
        assert bw > 0 and bh > 0 and x >= 0 and y >= 0 and x + bw <= w and y + bh <= h, (r.box, a.shape)
        _check_frame(r.digit28)


# --------------------------------------------------------------------------- drawn images


@st.composite
def drawings(draw, max_side: int = 320) -> np.ndarray:
    """Strokes and digits drawn with OpenCV on paper of any level, either polarity, with noise,
    in a random dtype/channel layout: the kind of image the pipeline is for, and its edge cases
    (all ink, all paper, 1-pixel images, strokes leaving the image)."""
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    if draw(st.booleans()) and draw(st.booleans()):  # a long strip, sometimes beyond WORK_SIDE
        h, w = (draw(st.integers(1, 40)), draw(st.integers(200, 2200)))[:: draw(st.sampled_from([1, -1]))]
    paper, ink = draw(st.integers(0, 255)), draw(st.integers(0, 255))
    img = np.full((h, w), paper, np.uint8)
    for _ in range(draw(st.integers(0, 5))):
        p1 = (draw(st.integers(-20, w + 20)), draw(st.integers(-20, h + 20)))
        p2 = (draw(st.integers(-20, w + 20)), draw(st.integers(-20, h + 20)))
        cv2.line(img, p1, p2, ink, draw(st.integers(1, 40)))
    if draw(st.booleans()):
        text = draw(st.text("0123456789", min_size=1, max_size=4))
        scale = draw(st.floats(0.2, 6.0))
        cv2.putText(img, text, (draw(st.integers(-10, w)), draw(st.integers(0, h + 10))),
                    cv2.FONT_HERSHEY_SIMPLEX, scale, ink, draw(st.integers(1, 25)), cv2.LINE_AA)
    noise = draw(st.integers(0, 80))
    if noise:
        rng = np.random.default_rng(draw(st.integers(0, 2**16)))
        img = np.clip(img.astype(np.int16) + rng.integers(-noise, noise + 1, img.shape), 0, 255).astype(np.uint8)
    layout = draw(st.sampled_from(["gray", "gray1", "bgr", "bgra", "float", "uint16", "bool"]))
    if layout == "gray1":
        return img[:, :, None]
    if layout == "bgr":
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if layout == "bgra":
        alpha = np.full_like(img, draw(st.integers(0, 255)))
        return np.dstack([img, img, img, alpha])
    if layout == "float":
        return img.astype(np.float32) / 255.0
    if layout == "uint16":
        return img.astype(np.uint16) * 257
    if layout == "bool":
        return img > 127
    return img


# --------------------------------------------------------------------------- preprocessing


@fuzz(1200, slow_data=True)
@given(any_arrays())
def test_preprocessing_any_array_1200(a):
    """digit_ink, frame_digit, frame_ink and centre_of_mass on arrays of every dtype and shape."""
    ink = outcome(digit_ink, a)
    if not _refused(ink):
        assert ink.shape == _image_size(a) and ink.dtype == np.float32
        assert np.isfinite(ink).all() and ink.min() >= 0 and ink.max() <= 1
    frame = outcome(frame_digit, a)
    if not _refused(frame):
        _check_frame(frame)
    framed_ink = outcome(frame_ink, a)
    if not _refused(framed_ink):
        _check_frame(framed_ink)
    com = outcome(centre_of_mass, a)
    if not _refused(com):
        assert len(com) == 2 and all(np.isfinite(com))


@fuzz(600, slow_data=True)
@given(drawings())
def test_framing_drawn_images_600(img):
    """Framing real drawings: a 28x28 uint8 frame; any ink lands inside, centred near MNIST's (14, 14)."""
    frame = frame_digit(img)
    _check_frame(frame)
    if frame.any():
        row, col = centre_of_mass(frame)
        assert 4 <= row <= 24 and 4 <= col <= 24, (row, col)


# --------------------------------------------------------------------------- segmentation


@fuzz(800, slow_data=True)
@given(any_arrays(), st.booleans())
def test_segment_any_array_800(a, keep_stages):
    seg = outcome(segment, a, keep_stages=keep_stages)
    if not _refused(seg):
        _check_segmentation(seg, a)


@fuzz(250, slow_data=True)
@given(drawings())
def test_segment_drawn_images_250(img):
    seg = segment(img, keep_stages=True)
    _check_segmentation(seg, img)
    gray = seg.stages["gray"]
    assert gray.dtype == np.uint8 and gray.ndim == 2


def test_segment_boxes_of_big_images_stay_inside():
    """Images above WORK_SIDE are analysed scaled down and boxes scaled back up: digits touching
    the right and bottom edges must not get boxes reaching past them."""
    for h, w in ((1031, 1031), (3001, 1999), (1025, 4097)):
        img = np.full((h, w), 255, np.uint8)
        img[h // 3 :, w - w // 7 :] = 0  # a block of ink in the bottom-right corner, touching both edges
        img[h // 3 :, w // 2 : w // 2 + w // 40] = 0
        _check_segmentation(segment(img), img)


# --------------------------------------------------------------------------- the recognizer


def _check_probabilities(p, n: int) -> None:
    assert isinstance(p, np.ndarray) and p.shape == (n, 10) and np.isfinite(p).all()
    assert (p >= 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-4)


@fuzz(600, slow_data=True)
@given(any_arrays(max_side=30))
def test_classify_any_array_600(recognizer, a):
    """classify accepts (N, 28, 28) or (28, 28) numbers; NaN/inf and out-of-range values still give
    probabilities; other shapes and types raise ImageError."""
    p = outcome(recognizer.classify, a)
    if not _refused(p):
        _check_probabilities(p, 1 if a.ndim == 2 else len(a))


@fuzz(400, slow_data=True)
@given(st.sampled_from(["bool", "uint8", "int16", "uint16", "int64", "float16", "float32", "float64"])
       .flatmap(lambda dt: st.tuples(st.just(dt), st.integers(0, 4))),
       st.data())
def test_classify_digit_stacks_400(recognizer, spec, data):
    """Right-shaped stacks of every real dtype, including NaN/inf and huge values: probabilities."""
    from hypothesis.extra import numpy as hnp

    dtype, n = np.dtype(spec[0]), spec[1]
    a = data.draw(hnp.arrays(dtype, (n, 28, 28), elements=hnp.from_dtype(dtype), fill=hnp.from_dtype(dtype)))
    p = outcome(recognizer.classify, a)
    assert not _refused(p), p
    _check_probabilities(p, n)


@fuzz(300, slow_data=True)
@given(drawings(max_side=240))
def test_read_drawn_images_300(recognizer, img):
    reading = recognizer.read(img, keep_stages=True)
    h, w = _image_size(img)
    assert reading.text.count("\n") <= len(reading.digits)
    assert len(reading.text.replace("\n", "")) == len(reading.digits)
    for d in reading.digits:
        assert 0 <= d.digit <= 9 and 0.0 <= d.confidence <= 1.0
        assert len(d.top) == 3 and d.top[0] == (d.digit, d.confidence)
        assert [p for _, p in d.top] == sorted((p for _, p in d.top), reverse=True)
        x, y, bw, bh = d.box
        assert bw > 0 and bh > 0 and x >= 0 and y >= 0 and x + bw <= w and y + bh <= h
        _check_frame(d.input28)


@fuzz(300, slow_data=True)
@given(any_arrays(max_side=30))
def test_read_any_array_300(recognizer, a):
    reading = outcome(recognizer.read, a)
    if not _refused(reading):
        assert isinstance(reading.text, str)
        for d in reading.digits:
            assert 0 <= d.digit <= 9


def test_classify_refuses_with_a_human_message(recognizer):
    for bad, words in (
        (np.zeros((2, 28, 27)), ("(2, 28, 27)", "28")),
        (np.zeros((28, 28), np.complex64), ("complex64",)),
        (np.array([[None] * 28] * 28), ("object",)),
        (np.zeros(()), ("()",)),
    ):
        with pytest.raises(ImageError) as info:
            recognizer.classify(bad)
        assert_human(info.value, *words)
    _check_probabilities(recognizer.classify(np.full((28, 28), np.nan, np.float32)), 1)
    _check_probabilities(recognizer.classify(np.full((1, 28, 28), 1e30)), 1)
    np.testing.assert_allclose(recognizer.classify(np.full((28, 28), 1e6)), recognizer.classify(np.full((28, 28), 255)))
