"""Seeded generator of non-MNIST handwritten digit images for measuring real-world accuracy.

Styles: ``"drawn"`` (mouse strokes on a white canvas), ``"hands"`` (Hershey fonts and a
pen-like stroke model) and ``"photo"`` (a digit photographed on paper by a phone).
Pure numpy + OpenCV; everything random comes from the ``np.random.Generator`` passed in.

Longer than ~300 lines: the three styles share the digit shapes, the pen model and the
paper, and each is a few short functions; split apart, each part would import all the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

STYLES = ("drawn", "hands", "photo")


@dataclass
class Sample:
    """A synthetic image with its ground truth."""

    image: np.ndarray  # uint8, (H, W) grayscale or (H, W, 3) BGR, dark ink on light background
    text: str  # the digits shown; lines separated by "\n"
    boxes: list[tuple[int, int, int, int]]  # (x, y, w, h) of each digit's ink, reading order
    style: str


# ---------------------------------------------------------------- stroke geometry (unit box, y down)


def _bez(*ctrl, n: int = 40) -> np.ndarray:
    """Bezier curve of any degree through control points."""
    c = np.asarray(ctrl, np.float64)
    t = np.linspace(0.0, 1.0, n)[:, None]
    k = len(c) - 1
    coef = [np.prod(range(k - i + 1, k + 1)) / np.prod(range(1, i + 1)) for i in range(k + 1)]
    return sum(coef[i] * t**i * (1 - t) ** (k - i) * c[i] for i in range(k + 1))


def _arc(cx, cy, rx, ry, a0, a1, n: int = 60) -> np.ndarray:
    """Elliptic arc from angle a0 to a1 (degrees; increasing = clockwise on screen)."""
    a = np.radians(np.linspace(a0, a1, n))
    return np.stack([cx + rx * np.cos(a), cy + ry * np.sin(a)], 1)


def _pl(*pts) -> np.ndarray:
    return np.asarray(pts, np.float64)


def _cat(*parts) -> np.ndarray:
    return np.concatenate([np.atleast_2d(p) for p in parts])


def _figure8() -> np.ndarray:
    t = np.linspace(0.35, 2 * np.pi + 0.45, 160)
    y = (1 - np.cos(t)) / 2
    amp = np.where(y < 0.5, 0.34, 0.44)
    y = np.where(y < 0.5, y * 0.92, 0.46 + (y - 0.5) * 1.08)
    return np.stack([0.5 + amp * np.sin(2 * t), y], 1)


# Each variant: list of strokes (polylines in a unit box, x right, y down).
_VARIANTS: dict[int, dict[str, callable]] = {
    0: {
        "round": lambda: [_arc(0.5, 0.5, 0.46, 0.5, -80, -445)],
        "narrow": lambda: [_arc(0.5, 0.5, 0.3, 0.5, -85, -440)],
        "overshoot": lambda: [_arc(0.5, 0.52, 0.42, 0.48, -45, -460)],
    },
    1: {
        "bar": lambda: [_pl((0.52, 0), (0.48, 1))],
        "flag": lambda: [_pl((0.15, 0.28), (0.58, 0), (0.55, 1))],
        "flag_base": lambda: [_pl((0.15, 0.28), (0.55, 0), (0.55, 1)), _pl((0.15, 1), (0.95, 1))],
    },
    2: {
        "plain": lambda: [_cat(_bez((0.08, 0.3), (0.1, -0.06), (0.92, -0.1), (0.88, 0.32)),
                               _bez((0.88, 0.32), (0.75, 0.6), (0.05, 0.98)), _pl((0.95, 0.98)))],
        "loop": lambda: [_cat(_bez((0.08, 0.3), (0.1, -0.06), (0.92, -0.1), (0.88, 0.32)),
                              _bez((0.88, 0.32), (0.7, 0.62), (0.3, 0.86)), _arc(0.17, 0.87, 0.13, 0.11, 0, 320),
                              _pl((0.98, 0.97)))],
    },
    3: {
        "round": lambda: [_cat(_arc(0.48, 0.26, 0.38, 0.26, -160, 100), _arc(0.48, 0.74, 0.44, 0.26, -100, 155))],
        "flat_top": lambda: [_cat(_pl((0.1, 0.02), (0.88, 0.02), (0.38, 0.4)), _arc(0.46, 0.69, 0.45, 0.31, -100, 155))],
    },
    4: {
        "open": lambda: [_pl((0.18, 0), (0.08, 0.62), (0.98, 0.62)), _pl((0.72, 0.08), (0.72, 1))],
        "closed": lambda: [_pl((0.72, 1), (0.72, 0), (0.04, 0.66), (0.98, 0.66))],
        "closed_two": lambda: [_pl((0.64, 0), (0.04, 0.66), (0.98, 0.66)), _pl((0.7, 0.02), (0.7, 1))],
    },
    5: {
        "two_stroke": lambda: [_pl((0.2, 0.03), (0.9, 0)),
                               _cat(_pl((0.22, 0.03), (0.16, 0.45)), _arc(0.47, 0.68, 0.42, 0.3, -140, 150))],
        "two_stroke_gap": lambda: [_pl((0.55, -0.04), (1.0, -0.06)),
                                   _cat(_pl((0.2, 0.1), (0.16, 0.45)), _arc(0.47, 0.68, 0.42, 0.3, -140, 150))],
        "one_stroke": lambda: [_cat(_pl((0.9, 0.02), (0.22, 0.02), (0.16, 0.45)), _arc(0.47, 0.68, 0.42, 0.3, -140, 150))],
    },
    6: {
        "curved": lambda: [_cat(_bez((0.82, 0.04), (0.35, -0.05), (0.05, 0.35), (0.1, 0.72)),
                                _arc(0.5, 0.72, 0.4, 0.27, 180, -175))],
        "straight": lambda: [_cat(_pl((0.78, 0), (0.12, 0.68)), _arc(0.5, 0.72, 0.38, 0.27, 170, -185))],
        "small_loop": lambda: [_cat(_bez((0.85, 0.02), (0.3, 0.0), (0.05, 0.5), (0.2, 0.88)),
                                    _arc(0.5, 0.78, 0.32, 0.21, 150, -200))],
    },
    7: {
        "plain": lambda: [_pl((0.05, 0.04), (0.95, 0.04), (0.4, 1))],
        "crossed": lambda: [_pl((0.05, 0.04), (0.95, 0.04), (0.4, 1)), _pl((0.35, 0.52), (0.92, 0.5))],
        "curved": lambda: [_cat(_pl((0.05, 0.05), (0.95, 0.03)), _bez((0.95, 0.03), (0.6, 0.4), (0.45, 1)))],
        "hooked": lambda: [_pl((0.05, 0.18), (0.1, 0.03), (0.95, 0.04), (0.4, 1))],
    },
    8: {
        "figure": lambda: [_figure8()],
        "two_loops": lambda: [_arc(0.5, 0.24, 0.32, 0.24, -90, 275), _arc(0.5, 0.74, 0.42, 0.26, -90, -455)],
        "s_back": lambda: [_cat(_arc(0.5, 0.25, 0.36, 0.25, -20, -270), _arc(0.5, 0.74, 0.44, 0.26, -90, 180),
                                _pl((0.84, 0.16)))],
    },
    9: {
        "straight": lambda: [_cat(_arc(0.45, 0.3, 0.4, 0.3, 0, -360), _pl((0.85, 0.3), (0.82, 1)))],
        "curved": lambda: [_cat(_arc(0.45, 0.3, 0.4, 0.3, 0, -360),
                                _bez((0.85, 0.3), (0.88, 0.85), (0.6, 1.05), (0.18, 0.9)))],
        "start_top": lambda: [_cat(_arc(0.47, 0.28, 0.4, 0.28, -30, -380), _pl((0.82, 1)))],
    },
}
VARIANTS: dict[int, tuple[str, ...]] = {d: tuple(v) for d, v in _VARIANTS.items()}

def _densify(p: np.ndarray, step: float = 0.012) -> np.ndarray:
    seg = np.hypot(*np.diff(p, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if s[-1] <= 0:
        return p
    u = np.linspace(0, s[-1], max(2, int(s[-1] / step) + 1))
    return np.stack([np.interp(u, s, p[:, 0]), np.interp(u, s, p[:, 1])], 1)


# ---------------------------------------------------------------- one digit -> tight float ink mask


def _writer(style: str, rng: np.random.Generator) -> dict:
    """Per-writer parameters, shared by all digits of one sample."""
    base = style if style != "photo" else ("drawn" if rng.random() < 0.5 else "hands")
    w = {"base": base, "slant": rng.uniform(-0.12, 0.35), "aspect": rng.uniform(0.52, 0.75)}
    if base == "drawn":
        w.update(pen=rng.uniform(0.07, 0.15), jit=rng.uniform(0.01, 0.03), vary=False)
    else:
        w.update(pen=rng.uniform(0.03, 0.075), jit=rng.uniform(0.015, 0.03), vary=True,
                 font=("sans", "italic", "uni")[rng.integers(3)] if rng.random() < 0.35 else None,
                 weight=rng.uniform(150, 430), fid=int(rng.integers(5)), italic=bool(rng.random() < 0.3))
    return w


def _tight(m: np.ndarray, thr: float = 0.04) -> np.ndarray:
    m = np.where(m > thr, m, 0).astype(np.float32)
    ys, xs = np.nonzero(m)
    return m[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]


def _to_height(m: np.ndarray, height: float) -> np.ndarray:
    f = height / m.shape[0]
    if round(height) == m.shape[0]:
        return m
    size = (max(1, round(m.shape[1] * f)), max(1, round(m.shape[0] * f)))
    return _tight(cv2.resize(m, size, interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR))


def _stroke_mask(digit: int, w: dict, rng: np.random.Generator, height: float, variant: str | None) -> np.ndarray:
    names = VARIANTS[digit]
    strokes = _VARIANTS[digit][variant if variant is not None else names[rng.integers(len(names))]]()
    jit, ph, fr = w["jit"], rng.uniform(0, 2 * np.pi, 4), rng.uniform(2, 5, 4)
    slant = w["slant"] + rng.normal(0, 0.04)
    out = []
    for s in strokes:
        knots = rng.normal(0, jit, (4, 2))  # smooth control-point jitter along the stroke
        u = np.linspace(0, 3, len(s))
        s = s + np.stack([np.interp(u, range(4), knots[:, k]) for k in (0, 1)], 1)
        s = _densify(s + rng.normal(0, jit * 0.7, 2))  # per-stroke offset, then resample
        x, y = s[:, 0], s[:, 1]  # smooth wobble field (keeps joins joined)
        x = x + 1.5 * jit * np.sin(fr[0] * y + ph[0]) + jit * np.sin(fr[1] * x + ph[1])
        y = y + 1.5 * jit * np.sin(fr[2] * x + ph[2]) + jit * np.sin(fr[3] * y + ph[3])
        out.append(np.stack([(x * w["aspect"] * rng.uniform(0.95, 1.05) + slant * (1 - y)), y], 1))
    pen = w.get("pen_px") or max(1.2, w["pen"] * height * rng.uniform(0.9, 1.1))
    ss = 3 if w["vary"] else 1
    allp = np.concatenate(out)
    scale = max(height - pen, 2.0) / max(np.ptp(allp[:, 1]), 1e-6)
    lo, pad = allp.min(0), pen + 3
    size = np.ceil((allp.max(0) - lo) * scale + 2 * pad).astype(int)
    m = np.zeros((size[1] * ss, size[0] * ss), np.uint8)
    for s in out:
        p = np.round(((s - lo) * scale + pad) * ss * 8).astype(np.int32)
        if not w["vary"]:
            cv2.polylines(m, [p], False, 255, max(1, round(pen)), cv2.LINE_AA, shift=3)
            continue
        u = np.linspace(0, 1, len(p))
        prof = (1 + 0.3 * np.sin(2 * np.pi * rng.uniform(1, 3) * u + rng.uniform(0, 6))) * np.minimum(
            1, 0.45 + np.minimum(u, 1 - u) * 8)
        for i in range(len(p) - 1):
            cv2.line(m, tuple(p[i]), tuple(p[i + 1]), 255, max(1, round(pen * ss * prof[i])), cv2.LINE_AA, shift=3)
    m = m.astype(np.float32) / 255
    if ss > 1:
        m = cv2.resize(m, (size[0], size[1]), interpolation=cv2.INTER_AREA)
    return _tight(m)


def _put_glyph(ch: str, w: dict, rng: np.random.Generator) -> np.ndarray:
    """Render one character ~100 px tall with cv2's built-in fonts (FontFace in cv2 >= 5, Hershey before)."""
    m = np.zeros((200, 200), np.uint8)
    if hasattr(cv2, "FontFace"):  # cv2 5: Hershey ids map to built-in sans/italic; weight gives pen width
        face = "uni" if ch == "0" and w["font"] != "uni" else w["font"]  # avoid the slashed zero
        cv2.putText(m, ch, (50, 150), 255, cv2.FontFace(face), 100, int(w["weight"] + rng.integers(-40, 41)))
    else:
        font = (cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, cv2.FONT_HERSHEY_SCRIPT_COMPLEX, cv2.FONT_HERSHEY_SIMPLEX,
                cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX)[w["fid"]] | (cv2.FONT_ITALIC * w["italic"])
        cv2.putText(m, ch, (50, 150), font, 3.0, 255, max(1, int(w["weight"] / 80)), cv2.LINE_AA)
    return m.astype(np.float32) / 255


def _font_mask(digit: int, w: dict, rng: np.random.Generator, height: float) -> np.ndarray:
    m = _tight(_put_glyph(str(digit), w, rng))
    h0, s = m.shape[0], w["slant"] * 0.7 + rng.normal(0, 0.04)  # affine shear warp: top moves right by s*h
    m = cv2.copyMakeBorder(m, 8, 8, 8, 8, cv2.BORDER_CONSTANT, value=0)
    a = np.float32([[1, -s, s * h0 + (abs(s) * h0 if s < 0 else 0)], [0, 1, 0]])
    m = cv2.warpAffine(m, a, (m.shape[1] + int(abs(s) * h0) + 2, m.shape[0]), flags=cv2.INTER_LINEAR)
    yy, xx = np.mgrid[0: m.shape[0], 0: m.shape[1]].astype(np.float32)  # smooth elastic wobble
    ph, amp = rng.uniform(0, 2 * np.pi, 4), 0.025 * h0
    mx = xx + amp * np.sin(yy / h0 * rng.uniform(3, 6) + ph[0]) * rng.uniform(0.5, 1)
    my = yy + amp * np.sin(xx / h0 * rng.uniform(3, 6) + ph[1]) * rng.uniform(0.5, 1)
    return _to_height(_tight(cv2.remap(m, mx.astype(np.float32), my.astype(np.float32), cv2.INTER_LINEAR)), height)


def _digit_mask(digit: int, w: dict, rng: np.random.Generator, height: float, variant: str | None = None) -> np.ndarray:
    if not 0 <= int(digit) <= 9:
        raise ValueError(f"not a digit: {digit!r}")
    if w["base"] == "hands" and w.get("font") is not None and variant is None:
        return _font_mask(int(digit), w, rng, height)
    return _to_height(_stroke_mask(int(digit), w, rng, height, variant), height)


# ---------------------------------------------------------------- composition and styles


def _ink_on_paper(ink: np.ndarray, style: str, rng: np.random.Generator) -> np.ndarray:
    """Turn a (H, W) float ink mask into the final uint8 image of the style."""
    if style == "drawn":
        return np.round(255 * (1 - ink)).astype(np.uint8)
    if style == "hands":
        paper = rng.uniform(238, 255)
        if rng.random() < 0.5:  # dark blue ballpoint -> BGR
            col = np.array([rng.uniform(100, 150), rng.uniform(30, 60), rng.uniform(10, 40)])
            pap = np.array([paper - rng.uniform(0, 8), paper - rng.uniform(0, 3), paper])
            return np.round(pap * (1 - ink[..., None]) + col * ink[..., None]).astype(np.uint8)
        return np.round(paper * (1 - ink) + rng.uniform(0, 40) * ink).astype(np.uint8)
    h, wd = ink.shape
    yy, xx = np.mgrid[-1:1:h * 1j, -1:1:wd * 1j]
    a = rng.uniform(0, 2 * np.pi)
    light = 1 + rng.uniform(0.06, 0.18) * (np.cos(a) * xx + np.sin(a) * yy)  # gradient
    cx, cy = rng.uniform(-0.4, 0.4, 2)
    light *= 1 - rng.uniform(0.08, 0.3) * ((xx - cx) ** 2 + (yy - cy) ** 2) / 2  # vignette
    b = rng.uniform(0, np.pi)
    d = np.cos(b) * xx + np.sin(b) * yy - rng.uniform(-0.8, 0.8)
    light *= 1 - rng.uniform(0.12, 0.35) * np.exp(-((d / rng.uniform(0.15, 0.5)) ** 2))  # soft shadow band
    base = rng.uniform(185, 232)
    paper = np.array([base - rng.uniform(0, 14), base + rng.uniform(0, 6), base + rng.uniform(2, 14)])
    tex = cv2.resize(rng.normal(0, 2.5, (h // 6 + 2, wd // 6 + 2)), (wd, h), interpolation=cv2.INTER_CUBIC)
    inkc = rng.uniform(25, 70) + (np.array([30, 5, -10]) if rng.random() < 0.35 else rng.uniform(-5, 5, 3))
    img = (paper + tex[..., None]) * (1 - ink[..., None]) + inkc * ink[..., None]
    img = cv2.GaussianBlur(img * light[..., None], (0, 0), rng.uniform(0.6, 1.5))
    img = img + rng.normal(0, rng.uniform(1.5, 5), img.shape) + rng.normal(0, 1.5, (h, wd, 1))
    ok, buf = cv2.imencode(".jpg", np.clip(img, 0, 255).astype(np.uint8),
                           [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(40, 86))])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def _photo_warp(shape: tuple[int, int], content: tuple[int, int, int, int], rng: np.random.Generator) -> np.ndarray:
    """Rotation (+-8 deg) + mild perspective, fitted so the content box stays inside the image."""
    h, w = shape
    x, y, cw, ch = content
    c = np.float32([[x, y], [x + cw, y], [x + cw, y + ch], [x, y + ch]])
    r = cv2.getRotationMatrix2D((x + cw / 2, y + ch / 2), rng.uniform(-8, 8), 1.0)
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = src + rng.uniform(-0.04, 0.04, (4, 2)).astype(np.float32) * np.float32([w, h])
    m = np.vstack([r, [0, 0, 1]]) @ cv2.getPerspectiveTransform(src, dst)
    q = cv2.perspectiveTransform(c[None], m)[0]
    lo, hi = q.min(0), q.max(0)
    f = min(1.0, (w - 6) / (hi[0] - lo[0]), (h - 6) / (hi[1] - lo[1]))
    t = np.clip(lo * f, 3, None) - lo * f  # shift inside (left/top)
    t -= np.clip(hi * f + t - np.float32([w - 3, h - 3]), 0, None)
    return np.array([[f, 0, t[0]], [0, f, t[1]], [0, 0, 1]]) @ m


def _compose(masks: list[np.ndarray], pos: list[tuple[int, int]], shape: tuple[int, int], style: str,
             rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    h, w = shape
    layers, boxes = [], []
    for m, (x, y) in zip(masks, pos):
        layer = np.zeros((h, w), np.float32)
        layer[y: y + m.shape[0], x: x + m.shape[1]] = m
        layers.append(layer)
        boxes.append((x, y, m.shape[1], m.shape[0]))
    if style == "photo":
        xs = [b[0] for b in boxes] + [b[0] + b[2] for b in boxes]
        ys = [b[1] for b in boxes] + [b[1] + b[3] for b in boxes]
        hom = _photo_warp(shape, (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)), rng)
        layers = [cv2.warpPerspective(l, hom, (w, h), flags=cv2.INTER_LINEAR) for l in layers]
        boxes = []
        for l in layers:
            ys_, xs_ = np.nonzero(l > 0.03)
            x0, y0 = max(0, xs_.min() - 2), max(0, ys_.min() - 2)
            x1, y1 = min(w, xs_.max() + 3), min(h, ys_.max() + 3)
            boxes.append((int(x0), int(y0), int(x1 - x0), int(y1 - y0)))
    ink = np.max(layers, axis=0) if layers else np.zeros((h, w), np.float32)
    return _ink_on_paper(np.clip(ink, 0, 1), style, rng), boxes


def _check_style(style: str) -> None:
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; expected one of {STYLES}")


def _single(digit: int, style: str, rng: np.random.Generator, canvas: tuple[int, int], frac: tuple[float, float],
            centred: bool, variant: str | None = None, pen_px: float | None = None) -> Sample:
    _check_style(style)
    h, w = canvas
    writer = _writer(style, rng)
    if pen_px is not None:
        writer.update(base="drawn", pen_px=float(pen_px), vary=False, font=None)
    m = _digit_mask(digit, writer, rng, rng.uniform(*frac) * min(h, w), variant)
    margin = max(3, int(0.06 * min(h, w)))
    f = min(1.0, (h - 2 * margin) / m.shape[0], (w - 2 * margin) / m.shape[1])
    if f < 1:
        m = _to_height(m, m.shape[0] * f)
    if centred:
        x = (w - m.shape[1]) // 2 + int(rng.integers(-margin // 2, margin // 2 + 1))
        y = (h - m.shape[0]) // 2 + int(rng.integers(-margin // 2, margin // 2 + 1))
    else:
        x = int(rng.integers(margin, w - m.shape[1] - margin + 1))
        y = int(rng.integers(margin, h - m.shape[0] - margin + 1))
    img, boxes = _compose([m], [(x, y)], (h, w), style, rng)
    return Sample(img, str(digit), boxes, style)


# ---------------------------------------------------------------- public API


def render_digit(digit: int, style: str, rng: np.random.Generator, size: int = 200,
                 variant: str | None = None) -> np.ndarray:
    """One digit, dark on light, on a roughly size x size canvas (with some margin); uint8.

    ``variant`` picks a named stroke variant from ``VARIANTS[digit]`` (stroke model only)."""
    return _single(digit, style, rng, (size, size), (0.6, 0.8), True, variant).image


def make_digit_sample(digit: int, style: str, rng: np.random.Generator,
                      canvas: tuple[int, int] = (280, 280), pen_px: float | None = None,
                      size: tuple[float, float] = (0.22, 0.85)) -> Sample:
    """One digit on a canvas of (height, width), placed off-centre, its height a random
    fraction ``size`` of the canvas. ``pen_px`` draws it with the stroke model and a fixed pen
    width in pixels, as on a drawing canvas (a small digit then has bold strokes, a big one thin)."""
    return _single(digit, style, rng, canvas, size, False, pen_px=pen_px)


def make_number_sample(text: str, style: str, rng: np.random.Generator,
                       canvas: tuple[int, int] | None = None) -> Sample:
    """Several digits written left to right (and lines for "\\n"), spaced so that digits do not touch,
    each with its box; canvas sized to fit when None."""
    _check_style(style)
    lines = text.split("\n")
    if not any(c.isdigit() for c in text) or any(not (c.isdigit() or c == " ") for c in "".join(lines)):
        raise ValueError(f"text must hold digits, spaces and newlines: {text!r}")
    wr, hd = _writer(style, rng), rng.uniform(40, 90)
    extra = 0.15 if style == "photo" else 0.0
    masks, pos, y = [], [], 0.0
    for line in lines:
        x, tallest, row = 0.0, 0.0, []
        for c in line:
            if c == " ":
                x += hd * rng.uniform(0.6, 1.0)
                continue
            m = _digit_mask(int(c), wr, rng, hd * rng.uniform(0.92, 1.08))
            if row:
                x += hd * (rng.uniform(0.35, 0.7) + extra)
            row.append((m, x, rng.uniform(-0.05, 0.05) * hd))
            x += m.shape[1]
            tallest = max(tallest, m.shape[0])
        for m, mx, dy in row:  # bottom-align on a wobbly baseline
            masks.append(m)
            pos.append((mx, y + tallest - m.shape[0] + dy))
        y += (tallest or hd) + hd * rng.uniform(0.3, 0.5)
    py = min(p[1] for p in pos)
    pos = [(px, py_ - py) for px, py_ in pos]
    cw = max(px + m.shape[1] for m, (px, _) in zip(masks, pos))
    ch = max(py_ + m.shape[0] for m, (_, py_) in zip(masks, pos))
    margin = hd * rng.uniform(0.3, 0.6) * (1.6 if style == "photo" else 1)
    if canvas is None:
        canvas = (int(np.ceil(ch + 2 * margin)), int(np.ceil(cw + 2 * margin)))
    h, w = canvas
    margin = min(margin, 0.08 * min(h, w))
    f = min(1.0, (w - 2 * margin - 2) / cw, (h - 2 * margin - 2) / ch)
    if f < 1:
        masks = [_to_height(m, m.shape[0] * f) for m in masks]
        pos = [(px * f, py_ * f) for px, py_ in pos]
        cw, ch = cw * f, ch * f
    ox = rng.uniform(margin, max(margin, w - cw - margin - 1))
    oy = rng.uniform(margin, max(margin, h - ch - margin - 1))
    ipos = [(min(int(px + ox), w - m.shape[1]), min(int(py_ + oy), h - m.shape[0])) for m, (px, py_) in zip(masks, pos)]
    img, boxes = _compose(masks, ipos, (h, w), style, rng)
    return Sample(img, text, boxes, style)


def make_set(style: str, count: int, seed: int = 0) -> list[Sample]:
    """`count` single-digit samples with labels cycling 0..9 (balanced), deterministic for a seed."""
    _check_style(style)
    rng = np.random.default_rng(seed)
    return [make_digit_sample(i % 10, style, rng) for i in range(count)]
