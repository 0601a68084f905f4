"""A gallery of 28x28 digits with captions (misclassified test digits, data browsing); a click
opens the digit enlarged in a small non-modal window."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QDialog, QLabel, QListView, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from digitdesk.gui.widgets.qimage import array_to_pixmap
from digitdesk.gui.widgets.theme import big_font


def digit_pixmap(image28: np.ndarray, size: int):
    """A 28x28 digit scaled to ``size`` px with visible pixels (nearest neighbour)."""
    pm = array_to_pixmap(np.ascontiguousarray(image28, np.uint8))
    return pm.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation)


class DigitZoom(QDialog):
    """One digit at 10x with its caption; stays open beside the window."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("digitZoom")
        self.setWindowTitle("Digit")
        self.image = QLabel()
        self.image.setFixedSize(280, 280)
        self.caption = QLabel()
        self.caption.setFont(big_font(self, 12, bold=False))
        self.caption.setWordWrap(True)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.addWidget(self.image, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.caption)

    def show_digit(self, image28: np.ndarray, caption: str) -> None:
        self.image.setPixmap(digit_pixmap(image28, 280))
        self.caption.setText(caption)
        self.show()
        self.raise_()


class DigitGallery(QListWidget):
    """Thumbnails with a short caption each; ``details`` is shown enlarged on click."""

    picked = Signal(int)  # the row clicked

    def __init__(self, thumb: int = 56, parent: QWidget | None = None):
        super().__init__(parent)
        self.thumb = thumb
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setIconSize(QSize(thumb, thumb))
        self.setGridSize(QSize(thumb + 22, thumb + 24))
        self.setSpacing(2)
        self.setWordWrap(False)
        self._images: list[np.ndarray] = []
        self._details: list[str] = []
        self.zoom: DigitZoom | None = None
        self.itemClicked.connect(self._on_click)

    def set_digits(self, images: np.ndarray | list, captions: list[str], details: list[str] | None = None) -> None:
        """Show ``images`` (each 28x28 uint8) with ``captions``; ``details`` for the enlarged view."""
        self.clear()
        self._images = [np.asarray(i) for i in images]
        self._details = list(details) if details is not None else list(captions)
        for image, caption, detail in zip(self._images, captions, self._details):
            item = QListWidgetItem(QIcon(digit_pixmap(image, self.thumb)), caption)
            item.setToolTip(detail)
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.addItem(item)

    @Slot(QListWidgetItem)
    def _on_click(self, item: QListWidgetItem) -> None:
        row = self.row(item)
        self.show_enlarged(row)
        self.picked.emit(row)

    def show_enlarged(self, row: int) -> None:
        """Open digit ``row`` enlarged."""
        if not 0 <= row < len(self._images):
            return
        if self.zoom is None:
            self.zoom = DigitZoom(self.window())
        self.zoom.show_digit(self._images[row], self._details[row])
