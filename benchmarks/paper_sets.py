"""SYNTHETIC evaluation photos of digits written on real kinds of paper (issue 11).

    from benchmarks import paper_sets
    samples = paper_sets.make_set("ruled", 40, paper_sets.TUNING_SEED)   # [PaperSample]

Conditions (:data:`CONDITIONS`): ruled notebook pages, squared paper, forms with boxes and comb
fields, pencil on grainy paper, blue/red/faded ballpoint, a sheet held up to a webcam, hollow
(outlined) digits, broad-nib calligraphic digits, broken (skipping pen) digits, small digits in
a thick pen, and blank pages (expected text ""). Each sample is a BGR uint8 photo (800-1600 px
wide, 4:3; the webcam frames 640x480) with its expected text (lines separated by "\\n").

Independent of ``digitdesk.core.synth`` (the generator the engine was tuned on): the digit
shapes are MNIST *test* digits (the bundled model never saw them), OpenCV Hershey fonts and the
TTF fonts found on the machine, drawn as strokes with pens of this module. Qt-free: numpy + OpenCV.

Two seeds: :data:`TUNING_SEED` for working on the engine and :data:`HELD_OUT_SEED` for one final
measurement. Any seed other than the tuning seed also widens the parameter ranges (more line,
ink and paper colours, spacings, pens, lighting), so the held-out set is not a copy of the
tuning set with other draws.
"""

from __future__ import annotations

import functools
import glob
from dataclasses import dataclass

import cv2
import numpy as np

TUNING_SEED = 11
HELD_OUT_SEED = 9011
CONDITIONS = ("ruled", "squared", "form", "pencil", "ink_colour", "webcam_sheet", "hollow",
              "calligraphic", "broken", "small_thick", "blank")
BLANK_KINDS = ("plain", "ruled", "squared", "form", "pencil", "webcam")
WEBCAM_SIZE = (640, 480)  # width, height


@dataclass(frozen=True)
class PaperSample:
    """One synthetic photo and what is written on it."""

    image: np.ndarray  # uint8 BGR (H, W, 3)
    text: str  # digits in reading order, lines separated by "\n"; "" for a blank page
    condition: str
    note: str = ""  # how it was made (digit source, paper kind), for failure file names


# Digit sources ---------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _mnist_test() -> tuple[np.ndarray, list[np.ndarray]] | None:
    """MNIST test images and the indices of each label (None when MNIST cannot be found)."""
    try:
        from digitdesk.core.data import load_mnist

        test = load_mnist(download=False).test
    except Exception:  # no MNIST: fonts only
        return None
    return test.images, [np.flatnonzero(test.labels == d) for d in range(10)]


@functools.lru_cache(maxsize=1)
def _ttf_fonts() -> tuple[str, ...]:
    found = []
    for pattern in ("/usr/share/fonts/**/*.ttf", "/usr/local/share/fonts/**/*.ttf", "C:/Windows/Fonts/*.ttf",
                    "/Library/Fonts/*.ttf", "/System/Library/Fonts/*.ttf"):
        found += glob.glob(pattern, recursive=True)
    return tuple(sorted(f for f in found if not any(k in f.lower() for k in ("math", "symbol", "emoji"))))


HERSHEY = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX,
           cv2.FONT_HERSHEY_TRIPLEX, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, cv2.FONT_HERSHEY_SCRIPT_COMPLEX)


def _tight(m: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(m)
    if not len(ys):
        return m[:1, :1]
    return m[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


def _shape_mask(digit: int, source: str, rng: np.random.Generator) -> np.ndarray:
    """A filled binary mask (uint8 0/1, about 120 px tall) of one digit from ``source``."""
    if source == "mnist":
        images, index = _mnist_test()
        img = images[rng.choice(index[digit])]
        big = cv2.resize(img, (168, 168), interpolation=cv2.INTER_CUBIC)
        return _tight((big > 110).astype(np.uint8))
    canvas = np.zeros((220, 220), np.uint8)
    if source == "hershey":
        font = int(rng.choice(HERSHEY)) | (cv2.FONT_ITALIC if rng.random() < 0.3 else 0)
        cv2.putText(canvas, str(digit), (40, 170), font, 4.0, 1, int(rng.integers(6, 14)), cv2.LINE_8)
        return _tight(canvas)
    from PIL import Image, ImageDraw, ImageFont  # TTF fonts

    font = ImageFont.truetype(str(rng.choice(_ttf_fonts())), 150)
    pil = Image.new("L", (220, 220), 0)
    ImageDraw.Draw(pil).text((30, 10), str(digit), fill=255, font=font)
    return _tight((np.asarray(pil) > 127).astype(np.uint8))


def _thin(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning of a 0/1 mask to one-pixel strokes."""
    img = np.pad(mask.astype(np.uint8), 1)
    while True:
        changed = False
        for step in (0, 1):
            p = [img[:-2, 1:-1], img[:-2, 2:], img[1:-1, 2:], img[2:, 2:], img[2:, 1:-1], img[2:, :-2],
                 img[1:-1, :-2], img[:-2, :-2]]  # P2..P9 clockwise from the top
            b = sum(x.astype(np.int32) for x in p)
            a = sum(((p[i] == 0) & (p[(i + 1) % 8] == 1)).astype(np.int32) for i in range(8))
            if step == 0:
                cond = (p[0] * p[2] * p[4] == 0) & (p[2] * p[4] * p[6] == 0)
            else:
                cond = (p[0] * p[2] * p[6] == 0) & (p[0] * p[4] * p[6] == 0)
            rm = (img[1:-1, 1:-1] == 1) & (b >= 2) & (b <= 6) & (a == 1) & cond
            if rm.any():
                img[1:-1, 1:-1][rm] = 0
                changed = True
        if not changed:
            return img[1:-1, 1:-1]


@dataclass
class Writer:
    """How one person writes a number: digit source, slant, pen and its parameters."""

    source: str  # "mnist", "hershey" or "ttf"
    pen: str  # "round", "nib", "hollow", "broken"
    width: float  # pen width in px (the nib's length for "nib", the body width for "hollow")
    slant: float = 0.0  # shear, x per y
    wobble: float = 0.15  # pen pressure variation
    outline: float = 2.0  # outline width for "hollow"
    nib_angle: float = 40.0


def pick_source(rng: np.random.Generator, mnist_share: float = 0.6) -> str:
    """MNIST test digits most of the time (if present), else a Hershey or TTF font."""
    if _mnist_test() is not None and rng.random() < mnist_share:
        return "mnist"
    return "ttf" if _ttf_fonts() and rng.random() < 0.5 else "hershey"


def _noise(h: int, w: int, rng: np.random.Generator, cell: float) -> np.ndarray:
    """Smooth noise in about [-1, 1] with features about ``cell`` px across."""
    gh, gw = max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)
    return cv2.resize(rng.standard_normal((gh, gw)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)


def glyph(digit: int, height: float, wr: Writer, rng: np.random.Generator) -> np.ndarray:
    """Ink coverage (float32 0..1) of one digit ``height`` px tall, drawn with the writer's pen."""
    shape = _shape_mask(digit, wr.source, rng)
    sh, sw = shape.shape
    scale = max(height - wr.width * 0.8, 4) / sh
    pad = int(wr.width * 2 + 6)
    shear = wr.slant + rng.normal(0, 0.05)
    out_w = int(sw * scale + abs(shear) * sh * scale) + 2 * pad
    out_h = int(sh * scale) + 2 * pad
    rot = np.deg2rad(rng.normal(0, 4))
    m = np.array([[scale * np.cos(rot), -shear * scale - np.sin(rot) * scale, 0],
                  [np.sin(rot) * scale, scale * np.cos(rot), 0]], np.float32)
    m[0, 2] = pad + max(0.0, shear) * sh * scale
    m[1, 2] = pad
    filled = cv2.warpAffine(shape.astype(np.float32), m, (out_w, out_h), flags=cv2.INTER_LINEAR) > 0.5
    skel = _thin(filled.astype(np.uint8))
    if not skel.any():
        skel = filled.astype(np.uint8)
    dist = cv2.distanceTransform((1 - skel).astype(np.uint8), cv2.DIST_L2, 5)
    press = 1 + wr.wobble * _noise(out_h, out_w, rng, max(8.0, height / 3))
    if wr.pen == "nib":  # a broad nib at a fixed angle: thick downstrokes, hairline upstrokes
        n = int(round(wr.width)) | 1
        k = np.zeros((n, n), np.uint8)
        a = np.deg2rad(wr.nib_angle)
        c, dx, dy = n // 2, np.cos(a) * (n / 2), -np.sin(a) * (n / 2)
        cv2.line(k, (int(round(c - dx)), int(round(c - dy))), (int(round(c + dx)), int(round(c + dy))), 1, 1)
        body = cv2.morphologyEx(cv2.dilate(skel, k), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)).astype(np.float32)
        ink = np.maximum(cv2.GaussianBlur(body, (3, 3), 0.6), np.clip(1.2 - dist, 0, 1))
    elif wr.pen == "hollow":
        r = wr.width * press / 2
        ink = np.clip(r + 0.5 - dist, 0, 1) - np.clip(r - wr.outline + 0.5 - dist, 0, 1)
    else:
        ink = np.clip(wr.width * press / 2 + 0.5 - dist, 0, 1)
        if wr.pen == "broken":  # a skipping pen: gaps along the stroke
            ys, xs = np.nonzero(skel)
            for i in rng.choice(len(ys), size=min(len(ys), int(rng.integers(2, 6))), replace=False):
                rad = max(2.0, wr.width * rng.uniform(0.6, 1.2))
                cv2.circle(ink, (int(xs[i]), int(ys[i])), int(round(rad)), 0.0, -1)
    return np.clip(ink, 0, 1).astype(np.float32)


def _stamp(cover: np.ndarray, g: np.ndarray, x: int, y: int) -> None:
    """Max-composite glyph ``g`` into ``cover`` with its top-left at (x, y), clipped."""
    h, w = cover.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + g.shape[1], w), min(y + g.shape[0], h)
    if x1 > x0 and y1 > y0:
        region = cover[y0:y1, x0:x1]
        np.maximum(region, g[y0 - y:y1 - y, x0 - x:x1 - x], out=region)


def _ink_box(g: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(g > 0.3)
    return (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) if len(xs) else (0, 0, g.shape[1], g.shape[0])


def write_number(cover: np.ndarray, text: str, x: float, baseline: float, height: float, wr: Writer,
                 rng: np.random.Generator, cells: list[tuple[float, float]] | None = None) -> float:
    """Write ``text`` with its digits' bottoms on ``baseline`` from ``x`` on; with ``cells``
    ((centre x, bottom y) per digit) each digit goes in its own cell. Returns the end x."""
    for i, ch in enumerate(text):
        hgt = height * rng.uniform(0.9, 1.08)
        g = glyph(int(ch), hgt, wr, rng)
        x0, y0, x1, y1 = _ink_box(g)
        if cells is not None:
            cx, bottom = cells[i]
            _stamp(cover, g, int(cx - (x0 + x1) / 2), int(bottom - y1))
            continue
        bottom = baseline + rng.normal(0, 0.04) * height
        _stamp(cover, g, int(x - x0), int(bottom - y1))
        x += (x1 - x0) + height * rng.uniform(0.12, 0.4)
    return x


def random_text(rng: np.random.Generator, max_lines: int = 3, max_digits: int = 8) -> str:
    """1..max_lines lines of numbers of 1..max_digits digits (no leading-zero rule: any digits)."""
    n_lines = int(rng.choice(np.arange(1, max_lines + 1), p=np.array([0.5, 0.3, 0.2][:max_lines]) /
                             sum([0.5, 0.3, 0.2][:max_lines])))
    return "\n".join("".join(str(d) for d in rng.integers(0, 10, int(rng.integers(1, max_digits + 1))))
                     for _ in range(n_lines))


# Paper, light and camera -------------------------------------------------------------------

def _paper(h: int, w: int, rng: np.random.Generator, ext: bool, grain: float = 0.015) -> np.ndarray:
    """Reflectance (float32 BGR 0..1) of a sheet: off-white tint, fibres, blotches."""
    tints = [(0.93, 0.95, 0.96), (0.90, 0.94, 0.96), (0.95, 0.95, 0.95), (0.86, 0.92, 0.95)]
    if ext:
        tints += [(0.97, 0.96, 0.94), (0.82, 0.90, 0.94), (0.90, 0.91, 0.92)]
    tint = np.array(tints[rng.integers(len(tints))], np.float32) * rng.uniform(0.96, 1.03)
    fibre = cv2.GaussianBlur(rng.standard_normal((h, w), dtype=np.float32), (0, 0), rng.uniform(0.6, 1.3))
    blotch = _noise(h, w, rng, rng.uniform(40, 120))
    lum = 1 + grain * fibre / max(fibre.std(), 1e-6) + 0.012 * blotch
    return tint[None, None, :] * np.clip(lum, 0, 1.04)[:, :, None]


def _apply(paper: np.ndarray, cover: np.ndarray, colour: tuple[float, float, float], alpha: float = 1.0) -> None:
    """Subtract a coloured layer (ink or print) with coverage ``cover`` from the paper, in place."""
    x, y, w, h = cv2.boundingRect((cover > 0).astype(np.uint8))
    if w == 0:
        return
    col = np.asarray(colour, np.float32)
    paper[y:y + h, x:x + w] *= 1 - (alpha * cover[y:y + h, x:x + w])[:, :, None] * (1 - col)[None, None, :]


def _line(cover: np.ndarray, p0, p1, width: float) -> None:
    """An anti-aliased printed line (drawn at 4x sub-pixel precision)."""
    cv2.line(cover, (int(p0[0] * 16), int(p0[1] * 16)), (int(p1[0] * 16), int(p1[1] * 16)), 1.0,
             max(1, int(round(width))), cv2.LINE_AA, 4)


def _light(h: int, w: int, rng: np.random.Generator, ext: bool, dim: bool = False) -> np.ndarray:
    """Illumination (float32 BGR): exposure, a gradient, vignetting, sometimes a soft shadow, colour cast."""
    full = (w, h)
    h, w = max(8, h // 8), max(8, w // 8)  # smooth: computed small, then enlarged
    gain = rng.uniform(0.35, 0.65) if dim else rng.uniform(0.78, 1.02)
    corners = rng.uniform(0.72 if ext else 0.78, 1.0, 4).astype(np.float32)
    field = cv2.resize(corners.reshape(2, 2), (w, h), interpolation=cv2.INTER_LINEAR)
    yy, xx = np.ogrid[0:h, 0:w]
    r2 = (((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2).astype(np.float32)
    field *= 1 - rng.uniform(0.05, 0.35 if dim else 0.2) * r2 / 2
    if rng.random() < (0.45 if ext else 0.35):  # a phone or hand shadow from one edge
        shadow = np.zeros((h, w), np.float32)
        cx, cy = rng.uniform(0, w), rng.choice([-0.3, 1.3]) * h
        cv2.ellipse(shadow, (int(cx), int(cy)), (int(w * rng.uniform(0.2, 0.5)), int(h * rng.uniform(0.4, 0.7))),
                    rng.uniform(0, 180), 0, 360, 1.0, -1)
        shadow = cv2.GaussianBlur(shadow, (0, 0), rng.uniform(15, 50) / 8)
        field *= 1 - rng.uniform(0.15, 0.4) * shadow
    casts = [(1.0, 1.0, 1.0), (0.86, 0.96, 1.04), (1.04, 1.0, 0.95)] + ([(0.78, 0.93, 1.06)] if ext else [])
    cast = np.asarray(casts[rng.integers(len(casts))], np.float32)
    return cv2.resize(gain * field[:, :, None] * cast[None, None, :], full, interpolation=cv2.INTER_LINEAR)


def _camera(img: np.ndarray, rng: np.random.Generator, noise: float, blur: float, quality: int) -> np.ndarray:
    """Lens blur, sensor noise (more in the shadows), gamma, JPEG round trip; float 0..1 in, uint8 out."""
    h, w = img.shape[:2]
    img = cv2.GaussianBlur(img, (0, 0), blur) if blur > 0.2 else img
    shot = rng.standard_normal((h, w), dtype=np.float32)
    chroma = cv2.resize(rng.standard_normal((h // 2, w // 2, 3), dtype=np.float32), (w, h)) * 0.5
    gray = img.mean(axis=2)
    amp = (noise / 255.0) * (0.6 + 0.6 * np.sqrt(np.clip(1 - gray, 0, 1)))
    img = img + (amp * shot)[:, :, None] + amp[:, :, None] * chroma
    lut = (np.linspace(0, 1, 256) ** rng.uniform(0.9, 1.1) * 255 + 0.5).astype(np.uint8)
    out = cv2.LUT(np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8), lut)
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def _desk(h: int, w: int, rng: np.random.Generator, ext: bool) -> np.ndarray:
    """A desk or room behind the sheet: wood, grey laminate, dark cloth or a (lighter) wall."""
    kinds = ["wood", "grey", "dark"] + (["wall", "wall"] if ext else ["wall"])
    return _background(h, w, rng, kinds[rng.integers(len(kinds))])


def _background(h: int, w: int, rng: np.random.Generator, kind: str) -> np.ndarray:
    full = (w, h)
    h, w = max(8, h // 3), max(8, w // 3)
    base = {"wood": (0.22, 0.36, 0.52), "grey": (0.42, 0.42, 0.44), "dark": (0.12, 0.12, 0.14),
            "wall": (0.80, 0.86, 0.90)}[kind]
    img = np.ones((h, w, 3), np.float32) * np.asarray(base, np.float32) * rng.uniform(0.8, 1.15)
    if kind == "wood":
        yy = np.arange(h, dtype=np.float32)[:, None]
        grain = np.sin(yy / rng.uniform(1, 3) + 3 * _noise(h, w, rng, 20)) * 0.08
        img *= (1 + grain)[:, :, None]
    img *= (1 + 0.06 * _noise(h, w, rng, 10))[:, :, None]
    if kind == "wall" and rng.random() < 0.5:  # a door frame, a shelf or a bright window behind
        x0, y0 = int(rng.uniform(0, 0.8) * w), int(rng.uniform(0, 0.6) * h)
        tone = rng.uniform(0.5, 1.25)
        img[y0:y0 + int(rng.uniform(0.2, 0.6) * h), x0:x0 + int(rng.uniform(0.1, 0.4) * w)] *= tone
    return cv2.resize(img, full, interpolation=cv2.INTER_LINEAR)


def _warp_onto(sheet: np.ndarray, back: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """Paste ``sheet`` onto ``back`` so its corners land on ``quad`` (4x2, TL TR BR BL)."""
    h, w = back.shape[:2]
    sh, sw = sheet.shape[:2]
    src = np.float32([[0, 0], [sw, 0], [sw, sh], [0, sh]])
    hm = cv2.getPerspectiveTransform(src, quad.astype(np.float32))
    warped = cv2.warpPerspective(sheet, hm, (w, h), flags=cv2.INTER_AREA if sw > w * 1.3 else cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.ones((sh, sw), np.float32), hm, (w, h), flags=cv2.INTER_LINEAR)[:, :, None]
    return warped * mask + back * (1 - mask)


def _quad(w: float, h: float, x0: float, y0: float, sw: float, sh: float, jitter: float,
          rng: np.random.Generator, angle: float) -> np.ndarray:
    """Corners of a ``sw`` x ``sh`` sheet at (x0, y0), rotated by ``angle`` degrees, each corner moved a little."""
    c = np.array([x0 + sw / 2, y0 + sh / 2])
    pts = np.array([[-sw / 2, -sh / 2], [sw / 2, -sh / 2], [sw / 2, sh / 2], [-sw / 2, sh / 2]])
    a = np.deg2rad(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return pts @ rot.T + c + rng.uniform(-jitter, jitter, (4, 2)) * np.array([sw, sh])


# Conditions ---------------------------------------------------------------------------------

INKS = {"black": (0.24, 0.21, 0.20), "blue": (0.56, 0.24, 0.12), "gel": (0.42, 0.14, 0.06),
        "red": (0.20, 0.18, 0.70), "graphite": (0.40, 0.40, 0.42)}
EXTRA_INKS = {"violet": (0.55, 0.22, 0.38), "green": (0.32, 0.46, 0.18), "light_blue": (0.72, 0.45, 0.25)}


def _pick(rng: np.random.Generator, options: list):
    return options[int(rng.integers(len(options)))]


def _writer(rng: np.random.Generator, ppm: float, ext: bool, pen: str = "round") -> Writer:
    lo, hi = (0.3, 0.9) if ext else (0.35, 0.75)
    return Writer(pick_source(rng), pen, max(1.6, ppm * rng.uniform(lo, hi)),
                  slant=rng.uniform(-0.2, 0.35), wobble=rng.uniform(0.05, 0.25))


def _frame(rng: np.random.Generator, ext: bool) -> tuple[int, int]:
    w = int(rng.integers(800 if ext else 900, 1601))
    return w, int(round(w * 0.75))


def _photo(sheet: np.ndarray, w: int, h: int, rng: np.random.Generator, ext: bool, quality=(70, 93),
           noise=(2.0, 6.0), writing: np.ndarray | None = None) -> np.ndarray:
    """A phone photo of ``sheet`` (reflectance) filling most of a ``w`` x ``h`` frame; with
    ``writing`` (the ink's cover on the sheet), the sheet is moved so that all of it is in the
    frame (what the label says is written is in the photo)."""
    sh, sw = sheet.shape[:2]
    x0 = (w - sw) / 2 + rng.uniform(-0.07, 0.07) * w
    y0 = (h - sh) / 2 + rng.uniform(-0.07, 0.07) * h
    quad = _quad(w, h, x0, y0, sw, sh, 0.025 if ext else 0.018, rng, rng.normal(0, 2.5 if ext else 1.8))
    if writing is not None and (writing > 0.3).any():
        quad = _writing_in_frame(quad, writing, w, h)
    img = _warp_onto(sheet, _desk(h, w, rng, ext), quad) * _light(h, w, rng, ext)
    return _camera(img, rng, rng.uniform(*noise), rng.uniform(0.35, 1.1), int(rng.integers(*quality)))


def _writing_in_frame(quad: np.ndarray, writing: np.ndarray, w: int, h: int) -> np.ndarray:
    """``quad`` moved (not turned or scaled) so that the box of the ink in ``writing`` (sheet
    pixels) lands at least 2% of the frame's width inside it; no random numbers are drawn, so
    a sample whose writing was in the frame is the same as before."""
    sh, sw = writing.shape[:2]
    src = np.float32([[0, 0], [sw, 0], [sw, sh], [0, sh]])
    hm = cv2.getPerspectiveTransform(src, quad.astype(np.float32))
    x0, y0, x1, y1 = _ink_box(writing)
    pts = cv2.perspectiveTransform(np.float32([[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]]), hm)[0]
    m = 0.02 * w
    dx = max(0.0, m - pts[:, 0].min()) - max(0.0, pts[:, 0].max() - (w - m))
    dy = max(0.0, m - pts[:, 1].min()) - max(0.0, pts[:, 1].max() - (h - m))
    return quad + np.array([dx, dy])


def _sheet_for(w: int, h: int, rng: np.random.Generator, ext: bool, grain: float = 0.015):
    sw, sh = int(w * rng.uniform(1.0, 1.12)), int(h * rng.uniform(1.0, 1.15))
    return _paper(sh, sw, rng, ext, grain), sw, sh


def _ink(rng: np.random.Generator, ext: bool, names=("black", "blue", "blue", "gel")) -> tuple:
    inks = {**INKS, **(EXTRA_INKS if ext else {})}
    names = list(names) + (list(EXTRA_INKS) if ext else [])
    return inks[_pick(rng, names)]


def _lines_of_text(cover: np.ndarray, text: str, wr: Writer, rng: np.random.Generator, height: float,
                   box: tuple[float, float, float, float], fit: float | None = None) -> None:
    """Free writing on plain paper: the lines of ``text`` one under the other inside ``box`` (x0, y0, x1, y1).

    ``fit``: the writing must lie at least this share of the cover's size inside its edges (a
    small sheet: nobody writes off the edge of a sticky note); writing that runs out is written
    again, smaller (``cover`` is cleared before each attempt; after 8 the last one stays).
    Without it, writing may run out of the box (the big sheets have room)."""
    lines = text.split("\n")
    x0, y0, x1, y1 = box
    longest = max(len(s) for s in lines)
    height = min(height, (x1 - x0) * 0.8 / (longest * 0.85), (y1 - y0) / (len(lines) * 1.6))
    for _attempt in range(8):
        pitch = height * rng.uniform(1.5, 2.2)
        top = rng.uniform(y0, max(y0, y1 - pitch * len(lines))) + height
        left = x0 + rng.uniform(0, max(0.0, (x1 - x0) - longest * height * 0.85))
        cover[:] = 0
        for i, s in enumerate(lines):
            x = left + rng.normal(0, 0.3) * height
            write_number(cover, s, x, top + i * pitch + rng.normal(0, 0.05) * height, height, wr, rng)
        if fit is None:
            return
        ch, cw = cover.shape
        ix0, iy0, ix1, iy1 = _ink_box(cover)
        if min(ix0, iy0 * cw / ch, cw - ix1, (ch - iy1) * cw / ch) >= fit * cw:
            return
        height *= 0.85


def _ruled(rng, ext, blank=False):
    w, h = _frame(rng, ext)
    paper, sw, sh = _sheet_for(w, h, rng, ext)
    ppm = w / rng.uniform(110, 190)
    spacing = ppm * (rng.uniform(6.0, 10.0) if ext else rng.uniform(7.1, 8.7))
    colours = [(0.95, 0.78, 0.60), (0.92, 0.82, 0.70), (0.90, 0.70, 0.50)]
    if ext:
        colours += [(0.70, 0.70, 0.70), (0.85, 0.62, 0.72), (0.70, 0.84, 0.64)]
    print_ = np.zeros((sh, sw), np.float32)
    first = rng.uniform(0.03, 0.15) * sh
    rows = np.arange(first, sh, spacing)
    lw = rng.uniform(1.0, 2.4)
    for y in rows:
        dy = rng.normal(0, 0.3)
        _line(print_, (0, y), (sw, y + dy), lw)
    _apply(paper, print_, _pick(rng, colours), rng.uniform(0.55, 1.0))
    margin = None
    if rng.random() < 0.85:
        margin = rng.uniform(0.06, 0.22) * sw
        m = np.zeros_like(print_)
        _line(m, (margin, 0), (margin, sh), rng.uniform(1.3, 2.6))
        if rng.random() < 0.2:
            _line(m, (margin + 4, 0), (margin + 4, sh), 1.2)
        _apply(paper, m, _pick(rng, [(0.45, 0.45, 0.92), (0.55, 0.50, 0.95)] + ([(0.70, 0.60, 0.95)] if ext else [])),
               rng.uniform(0.6, 1.0))
    text = "" if blank else random_text(rng)
    if text:
        cover = np.zeros_like(print_)
        wr = _writer(rng, ppm, ext)
        usable = [i for i, y in enumerate(rows) if 0.16 * sh < y < 0.88 * sh]
        step = int(rng.choice([1, 1, 2]))
        lines = text.split("\n")
        while len(usable) < len(lines) * step and step > 1:
            step -= 1
        start = usable[int(rng.integers(0, max(1, len(usable) - len(lines) * step + 1)))]
        x_left = (margin or 0.04 * sw) + rng.uniform(0.02, 0.2) * sw
        through = rng.random() < 0.35  # this writer's digits float: the line runs through their middles
        for k, s in enumerate(lines):
            y = rows[min(start + k * step, len(rows) - 1)]
            hgt = spacing * (rng.uniform(0.5, 1.1) if ext else rng.uniform(0.55, 0.95))
            hgt = min(hgt, (0.92 * sw - x_left) / (len(s) * 0.85))
            base = y + (rng.uniform(0.25, 0.55) if through else rng.uniform(-0.03, 0.15)) * hgt
            write_number(cover, s, x_left + rng.uniform(0, 0.05) * sw, base, hgt, wr, rng)
        _apply(paper, cover, _ink(rng, ext), rng.uniform(0.8, 1.0))
    return _photo(paper, w, h, rng, ext, writing=cover if text else None), text, f"spacing{spacing:.0f}px"


def _squared(rng, ext, blank=False):
    w, h = _frame(rng, ext)
    paper, sw, sh = _sheet_for(w, h, rng, ext)
    ppm = w / rng.uniform(110, 180)
    sq = ppm * (rng.choice([4.0, 5.0, 5.0, 5.5]) if ext else 5.0)
    print_ = np.zeros((sh, sw), np.float32)
    ox, oy = rng.uniform(0, sq), rng.uniform(0, sq)
    lw = rng.uniform(0.9, 1.6)
    for x in np.arange(ox, sw, sq):
        _line(print_, (x, 0), (x, sh), lw)
    for y in np.arange(oy, sh, sq):
        _line(print_, (0, y), (sw, y), lw)
    colours = [(0.80, 0.75, 0.70), (0.92, 0.80, 0.65), (0.75, 0.75, 0.75)] + ([(0.70, 0.85, 0.70)] if ext else [])
    _apply(paper, print_, _pick(rng, colours), rng.uniform(0.35, 0.8))
    text = "" if blank else random_text(rng)
    if text:
        cover = np.zeros_like(print_)
        wr = _writer(rng, ppm, ext)
        lines = text.split("\n")
        hgt = sq * rng.uniform(1.0, 1.9)
        pitch = max(1, int(np.ceil(0.72 * hgt / sq)))
        hgt = min(hgt, sq * pitch * 0.95 * (0.8 * sw) / (max(map(len, lines)) * pitch * sq) if lines else hgt)
        row_step = int(np.ceil(hgt / sq)) + int(rng.integers(1, 3))
        row0 = int(rng.integers(int(0.2 * sh / sq) + 2, max(int(0.2 * sh / sq) + 3, int(0.85 * sh / sq) - row_step * len(lines))))
        for k, s in enumerate(lines):
            col0 = int(rng.integers(1, max(2, int((0.9 * sw - len(s) * pitch * sq) / sq))))
            bottom = oy + (row0 + k * row_step) * sq
            cells = [(ox + (col0 + i * pitch + pitch / 2) * sq + rng.normal(0, 0.08) * sq,
                      bottom + rng.normal(0, 0.1) * sq) for i in range(len(s))]
            write_number(cover, s, 0, 0, hgt, wr, rng, cells=cells)
        _apply(paper, cover, _ink(rng, ext), rng.uniform(0.8, 1.0))
    return _photo(paper, w, h, rng, ext, writing=cover if text else None), text, f"square{sq:.0f}px"


LABELS = ("Code", "Amount", "Phone", "Ref", "Total", "Date", "Zip", "Account", "Qty", "Room")


def _form(rng, ext, blank=False):
    w, h = _frame(rng, ext)
    paper, sw, sh = _sheet_for(w, h, rng, ext)
    ppm = w / rng.uniform(110, 170)
    colours = [(0.20, 0.20, 0.20), (0.40, 0.40, 0.40), (0.45, 0.50, 0.95), (0.95, 0.75, 0.55)]
    if ext:
        colours += [(0.60, 0.85, 0.60), (0.35, 0.65, 0.95)]
    colour = _pick(rng, colours)
    text = "" if blank else random_text(rng)
    lines = text.split("\n") if text else ["0" * int(rng.integers(3, 9)) for _ in range(int(rng.integers(1, 4)))]
    bw, bh = ppm * rng.uniform(6.0, 9.0), ppm * rng.uniform(8.0, 11.0)
    comb = rng.random() < 0.4
    gap = 0.0 if comb or rng.random() < 0.6 else ppm * rng.uniform(1.0, 2.5)
    lw = rng.uniform(1.0, 3.0)
    longest = max(map(len, lines)) + 2
    if longest * (bw + gap) > 0.75 * sw:
        scale = 0.75 * sw / (longest * (bw + gap))
        bw, bh, gap = bw * scale, bh * scale, gap * scale
    pitch_y = bh * rng.uniform(1.8, 2.6)
    y = rng.uniform(0.2, max(0.21, 0.85 - pitch_y * len(lines) / sh)) * sh
    has_labels = rng.random() < 0.25
    x_fields = rng.uniform(0.25 if has_labels else 0.1, 0.3) * sw
    print_, cover = np.zeros((sh, sw), np.float32), np.zeros((sh, sw), np.float32)
    wr = _writer(rng, ppm, ext)
    for s in lines:
        n = len(s) + int(rng.integers(0, 3))
        xs = [x_fields + i * (bw + gap) for i in range(n)]
        if comb:  # a baseline with tick separators
            _line(print_, (xs[0], y + bh), (xs[-1] + bw, y + bh), lw)
            tick = bh * rng.uniform(0.25, 0.5)
            for x in xs + [xs[-1] + bw]:
                _line(print_, (x, y + bh - tick), (x, y + bh), lw)
        else:
            for x in xs:
                cv2.rectangle(print_, (int(x * 16), int(y * 16)), (int((x + bw) * 16), int((y + bh) * 16)), 1.0,
                              max(1, int(round(lw))), cv2.LINE_AA, 4)
        if has_labels:
            label = np.zeros((sh, sw), np.uint8)
            cv2.putText(label, _pick(rng, list(LABELS)), (int(0.05 * sw), int(y + bh * 0.75)),
                        cv2.FONT_HERSHEY_SIMPLEX, bh / 60, 255, max(1, int(bh / 30)), cv2.LINE_AA)
            np.maximum(print_, label.astype(np.float32) / 255, out=print_)
        if text:
            hi = 1.12 if ext else 1.05
            hgt = bh * rng.uniform(0.55, hi)
            cells = [(x + bw / 2 + rng.normal(0, 0.12) * bw, y + bh - rng.uniform(-0.08, 0.2) * bh) for x in xs]
            write_number(cover, s, 0, 0, hgt, wr, rng, cells=cells[:len(s)])
        y += pitch_y
    _apply(paper, print_, colour, rng.uniform(0.7, 1.0))
    _apply(paper, cover, _ink(rng, ext), rng.uniform(0.8, 1.0))
    return _photo(paper, w, h, rng, ext, writing=cover), text, "comb" if comb else "boxes"


def _plain(rng, ext, blank, *, pen="round", ink=None, alpha=(0.8, 1.0), height=None, width=None, grain=0.015,
           graphite=False, quality=(70, 93), noise=(2.0, 6.0), frame=None):
    """Digits written freely on plain paper, photographed: the base of the pen and ink conditions."""
    w, h = frame or _frame(rng, ext)
    paper, sw, sh = _sheet_for(w, h, rng, ext, grain)
    ppm = w / rng.uniform(110, 190)
    text = "" if blank else random_text(rng)
    if text:
        cover = np.zeros((sh, sw), np.float32)
        wr = _writer(rng, ppm, ext, pen)
        if width is not None:
            wr.width = width
        hgt = height if height is not None else ppm * rng.uniform(6, 12)
        if pen == "hollow":
            wr.width, wr.outline = hgt * rng.uniform(0.16, 0.26), max(1.5, ppm * rng.uniform(0.3, 0.55))
        elif pen == "nib":
            wr.width = rng.uniform(5, 12) if ext else rng.uniform(6, 10)
            wr.nib_angle = rng.uniform(15, 60) if ext else rng.uniform(25, 50)
        elif pen == "broken":
            wr.width = max(3.0, wr.width)
        _lines_of_text(cover, text, wr, rng, hgt, (0.12 * sw, 0.15 * sh, 0.88 * sw, 0.85 * sh))
        if graphite:  # graphite sits on the paper's tooth: broken, grainy strokes
            tooth = cv2.GaussianBlur(rng.standard_normal((sh, sw), dtype=np.float32), (0, 0), 0.8)
            cover *= np.clip(0.8 + 0.6 * tooth / tooth.std(), 0.15, 1.0)
        _apply(paper, cover, ink or _ink(rng, ext), rng.uniform(*alpha))
    return _photo(paper, w, h, rng, ext, quality, noise, writing=cover if text else None), text


def _pencil(rng, ext, blank=False):
    img, text = _plain(rng, ext, blank, ink=INKS["graphite"], alpha=(0.55, 1.0) if ext else (0.6, 1.0),
                       width=None, height=rng.uniform(40, 110), grain=rng.uniform(0.02, 0.045 if ext else 0.035), graphite=True,
                       quality=(60, 88), noise=(2.5, 7))
    return img, text, "pencil"


def _ink_colour(rng, ext, blank=False):
    kind = _pick(rng, ["blue", "red", "faded"])
    names = {"blue": ["blue", "gel"], "red": ["red"], "faded": ["blue", "black", "red"]}[kind]
    if ext and kind != "faded":
        names = names + ["light_blue" if kind == "blue" else "violet"]
    inks = {**INKS, **EXTRA_INKS}
    alpha = (0.3, 0.6) if kind == "faded" else (0.75, 1.0)
    img, text = _plain(rng, ext, blank, ink=inks[_pick(rng, names)], alpha=alpha)
    return img, text, kind


def _hollow(rng, ext, blank=False):
    ppm_h = rng.uniform(50, 120)
    img, text = _plain(rng, ext, blank, pen="hollow", height=ppm_h)
    return img, text, "hollow"


def _calligraphic(rng, ext, blank=False):
    img, text = _plain(rng, ext, blank, pen="nib", height=rng.uniform(45, 100),
                       ink=_pick(rng, [INKS["black"], (0.10, 0.08, 0.08), (0.50, 0.18, 0.06)]))
    return img, text, "nib"


def _broken(rng, ext, blank=False):
    img, text = _plain(rng, ext, blank, pen="broken", height=rng.uniform(35, 90))
    return img, text, "broken"


def _small_thick(rng, ext, blank=False):
    hgt = rng.uniform(12, 30) if ext else rng.uniform(14, 26)
    img, text = _plain(rng, ext, blank, height=hgt, width=max(3.5, hgt * rng.uniform(0.2, 0.3)),
                       ink=_pick(rng, [INKS["black"], INKS["gel"], (0.1, 0.1, 0.1)]))
    return img, text, f"h{hgt:.0f}px"


def _keyboard(frame: np.ndarray, rng: np.random.Generator) -> None:
    """A dark keyboard along the bottom of the frame, partly in view."""
    h, w = frame.shape[:2]
    top = int(h * rng.uniform(0.78, 0.9))
    x0 = int(rng.uniform(-0.2, 0.2) * w)
    frame[top:, max(0, x0):] = np.asarray((0.13, 0.13, 0.14), np.float32)
    key = rng.uniform(22, 30)
    for r in range(4):
        for c in range(int(w / key) + 2):
            kx, ky = x0 + c * key + (r * key / 3) + 3, top + 3 + r * key
            cv2.rectangle(frame, (int(kx), int(ky)), (int(kx + key - 5), int(ky + key - 5)), (0.22, 0.22, 0.23), -1)


def _webcam_sheet(rng, ext, blank=False):
    w, h = WEBCAM_SIZE
    kind = _pick(rng, ["paper", "paper", "card", "sticky"] + (["sticky_pink"] if ext else []))
    colour = {"paper": (0.92, 0.93, 0.93), "card": (0.90, 0.94, 0.95), "sticky": (0.45, 0.88, 0.96),
              "sticky_pink": (0.75, 0.62, 0.97)}[kind]
    fw = rng.uniform(0.3, 0.45) if kind.startswith("sticky") else rng.uniform(0.38, 0.7)
    sw = fw * w
    sh = sw * (rng.uniform(0.95, 1.05) if kind.startswith("sticky") else rng.uniform(0.6, 0.8))
    sh = min(sh, 0.85 * h)
    up = 2.0  # drawn at twice the size it appears, then shrunk by the warp
    S_w, S_h = int(sw * up), int(sh * up)
    paper = _paper(S_h, S_w, rng, ext) * (np.asarray(colour, np.float32) / 0.93)[None, None, :]
    text = "" if blank else random_text(rng, max_lines=2, max_digits=6)
    if text:
        cover = np.zeros((S_h, S_w), np.float32)
        marker = rng.random() < 0.5
        wr = Writer(pick_source(rng), "round", 1.0, slant=rng.uniform(-0.2, 0.3), wobble=0.1)
        hgt = S_h * rng.uniform(0.22, 0.4)
        wr.width = max(2.5, hgt * (rng.uniform(0.1, 0.16) if marker else rng.uniform(0.04, 0.07)))
        _lines_of_text(cover, text, wr, rng, hgt, (0.08 * S_w, 0.08 * S_h, 0.92 * S_w, 0.92 * S_h), fit=0.05)
        _apply(paper, cover, _ink(rng, ext, ("black", "black", "blue")), rng.uniform(0.8, 1.0))
    held = rng.random() < (0.5 if ext else 0.4)  # held up in front of a wall, or lying on the desk
    back = _background(h, w, rng, "wall") if held else _desk(h, w, rng, ext)
    if not held and rng.random() < 0.5:
        _keyboard(back, rng)
    cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.35, 0.6) * h
    quad = _quad(w, h, cx - sw / 2, cy - sh / 2, sw, sh, rng.uniform(0.02, 0.07 if ext else 0.05), rng,
                 rng.normal(0, 6))
    if text:  # the sheet may run out of the frame, its writing not: the user sees it in the preview
        src = np.float32([[0, 0], [S_w, 0], [S_w, S_h], [0, S_h]])
        ix0, iy0, ix1, iy1 = _ink_box(cover)
        seen = cv2.perspectiveTransform(np.float32([[[ix0, iy0], [ix1, iy0], [ix1, iy1], [ix0, iy1]]]),
                                        cv2.getPerspectiveTransform(src, quad.astype(np.float32)))[0]
        margin = 0.04 * w
        lo, hi = seen.min(axis=0), seen.max(axis=0)
        quad = quad + np.clip(0, margin - lo, np.array([w, h]) - margin - hi)
    skin = tuple(float(v) for v in _pick(rng, [(0.45, 0.58, 0.78), (0.30, 0.42, 0.60), (0.55, 0.66, 0.85)]))
    if held:  # arms coming up from the bottom of the frame to the sheet's lower corners
        for corner in (3, 2):
            c = quad[corner]
            arm = np.array([c + (-25, -10), c + (25, -10), (c[0] + 45, h + 10), (c[0] - 45, h + 10)], np.int32)
            cv2.fillConvexPoly(back, arm, tuple(v * 0.85 for v in skin), cv2.LINE_AA)
    img = _warp_onto(paper, back, quad)
    if held:  # thumbs over the sheet's sides
        for top, bottom in ((0, 3), (1, 2)):
            p = quad[bottom] * 0.7 + quad[top] * 0.3
            cv2.ellipse(img, (int(p[0]), int(p[1])), (int(rng.uniform(8, 13)), int(rng.uniform(18, 28))),
                        rng.uniform(-25, 25), 0, 360, skin, -1, cv2.LINE_AA)
    img *= _light(h, w, rng, ext, dim=True)
    img = cv2.resize(cv2.resize(img, (w // 2 * 2 * 3 // 4, h * 3 // 4)), (w, h))  # a soft webcam sensor
    return _camera(img, rng, rng.uniform(5, 12), rng.uniform(0.5, 1.3), int(rng.integers(40, 76))), text, kind


_MAKERS = {"ruled": _ruled, "squared": _squared, "form": _form, "pencil": _pencil, "ink_colour": _ink_colour,
           "webcam_sheet": _webcam_sheet, "hollow": _hollow, "calligraphic": _calligraphic, "broken": _broken,
           "small_thick": _small_thick}
_BLANK_MAKERS = {"plain": _ink_colour, "ruled": _ruled, "squared": _squared, "form": _form, "pencil": _pencil,
                 "webcam": _webcam_sheet}


def make_sample(condition: str, rng: np.random.Generator, extended: bool = False) -> PaperSample:
    """One sample of ``condition``; ``extended`` widens the parameter ranges (held-out draws)."""
    if condition == "blank":
        return make_blank(_pick(rng, list(BLANK_KINDS)), rng, extended)
    if condition not in _MAKERS:
        raise ValueError(f"unknown condition {condition!r}; choose from {', '.join(CONDITIONS)}")
    img, text, note = _MAKERS[condition](rng, extended)
    return PaperSample(img, text, condition, note)


def make_blank(kind: str, rng: np.random.Generator, extended: bool = False) -> PaperSample:
    """A page of ``kind`` (:data:`BLANK_KINDS`) with nothing written on it."""
    img, _, note = _BLANK_MAKERS[kind](rng, extended, blank=True)
    return PaperSample(img, "", "blank", f"{kind}-{note}")


def make_set(condition: str, count: int, seed: int = TUNING_SEED) -> list[PaperSample]:
    """``count`` samples of ``condition``, the same for the same seed (each condition has its own stream)."""
    index = CONDITIONS.index(condition) if condition in CONDITIONS else -1
    if index < 0:
        raise ValueError(f"unknown condition {condition!r}; choose from {', '.join(CONDITIONS)}")
    rng = np.random.default_rng([seed, index])
    return [make_sample(condition, rng, extended=seed != TUNING_SEED) for _ in range(count)]


def seed_name(seed: int) -> str:
    """"tuning", "held-out" or "other" for a seed."""
    return {TUNING_SEED: "tuning", HELD_OUT_SEED: "held-out"}.get(seed, "other")


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions of one character)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def char_errors(read: str, expected: str) -> int:
    """Edits between the read and the expected digits, line breaks removed."""
    return edit_distance(read.replace("\n", ""), expected.replace("\n", ""))


def cer(read: str, expected: str) -> float:
    """Character error rate of one reading: edits / expected digits (line breaks removed);
    for an expected "" it is the number of digits read (every one is an error)."""
    n = len(expected.replace("\n", ""))
    return char_errors(read, expected) / max(n, 1)
