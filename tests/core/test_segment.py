"""No Qt needed. Finding digits in larger images: strokes merged, specks and lines dropped,
reading order, either polarity, uneven light, JPEG noise, rotation, EXIF orientation."""

import copy

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from digitdesk.core import synth
from digitdesk.core.errors import Cancelled
from digitdesk.core.labelling import components_with_stats
from digitdesk.core.marks import Blob, merge_strokes, should_merge, typical_height
from digitdesk.core.segment import segment
from tests.core.fuzzing import fuzz


def _matches(found, expected):
    """Each found box's centre lies in the expected box of the same index, and vice versa."""
    if len(found) != len(expected):
        return False
    for (fx, fy, fw, fh), (ex, ey, ew, eh) in zip(found, expected):
        if not (ex <= fx + fw / 2 <= ex + ew and ey <= fy + fh / 2 <= ey + eh):
            return False
        if not (fx <= ex + ew / 2 <= fx + fw and fy <= ey + eh / 2 <= fy + fh):
            return False
    return True


@pytest.mark.parametrize("style", synth.STYLES)
def test_numbers_found_in_reading_order(style):
    rng = np.random.default_rng(11)
    good, texts = 0, []
    for k in range(40):
        digits = "".join(str(d) for d in rng.integers(0, 10, int(rng.integers(2, 6))))
        text = digits[:2] + "\n" + digits[2:] if k % 4 == 0 and len(digits) > 2 else digits
        sample = synth.make_number_sample(text, style, rng)
        seg = segment(sample.image)
        lines = [r.line for r in seg.regions]
        expected_lines = [i for i, part in enumerate(text.split("\n")) for _ in part]
        good += _matches([r.box for r in seg.regions], sample.boxes) and lines == expected_lines
    assert good >= 37, f"{good}/40 {style} numbers segmented right"


@pytest.mark.parametrize("variant", [(4, "open"), (5, "two_stroke_gap"), (7, "crossed"), (1, "flag_base")])
def test_two_stroke_digits_are_one_digit(variant):
    digit, name = variant
    for seed in range(6):
        img = synth.render_digit(digit, "drawn", np.random.default_rng(seed), variant=name)
        canvas = np.full((300, 300), 255, np.uint8)
        canvas[50:50 + img.shape[0], 50:50 + img.shape[1]] = img[: 250, : 250]
        assert len(segment(canvas).regions) == 1, (digit, name, seed)


def _number_canvas(text="305", size=(240, 520), scale=4.5, thickness=16):
    img = np.full(size, 255, np.uint8)
    cv2.putText(img, text, (30, size[0] - 60), cv2.FONT_HERSHEY_SIMPLEX, scale, 0, thickness, cv2.LINE_AA)
    return img


def _xs(seg):
    return [r.box[0] for r in seg.regions]


def test_specks_ruled_lines_and_page_border_dropped():
    img = _number_canvas()
    clean = segment(img)
    assert len(clean.regions) == 3
    noisy = img.copy()
    rng = np.random.default_rng(0)
    for _ in range(40):
        cv2.circle(noisy, (int(rng.integers(0, 520)), int(rng.integers(0, 240))), 1, 0, -1)
    cv2.line(noisy, (0, 200), (519, 200), 90, 2)  # ruled line under the digits
    cv2.rectangle(noisy, (3, 3), (516, 236), 40, 3)  # page border
    seg = segment(noisy)
    assert len(seg.regions) == 3
    assert np.allclose(_xs(seg), _xs(clean), atol=4)


def test_either_polarity_and_colour():
    img = _number_canvas()
    dark = segment(255 - img)
    colour = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    colour[img > 128] = (40, 200, 240)  # yellow paper
    assert len(dark.regions) == len(segment(colour).regions) == 3
    assert np.allclose(_xs(dark), _xs(segment(img)), atol=3)


def test_uneven_lighting_jpeg_and_rotation():
    img = _number_canvas().astype(np.float32)
    h, w = img.shape
    light = np.linspace(0.35, 1.0, w)[None, :] * np.linspace(0.8, 1.0, h)[:, None]
    shaded = np.clip(img * light + np.random.default_rng(1).normal(0, 6, img.shape), 0, 255).astype(np.uint8)
    rot = cv2.warpAffine(shaded, cv2.getRotationMatrix2D((w / 2, h / 2), 7, 1.0), (w, h), borderMode=cv2.BORDER_REPLICATE)
    ok, jpg = cv2.imencode(".jpg", rot, [cv2.IMWRITE_JPEG_QUALITY, 40])
    seg = segment(cv2.imdecode(jpg, cv2.IMREAD_GRAYSCALE))
    assert len(seg.regions) == 3


def test_touching_digits_are_split():
    img = np.full((200, 300), 255, np.uint8)
    for cx in (100, 192):  # two zeros joined by a connecting stroke, as in joined-up writing
        cv2.ellipse(img, (cx, 100), (38, 70), 0, 0, 360, 0, 10, cv2.LINE_AA)
    cv2.line(img, (135, 110), (157, 110), 0, 8, cv2.LINE_AA)
    n, *_ = cv2.connectedComponentsWithStats((img < 128).astype(np.uint8))
    assert n - 1 == 1  # they do touch
    regions = segment(img).regions
    assert len(regions) == 2
    assert regions[0].box[0] < 80 and regions[1].box[0] > 130


@pytest.mark.parametrize("mirrored", [False, True])
@pytest.mark.parametrize("dark_ink", [None, True])
def test_a_digit_with_a_long_bar_is_not_split_into_digit_and_bar(mirrored, dark_ink):
    # A 5 whose bar runs far out sideways is wider than tall, like two touching digits; the bar
    # alone is no digit (it spans a tenth of the rows), so the 5 is one digit with its bar.
    img = np.full((240, 340), 255, np.uint8)
    cv2.line(img, (100, 40), (96, 105), 0, 11, cv2.LINE_AA)  # the stem
    cv2.ellipse(img, (125, 140), (36, 38), 0, -150, 140, 0, 11, cv2.LINE_AA)  # the belly
    cv2.line(img, (100, 40), (270, 34), 0, 4, cv2.LINE_AA)  # the bar
    if mirrored:
        img = np.ascontiguousarray(img[:, ::-1])
    n, *_ = cv2.connectedComponentsWithStats((img < 128).astype(np.uint8))
    assert n - 1 == 1
    regions = segment(img, dark_ink=dark_ink).regions
    assert len(regions) == 1
    x, y, w, h = regions[0].box
    assert w > 1.15 * h  # the bar is in the digit's box


@pytest.mark.parametrize("dark_ink", [None, True])
def test_a_one_broken_in_two_by_a_skipping_pen_is_one_digit(dark_ink):
    # Each piece is under half a digit tall, a fifth of a digit apart: further apart than
    # strokes of one digit may be, but pieces of one stroke are (marks.FRAGMENT_GAP).
    img = np.full((260, 520), 255, np.uint8)
    for cx in (80, 180, 400):
        cv2.ellipse(img, (cx, 130), (22, 30), 0, 0, 360, 0, 6, cv2.LINE_AA)  # 0s, 66 px tall
    cv2.line(img, (292, 102), (289, 124), 0, 6, cv2.LINE_AA)
    cv2.line(img, (287, 142), (284, 162), 0, 6, cv2.LINE_AA)
    boxes = [r.box for r in segment(img, dark_ink=dark_ink).regions]
    assert len(boxes) == 4
    x, y, w, h = boxes[2]
    assert y < 102 and y + h > 162  # both pieces


def test_empty_and_degenerate_images():
    assert segment(np.full((300, 300), 255, np.uint8)).regions == []
    assert segment(np.zeros((1, 1), np.uint8)).regions == []
    assert segment(np.full((50, 50, 3), 128, np.uint8)).regions == []
    noise = np.random.default_rng(0).integers(235, 256, (300, 300)).astype(np.uint8)
    assert segment(noise).regions == []


def test_big_photo_boxes_in_image_coordinates():
    img = _number_canvas("42", size=(240, 300))
    big = cv2.resize(img, None, fx=6, fy=6, interpolation=cv2.INTER_LINEAR)  # 1440 x 1800
    small_seg, big_seg = segment(img), segment(big)
    assert len(big_seg.regions) == 2
    for a, b in zip(small_seg.regions, big_seg.regions):
        assert np.allclose(np.array(b.box) / 6, a.box, atol=3)


def test_stages_for_the_pipeline_view():
    seg = segment(_number_canvas(), keep_stages=True)
    assert {"gray", "ink", "binary", "components"} <= set(seg.stages)
    assert seg.stages["components"].ndim == 3


def test_shadow_band_is_not_ink():
    img = _number_canvas("4817", size=(200, 560), scale=3.0, thickness=1).astype(np.float32)
    h, w = img.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    shadow = np.exp(-((yy - (150 - 0.2 * xx)) / 15.0) ** 2)  # a soft band across the digits
    shaded = np.clip(img * (1.0 - 0.45 * shadow), 0, 255).astype(np.uint8)
    seg = segment(shaded)
    assert len(seg.regions) == 4
    assert all(r.box[2] < 120 and r.box[3] < 120 for r in seg.regions)  # none swallowed the shadow


def test_sheet_on_a_dark_desk():
    frame = np.full((480, 640, 3), 60, np.uint8)  # the desk around the sheet, at the image border
    cv2.rectangle(frame, (60, 40), (580, 440), (235, 238, 240), -1)
    cv2.putText(frame, "2026", (170, 280), cv2.FONT_HERSHEY_SIMPLEX, 3.2, (30, 30, 30), 4, cv2.LINE_AA)
    seg = segment(frame)
    assert len(seg.regions) == 4  # the digits; neither the desk nor the sheet's edge
    assert all(r.box[3] < 120 for r in seg.regions)


# --------------------------------------------------------------------------- merging strokes


def _merge_strokes_reference(blobs: list[Blob]) -> list[Blob]:
    """The merge rule written plainly (O(n^2) per merge): sort by area, largest first, merge the
    first pair i < j that should merge, repeat until none does."""
    if not blobs:
        return blobs
    typical_h = typical_height(blobs)
    changed = True
    while changed:
        changed = False
        blobs.sort(key=lambda b: b.area, reverse=True)
        for i in range(len(blobs)):
            for j in range(i + 1, len(blobs)):
                if should_merge(blobs[i], blobs[j], typical_h):
                    blobs[i] = blobs[i].merged(blobs.pop(j))
                    changed = True
                    break
            if changed:
                break
    return blobs


@st.composite
def blob_sets(draw) -> list[Blob]:
    """Boxes crowded on a small page, a few sizes apart (digits, strokes, specks), often placed
    just beside or below an earlier one, with areas that often tie: many merges, chains of merges,
    gaps at the limits of the rule, and ties in the merge order."""
    side = draw(st.integers(20, 400))
    tall = draw(st.integers(2, 60))
    blobs: list[Blob] = []
    for label in range(1, draw(st.integers(0, 50)) + 1):
        w = draw(st.integers(1, max(1, int(tall * draw(st.sampled_from([0.1, 0.5, 1.0, 3.0]))))))
        h = draw(st.integers(1, max(1, int(tall * draw(st.sampled_from([0.1, 0.3, 0.6, 1.0, 1.7]))))))
        if blobs and draw(st.booleans()):  # next to an earlier blob: beside it, or above or below it
            near = blobs[draw(st.integers(0, len(blobs) - 1))]
            step = max(1, tall // 10)
            if draw(st.booleans()):
                x, y = near.x1 + draw(st.integers(-step, 2 * step)), near.y0 + draw(st.integers(-tall // 2, tall // 2))
            else:
                x, y = near.x0 + draw(st.integers(-w, near.w)), near.y1 + draw(st.integers(-step, tall // 2))
            x, y = max(0, x), max(0, y)
        else:
            x, y = draw(st.integers(0, side)), draw(st.integers(0, side // 3))
        area = draw(st.sampled_from([1, 4, 9, w * h])) if draw(st.booleans()) else draw(st.integers(1, w * h + 1))
        blobs.append(Blob(x, y, x + w, y + h, [label], area))
    return blobs


def _as_tuples(blobs: list[Blob]) -> list[tuple]:
    return [(b.x0, b.y0, b.x1, b.y1, tuple(b.labels), b.area) for b in blobs]


@fuzz(500)
@given(blob_sets())
def test_merge_strokes_matches_the_plain_rule_500(blobs):
    """The indexed merge makes exactly the plain rule's merges: same boxes, same labels in the
    same order, same areas, same order of the result."""
    expected = _merge_strokes_reference([copy.copy(b) for b in blobs])
    assert _as_tuples(merge_strokes([copy.copy(b) for b in blobs])) == _as_tuples(expected)


def test_merge_strokes_merges_chains_and_keeps_specks_apart():
    """A digit in three stacked strokes becomes one blob; a far speck and a tall bar stay apart."""
    blobs = [Blob(10, 0, 30, 12, [1], 100), Blob(12, 13, 30, 26, [2], 90), Blob(11, 27, 29, 38, [3], 80),
             Blob(200, 5, 203, 8, [4], 6), Blob(60, 0, 66, 90, [5], 400)]
    got = _as_tuples(merge_strokes([copy.copy(b) for b in blobs]))
    assert got == _as_tuples(_merge_strokes_reference(blobs))
    assert (10, 0, 30, 38, (1, 2, 3), 270) in got and len(got) == 3


# --------------------------------------------------------------------------- stopping on request


class StopAfter:
    """``should_stop`` that turns true on its ``n``-th call, and counts its calls."""

    def __init__(self, n: int | None):
        self.n, self.calls = n, 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.n is not None and self.calls >= self.n


def _noisy_page() -> np.ndarray:
    """Digits and a lot of specks: a long merge and many regions."""
    img = _number_canvas("3051", size=(240, 700))
    rng = np.random.default_rng(3)
    ys, xs = rng.integers(0, 240, 400), rng.integers(0, 700, 400)
    for y, x in zip(ys, xs):
        img[y : y + 2, x : x + 3] = 0
    return img


def test_segment_stops_promptly_when_asked():
    img = _noisy_page()
    counting = StopAfter(None)
    full = segment(img, should_stop=counting)
    total = counting.calls
    assert total > 50  # checked between stages and in the loops, not just once
    for n in (1, 2, 5, total // 2, total):
        stop = StopAfter(n)
        with pytest.raises(Cancelled):
            segment(img, should_stop=stop)
        assert stop.calls == n  # raised at the first check that saw the flag: nothing more was done
    assert issubclass(Cancelled, Exception) and Cancelled.__doc__
    assert [r.box for r in full.regions] == [r.box for r in segment(img).regions]


def test_segment_unaffected_by_a_flag_that_stays_down():
    img = _noisy_page()
    plain = segment(img, keep_stages=True)
    flagged = segment(img, keep_stages=True, should_stop=lambda: False)
    assert [(r.box, r.line) for r in plain.regions] == [(r.box, r.line) for r in flagged.regions]
    assert all(np.array_equal(a.digit28, b.digit28) for a, b in zip(plain.regions, flagged.regions))
    assert plain.stages.keys() == flagged.stages.keys()


@given(st.integers(0, 2**32 - 1))
def test_canvas_components_are_opencvs_for_the_whole_canvas(seed):
    """The canvas's components (found in the ink's box, at any offset, odd or even): the same
    count, labels (numbered in the same order) and stats of the marks as
    cv2.connectedComponentsWithStats on the whole canvas."""
    rng = np.random.default_rng(seed)
    h, w = (int(v) for v in rng.integers(20, 300, 2))
    binary = np.zeros((h, w), np.uint8)
    bh, bw = int(rng.integers(1, h // 2 + 1)), int(rng.integers(1, w // 2 + 1))
    y, x = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
    binary[y:y + bh, x:x + bw] = (rng.random((bh, bw)) < rng.uniform(0.05, 0.6)) * 255
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    n2, labels2, stats2 = components_with_stats(binary)
    assert n2 == n and labels2.dtype == labels.dtype and np.array_equal(labels2, labels)
    assert np.array_equal(stats2[1:], stats[1:])
    assert components_with_stats(np.zeros((h, w), np.uint8))[0] == 1
