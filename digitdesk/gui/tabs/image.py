"""Image tab: open a photo or scan, see every digit found, the pipeline stages, export.

Longer than ~300 lines because a tab is one screen: its builders, its slots for the workers'
results and its saved state stay together; the parts that stand alone are in ``gui/widgets`` (the
image view, the correction menus) and the core (reading, export).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QByteArray, QEvent, QMimeData, Qt, Signal, Slot
from PySide6.QtGui import QAction, QBrush, QGuiApplication, QKeySequence, QPalette
from PySide6.QtWidgets import (QAbstractButton, QComboBox, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSplitter,
                               QToolButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from digitdesk.core.errors import ImageError
from digitdesk.core.imageio import SUPPORTED_EXTENSIONS, read_image
from digitdesk.core.modelio import describe_os_error
from digitdesk.gui.overrides import never_raises
from digitdesk.gui.widgets.corrections import ListCorrector
from digitdesk.core.export import FORMATS, export_reading
from digitdesk.gui.widgets.image_view import ImageView, Overlay
from digitdesk.gui.widgets.qimage import bgr_from_qimage
from digitdesk.gui.workers.recognition import describe_error, timed_read
from digitdesk.gui.widgets.cards import MessageBanner, digit_text
from digitdesk.gui.widgets.explain_dialog import ExplainDialog
from digitdesk.gui.widgets.theme import big_font, colors, css
from digitdesk.gui.workers.threads import TaskRunner

if TYPE_CHECKING:
    from digitdesk.gui.settings import Settings
    from digitdesk.core.recognizer import Reading, Recognizer
    from digitdesk.gui.widgets.corrections import SampleCollector

STAGES = [("Photo", None), ("Grayscale", "gray"), ("Sheet found", "surface"), ("Ink strength", "ink"),
          ("Threshold", "binary"), ("Printed lines removed", "structure"), ("Components", "components")]
OPEN_FILTER = "Images ({})".format(" ".join(f"*{e}" for e in SUPPORTED_EXTENSIONS)) + ";;All files (*)"


def image_path_from_mime(mime: QMimeData) -> str | None:
    """The first local image file in dropped or pasted data."""
    for url in mime.urls() if mime.hasUrls() else []:
        if url.isLocalFile() and Path(url.toLocalFile()).suffix.lower() in SUPPORTED_EXTENSIONS:
            return url.toLocalFile()
    return None


class ImageTab(QWidget):
    """Shows an image with its digits boxed, the number, a digit list and the pipeline stages."""

    readingShown = Signal(str)  # the text read from the current image
    loadFailed = Signal(str)  # why the image could not be opened, for a person
    fileOpened = Signal(str)  # a file was opened (for recent files)
    status = Signal(str)  # a short message for the status bar

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("imageTab")
        self._rec: Recognizer | None = None
        self._collector: SampleCollector | None = None
        self._seq = 0
        self._image: np.ndarray | None = None
        self._name = ""
        self._reading: Reading | None = None
        self._seconds = 0.0
        self.explain_dialog: ExplainDialog | None = None
        self._runner = TaskRunner("image-reader", self)
        self._runner.finished.connect(self._on_done)
        self._runner.failed.connect(self._on_failed)
        self.last_folder = str(Path.home())

        self.view = ImageView()
        self.banner = MessageBanner()
        self.banner.setObjectName("imageErrorLabel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 10)
        layout.addLayout(self._build_tools())
        layout.addWidget(self.banner)
        layout.addWidget(self._build_splitter(), 1)

    def _build_tools(self) -> QHBoxLayout:
        """The row above the view: open, paste, zoom, the stage shown and export."""
        self.open_button = self._button("openButton", "Open…", "Open an image (Ctrl+O)", self.open_dialog)
        self.paste_button = self._button("pasteButton", "Paste", "Paste an image (Ctrl+V)", self.paste)
        self.fit_button = self._button("fitButton", "Fit", "Fit the image in the view", self.view.fit)
        self.zoom_in_button = self._button("zoomInButton", "+", "Zoom in (Ctrl++ or the wheel)",
                                           lambda: self.view.zoom_by(1.25))
        self.zoom_out_button = self._button("zoomOutButton", "−", "Zoom out (Ctrl+-)", lambda: self.view.zoom_by(0.8))
        self.stage_combo = QComboBox()
        self.stage_combo.setObjectName("stageCombo")
        self.stage_combo.setToolTip("Pipeline stage: see why a digit was found or missed")
        for label, key in STAGES:
            self.stage_combo.addItem(label, key)
        self.stage_combo.currentIndexChanged.connect(self._show_stage)
        self.export_button = self._button("exportButton", "Export…", "Save the digits as JSON or CSV (Ctrl+E)",
                                          self.export_dialog)
        self.export_button.setEnabled(False)
        tools = QHBoxLayout()
        tools.setSpacing(6)
        for w in (self.open_button, self.paste_button):
            tools.addWidget(w)
        tools.addSpacing(12)
        for w in (self.zoom_out_button, self.fit_button, self.zoom_in_button):
            tools.addWidget(w)
        tools.addSpacing(12)
        tools.addWidget(QLabel("Show"))
        tools.addWidget(self.stage_combo)
        tools.addStretch(1)
        tools.addWidget(self.export_button)
        return tools

    def _build_splitter(self) -> QSplitter:
        """The image view beside the reading: the number, its detail and the list of digits."""
        self.result_label = QLabel("")
        self.result_label.setObjectName("imageResultLabel")
        self.result_label.setFont(big_font(self, 34))
        self.result_label.setMinimumHeight(self.result_label.fontMetrics().height())
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_label.setCursor(Qt.CursorShape.IBeamCursor)
        self.detail_label = QLabel("No image open.")
        self.detail_label.setObjectName("imageDetailLabel")
        self.detail_label.setWordWrap(True)
        self.digit_list = QTreeWidget()
        self.digit_list.setObjectName("digitList")
        self.digit_list.setHeaderLabels(["#", "Digit", "Confidence", "Next best", "Note"])
        self.digit_list.setRootIsDecorated(False)
        self.digit_list.setAlternatingRowColors(True)
        self.digit_list.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.digit_list.header().setStretchLastSection(True)
        self.digit_list.currentItemChanged.connect(self._select_digit)
        self._corrector = ListCorrector(self.digit_list, self.correct_digit,
                                        lambda row: self._reading.digits[row].digit if self._reading else None)
        self.digit_list.itemDoubleClicked.connect(lambda item: self.explain_digit(self.digit_list.indexOfTopLevelItem(item)))
        self.explain_button = QPushButton("Why this digit?")
        self.explain_button.setObjectName("explainButton")
        self.explain_button.setToolTip("What made the model read the selected digit as it did, and the nearest "
                                       "training digits (W, or double-click the digit)")
        self.explain_button.setEnabled(False)
        self.explain_button.clicked.connect(lambda: self.explain_digit(self._selected_row()))
        self.explain_action = QAction("Why this digit?", self, shortcut=QKeySequence("W"))
        self.explain_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.explain_action.triggered.connect(lambda: self.explain_digit(self._selected_row()))
        self.addAction(self.explain_action)
        self.correct_hint = QLabel("Wrong digit? Select it and press the right digit key, or right-click it.")
        self.correct_hint.setObjectName("correctHint")
        self.correct_hint.setWordWrap(True)
        self.correct_hint.hide()
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(8, 0, 0, 0)
        side_layout.addWidget(QLabel("Number"))
        side_layout.addWidget(self.result_label)
        side_layout.addWidget(self.detail_label)
        side_layout.addWidget(QLabel("Digits"))
        side_layout.addWidget(self.digit_list, 1)
        side_layout.addWidget(self.explain_button, 0, Qt.AlignmentFlag.AlignLeft)
        side_layout.addWidget(self.correct_hint)
        split = QSplitter()
        split.addWidget(self.view)
        split.addWidget(side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([760, 340])
        split.setChildrenCollapsible(False)
        self.splitter = split
        return split

    def _button(self, name: str, text: str, tip: str, slot) -> QAbstractButton:
        b = QPushButton(text) if text.endswith("…") or text == "Paste" else QToolButton()
        b.setObjectName(name)
        b.setText(text)
        b.setToolTip(tip)
        b.clicked.connect(slot)
        if isinstance(b, QToolButton):
            b.setMinimumWidth(34)
        return b

    # Public API --------------------------------------------------------------------------

    def set_recognizer(self, rec: "Recognizer | None") -> None:
        """Use ``rec``; an image waiting for the model is read now."""
        self._rec = rec
        if rec is not None and self._image is not None and self._reading is None:
            self._read_current()

    def open_image(self, path: str | os.PathLike) -> None:
        """Load an image file (in the background) and read it, as the Open dialog does."""
        path = str(path)
        self.last_folder = str(Path(path).parent)
        self._start(("load", path))
        self.status.emit(f"Opening {Path(path).name}…")
        self._runner.submit(read_image, path, tag=("load", self._seq, path))

    def open_array(self, image: np.ndarray, name: str = "image") -> None:
        """Show and read an image already in memory (paste, webcam frame)."""
        self._start(("array", name))
        self._set_image(np.ascontiguousarray(image), name)

    def paste(self) -> None:
        """Open the image or image file on the clipboard."""
        self.open_mime(QGuiApplication.clipboard().mimeData(), "pasted image")

    def open_mime(self, mime: QMimeData | None, name: str = "dropped image") -> bool:
        """Open an image file or image data from a drop or the clipboard; False if there is none."""
        path = image_path_from_mime(mime) if mime is not None else None
        if path:
            self.open_image(path)
            return True
        if mime is not None and mime.hasImage():
            image = mime.imageData()
            if image is not None and not image.isNull():
                self.open_array(bgr_from_qimage(image), name)
                return True
        self.banner.show_error("The clipboard or the drop holds no image. Copy an image or an image file first.")
        return False

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open an image", self.last_folder, OPEN_FILTER)
        if path:
            self.open_image(path)

    def export_dialog(self) -> None:
        if self._reading is None:
            return
        stem = Path(self._name).stem or "digits"
        path, chosen = QFileDialog.getSaveFileName(self, "Export the digits", str(Path(self.last_folder) / f"{stem}.json"),
                                                   ";;".join(FORMATS.values()))
        if path:
            if Path(path).suffix.lower() not in FORMATS:
                path += ".csv" if "csv" in chosen.lower() else ".json"
            self.export_results(path)

    def export_results(self, path: str | os.PathLike) -> Path | None:
        """Save the current reading as JSON or CSV (by the suffix); errors show in the banner."""
        if self._reading is None:
            return None
        try:
            out = export_reading(self._reading, path, source=self._name)
        except OSError as exc:
            self.banner.show_error(f"Could not save {path}: {describe_os_error(exc)}. "
                                   "Nothing was lost: choose another folder with Export…")
            return None
        self.status.emit(f"Saved {out.name}")
        return out

    def set_collector(self, collector: "SampleCollector | None") -> None:
        """Where corrected digits go (corrections are off without one)."""
        self._collector = collector
        self._corrector.enabled = collector is not None

    def correct_digit(self, row: int, label: int) -> bool:
        """Keep digit ``row`` of the current reading (its 28x28 crop) as a sample of ``label``."""
        kept = None if self._collector is None or self._reading is None else self._collector.keep(self._reading.digits, row, label)
        if kept is None:
            return False
        item = self.digit_list.topLevelItem(row)
        if item is not None:
            item.setText(4, f"saved as {label} ✓")
        self.status.emit(kept)
        return True

    def reading(self) -> "Reading | None":
        return self._reading

    def save_state(self, settings: "Settings") -> None:
        """Remember the splitter and the last folder an image came from."""
        settings.set("splitter", self.splitter.saveState())
        settings.set_last_folder(self.last_folder)

    def restore_state(self, settings: "Settings") -> None:
        splitter = settings.get("splitter", QByteArray())
        if splitter:
            self.splitter.restoreState(splitter)
        self.last_folder = settings.last_folder()

    def _selected_row(self) -> int:
        item = self.digit_list.currentItem()
        return self.digit_list.indexOfTopLevelItem(item) if item is not None else 0

    def explain_digit(self, row: int) -> ExplainDialog | None:
        """Open "Why this digit?" (not blocking) for digit ``row`` of the current reading; None
        (and a status message) when there is no such digit."""
        digits = self._reading.digits if self._reading else []
        if self._rec is None or not 0 <= row < len(digits):
            self.status.emit("Nothing to explain: open an image with digits first")
            return None
        if self.explain_dialog is not None:
            self.explain_dialog.close()
        self.explain_dialog = ExplainDialog(self._rec, digits[row], row + 1, self)
        self.explain_dialog.show()
        return self.explain_dialog

    def shutdown(self) -> None:
        """Stop the reader thread; a reading in progress stops at its next check."""
        if self.explain_dialog is not None:
            self.explain_dialog.shutdown()  # the window is closing: wait for its job
            self.explain_dialog.close()
        self._runner.shutdown()

    # Work -----------------------------------------------------------------------------------

    def _start(self, _what: Any) -> None:
        self._seq += 1
        self.banner.clear_message()

    def _set_image(self, image: np.ndarray, name: str) -> None:
        self._image, self._name, self._reading = image, name, None
        self.stage_combo.setCurrentIndex(0)
        self.view.set_image(image)
        self.view.set_overlays([])
        self.digit_list.clear()
        self.export_button.setEnabled(False)
        self.explain_button.setEnabled(False)
        self.explain_action.setEnabled(False)
        self.result_label.setText("")
        h, w = image.shape[:2]
        self.detail_label.setText(f"{name} · {w}×{h}")
        self._read_current()

    def _read_current(self) -> None:
        if self._rec is None:
            self.detail_label.setText("Waiting for the model to load…")
            return
        self.status.emit(f"Reading {self._name}…")
        self._runner.submit(timed_read, self._rec, self._image, True, self._runner.stopping,
                            tag=("read", self._seq, self._name))

    @Slot(object, object)
    def _on_done(self, tag: tuple, result: Any) -> None:
        kind, seq, name = tag
        if seq != self._seq:
            return
        if kind == "load":
            self.fileOpened.emit(name)
            self._set_image(result, Path(name).name)
        else:
            self._show_reading(*result)

    @Slot(object, object)
    def _on_failed(self, tag: tuple, exc: Exception) -> None:
        kind, seq, name = tag
        if seq != self._seq:
            return
        if kind == "load":
            message = describe_error(exc) if isinstance(exc, ImageError) else f"{name}: cannot open ({describe_error(exc)})"
            self.banner.show_error(f"Could not open the image. {message}")
            self.status.emit("Could not open the image")
            self.loadFailed.emit(message)
        else:
            self.banner.show_error(f"Could not read the digits: {describe_error(exc)}")
            self.result_label.setText("")

    @never_raises
    def changeEvent(self, event: QEvent) -> None:
        """Re-colour the results for a new light/dark palette."""
        if event.type() == QEvent.Type.PaletteChange and self._reading is not None:
            self._show_reading(self._reading, self._seconds, announce=False)
        super().changeEvent(event)

    def _show_reading(self, reading: "Reading", seconds: float, announce: bool = True) -> None:
        self._reading, self._seconds = reading, seconds
        c = colors(self.palette())
        digits = reading.digits
        uncertain = sum(d.uncertain for d in digits)
        self.result_label.setText(reading.text if digits else "")
        text_color = self.palette().color(QPalette.ColorRole.WindowText)
        self.result_label.setStyleSheet(f"color: {css(c.amber if uncertain else text_color)};")
        h, w = self._image.shape[:2]
        note = f"{len(digits)} digit{'s' if len(digits) != 1 else ''}" if digits else "No digits found"
        if uncertain:
            note += f", {uncertain} uncertain (amber)"
        self.detail_label.setText(f"{self._name} · {w}×{h} · {note} · {seconds * 1000:.0f} ms")
        self.digit_list.clear()
        for i, d in enumerate(digits):
            alt = ", ".join(f"{a} ({p:.0%})" if p >= 0.005 else f"{a} (<1%)" for a, p in d.top[1:])
            item = QTreeWidgetItem([str(i + 1), digit_text(d.digit, d.uncertain), f"{d.confidence:.1%}",
                                    alt, "uncertain" if d.uncertain else ""])
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignCenter)
            item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if d.uncertain:
                for col in range(5):
                    item.setForeground(col, QBrush(c.amber))
                    item.setBackground(col, QBrush(c.amber_bg))
            self.digit_list.addTopLevelItem(item)
        self._show_stage()
        self.correct_hint.setVisible(bool(digits) and self._collector is not None)
        self.export_button.setEnabled(True)
        self.explain_button.setEnabled(bool(digits))
        self.explain_action.setEnabled(bool(digits))
        if announce:
            shown = reading.text.replace("\n", " ")
            self.status.emit(f"Read “{shown}” from {self._name}" if digits else f"No digits found in {self._name}")
            self.readingShown.emit(reading.text)

    def _overlays(self) -> list[Overlay]:
        if self._reading is None:
            return []
        return [Overlay(d.box, digit_text(d.digit, d.uncertain), d.uncertain) for d in self._reading.digits]

    @Slot()
    def _show_stage(self) -> None:
        if self._image is None:
            return
        key = self.stage_combo.currentData()
        stages = self._reading.stages if self._reading else {}
        h, w = self._image.shape[:2]
        if key and key in stages:
            self.view.set_image(stages[key], (w, h), keep_view=True)
        else:
            self.view.set_image(self._image, keep_view=True)
        row = self.digit_list.indexOfTopLevelItem(self.digit_list.currentItem()) if self.digit_list.currentItem() else None
        self.view.set_overlays(self._overlays(), row)

    @Slot()
    def _select_digit(self) -> None:
        item = self.digit_list.currentItem()
        row = self.digit_list.indexOfTopLevelItem(item) if item else None
        self.view.set_overlays(self._overlays(), row)
        if row is not None:
            self.view.show_box(row)
