"""A zoomable, pannable image view with a box and a label on every digit found."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen, QWheelEvent
from PySide6.QtWidgets import (QGraphicsItem, QGraphicsPixmapItem, QGraphicsRectItem, QGraphicsScene,
                               QGraphicsView, QStyleOptionGraphicsItem, QWidget)

from digitdesk.gui.overrides import never_raises
from digitdesk.gui.widgets.qimage import array_to_pixmap
from digitdesk.gui.widgets.theme import colors, is_dark

MIN_ZOOM, MAX_ZOOM = 0.02, 40.0


@dataclass
class Overlay:
    """One box to draw: image-pixel box, its label and whether it is uncertain (plain data)."""

    box: tuple[int, int, int, int]
    label: str
    uncertain: bool = False


class _Tag(QGraphicsItem):
    """A label that keeps its screen size at any zoom."""

    def __init__(self, text: str, color: QColor, parent: QGraphicsItem):
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self._text, self._color = text, color
        self._font = QFont()
        self._font.setBold(True)
        self._font.setPointSizeF(11)
        fm = QFontMetricsF(self._font)
        self._rect = QRectF(0, -fm.height() - 4, fm.horizontalAdvance(text) + 10, fm.height() + 4)

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, p: QPainter, _o: QStyleOptionGraphicsItem, _w: QWidget | None = None) -> None:
        """A filled tag with the digit in white."""
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(self._color)
        p.drawRoundedRect(self._rect, 3, 3)
        p.setPen(QColor("#ffffff") if self._color.lightness() < 150 else QColor("#000000"))
        p.setFont(self._font)
        p.drawText(self._rect, Qt.AlignmentFlag.AlignCenter, self._text)


class ImageView(QGraphicsView):
    """Shows an image (or a pipeline stage) with digit boxes; wheel zooms, drag pans."""

    zoomChanged = Signal(float)  # the new zoom factor (1.0 = one image pixel per screen pixel)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("imageView")
        self.setScene(QGraphicsScene(self))
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setMinimumSize(320, 240)
        self._update_background()
        self._pixmap_item = QGraphicsPixmapItem()
        self._pixmap_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self._pixmap_item)
        self._boxes: list[QGraphicsRectItem] = []
        self._image_size = (0, 0)
        self._fit = True

    def _update_background(self) -> None:
        self.setBackgroundBrush(QColor("#26292e") if is_dark(self.palette()) else QColor("#e4e6ea"))

    @never_raises
    def changeEvent(self, event) -> None:
        """Follow light/dark theme changes."""
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._update_background()
        super().changeEvent(event)

    def has_image(self) -> bool:
        return self._image_size != (0, 0)

    def set_image(self, image: np.ndarray, image_size: tuple[int, int] | None = None, keep_view: bool = False) -> None:
        """Show ``image``; ``image_size`` (w, h) is the size the boxes refer to when the image is a
        smaller rendition of it (pipeline stages are analysed at most 1024 px)."""
        h, w = image.shape[:2]
        self._image_size = image_size or (w, h)
        self._pixmap_item.setPixmap(array_to_pixmap(image))
        self._pixmap_item.setScale(self._image_size[0] / w if w else 1.0)
        self.scene().setSceneRect(QRectF(0, 0, *self._image_size))
        if not keep_view:
            self.fit()

    def clear(self) -> None:
        self._pixmap_item.setPixmap(array_to_pixmap(np.zeros((1, 1), np.uint8)))
        self._image_size = (0, 0)
        self.set_overlays([])

    def set_overlays(self, overlays: list[Overlay], selected: int | None = None) -> None:
        """Replace the digit boxes; the ``selected`` one is drawn thicker."""
        for item in self._boxes:
            self.scene().removeItem(item)
        self._boxes = []
        c = colors(self.palette())
        ok = QColor("#19a35b")
        for i, o in enumerate(overlays):
            color = c.amber if o.uncertain else ok
            pen = QPen(color, 4 if i == selected else 2)
            pen.setCosmetic(True)
            x, y, w, h = o.box
            item = QGraphicsRectItem(QRectF(x, y, w, h))
            item.setPen(pen)
            item.setBrush(QBrush(Qt.BrushStyle.NoBrush))
            tag = _Tag(o.label, color, item)
            tag.setPos(QPointF(x, y))
            self.scene().addItem(item)
            self._boxes.append(item)

    def show_box(self, index: int) -> None:
        if 0 <= index < len(self._boxes):
            self.ensureVisible(self._boxes[index], 40, 40)

    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float) -> None:
        factor = min(MAX_ZOOM, max(MIN_ZOOM, factor))
        self._fit = False
        self.setTransform(self.transform().fromScale(factor, factor))
        self.zoomChanged.emit(factor)

    def zoom_by(self, step: float) -> None:
        self.set_zoom(self.zoom() * step)

    def fit(self) -> None:
        """Fit the whole image in the view."""
        self._fit = True
        if self.has_image():
            self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
            if self.zoom() > 4.0:  # do not blow tiny images up to a blur
                self.setTransform(self.transform().fromScale(4.0, 4.0))
            self.zoomChanged.emit(self.zoom())

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        """A hint in the empty view."""
        if self.has_image():
            return
        painter.save()
        painter.resetTransform()
        painter.setPen(colors(self.palette()).muted)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.3)
        painter.setFont(font)
        painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter,
                         "Drop a photo or a scan here\nor open one with File ▸ Open (Ctrl+O)\nor paste it (Ctrl+V)")
        painter.restore()

    @never_raises
    def wheelEvent(self, event: QWheelEvent) -> None:
        """The wheel zooms around the mouse."""
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(1.25 ** steps)
        event.accept()

    @never_raises
    def resizeEvent(self, event) -> None:
        """Keep a fitted image fitted."""
        super().resizeEvent(event)
        if self._fit:
            self.fit()
