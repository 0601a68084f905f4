"""Engine steps on real images through real OpenCV: the writing's stroke width among specks, a
skipping pen's pieces joined into digits, and the ink level beside a dark strip of desk."""

import cv2
import numpy as np

from digitdesk.core.ink import writing_stroke
from digitdesk.core.segment import segment


def _text(text, size=(300, 700), scale=5.0, thickness=16, ink=0, paper=255, org=(40, 230)):
    img = np.full(size, paper, np.uint8)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, ink, thickness, cv2.LINE_AA)
    return img


def test_stroke_width_is_the_writings_not_the_specks():
    binary = (_text("42") < 128).astype(np.uint8) * 255
    rng = np.random.default_rng(0)
    for _ in range(400):  # a dim frame's specks of noise, away from the digits
        x, y = int(rng.integers(450, 690)), int(rng.integers(10, 290))
        binary[y : y + 2, x : x + 2] = 255
    assert writing_stroke(binary) >= 12  # the pen is 16 px; the specks' centre lines are 1 px


def test_a_skipping_pens_pieces_are_one_digit_each():
    img = _text("305", size=(320, 760), scale=6.0, thickness=14, org=(30, 260))
    for x in range(45, 760, 45):
        img[:, x : x + 12] = 255  # gaps 12 px wide across a 14 px pen: each digit in side-by-side pieces
    binary = (img < 128).astype(np.uint8) * 255
    assert cv2.connectedComponents(binary)[0] - 1 >= 12
    seg = segment(cv2.cvtColor(img, cv2.COLOR_GRAY2BGR))
    assert len(seg.regions) == 3


def test_a_dark_strip_from_the_edge_does_not_set_the_ink_level():
    from digitdesk.core.ink import _stroke_otsu

    ink = np.zeros((600, 800), np.uint8)  # ink strength: the paper is 0
    cv2.putText(ink, "357", (250, 300), cv2.FONT_HERSHEY_SIMPLEX, 3.0, 45, 4, cv2.LINE_AA)  # faint writing
    ink[520:, :] = 220  # a strip of dark desk along the bottom edge
    plain = cv2.threshold(ink, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[0]
    assert plain >= 45  # Otsu over everything splits the desk from the rest: the writing (> level) is lost
    assert _stroke_otsu(ink, gate=10.0) < 45  # without the strip the writing is above the level
    ink[520:, :] = 0
    ink[200:400, 600:760] = 220  # a dark patch inside the page is not left out
    assert _stroke_otsu(ink, gate=10.0) >= 45


def test_pieces_of_one_pencil_digit_are_not_taken_for_two_digits():
    """Joining a skipping pen's pieces is refused when it would glue two whole digits side by
    side; a digit's own pieces side by side (a short stroke and the bar below it) are no such
    thing: they are short against the mark they join into."""
    from digitdesk.core.marks import components

    binary = np.zeros((80, 700), np.uint8)
    for x in range(20, 700, 70):  # ten digits, each a stroke and, down and to the right, a bar
        binary[10:31, x : x + 5] = 255
        binary[33:47, x + 11 : x + 36] = 255
    n, labels, _stats = components(binary, min_area=10, stroke=4)
    assert n - 1 == 10  # one mark per digit (unjoined: 20)
    assert len(np.unique(labels[binary > 0])) == 10

    glued = np.zeros((80, 700), np.uint8)
    for x in range(20, 700, 70):  # ten pairs of whole digits 6 px apart: joining would glue them
        glued[10:50, x : x + 25] = 255
        glued[10:50, x + 31 : x + 56] = 255
    n, _labels, _stats = components(glued, min_area=10, stroke=4)
    assert n - 1 == 20


def test_a_lone_digit_in_pieces_is_joined_and_a_few_whole_digits_are_not():
    """A handful of marks is joined too (a single 7 from a skipping pen is one 7, not a column
    of pieces), unless they are all of a height: then they are whole digits, side by side."""
    from digitdesk.core.marks import components

    seven = np.zeros((120, 120), np.uint8)
    seven[20:28, 30:52] = 255  # the bar in two pieces, 3 px apart
    seven[20:28, 55:80] = 255
    seven[31:60, 70:78] = 255  # the stem in three pieces, 3 px apart, shorter than the mark
    seven[63:80, 66:74] = 255
    seven[83:100, 62:70] = 255
    n, _labels, _stats = components(seven, min_area=10, stroke=5)
    assert n - 1 == 1  # unjoined: 5 marks

    bubbles = np.zeros((240, 320), np.uint8)  # a sticky note in a thick marker: "22" over "985"
    for x, y in ((20, 20), (110, 20), (20, 120), (110, 120), (200, 120)):
        bubbles[y : y + 90, x : x + 80] = 255  # fat whole digits 10 px apart, rows 10 px apart
    n, _labels, _stats = components(bubbles, min_area=10, stroke=45)
    assert n - 1 == 5  # joined across 36 px, both rows were one mark
