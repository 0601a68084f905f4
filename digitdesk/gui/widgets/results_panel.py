"""After training: test accuracy next to the active model's, the confusion matrix, per-class
precision/recall/F1 and ROC AUC, the misclassified test digits, and Save / Use / Export."""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton,
                               QSizePolicy, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from digitdesk.gui.widgets.gallery import DigitGallery
from digitdesk.gui.widgets.plots import ConfusionPlot
from digitdesk.core.trainrequest import Evaluation
from digitdesk.gui.widgets.theme import colors, css

COLUMNS = ["Precision", "Recall", "F1", "AUC", "Images"]


def comparison_html(ev: Evaluation, fg_error: str, fg_ok: str) -> str:
    """The headline: test accuracy, the active model on the same images, the difference."""
    acc = ev.report.accuracy
    text = (f"<span style='font-size:15pt; font-weight:bold'>Test accuracy {acc:.2%}</span>"
            f"&nbsp;&nbsp;on {html.escape(ev.test_source)}")
    if ev.report.macro_auc is not None:
        text += f"&nbsp;&nbsp;(macro ROC AUC {ev.report.macro_auc:.4f})"
    if ev.active_accuracy is not None:
        diff = (acc - ev.active_accuracy) * 100
        color = fg_ok if diff >= 0 else fg_error
        verdict = "better" if diff > 0 else "worse" if diff < 0 else "the same"
        text += (f"<br>Active model <b>{html.escape(ev.active_name or '')}</b>: {ev.active_accuracy:.2%} on the same "
                 f"images — this one is <span style='color:{color}; font-weight:bold'>"
                 f"{abs(diff):.2f} points {verdict}</span>" if diff else
                 f"<br>Active model <b>{html.escape(ev.active_name or '')}</b>: {ev.active_accuracy:.2%}, the same")
    if ev.samples_after is not None:
        before = f"{ev.samples_before:.0%} → " if ev.samples_before is not None else ""
        text += f"<br>Your handwriting samples: {before}{ev.samples_after:.0%} (seen during fine-tuning)"
    return text


class ResultsPanel(QWidget):
    """Shows one :class:`Evaluation` and offers to keep the model."""

    saveRequested = Signal(str)  # save to my models under this name
    useRequested = Signal(str)  # save under this name (if not yet saved) and make it the active model
    exportRequested = Signal()  # export as a .keras file

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("resultsPanel")
        self.evaluation: Evaluation | None = None
        self.summary_label = QLabel("Results appear here when a training run ends.")
        self.summary_label.setObjectName("resultsSummary")
        self.summary_label.setTextFormat(Qt.TextFormat.RichText)  # no word wrap: the scroll area
        # would then size the panel by its preferred height and scroll needlessly
        actions = self._build_actions()
        row = self._build_plots()
        self._build_gallery()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.summary_label)
        layout.addLayout(actions)
        layout.addWidget(self.saved_label)
        layout.addLayout(row, 1)
        layout.addWidget(self.gallery_label)
        layout.addWidget(self.gallery)
        self.set_busy(False)

    def _build_actions(self) -> QHBoxLayout:
        """The name of the new model and the Save, Use and Export buttons (and the saved line below)."""
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("modelNameEdit")
        self.name_edit.setPlaceholderText("Name of the new model")
        self.save_button = QPushButton("Save to my models")
        self.save_button.setObjectName("saveModelButton")
        self.save_button.setToolTip("Keep this model under the name on the left (it appears on the Models tab)")
        self.use_button = QPushButton("Use this model")
        self.use_button.setObjectName("useModelButton")
        self.use_button.setToolTip("Save it and make it the model the Draw, Image and Webcam tabs use")
        self.export_button = QPushButton("Export .keras…")
        self.export_button.setObjectName("exportModelButton")
        self.save_button.clicked.connect(lambda: self.saveRequested.emit(self.name()))
        self.use_button.clicked.connect(lambda: self.useRequested.emit(self.name()))
        self.export_button.clicked.connect(self.exportRequested)
        self.saved_label = QLabel()
        self.saved_label.setObjectName("savedLabel")
        actions = QHBoxLayout()
        actions.addWidget(QLabel("Name"))
        actions.addWidget(self.name_edit, 1)
        for b in (self.save_button, self.use_button, self.export_button):
            actions.addWidget(b)
        return actions

    def _build_plots(self) -> QHBoxLayout:
        """The confusion matrix beside the per-digit precision, recall, F1 and ROC AUC."""
        self.confusion = ConfusionPlot()
        self.confusion.setMinimumSize(280, 250)
        self.table = QTableWidget(10, len(COLUMNS))
        self.table.setObjectName("perClassTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setVerticalHeaderLabels([str(d) for d in range(10)])
        self.table.setCornerButtonEnabled(False)
        self.table.setToolTip("Per digit: precision (of the images read as it, how many are it), recall (of its "
                              "images, how many were read as it), F1 (their harmonic mean), AUC (the area under "
                              "its ROC curve against the other digits: how well its probability ranks its images "
                              "above the others), test images")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumWidth(250)
        self.table.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        row = QHBoxLayout()
        row.addWidget(self.confusion, 3)
        row.addWidget(self.table, 2)
        return row

    def _build_gallery(self) -> None:
        """The misclassified test digits, two rows of them, and their caption."""
        self.gallery = DigitGallery(42)
        self.gallery.setObjectName("misclassifiedGallery")
        rows = 2 * self.gallery.gridSize().height()  # icon mode: rows at the grid pitch
        self.gallery.setFixedHeight(rows + 2 * self.gallery.frameWidth())  # exactly two rows show
        self.gallery_label = QLabel("Misclassified test digits")
        self.gallery_label.setObjectName("galleryCaption")

    def name(self) -> str:
        return self.name_edit.text().strip() or self.name_edit.placeholderText()

    def set_busy(self, busy: bool) -> None:
        """Disable the buttons while a save runs (or while there is nothing to save)."""
        for b in (self.save_button, self.use_button, self.export_button):
            b.setEnabled(not busy and self.evaluation is not None)

    def clear(self) -> None:
        self.evaluation = None
        self.summary_label.setText("Results appear here when a training run ends.")
        self.saved_label.clear()
        self.gallery.set_digits([], [])
        self.table.clearContents()
        self.set_busy(False)

    def show_evaluation(self, ev: Evaluation, name: str) -> None:
        """Show the results of a run whose model would be saved as ``name``."""
        self.evaluation = ev
        c = colors(self.palette())
        self.summary_label.setText(comparison_html(ev, css(c.error), css(c.accent)))
        self.name_edit.setText(name)
        self.saved_label.setText("Not saved yet: save it, use it, or export it.")
        rep = ev.report
        for d in range(10):
            auc = "–" if rep.auc is None or np.isnan(rep.auc[d]) else f"{rep.auc[d]:.4f}"
            values = [f"{rep.precision[d]:.3f}", f"{rep.recall[d]:.3f}", f"{rep.f1[d]:.3f}", auc, f"{int(rep.support[d]):,}"]
            weak = rep.support[d] > 0 and rep.f1[d] < rep.accuracy - 0.02
            for col, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if weak and col < 3:
                    item.setForeground(QBrush(c.amber))
                    item.setToolTip(f"{d} is one of the weaker digits")
                self.table.setItem(d, col, item)
        QTimer.singleShot(0, lambda: self.confusion.set_matrix(rep.confusion))  # its own event-loop turn
        captions = [f"{t} → {p}" for t, p in zip(ev.wrong_true, ev.wrong_pred)]
        details = [f"Test image #{int(i)}: a {t}, read as {p} ({c_:.0%} sure)"
                   for i, t, p, c_ in zip(ev.wrong_index, ev.wrong_true, ev.wrong_pred, ev.wrong_conf)]
        self.gallery.set_digits(ev.wrong_images, captions, details)
        wrong = int(rep.count - round(rep.accuracy * rep.count))
        shown = len(captions)
        self.gallery_label.setText(
            f"Misclassified test digits: {wrong:,} of {rep.count:,}"
            + (f" (the {shown} most confident mistakes)" if shown < wrong else "")
            + " — true → predicted; click one to enlarge")
        self.set_busy(False)

    def set_saved(self, text: str) -> None:
        self.saved_label.setText(text)
