"""Theme colours and fonts that follow the current palette (light or dark).

Every widget takes its colours from here, so that nothing imports another widget module just
for a colour (``cards`` and ``corrections`` used to import each other for that).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QWidget


@dataclass(frozen=True)
class Colors:
    """Colours that work on the current palette (light or dark)."""

    accent: QColor  # confident results, bars
    amber: QColor  # uncertain results
    amber_bg: QColor  # background behind uncertain rows / cards
    error: QColor  # error text
    error_bg: QColor  # error banner background
    muted: QColor  # secondary text
    track: QColor  # empty part of a bar


def is_dark(palette: QPalette) -> bool:
    """True if the palette is a dark theme."""
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def colors(palette: QPalette) -> Colors:
    """Theme colours for ``palette``."""
    text = palette.color(QPalette.ColorRole.WindowText)
    muted = QColor(text)
    muted.setAlphaF(0.65)
    if is_dark(palette):
        return Colors(QColor("#5aa9ff"), QColor("#ffb938"), QColor(255, 185, 56, 45), QColor("#ff7b72"),
                      QColor(255, 123, 114, 40), muted, QColor(255, 255, 255, 28))
    return Colors(QColor("#1a66c9"), QColor("#a15c00"), QColor(245, 166, 35, 45), QColor("#b3261e"),
                  QColor(179, 38, 30, 28), muted, QColor(0, 0, 0, 22))


def css(color: QColor) -> str:
    """A style-sheet colour with its alpha, e.g. ``rgba(26, 102, 201, 255)``."""
    return f"rgba({color.red()}, {color.green()}, {color.blue()}, {color.alpha()})"


def big_font(widget: QWidget, points: float, bold: bool = True) -> QFont:
    """The widget's font at ``points`` points, bold unless told otherwise."""
    f = QFont(widget.font())
    f.setPointSizeF(points)
    f.setBold(bold)
    return f
