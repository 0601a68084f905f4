"""The drawing surface: smooth anti-aliased strokes on an off-screen image, undo, eraser, tablets.

Strokes are kept as vectors (the undo history and the source of truth); the off-screen image is
their rendering, ink on a transparent image. The recognizer gets 255 minus its alpha channel
(:meth:`DrawingCanvas.ink_array`): dark ink on white, a polarity it then need not guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (QColor, QImage, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen,
                           QPointingDevice, QResizeEvent, QTabletEvent)
from PySide6.QtWidgets import QSizePolicy, QWidget

from digitdesk.core.strokes import number_strokes, number_width
from digitdesk.gui.overrides import never_raises
from digitdesk.gui.widgets.qimage import qimage_to_array
from digitdesk.gui.widgets.theme import is_dark

MAX_UNDO = 100


@dataclass
class Stroke:
    """One pen-down-to-pen-up gesture in widget coordinates."""

    points: list[QPointF]
    widths: list[float]
    eraser: bool = False

    def bounds(self) -> QRectF:
        xs = [p.x() for p in self.points]
        ys = [p.y() for p in self.points]
        m = max(self.widths) / 2 + 2
        return QRectF(min(xs) - m, min(ys) - m, max(xs) - min(xs) + 2 * m, max(ys) - min(ys) + 2 * m)


@dataclass
class _Cleared:
    """An undoable "clear": the strokes it removed."""

    strokes: list[Stroke] = field(default_factory=list)


def _mid(a: QPointF, b: QPointF) -> QPointF:
    return QPointF((a.x() + b.x()) / 2, (a.y() + b.y()) / 2)


class DrawingCanvas(QWidget):
    """A canvas to write digits on with the mouse or a pen tablet."""

    changed = Signal()  # the drawing changed (stroke, undo, clear)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("drawCanvas")
        self.setAccessibleName("Drawing canvas")
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setAttribute(Qt.WidgetAttribute.WA_StaticContents)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(360, 220)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setToolTip("Write one digit or a whole number. Right-drag (or the tablet eraser) erases.")
        self._strokes: list[Stroke] = []
        self._undo: list[Stroke | _Cleared] = []
        self._current: Stroke | None = None
        self._pen_width = 14.0
        self._eraser = False
        self._image = QImage()
        self._ink = QColor()
        self._paper = QColor()
        self._update_colors()

    # Public API --------------------------------------------------------------------------

    @property
    def pen_width(self) -> float:
        return self._pen_width

    def set_pen_width(self, width: float) -> None:
        """Width of new strokes in pixels."""
        self._pen_width = float(max(1.0, width))

    @property
    def eraser(self) -> bool:
        return self._eraser

    def set_eraser(self, on: bool) -> None:
        """Make mouse strokes erase (True) or draw (False)."""
        self._eraser = bool(on)

    def is_empty(self) -> bool:
        return not any(not s.eraser for s in self._strokes)

    def stroke_count(self) -> int:
        return len(self._strokes)

    def clear(self) -> None:
        """Remove every stroke (undoable)."""
        if not self._strokes:
            return
        self._undo.append(_Cleared(self._strokes))
        self._strokes = []
        self._trim_undo()
        self._rerender()

    def undo(self) -> None:
        """Take back the last stroke or clear."""
        if not self._undo:
            return
        action = self._undo.pop()
        if isinstance(action, _Cleared):
            self._strokes = action.strokes
        elif self._strokes and self._strokes[-1] is action:
            self._strokes.pop()
        self._rerender()

    def add_stroke(self, points: list[tuple[float, float]], width: float | None = None, eraser: bool = False) -> None:
        """Add a whole stroke programmatically (screenshots, demos); emits ``changed``."""
        self._begin(QPointF(*points[0]), width or self._pen_width, eraser)
        for x, y in points[1:]:
            self._extend(QPointF(x, y), width or self._pen_width)
        self._end()

    def ink_array(self) -> np.ndarray:
        """The drawing as a grayscale uint8 array ``(H, W)``: dark ink on white paper, full resolution."""
        if self._image.isNull():
            return np.full((max(1, self.height()), max(1, self.width())), 255, np.uint8)
        return 255 - qimage_to_array(self._image)[:, :, 3]

    # Events ------------------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(900, 340)

    @never_raises
    def paintEvent(self, event: QPaintEvent) -> None:
        """Paper, then the off-screen ink image."""
        with QPainter(self) as p:
            p.fillRect(event.rect(), self._paper)
            if not self._image.isNull():
                p.drawImage(QRectF(event.rect()), self._image, self._source_rect(event.rect()))
            if self._shows_placeholder():
                p.setPen(QColor(self._ink.red(), self._ink.green(), self._ink.blue(), 90))
                p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter,
                           "Write a digit or a whole number here.\nIt is read as soon as you lift the pen; right-drag erases.")

    @never_raises
    def resizeEvent(self, event: QResizeEvent) -> None:
        """Re-render the strokes at the new size (strokes outside stay in the history)."""
        self._rerender(emit=False)
        super().resizeEvent(event)

    @never_raises
    def changeEvent(self, event: QEvent) -> None:
        """Follow light/dark theme changes."""
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange, QEvent.Type.StyleChange):
            self._update_colors()
            self._rerender(emit=False)
        super().changeEvent(event)

    @never_raises
    def mousePressEvent(self, event: QMouseEvent) -> None:
        """Left button draws (or erases in eraser mode), right button erases."""
        if event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton) and self._current is None:
            erase = self._eraser or event.button() == Qt.MouseButton.RightButton
            self._begin(event.position(), self._width_for(erase, 1.0), erase)
            event.accept()

    @never_raises
    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        """Extend the stroke being drawn."""
        if self._current is not None:
            self._extend(event.position(), self._current.widths[-1])
            event.accept()

    @never_raises
    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        """End the stroke; the Draw tab reads the canvas on ``changed``."""
        if self._current is not None:
            self._extend(event.position(), self._current.widths[-1])
            self._end()
            event.accept()

    @never_raises
    def tabletEvent(self, event: QTabletEvent) -> None:
        """Pen tablets: pressure sets the width, the pen's eraser end erases."""
        pressure = event.pressure() if event.pressure() > 0 else 1.0
        t = event.type()
        if t == QEvent.Type.TabletPress and self._current is None:
            erase = self._eraser or event.pointerType() == QPointingDevice.PointerType.Eraser
            self._begin(event.position(), self._width_for(erase, pressure), erase)
        elif t == QEvent.Type.TabletMove and self._current is not None:
            self._extend(event.position(), self._width_for(self._current.eraser, pressure))
        elif t == QEvent.Type.TabletRelease and self._current is not None:
            self._end()
        event.accept()  # no synthesized mouse events

    # Internals ---------------------------------------------------------------------------

    def _width_for(self, erase: bool, pressure: float) -> float:
        w = self._pen_width * (2.5 if erase else 1.0)
        return w * (0.45 + 0.75 * min(1.0, pressure)) if pressure < 1.0 else w

    def _shows_placeholder(self) -> bool:
        """The hint text is drawn on a blank canvas only."""
        return not self._strokes and self._current is None

    def _begin(self, pos: QPointF, width: float, eraser: bool) -> None:
        had_placeholder = self._shows_placeholder()
        self._current = Stroke([QPointF(pos)], [width], eraser)
        self._paint_piece(self._current, 0)
        if had_placeholder:
            self.update()  # the pieces repaint only their own rectangles: wipe the hint everywhere

    def _extend(self, pos: QPointF, width: float) -> None:
        s = self._current
        if s is None or (pos - s.points[-1]).manhattanLength() < 0.75:
            return
        s.points.append(QPointF(pos))
        s.widths.append(width)
        self._paint_piece(s, len(s.points) - 1)

    def _end(self) -> None:
        s = self._current
        self._current = None
        if s is None:
            return
        self._paint_piece(s, len(s.points))  # the tail from the last midpoint to the pen-up point
        self._strokes.append(s)
        self._undo.append(s)
        self._trim_undo()
        self.changed.emit()

    def _trim_undo(self) -> None:
        del self._undo[:-MAX_UNDO]

    def _piece_path(self, s: Stroke, i: int) -> tuple[QPainterPath, float]:
        """Piece ``i`` of a stroke: quadratic curves through the midpoints of its samples."""
        pts, path = s.points, QPainterPath()
        n = len(pts)
        if i == 0 or n == 1:
            path.moveTo(pts[0])
            path.lineTo(pts[0])
        elif i == 1:
            path.moveTo(pts[0])
            path.lineTo(_mid(pts[0], pts[1]))
        elif i < n:
            path.moveTo(_mid(pts[i - 2], pts[i - 1]))
            path.quadTo(pts[i - 1], _mid(pts[i - 1], pts[i]))
        else:  # i == n: the tail
            path.moveTo(_mid(pts[-2], pts[-1]) if n > 1 else pts[-1])
            path.lineTo(pts[-1])
        return path, s.widths[min(i, n - 1)]

    def _stroke_pen(self, width: float) -> QPen:
        pen = QPen(self._ink, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
        return pen

    def _paint_piece(self, s: Stroke, i: int, painter: QPainter | None = None) -> None:
        if self._image.isNull():
            self._make_image()
        path, width = self._piece_path(s, i)
        own = painter is None
        p = painter or QPainter(self._image)
        try:
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear if s.eraser
                                 else QPainter.CompositionMode.CompositionMode_SourceOver)
            p.strokePath(path, self._stroke_pen(width))
        finally:
            if own:
                p.end()
        if own:
            m = width / 2 + 2
            self.update(path.boundingRect().adjusted(-m, -m, m, m).toAlignedRect())

    def _make_image(self) -> None:
        dpr = self.devicePixelRatioF()
        size = QSize(max(1, round(self.width() * dpr)), max(1, round(self.height() * dpr)))
        self._image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
        self._image.setDevicePixelRatio(dpr)
        self._image.fill(Qt.GlobalColor.transparent)

    def _rerender(self, emit: bool = True) -> None:
        self._make_image()
        with QPainter(self._image) as p:
            for s in self._strokes + ([self._current] if self._current else []):
                for i in range(len(s.points) + (1 if s is not self._current else 0)):
                    self._paint_piece(s, i, p)
        self.update()
        if emit:
            self.changed.emit()

    def _source_rect(self, target) -> QRectF:
        dpr = self._image.devicePixelRatio()
        return QRectF(target.x() * dpr, target.y() * dpr, target.width() * dpr, target.height() * dpr)

    def _update_colors(self) -> None:
        dark = is_dark(self.palette())
        self._paper = QColor("#1e2126") if dark else QColor("#fdfdfb")
        self._ink = QColor("#f2f2f2") if dark else QColor("#16181d")


def draw_number(canvas: DrawingCanvas, text: str, height: float | None = None) -> None:
    """Write ``text`` centred on the canvas with programmatic strokes."""
    h = height or min(canvas.height() * 0.55, canvas.width() / (1.1 * max(1, len(text))))
    x = (canvas.width() - number_width(text, h)) / 2
    y = (canvas.height() - h) / 2
    for stroke in number_strokes(text, x, y, h):
        canvas.add_stroke(stroke, width=max(canvas.pen_width, h / 11))
