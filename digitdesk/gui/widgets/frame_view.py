"""Live preview: the newest camera frame, scaled to fit, with digit boxes and a region of interest."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from digitdesk.gui.widgets.image_view import Overlay
from digitdesk.gui.widgets.theme import colors

DEFAULT_ROI = (0.2, 0.3, 0.6, 0.4)  # x, y, w, h as fractions of the frame


class FrameView(QWidget):
    """Paints a QImage frame with overlays; a drag draws the region of interest when enabled."""

    roiChanged = Signal(tuple)  # the new region (x, y, w, h) as fractions of the frame

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("webcamPreview")
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 240)
        self._frame = QImage()
        self._overlays: list[Overlay] = []
        self._outline: list[tuple[float, float]] | None = None  # the sheet read, in frame pixels
        self._roi: tuple[float, float, float, float] | None = None
        self._drag_from: QPointF | None = None
        self._message = "Camera off"
        self._tag_font = QFont(self.font())
        self._tag_font.setBold(True)
        self._tag_font.setPointSizeF(12)

    def sizeHint(self) -> QSize:
        return QSize(640, 480)

    def set_frame(self, frame: QImage) -> None:
        self._frame = frame
        self.update()

    def frame(self) -> QImage:
        return self._frame

    def set_overlays(self, overlays: list[Overlay]) -> None:
        self._overlays = overlays
        self.update()

    def set_outline(self, points: "list[tuple[float, float]] | None") -> None:
        """The outline of the sheet being read (frame pixels), drawn under the boxes; None: none."""
        self._outline = points
        self.update()

    def set_message(self, text: str) -> None:
        """Text shown instead of a frame (e.g. "Camera off")."""
        self._message = text
        if text:
            self._frame = QImage()
        self.update()

    def set_roi(self, roi: tuple[float, float, float, float] | None) -> None:
        self._roi = roi
        self.update()

    def roi(self) -> tuple[float, float, float, float] | None:
        return self._roi

    def _frame_rect(self) -> QRectF:
        """Where the frame is drawn: fitted and centred."""
        if self._frame.isNull():
            return QRectF(self.rect())
        fw, fh = self._frame.width(), self._frame.height()
        s = min(self.width() / fw, self.height() / fh)
        return QRectF((self.width() - fw * s) / 2, (self.height() - fh * s) / 2, fw * s, fh * s)

    def paintEvent(self, _event: QPaintEvent) -> None:
        """Frame, region of interest, then a box and tag per digit."""
        c = colors(self.palette())
        with QPainter(self) as p:
            p.fillRect(self.rect(), QColor("#15171a"))
            if self._frame.isNull():
                p.setPen(QColor("#c8ccd2"))
                p.drawText(self.rect().adjusted(20, 20, -20, -20), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                           self._message)
                return
            target = self._frame_rect()
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            p.drawImage(target, self._frame)
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            s = target.width() / self._frame.width()
            if self._roi:
                x, y, w, h = self._roi
                r = QRectF(target.x() + x * target.width(), target.y() + y * target.height(),
                           w * target.width(), h * target.height())
                p.setPen(QPen(QColor(255, 255, 255, 220), 2, Qt.PenStyle.DashLine))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(r)
            if self._outline:
                p.setPen(QPen(QColor(80, 200, 255, 230), 2, Qt.PenStyle.DashLine))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawPolygon(QPolygonF([QPointF(target.x() + x * s, target.y() + y * s) for x, y in self._outline]))
            p.setFont(self._tag_font)
            fm = p.fontMetrics()
            for o in self._overlays:
                color = c.amber if o.uncertain else QColor("#2fd27a")
                bx, by, bw, bh = o.box
                r = QRectF(target.x() + bx * s, target.y() + by * s, bw * s, bh * s)
                p.setPen(QPen(color, 2.5))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(r)
                tw, th = fm.horizontalAdvance(o.label) + 10, fm.height() + 2
                tag = QRectF(r.x() - 1.25, max(target.y(), r.y() - th), tw, th)
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(color)
                p.drawRect(tag)
                p.setPen(QColor("#000000"))
                p.drawText(tag, Qt.AlignmentFlag.AlignCenter, o.label)

    def _to_fraction(self, pos: QPointF) -> QPointF:
        t = self._frame_rect()
        return QPointF(min(1.0, max(0.0, (pos.x() - t.x()) / t.width())),
                       min(1.0, max(0.0, (pos.y() - t.y()) / t.height())))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """Start drawing a new region of interest."""
        if self._roi is not None and event.button() == Qt.MouseButton.LeftButton and not self._frame.isNull():
            self._drag_from = self._to_fraction(event.position())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        """Resize the region being drawn."""
        if self._drag_from is not None:
            a, b = self._drag_from, self._to_fraction(event.position())
            self._roi = (min(a.x(), b.x()), min(a.y(), b.y()), abs(a.x() - b.x()), abs(a.y() - b.y()))
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        """Keep the region if it is big enough."""
        if self._drag_from is not None:
            self._drag_from = None
            if self._roi and (self._roi[2] < 0.05 or self._roi[3] < 0.05):
                self._roi = DEFAULT_ROI
            self.update()
            self.roiChanged.emit(self._roi)
