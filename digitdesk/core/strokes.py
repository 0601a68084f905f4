"""Pen strokes that write digits like a person would: for demos, screenshots, tests and benchmarks."""

from __future__ import annotations

import numpy as np

Stroke = list[tuple[float, float]]


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 24) -> np.ndarray:
    """Points on an ellipse from angle a0 to a1 (degrees, clockwise on screen, 0 = right)."""
    a = np.radians(np.linspace(a0, a1, n))
    return np.stack([cx + rx * np.cos(a), cy + ry * np.sin(a)], 1)


def _quad(a: tuple[float, float], c: tuple[float, float], b: tuple[float, float], n: int = 16) -> np.ndarray:
    """A quadratic Bezier curve from a to b pulled towards c."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    return (1 - t) ** 2 * np.asarray(a) + 2 * (1 - t) * t * np.asarray(c) + t**2 * np.asarray(b)


def _line(*pts: tuple[float, float], n: int = 10) -> np.ndarray:
    out = [np.linspace(a, b, n, endpoint=False) for a, b in zip(pts, pts[1:])]
    return np.concatenate(out + [np.asarray(pts[-1:], float)])


# Each digit: strokes in a unit box (x right 0..0.7, y down 0..1).
_DIGITS: dict[str, list[np.ndarray]] = {
    "0": [_arc(0.35, 0.5, 0.3, 0.48, -90, 275, 40)],
    "1": [_line((0.28, 0.14), (0.42, 0.0), (0.42, 1.0))],
    "2": [np.concatenate([_arc(0.35, 0.27, 0.29, 0.25, 200, 390, 20), _line((0.6, 0.4), (0.04, 1.0), (0.7, 1.0))])],
    "3": [np.concatenate([_arc(0.33, 0.25, 0.27, 0.24, 200, 450, 22), _arc(0.33, 0.74, 0.32, 0.26, -90, 160, 22)])],
    "4": [_line((0.48, 0.0), (0.04, 0.66), (0.72, 0.66)), _line((0.52, 0.3), (0.52, 1.0))],
    "5": [np.concatenate([_line((0.65, 0.0), (0.12, 0.0), (0.08, 0.46)), _arc(0.34, 0.7, 0.3, 0.29, -120, 150, 22)])],
    "6": [np.concatenate([_quad((0.6, 0.0), (0.1, 0.22), (0.07, 0.72)), _arc(0.36, 0.72, 0.29, 0.27, 180, -170, 30)])],
    "7": [_line((0.02, 0.02), (0.7, 0.02), (0.26, 1.0))],
    "8": [np.concatenate([_arc(0.35, 0.25, 0.24, 0.24, 60, -240, 24), _arc(0.35, 0.73, 0.3, 0.26, -90, 270, 30),
                          _arc(0.35, 0.25, 0.24, 0.24, 120, 60, 6)])],
    "9": [np.concatenate([_arc(0.34, 0.28, 0.3, 0.27, 0, 360, 30), _line((0.64, 0.28), (0.6, 1.0))])],
}


def digit_strokes(digit: str, x: float, y: float, height: float) -> list[Stroke]:
    """The strokes of one digit whose top-left corner is at (x, y), ``height`` pixels tall."""
    return [[(float(x + px * height), float(y + py * height)) for px, py in s] for s in _DIGITS[digit]]


def number_strokes(text: str, x: float, y: float, height: float, gap: float = 0.35) -> list[Stroke]:
    """Strokes writing ``text`` (digits) left to right from (x, y); digits ``gap * height`` apart."""
    strokes: list[Stroke] = []
    for ch in text:
        if ch == " ":
            x += 0.5 * height
            continue
        strokes += digit_strokes(ch, x, y, height)
        x += (0.72 + gap) * height
    return strokes


def number_width(text: str, height: float, gap: float = 0.35) -> float:
    """Width in pixels that :func:`number_strokes` uses."""
    return sum(0.5 * height if ch == " " else (0.72 + gap) * height for ch in text) - gap * height
