# No Qt. The writing surface, printed structure and faint strokes (issue 11), on real images
# through real OpenCV: each test fails when its step of the pipeline is turned off.
from __future__ import annotations

import cv2
import numpy as np
import pytest

from digitdesk.core import marks as marks_module
from digitdesk.core import segment as seg_module
from digitdesk.core.segment import segment
from digitdesk.core.structure import fill_outlined, remove_structure, rule_angle
from digitdesk.core.surface import find_surface


def _page(h: int = 600, w: int = 800, rules: bool = True, colour=(215, 185, 160)) -> np.ndarray:
    """A notebook page: off-white paper, ruled lines 40 px apart in ``colour`` (BGR), a margin."""
    page = np.full((h, w, 3), (236, 240, 242), np.uint8)
    if rules:
        for y in range(60, h, 40):
            cv2.line(page, (0, y), (w - 1, y), colour, 1, cv2.LINE_AA)
        cv2.line(page, (90, 0), (90, h - 1), (150, 150, 230), 1, cv2.LINE_AA)
    return page


def _write(page: np.ndarray, text: str, x: int, baseline: int, scale: float = 1.6, thickness: int = 4) -> None:
    cv2.putText(page, text, (x, baseline), cv2.FONT_HERSHEY_SIMPLEX, scale, (60, 40, 30), thickness, cv2.LINE_AA)


def _noisy(img: np.ndarray, sigma: float = 3.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(img + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


def test_a_blank_ruled_page_has_no_digits():
    assert segment(_noisy(_page())).regions == []


@pytest.mark.parametrize("colour", [(215, 185, 160), (120, 90, 70)], ids=["light rules", "dark rules"])
def test_ruled_lines_through_digits_leave_each_digit_whole(colour):
    page = _page(colour=colour)
    for i, d in enumerate("741"):  # the rule at y=220 crosses their middles, the one at 260 is below
        _write(page, d, 200 + 100 * i, 250, scale=2.2, thickness=5)
    regions = segment(_noisy(page)).regions
    assert len(regions) == 3, [r.box for r in regions]
    heights = [r.box[3] for r in regions]
    assert min(heights) >= 40, heights  # strokes kept where the rules cross them


def test_remove_structure_takes_rules_but_not_the_crossing_stroke():
    binary = np.zeros((200, 400), np.uint8)
    cv2.line(binary, (0, 100), (399, 100), 255, 2)  # a rule
    cv2.line(binary, (200, 70), (200, 130), 255, 5)  # a stroke crossing it
    out, removed = remove_structure(binary, digit_h=60)
    assert out[100, 50] == 0 and removed[100, 50] == 255  # the rule is gone
    assert out[100, 200] == 255  # the stroke is whole where it crosses
    n, _ = cv2.connectedComponents(out)
    assert n - 1 == 1


def test_a_faint_grids_columns_in_dashes_are_removed_with_its_rows():
    """A squared page's faint lines are whole only among the faint marks; in the writing's
    threshold they come out as dashes. The columns are looked for before the rows are cut out of
    the faint marks (cut out, with the rows' margin, they are dashes too short to be found)."""
    faint = np.zeros((600, 800), np.uint8)
    for y in range(10, 600, 26):
        cv2.line(faint, (0, y), (799, y), 255, 1)
    for x in range(10, 800, 26):
        cv2.line(faint, (x, 0), (x, 599), 255, 1)
    binary = faint.copy()  # what of them is dark enough for the writing: the rows, the columns in dashes
    columns = np.zeros(800, bool)
    columns[10::26] = True
    near_rows = (np.arange(600) - 10) % 26 < 6
    binary[np.ix_(near_rows, columns)] = 0
    binary[10::26] = faint[10::26]
    cv2.line(binary, (413, 250), (413, 330), 255, 4)  # and a written 1 between two columns
    out, removed = remove_structure(binary, faint, digit_h=80)
    n, _, stats, _ = cv2.connectedComponentsWithStats(out)
    assert n - 1 == 1, stats[1:]  # the 1 alone is left
    assert out[250:331, 413].all()


def test_faded_writing_beside_a_black_border_is_read():
    """A photo's black border along one edge (a strip too thin to count as a broad dark area)
    set the writing's threshold with it, and faded thin writing fell under it: none was read."""
    page = _page(rules=False)
    cv2.putText(page, "2896", (300, 300), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (205, 200, 190), 2, cv2.LINE_AA)
    page[-6:] = 0  # the frame's black border
    regions = segment(_noisy(page, 4.0)).regions
    assert len(regions) == 4, [r.box for r in regions]


def test_form_boxes_are_not_read_as_ones():
    page = np.full((300, 700, 3), 245, np.uint8)
    for i in range(6):  # a row of six printed boxes, three written in
        cv2.rectangle(page, (60 + i * 90, 100), (60 + (i + 1) * 90, 200), (160, 120, 90), 2)
    for i, d in enumerate("305"):
        _write(page, d, 80 + i * 90, 180, scale=2.0, thickness=5)
    assert [r for r in segment(_noisy(page)).regions].__len__() == 3


def test_a_sheet_held_at_an_angle_in_a_dark_room_is_found_and_read(recognizer):
    sheet = np.full((400, 560, 3), 225, np.uint8)
    _write(sheet, "2048", 70, 250, scale=3.2, thickness=9)
    frame = np.full((480, 640, 3), 55, np.uint8)  # a dim room
    quad = np.float32([[130, 70], [540, 100], [520, 400], [110, 380]])
    matrix = cv2.getPerspectiveTransform(np.float32([[0, 0], [559, 0], [559, 399], [0, 399]]), quad)
    warped = cv2.warpPerspective(sheet, matrix, (640, 480), borderValue=(55, 55, 55))
    mask = cv2.warpPerspective(np.full((400, 560), 255, np.uint8), matrix, (640, 480))
    frame[mask > 0] = warped[mask > 0]
    frame = _noisy(frame, 4.0)
    surface = find_surface(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    assert surface is not None
    assert np.abs(surface.outline - quad).max() < 25  # its corners, within a few pixels
    reading = recognizer.read(frame)
    assert reading.text == "2048"
    assert reading.surface is not None


def _sheet_before_a_blotchy_wall() -> tuple[np.ndarray, np.ndarray]:
    """A grey sheet (112) with "365" on it, held slightly askew before a wall whose light and
    dark blotches (88 +- 8, up to some 110) come close to the sheet's own level; and the sheet's
    corners."""
    rng = np.random.default_rng(0)
    blot = cv2.resize(rng.standard_normal((6, 8)).astype(np.float32), (640, 480), interpolation=cv2.INTER_CUBIC)
    wall = np.clip(88 + 8 * blot / blot.std(), 0, 255).astype(np.uint8)
    frame = np.repeat(wall[..., None], 3, axis=2)
    sheet = np.full((200, 300, 3), 112, np.uint8)
    _write(sheet, "365", 60, 140, scale=2.6, thickness=6)
    quad = np.float32([[170, 120], [470, 135], [462, 335], [162, 320]])
    matrix = cv2.getPerspectiveTransform(np.float32([[0, 0], [299, 0], [299, 199], [0, 199]]), quad)
    mask = cv2.warpPerspective(np.full((200, 300), 255, np.uint8), matrix, (640, 480))
    frame[mask > 0] = cv2.warpPerspective(sheet, matrix, (640, 480))[mask > 0]
    return _noisy(frame, 4.0), quad


def test_a_sheet_little_lighter_than_a_blotchy_wall_is_parted_along_its_edge(recognizer, monkeypatch):
    """No brightness level cuts the sheet out whole (the wall's light blotches join it), but its
    edge is sharper than theirs: it is parted from the wall there (surface._parted) and read."""
    from digitdesk.core import surface as surface_module

    frame, quad = _sheet_before_a_blotchy_wall()
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    surface = find_surface(gray)
    assert surface is not None
    assert np.abs(surface.outline - quad).max() < 25
    assert recognizer.read(frame).text == "365"
    monkeypatch.setattr(surface_module, "_parted", lambda *args: None)
    assert find_surface(gray) is None  # by brightness alone, no surface


def test_a_sheet_held_before_a_lit_wall_above_a_keyboard_is_the_surface(recognizer, monkeypatch):
    """The lit wall stands out from the keyboard below it as a surface too, a large one: the
    sheet is found on it (find_surface's ``nested`` look), so the overlay outlines the sheet."""
    frame = np.full((480, 640, 3), 100, np.uint8)
    frame[380:] = 33  # a keyboard across the bottom, its keys a little lighter
    for r in range(4):
        for c in range(26):
            x, y = 4 + c * 25 + r * 8, 383 + r * 25
            cv2.rectangle(frame, (x, y), (x + 19, y + 19), (56, 56, 58), -1)
    sheet = np.full((180, 260, 3), 145, np.uint8)
    _write(sheet, "47", 70, 130, scale=2.6, thickness=6)
    frame[170:350, 190:450] = sheet
    frame = _noisy(frame, 3.0)
    corners = np.float32([[190, 170], [450, 170], [450, 350], [190, 350]])
    reading = recognizer.read(frame)
    assert reading.text == "47"
    assert reading.surface is not None and np.abs(reading.surface - corners).max() < 12
    find = seg_module.find_surface
    monkeypatch.setattr(seg_module, "find_surface", lambda gray: find(gray, nested=False))
    wall = recognizer.read(frame).surface
    assert wall is not None and np.abs(wall - corners).max() > 100  # the wall, without the look


def test_no_surface_on_a_plain_page_or_a_close_up():
    page = _page(rules=False)
    _write(page, "0", 300, 400, scale=9, thickness=40)  # a big thick 0: its inside is no sheet
    assert find_surface(cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)) is None


def test_rules_photographed_at_a_slant_are_levelled():
    page = _page()
    turn = cv2.getRotationMatrix2D((400, 300), 3.0, 1.0)
    slanted = cv2.warpAffine(page, turn, (800, 600), borderMode=cv2.BORDER_REPLICATE)
    faint = (cv2.cvtColor(slanted, cv2.COLOR_BGR2GRAY) < 215).astype(np.uint8) * 255
    angle = rule_angle(faint)
    assert angle is not None and abs(abs(angle) - 3.0) < 0.6


def test_grain_and_sensor_noise_are_not_digits():
    rng = np.random.default_rng(3)
    paper = np.full((600, 800), 200, np.float32) + rng.normal(0, 9, (600, 800))
    paper += cv2.GaussianBlur(rng.normal(0, 25, (600, 800)).astype(np.float32), (0, 0), 1.2)  # grain
    img = np.clip(paper, 0, 255).astype(np.uint8)
    assert segment(img).regions == []


def test_faint_pencil_strokes_are_recovered_whole():
    page = np.full((300, 500), 205, np.uint8)
    cv2.putText(page, "38", (120, 220), cv2.FONT_HERSHEY_SIMPLEX, 5, 150, 6, cv2.LINE_AA)  # faint grey
    img = _noisy(page, 5.0, seed=1)
    regions = segment(img).regions
    assert len(regions) == 2, [r.box for r in regions]


def test_hollow_strokes_are_filled():
    binary = np.zeros((200, 240), np.uint8)
    body = np.zeros_like(binary)
    for x in (60, 180):
        cv2.line(body, (x, 20), (x, 180), 255, 24)  # "11" in a thick pen, drawn as its outline
    edge = cv2.subtract(body, cv2.erode(body, np.ones((5, 5), np.uint8)))
    filled = fill_outlined(edge, 160)
    assert filled[100, 60] == 255 and filled[100, 180] == 255  # the insides of the outlines are ink now
    one = edge.copy()
    one[:, 120:] = 0  # one narrow loop alone (a thin 0, say) is no hollow writing: left open
    assert fill_outlined(one, 160)[100, 60] == 0
    ring = np.zeros_like(binary)
    cv2.ellipse(ring, (60, 100), (40, 70), 0, 0, 360, 255, 8)  # a 0: its round hole stays open
    assert fill_outlined(ring, 140)[100, 60] == 0


def test_bubble_digits_with_wide_bodies_are_filled():
    """Bubble writing: outlined strokes whose insides are a third of the digits' height wide."""
    binary = np.zeros((200, 300), np.uint8)
    body = np.zeros_like(binary)
    for x in (70, 200):
        cv2.line(body, (x, 60), (x, 150), 255, 44)  # "11", 130 px tall with its caps, insides 40 px wide
    edge = cv2.subtract(body, cv2.erode(body, np.ones((5, 5), np.uint8)))
    filled = fill_outlined(edge, 120)
    assert filled[100, 70] == 255 and filled[100, 200] == 255


@pytest.mark.parametrize("off", ["remove_structure", "find_surface"])
def test_the_features_above_are_needed(off, monkeypatch, recognizer):
    """Turning the step off breaks what it is for (so the tests above can fail)."""
    if off == "remove_structure":
        monkeypatch.setattr(seg_module, off, lambda b, *_: (b, np.zeros_like(b)))
        page = _page(colour=(120, 90, 70))
        for i, d in enumerate("741"):
            _write(page, d, 200 + 100 * i, 250, scale=2.2, thickness=5)
        assert len(segment(_noisy(page)).regions) != 3
    else:
        monkeypatch.setattr(seg_module, off, lambda g: None)
        sheet = np.full((480, 640, 3), 50, np.uint8)
        cv2.rectangle(sheet, (150, 100), (500, 380), (228, 228, 228), -1)
        _write(sheet, "61", 250, 290, scale=3, thickness=8)
        assert recognizer.read(_noisy(sheet, 4.0)).surface is None


def test_rows_of_small_digits_are_writing_not_rules(tmp_path):
    """A dense page (rows of 60 small printed digits, closer together than a rule's gaps) is read:
    its rows are neither removed as rules nor joined into one mark each."""
    from benchmarks.bench_close import make_page
    from digitdesk.core.imageio import read_image

    page = read_image(make_page(tmp_path / "page.jpg", rows=6, cols=60))
    regions = segment(page).regions
    assert len(regions) >= 0.9 * 6 * 60, len(regions)
    assert max(r.line for r in regions) == 5


def _card_in_dim_room(text_x: int = 8, room: int = 30) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A small grey card (a sheet in dim light: grey 115-135, under the 150 of paper in daylight) held
    up in a dark room (grey ``room``), "4071" written from ``text_x`` px off its left edge; and
    the card's box."""
    frame = np.full((480, 640, 3), room, np.uint8)  # much darker than the card: no shadow on paper
    x0, y0, w, h = 210, 150, 230, 150
    yy, xx = np.mgrid[0:h, 0:w]
    light = 135 - 20 * np.hypot((xx - w / 2) / (w / 2), (yy - h / 2) / (h / 2)) / np.sqrt(2)  # lit in the middle
    card = np.repeat(light[..., None], 3, axis=2).astype(np.uint8)
    cv2.putText(card, "4071", (text_x, 95), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (40, 40, 40), 3, cv2.LINE_AA)
    frame[y0:y0 + h, x0:x0 + w] = card
    return _noisy(frame, 3.0), (x0, y0, w, h)


@pytest.mark.parametrize("room", [30, 62], ids=["dark room", "grey wall"])
def test_a_dim_card_with_writing_near_its_edge_is_found_and_read_dark(recognizer, room):
    """Writing that comes close to the card's edge does not cross it (the outline check looks on
    both sides of the edge, against a dark room or a grey wall only some 65 levels darker than
    the card), and ink on a found surface is dark, however dim the light."""
    frame, (x0, y0, w, h) = _card_in_dim_room(room=room)
    assert find_surface(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)) is not None
    reading = recognizer.read(frame)
    assert reading.text == "4071"
    for d in reading.digits:  # boxes in frame pixels, on the card
        bx, by, bw, bh = d.box
        assert x0 <= bx and bx + bw <= x0 + w and y0 <= by and by + bh <= y0 + h


def test_a_small_surface_is_read_larger():
    """A card small in the frame is flattened larger (to MIN_FLAT_SIDE pixels, or MAX_GROW times),
    and the matrix maps the frame onto the grown picture."""
    from digitdesk.core import surface as surface_module

    frame, (x0, y0, w, h) = _card_in_dim_room()
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    surface = find_surface(gray)
    flat, grown = surface.grown(surface.flatten(gray))
    expected = min(surface_module.MIN_FLAT_SIDE, surface_module.MAX_GROW * max(surface.size))
    assert max(grown.size) == pytest.approx(expected, abs=1) and flat.shape[::-1] == grown.size
    centre = cv2.perspectiveTransform(np.float32([[[x0 + w / 2, y0 + h / 2]]]), grown.matrix)[0, 0]
    assert np.abs(centre - np.float32(grown.size) / 2).max() < 0.05 * max(grown.size)


def test_a_stroke_across_a_box_side_stays_whole():
    from digitdesk.core.structure import remove_boxes

    binary = np.zeros((200, 300), np.uint8)
    cv2.rectangle(binary, (50, 40), (150, 140), 255, 2)  # a box 100 px square
    binary[60:171, 98:103] = 255  # a 1 whose stem runs out through the bottom side
    out, removed = remove_boxes(binary, 4.0, 100.0)
    assert removed[40, 60] and removed[90, 50]  # the top and left sides are gone
    assert out[60:171, 99:102].all()  # the stem, across the bottom side too, is whole
    assert not out[140, 60:90].any()  # the bottom side beside it is gone


def test_a_zero_is_no_box():
    """A 0 with straight sides (a printed one, or written squarely) is narrower than a box."""
    from digitdesk.core.structure import remove_boxes

    binary = np.zeros((200, 200), np.uint8)
    cv2.rectangle(binary, (70, 40), (125, 140), 255, 5)  # 56 x 101: a 0, not a box for one
    out, removed = remove_boxes(binary, 5.0, 100.0)
    assert not removed.any() and np.array_equal(out, binary)


def test_a_row_of_cells_taller_than_wide_is_boxes():
    """Form cells are often taller than wide (here 0.7 of their height): a row of them is boxes,
    though one such mark on its own is a 0 (above)."""
    from digitdesk.core.structure import remove_boxes

    binary = np.zeros((200, 420), np.uint8)
    for x in (40, 130, 220, 310):  # four separate cells, 71 x 101 each
        cv2.rectangle(binary, (x, 40), (x + 70, 140), 255, 2)
    binary[60:121, 73:78] = 255  # a 1 written in the first cell
    out, removed = remove_boxes(binary, 4.0, 100.0)
    for x in (40, 130, 220, 310):
        assert removed[90, x] and removed[90, x + 70] and removed[40, x + 35]
    assert out[60:121, 74:77].all()  # the 1 stays


def _labelled_form() -> np.ndarray:
    """A form row: a printed label, then six printed boxes with "305" written in three."""
    page = np.full((300, 760, 3), 245, np.uint8)
    cv2.putText(page, "Qty", (20, 160), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (90, 90, 90), 2, cv2.LINE_AA)
    for i in range(6):
        cv2.rectangle(page, (120 + i * 90, 100), (120 + (i + 1) * 90, 200), (160, 120, 90), 2)
    for i, d in enumerate("305"):
        _write(page, d, 140 + i * 90, 180, scale=2.0, thickness=5)
    return _noisy(page)


def test_a_forms_printed_label_beside_its_boxes_is_not_read():
    regions = segment(_labelled_form()).regions
    assert len(regions) == 3, [r.box for r in regions]
    assert min(r.box[0] for r in regions) > 110  # nothing left of the boxes: the label is gone


def test_writing_on_a_row_without_boxes_is_kept_on_a_form():
    """Only the marks level with a row of boxes and clear of it are labels."""
    page = _labelled_form()
    _write(page, "27", 200, 270, scale=1.6, thickness=4)  # written below the boxes, on no box row
    regions = segment(page).regions
    assert len(regions) == 5, [r.box for r in regions]


def test_a_combs_evenly_spaced_ticks_are_not_read_as_ones():
    """A comb (a base line with ticks between the cells) whose ticks stand taller than the
    rule-tick limit (0.6 of the writing), three of them clear of the digits."""
    page = np.full((260, 900, 3), 245, np.uint8)
    cv2.line(page, (40, 200), (860, 200), (140, 140, 140), 2)
    for i in range(9):
        cv2.line(page, (40 + i * 102, 200), (40 + i * 102, 200 - 32), (140, 140, 140), 2)
    for i, d in enumerate("42"):
        _write(page, d, 60 + i * 102, 190, scale=2.3, thickness=5)
    regions = segment(_noisy(page)).regions
    assert len(regions) == 2, [r.box for r in regions]


def test_dim_paper_filling_the_frame_has_dark_ink():
    """A sheet filling a webcam's frame in dim light (paper grey 100, ink 55): the writing is
    dark. A dark scene with light writing on it is not."""
    from digitdesk.core.ink import page_ink_is_dark

    dim = np.full((480, 640), 100, np.uint8)
    cv2.putText(dim, "82766", (120, 280), cv2.FONT_HERSHEY_SIMPLEX, 3.0, 55, 8, cv2.LINE_AA)
    assert page_ink_is_dark(_noisy(dim, 3.0))
    board = np.full((480, 640), 60, np.uint8)  # chalk on a board
    cv2.putText(board, "82766", (120, 280), cv2.FONT_HERSHEY_SIMPLEX, 3.0, 200, 8, cv2.LINE_AA)
    assert not page_ink_is_dark(_noisy(board, 3.0))


def test_a_hard_shadow_across_a_close_up_is_no_sheet():
    """A close-up of one thick digit with a hard-edged shadow across the paper: the lit part is
    as sharply set off as a sheet before a grey wall, but the stroke runs on through the
    shadow, so it is no sheet."""
    page = np.full((280, 280), 205, np.uint8)
    page[175:] = 135  # the shadow, its edge as sharp as a sheet's
    lit = np.zeros_like(page)
    cv2.line(lit, (150, 40), (120, 260), 255, 26)  # a stroke broader than the paper level's closing
    page[lit > 0] = np.where(np.arange(280)[:, None] < 175, 45, 30)[np.nonzero(lit)[0], 0]
    gray = cv2.GaussianBlur(_noisy(page, 2.0), (0, 0), 1.2)
    assert find_surface(gray) is None


def _small_number_in_a_big_photo() -> np.ndarray:
    """A 2400 x 1800 photo of a page with "4071" written 28 px tall in a thick pen: 12 px at the
    1024 px working scale, under the size the writing is read well at."""
    page = np.full((1800, 2400, 3), (228, 232, 234), np.uint8)
    cv2.putText(page, "4071", (900, 1000), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (50, 45, 40), 4, cv2.LINE_AA)
    return _noisy(page, 3.0)


def test_small_writing_in_a_big_photo_is_read_again_larger(recognizer, monkeypatch):
    photo = _small_number_in_a_big_photo()
    reading = recognizer.read(photo)
    assert reading.text == "4071"
    xs = [d.box[0] for d in reading.digits]
    assert 880 <= min(xs) and max(d.box[0] + d.box[2] for d in reading.digits) <= 1010  # boxes in photo pixels
    monkeypatch.setattr(seg_module, "ZOOM_BELOW", 0)  # never zoom: the same photo is misread
    assert recognizer.read(photo).text != "4071"


def test_small_thick_writing_read_again_larger_has_open_loops():
    """Small writing in a thick pen, read again from the photo's pixels: blown up from a few
    pixels, a 0's loop is grey haze. Each digit's own contrast is stretched there, so its loop is
    open, as MNIST's are."""
    page = np.full((1800, 2400), 230, np.uint8)
    for i in range(4):  # four 0s, 26 px tall, their loops greyed by the blur of a thick pen
        cv2.ellipse(page, (1000 + 30 * i, 1000), (8, 13), 0, 0, 360, 150, -1)
        cv2.ellipse(page, (1000 + 30 * i, 1000), (8, 13), 0, 0, 360, 45, 5)
    page = cv2.GaussianBlur(page, (0, 0), 1.2)
    regions = segment(page).regions
    assert len(regions) == 4
    for r in regions:
        digit = r.digit28.astype(np.float32)
        assert digit[13:16, 13:16].max() < 0.15 * digit.max()  # the loop's middle: no ink


def test_a_long_slanted_line_beside_the_writing_is_not_a_digit():
    """The edge of a sheet lying askew (a long, thin, straight line at a slant, too wide for the
    upright-rule check) is dropped, so the digits are still the writing and are read; a lone
    long stroke (a 1 written large) is kept."""
    page = np.full((750, 1000, 3), 232, np.uint8)
    cv2.line(page, (780, 40), (860, 700), (70, 70, 70), 2, cv2.LINE_AA)
    _write(page, "4071", 200, 400, scale=2.0, thickness=5)
    regions = segment(_noisy(page)).regions
    assert len(regions) == 4, [r.box for r in regions]
    assert max(r.box[0] for r in regions) < 700
    lone = np.full((750, 1000, 3), 232, np.uint8)
    cv2.line(lone, (480, 100), (520, 650), (70, 70, 70), 14, cv2.LINE_AA)
    assert len(segment(_noisy(lone)).regions) == 1


def test_arms_ending_just_short_of_the_frames_edge_are_not_digits(recognizer):
    """Forearms holding a card up to a webcam come in from the bottom of the frame, but noise
    and the frame's last rows often leave them a few pixels short of the edge: they are still
    dropped as marks at the edge taller than the writing, so the one digit written is read."""
    frame = np.full((480, 640, 3), 118, np.uint8)
    _write(frame, "0", 285, 250, scale=2.2, thickness=5)
    for x in (140, 400):  # two forearms, 14 px short of the bottom edge (within 3% of it)
        cv2.fillConvexPoly(frame, np.int32([[x, 330], [x + 70, 330], [x + 80, 466], [x - 10, 466]]), (55, 55, 55))
    reading = recognizer.read(_noisy(frame, sigma=4.0))
    assert reading.text == "0", [(d.digit, d.box) for d in reading.digits]


def test_arms_at_the_frames_edge_do_not_set_the_writings_height(recognizer):
    """The writing's typical height, which decides which marks are strokes of one digit, is
    measured away from the frame's edge: forearms coming in from the bottom, far taller than the
    writing, would make two short rows of digits look like the strokes of tall digits, merged
    into each other."""
    frame = np.full((480, 640, 3), 125, np.uint8)
    _write(frame, "348", 250, 150, scale=1.5, thickness=4)
    _write(frame, "225", 250, 200, scale=1.5, thickness=4)
    for x in (90, 430):  # two forearms from below, 4x the writing's height, 14 px short of the edge
        cv2.fillConvexPoly(frame, np.int32([[x, 250], [x + 70, 250], [x + 85, 466], [x - 15, 466]]), (50, 50, 50))
    reading = recognizer.read(_noisy(frame, sigma=4.0))
    assert reading.text == "348\n225", [(d.digit, d.box) for d in reading.digits]


def test_a_short_comb_of_a_few_cells_is_not_read():
    """A red comb of three cells, far shorter than a rule (under a fifth of the page) but three
    digit heights long, with a 5 written in its first cell touching a tick: the comb's base line
    and ticks are printed structure, so the 5 alone is read, not the comb as one wide mark. The
    same line without ticks (an underline) is not taken for a comb."""
    def page(ticks: bool) -> np.ndarray:
        img = np.full((750, 1000, 3), (200, 212, 226), np.uint8)
        cv2.line(img, (300, 400), (480, 400), (90, 120, 225), 2)
        for i, tall in enumerate((23, 22, 23, 24) if ticks else ()):
            cv2.line(img, (300 + i * 60, 400), (300 + i * 60, 400 - tall), (90, 120, 225), 2)
        cv2.putText(img, "5", (302, 398), cv2.FONT_HERSHEY_SIMPLEX, 1.3, (130, 50, 30), 3, cv2.LINE_AA)
        return _noisy(cv2.GaussianBlur(img, (0, 0), 0.8))

    regions = segment(page(ticks=True)).regions
    assert len(regions) == 1 and regions[0].box[2] < 40, [r.box for r in regions]
    assert "structure" not in segment(page(ticks=False), keep_stages=True).stages  # nothing removed


def test_a_thin_sliver_on_the_images_border_is_no_digit(recognizer):
    """A strip of a sheet's edge or the desk on the very border of a photo, as tall as the
    writing but thin, is not read as a 1; a 1 written near the border, not on it, still is."""
    page = np.full((600, 800, 3), 232, np.uint8)
    _write(page, "305", 330, 300, scale=1.6, thickness=4)
    cv2.line(page, (0, 262), (1, 302), (70, 70, 70), 2)  # on the left border, the writing's height
    assert recognizer.read(_noisy(page)).text == "305"
    _write(page, "1", 40, 300, scale=1.6, thickness=4)
    assert recognizer.read(_noisy(page)).text == "1305"


def test_a_sheets_edge_in_dashes_down_to_the_border_is_no_digit():
    """A sheet's edge that thresholds as a slanted row of dashes, the last one on the image's
    border: the dashes are found as one line with that last one still among them, so none is
    left over to read as a 1."""
    page = np.full((743, 991, 3), 225, np.uint8)
    for i in range(15):
        y = 18 + i * 49
        x = int(981 - 34 * (y - 18) / 722)
        cv2.line(page, (x, y), (x - 1, min(742, y + 28)), (120, 120, 120), 2)
    assert segment(_noisy(page)).regions == []


def test_a_one_close_to_the_edge_is_still_read(recognizer):
    """A 1 drawn a few pixels from the canvas's edge (within 3% of it) is writing: nothing comes
    in from a canvas's edge, and a lone mark there has no mark clear of the edge to compare with."""
    canvas = np.full((400, 400), 255, np.uint8)
    cv2.line(canvas, (14, 100), (16, 300), 0, 8)  # 10-20 px from the left edge
    assert recognizer.read(canvas, dark_ink=True).text == "1"


def _held_card(thumbs: bool = True, hairline: bool = False) -> np.ndarray:
    """A dim frame filled by a card (no surround to find it by) with "3482" in thick dark ink,
    the thumbs holding it as two grey solid ovals on its sides; with ``hairline`` a faint thin
    "1" (a calligraphic hairline digit) after the number."""
    frame = np.full((480, 640, 3), 150, np.uint8)
    _write(frame, "3482", 200, 260, scale=2.0, thickness=7)
    if thumbs:
        for x in (60, 580):
            cv2.ellipse(frame, (x, 300), (16, 28), 0, 0, 360, (90, 90, 90), -1, cv2.LINE_AA)
    if hairline:
        cv2.line(frame, (470, 205), (470, 262), (90, 90, 90), 2, cv2.LINE_AA)
    return _noisy(frame, sigma=4.0)


def test_thumbs_holding_a_card_are_not_digits(recognizer, monkeypatch):
    """Marks far fainter than the page's ink and thick (thumbs, arms, a shadow on the sheet) are
    no writing; a faint thin stroke is kept. Without the rule the thumbs are read as digits;
    without its thickness test the hairline is lost."""
    reading = recognizer.read(_held_card())
    assert reading.text == "3482", [(d.digit, d.box) for d in reading.digits]
    hairline = _held_card(thumbs=False, hairline=True)
    assert len(segment(hairline).regions) == 5
    monkeypatch.setattr(marks_module, "FAINT_SOLID_THICK", 0.0)
    assert len(segment(hairline).regions) == 4
    monkeypatch.setattr(seg_module, "drop_faint_solids", lambda blobs, *_: blobs)
    assert len(segment(_held_card()).regions) == 6


def test_a_number_in_a_lighter_pen_beside_darker_writing_is_kept():
    """Two pens on one page: a number in grey ink under one in black keeps its digits (they
    stand beside each other, as no thumb does); without that test they were dropped as faint."""
    page = np.full((600, 800, 3), 225, np.uint8)
    cv2.putText(page, "3482", (150, 200), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (40, 40, 40), 5, cv2.LINE_AA)
    cv2.putText(page, "175", (150, 350), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (120, 120, 120), 5, cv2.LINE_AA)
    assert len(segment(_noisy(page)).regions) == 7
    # Digits far apart, every other one in the lighter pen: more than a few thumbs would be.
    page = np.full((600, 1800, 3), 225, np.uint8)
    for k, d in enumerate("3141592653"):
        grey = 40 if k % 2 else 120
        cv2.putText(page, d, (60 + 170 * k, 300), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (grey, grey, grey), 5, cv2.LINE_AA)
    assert len(segment(_noisy(page)).regions) == 10



def _turned(img: np.ndarray, degrees: float, fill) -> np.ndarray:
    """``img`` turned by ``degrees`` (counter-clockwise) about its centre, the corners ``fill``."""
    h, w = img.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(img, turn, (w, h), flags=cv2.INTER_LINEAR, borderValue=fill)


def test_a_box_photographed_at_a_slant_is_taken_out():
    """A form with no rules to turn the page by, photographed 3 degrees off level: its boxes are
    turned level one by one to find their sides (structure._levelled). The sides go, the 1
    written in the first box stays."""
    from digitdesk.core.structure import remove_boxes

    binary = np.zeros((260, 460), np.uint8)
    for x in (40, 150, 260):
        cv2.rectangle(binary, (x, 60), (x + 100, 160), 255, 2)
    binary[80:141, 88:93] = 255  # a 1 in the first box
    binary = (_turned(binary, 3.0, 0) > 127).astype(np.uint8) * 255
    out, removed = remove_boxes(binary, 3.0, 100.0)
    assert removed.sum() > 0.8 * (binary.sum() - 61 * 5 * 255)  # most of the three frames
    _, _, stats, _ = cv2.connectedComponentsWithStats(out, connectivity=8)
    tall = stats[1:, cv2.CC_STAT_HEIGHT] >= 30
    assert tall.sum() == 1 and stats[1:][tall][0, cv2.CC_STAT_HEIGHT] >= 55  # the 1, whole



def test_a_squarish_zero_at_a_slant_is_no_box():
    """A 0 written squarely and a little aslant, on its own, about as wide as a form's cell for
    its height: turned level it has four straight sides too, but a box standing alone must then
    be clearly wider than tall (a tilted boxy 0 is not)."""
    from digitdesk.core.structure import remove_boxes

    binary = np.zeros((220, 220), np.uint8)
    cv2.rectangle(binary, (70, 60), (149, 159), 255, 4)  # 80 x 100
    binary = (_turned(binary, 3.0, 0) > 127).astype(np.uint8) * 255
    out, removed = remove_boxes(binary, 4.0, 100.0)
    assert not removed.any() and np.array_equal(out, binary)


def test_a_box_side_thresholded_in_pieces_is_taken_out():
    """A form's box side between two printed rows, thresholded in two pieces a pixel or two
    apart (a thin line on grainy paper): the long piece stands on one row only, yet joined to
    the short one it runs from row to row, a side, not a written 1. A 1 standing on a row stays."""
    binary = np.zeros((300, 900), np.uint8)
    binary[100:103, 20:880] = 255  # the rows of a comb, long enough for rules
    binary[160:163, 20:880] = 255
    binary[103:115, 300:302] = 255  # a side: a short piece off the top row,
    binary[117:160, 301:303] = 255  # and the rest, two pixels below, down to the bottom row
    binary[118:160, 600:605] = 255  # a 1 standing on the bottom row, well clear of the top one
    out, removed = remove_structure(binary, digit_h=64.0)
    assert not out[100:163, 295:310].any()  # the side, both pieces
    assert out[118:158, 600:605].all()  # the 1


def _blank_combs(degrees: float) -> np.ndarray:
    """A form with three empty combs (a base line and evenly spaced ticks), dark and as long as
    a third of the page, no rules, no writing; photographed ``degrees`` off level."""
    page = np.full((750, 1000, 3), (222, 226, 230), np.uint8)
    for y, cells in ((230, 8), (360, 6), (500, 8)):
        cv2.line(page, (60, y), (60 + cells * 47, y), (50, 50, 50), 3)
        for i in range(cells + 1):
            cv2.line(page, (60 + i * 47, y), (60 + i * 47, y - 28), (50, 50, 50), 3)
    return _noisy(_turned(page, degrees, (222, 226, 230)), sigma=4.0)


@pytest.mark.parametrize("degrees", [0.0, 1.5], ids=["level", "aslant"])
def test_a_blank_forms_combs_give_no_digits(degrees):
    """A blank form whose only marks are three combs, each a third of the page long: nothing
    on it looks like writing, so the combs' scale is taken from the marks themselves (their
    ticks), and aslant, their rows are still found to turn the page by (structure.RULE_PEAK_PX)."""
    assert segment(_blank_combs(degrees)).regions == []


def test_a_narrow_box_on_its_own_with_a_digit_in_it_is_a_box():
    """A form's single cell narrower than 0.75 of its height looks like a boxy 0, unless
    something is written in it, clear of its sides (structure._holds_writing): then it is a
    box, taken out, and the 1 in it stays."""
    from digitdesk.core.structure import remove_boxes

    binary = np.zeros((200, 200), np.uint8)
    cv2.rectangle(binary, (70, 40), (139, 140), 255, 3)  # 70 x 101
    binary[60:121, 103:108] = 255  # a 1, clear of the frame
    out, removed = remove_boxes(binary, 3.0, 100.0)
    assert removed[90, 70] and removed[40, 100] and removed[140, 100]
    assert out[60:121, 103:108].all() and not out[90, 60:80].any()


def test_a_box_with_a_bold_digit_on_its_side_is_still_a_box():
    """A bold 8 standing on its cell's bottom line makes box and digit one mark with ink over
    nearly half its box; its inside is not filled (structure.BOX_INSIDE_INK), so it is still a
    box, taken out, and the 8 read alone."""
    img = np.full((300, 400), 235, np.uint8)
    cv2.rectangle(img, (160, 100), (236, 176), 90, 6)
    cv2.putText(img, "8", (172, 176), cv2.FONT_HERSHEY_SIMPLEX, 2.4, 20, 9, cv2.LINE_AA)
    n, _, stats, _ = cv2.connectedComponentsWithStats((img < 150).astype(np.uint8))
    assert n - 1 == 1 and stats[1, cv2.CC_STAT_AREA] > 0.45 * stats[1, 2] * stats[1, 3]  # one mark, dense
    (box,) = [r.box for r in segment(img).regions]
    x, y, w, h = box
    assert 165 < x and x + w < 232 and 100 < y  # the 8, inside the frame


def test_a_combs_divider_touching_a_digit_is_taken_out_and_the_bar_across_it_stays():
    """A 7 written against its cell's side in a row of boxes, its bar across the side: box and 7
    are one mark. The side, upright from the top rule to the bottom one, is printed and goes
    (structure._sides_in_writing); the bar across it stays, so the 7 is one digit, as tall as
    written, as wide as its bar."""
    img = np.full((300, 760), 240, np.uint8)
    cv2.line(img, (40, 100), (720, 100), 120, 3)
    cv2.line(img, (40, 190), (720, 190), 120, 3)
    for x in range(40, 721, 85):
        cv2.line(img, (x, 100), (x, 190), 120, 3)
    for text, x in (("3", 126), ("7", 262), ("5", 390)):  # the 7's bar crosses the side at x = 295
        cv2.putText(img, text, (x, 178), cv2.FONT_HERSHEY_SIMPLEX, 2.4, 30, 7, cv2.LINE_AA)
    regions = segment(img).regions
    assert len(regions) == 3
    x, y, w, h = regions[1].box
    assert h < 60 and y > 120  # the 7 alone, not the side from rule to rule
    assert x < 280 and x + w > 298  # its bar on both sides of the side


def _comb_row(ticks: bool, left: str | None = None, label: str | None = None) -> np.ndarray:
    """A line (with a comb's ticks standing on it, or bare), "284" written on it, and at its left
    ``label`` (printed) or ``left`` (written), level with the writing."""
    img = np.full((320, 760), 238, np.uint8)
    cv2.line(img, (230, 200), (720, 200), 110, 3)
    if ticks:
        for x in range(230, 721, 70):
            cv2.line(img, (x, 200), (x, 186), 110, 3)
    if label:
        cv2.putText(img, label, (20, 190), cv2.FONT_HERSHEY_SIMPLEX, 1.5, 40, 4, cv2.LINE_AA)
    for text, x in [("2", 245), ("8", 315), ("4", 385)] + ([(left, 60)] if left else []):
        cv2.putText(img, text, (x, 192), cv2.FONT_HERSHEY_SIMPLEX, 1.9, 30, 5, cv2.LINE_AA)
    return img


def test_a_combs_printed_label_level_with_its_writing_is_not_read():
    """A comb's row of writing stands above its line: a printed label beside the comb, level
    with the writing but not with the line's ticks, is no writing (marks.COMB_ROW, _ticks)."""
    regions = segment(_comb_row(ticks=True, label="Total")).regions
    assert [r.box[0] // 10 for r in regions] == [24, 31, 38]  # the 2, 8 and 4 only


def test_writing_beside_a_bare_line_is_kept():
    """A line without ticks (an underline, a rule's piece) is no comb: a number written beside
    it, level with the writing on it, stays."""
    regions = segment(_comb_row(ticks=False, left="7")).regions
    assert len(regions) == 4 and regions[0].box[0] < 100


def _page_with_edge(strip: bool, text: str, org: tuple[int, int]) -> np.ndarray:
    """A page photographed with (``strip``) a strip of blotchy desk along its right edge, and
    ``text`` written at ``org``."""
    rng = np.random.default_rng(3)
    img = np.full((600, 800), 215, np.uint8)
    if strip:
        img[:, 770:] = 170
        for y in range(20, 600, 70):
            cv2.ellipse(img, (785, y), (16, 24), float(rng.uniform(0, 180)), 0, 360, 90, -1, cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, 3, 30, 8, cv2.LINE_AA)
    return cv2.GaussianBlur(img, (0, 0), 1.0)


def test_a_strip_of_blotchy_desk_along_the_edge_gives_no_digits():
    """The desk beside a sheet no surface was found for: its blotches threshold as a row of
    marks at the image's edge, running along most of it (marks.drop_edge_strips). Only the
    number on the page is read."""
    regions = segment(_page_with_edge(True, "305", (300, 330))).regions
    assert len(regions) == 3 and all(r.box[0] + r.box[2] < 700 for r in regions)


def test_a_number_written_at_the_bottom_edge_is_kept():
    """Four digits touching the bottom edge's margin run along a small part of it: writing, not
    a strip of desk."""
    regions = segment(_page_with_edge(False, "4071", (250, 592))).regions
    assert len(regions) == 4
