"""Live preview: the newest camera frame, scaled to fit, with digit boxes and a region of interest.

A frame is scaled to the view once when it arrives (OpenCV, outside the GIL) and painted 1:1, in the
32-bit format Qt blits without converting: scaling and converting a 640x480 BGR frame in
``QPainter.drawImage`` at every paint took about 4 ms, most of a preview frame's time.
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from digitdesk.gui.overrides import never_raises
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
        self._frame = QImage()  # the frame as painted: scaled to fit the view
        self._array: np.ndarray | None = None  # the frame as it came, to scale again on resize
        self._size = (0, 0)  # its width and height: overlays and the region are in these pixels
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

    def set_frame(self, frame: np.ndarray) -> None:
        """Show a uint8 frame: BGR ``(H, W, 3)``, BGRA ``(H, W, 4)`` or grayscale ``(H, W)``."""
        self._array = frame
        self._size = (frame.shape[1], frame.shape[0])
        self._frame = self._scaled(frame)
        self.update()

    def _scaled(self, frame: np.ndarray) -> QImage:
        """``frame`` at the size it is painted (device pixels), as a QImage in Qt's RGB32."""
        rect, dpr = self._frame_rect(), self.devicePixelRatioF()
        w, h = max(1, round(rect.width() * dpr)), max(1, round(rect.height() * dpr))
        if (w, h) != (frame.shape[1], frame.shape[0]):
            shrink = w < frame.shape[1]
            frame = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        code = {2: cv2.COLOR_GRAY2BGRA, 3: cv2.COLOR_BGR2BGRA}.get(frame.ndim if frame.ndim == 2 else frame.shape[2])
        bgra = np.ascontiguousarray(cv2.cvtColor(frame, code) if code is not None else frame)
        image = QImage(bgra.data, w, h, bgra.strides[0], QImage.Format.Format_RGB32).copy()
        image.setDevicePixelRatio(dpr)
        return image

    @never_raises
    def resizeEvent(self, event) -> None:
        """Scale the frame on screen again for the new size (a frozen or stopped one stays sharp)."""
        super().resizeEvent(event)
        if self._array is not None and not self._frame.isNull():
            self._frame = self._scaled(self._array)

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
            self._frame, self._array, self._size = QImage(), None, (0, 0)
        self.update()

    def set_roi(self, roi: tuple[float, float, float, float] | None) -> None:
        self._roi = roi
        self.update()

    def roi(self) -> tuple[float, float, float, float] | None:
        return self._roi

    def _frame_rect(self) -> QRectF:
        """Where the frame is drawn: fitted and centred."""
        fw, fh = self._size
        if not fw or not fh:
            return QRectF(self.rect())
        s = min(self.width() / fw, self.height() / fh)
        return QRectF((self.width() - fw * s) / 2, (self.height() - fh * s) / 2, fw * s, fh * s)

    @never_raises
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
            p.drawImage(target, self._frame)  # 1:1 unless the view changed size since the frame came
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            s = target.width() / self._size[0]
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

    @never_raises
    def mousePressEvent(self, event: QMouseEvent) -> None:
        """Start drawing a new region of interest."""
        if self._roi is not None and event.button() == Qt.MouseButton.LeftButton and not self._frame.isNull():
            self._drag_from = self._to_fraction(event.position())

    @never_raises
    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        """Resize the region being drawn."""
        if self._drag_from is not None:
            a, b = self._drag_from, self._to_fraction(event.position())
            self._roi = (min(a.x(), b.x()), min(a.y(), b.y()), abs(a.x() - b.x()), abs(a.y() - b.y()))
            self.update()

    @never_raises
    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        """Keep the region if it is big enough."""
        if self._drag_from is not None:
            self._drag_from = None
            if self._roi and (self._roi[2] < 0.05 or self._roi[3] < 0.05):
                self._roi = DEFAULT_ROI
            self.update()
            self.roiChanged.emit(self._roi)
