"""The Ensemble dialog: name an ensemble of two or more saved models, then build it, test it and
each member on the test split, and add it to my models, off the GUI thread with progress and
Cancel. The work is :func:`digitdesk.core.ensemble.ensemble_into_store`."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QFormLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QProgressBar, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from digitdesk.core.ensemble import MIN_MEMBERS, EnsembleResult, ensemble_into_store
from digitdesk.core.errors import Cancelled
from digitdesk.gui.widgets.cards import MessageBanner
from digitdesk.gui.workers.recognition import describe_error
from digitdesk.gui.workers.threads import TaskRunner

if TYPE_CHECKING:
    from digitdesk.core.modelstore import ModelStore

PENDING = "—"


def default_ensemble_name(names: list[str]) -> str:
    """``ensemble of a + b`` for two members, ``ensemble of 3 models`` for more."""
    return f"ensemble of {names[0]} + {names[1]}" if len(names) == MIN_MEMBERS else f"ensemble of {len(names)} models"


def _build(store, paths, name, load_test, should_stop, on_progress) -> EnsembleResult | None:
    """On the worker thread: the ensemble added to ``store``, or None once stopped on request."""
    try:
        return ensemble_into_store(store, paths, name, load_test, should_stop, on_progress)
    except Cancelled:
        return None


class EnsembleDialog(QDialog):
    """Build one ensemble of ``members`` (display name, ``.keras`` path) into ``store``."""

    built = Signal(object)  # the ModelInfo of the ensemble just added to the store
    activateRequested = Signal(str)  # the id of the ensemble, to make it the active model
    _progress = Signal(int, int, str)  # steps done, steps in all, what (emitted on the worker thread)

    def __init__(self, store: "ModelStore", members: list[tuple[str, str | os.PathLike]],
                 parent: QWidget | None = None, load_test=None):
        super().__init__(parent)
        self.setObjectName("ensembleDialog")
        self.setWindowTitle("Ensemble")
        self.store, self.members, self._load_test = store, [(n, Path(p)) for n, p in members], load_test
        self.result: EnsembleResult | None = None
        self.info = None  # the ModelInfo of the saved ensemble
        self._stop = threading.Event()
        self._runner = TaskRunner("ensemble", self)
        self._runner.finished.connect(self._on_done)
        self._runner.failed.connect(self._on_failed)
        self._progress.connect(self._on_progress)

        intro = QLabel(f"One model that averages the digit probabilities of these {len(members)} models. "
                       "Each of them and the ensemble are tested on the MNIST test split; the ensemble is "
                       "added to your models.")
        intro.setWordWrap(True)
        self.name_edit = QLineEdit(default_ensemble_name([n for n, _ in self.members]))
        self.name_edit.setObjectName("ensembleName")
        self.name_edit.textChanged.connect(lambda text: self.build_button.setEnabled(bool(text.strip()) and not self.busy))
        form = QFormLayout()
        form.addRow("Name:", self.name_edit)
        self.banner = MessageBanner()
        self.banner.setObjectName("ensembleError")
        self.progress = QProgressBar()
        self.progress.setObjectName("ensembleProgress")
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.status_label = QLabel("Press Build to make and test the ensemble.")
        self.status_label.setObjectName("ensembleStatus")
        self.status_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self._build_table())
        layout.addWidget(self.banner)
        layout.addWidget(self.status_label)
        layout.addWidget(self.progress)
        layout.addLayout(self._build_buttons())
        self.resize(520, self.sizeHint().height())

    def _build_table(self) -> QTableWidget:
        """One row per member and one for the ensemble: name and test accuracy (filled when tested)."""
        self.table = QTableWidget(len(self.members) + 1, 2)
        self.table.setObjectName("ensembleTable")
        self.table.setHorizontalHeaderLabels(["Model", "Test accuracy"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        bold = QFont(self.font())
        bold.setBold(True)
        for row, (name, path) in enumerate([*self.members, ("ensemble (average)", None)]):
            item = QTableWidgetItem(name)
            item.setToolTip(str(path) if path is not None else "The average of the models above")
            acc = QTableWidgetItem(PENDING)
            acc.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if path is None:
                item.setFont(bold)
                acc.setFont(bold)
            self.table.setItem(row, 0, item)
            self.table.setItem(row, 1, acc)
        rows = self.table.rowCount()
        self.table.setFixedHeight(self.table.horizontalHeader().sizeHint().height()
                                  + sum(self.table.rowHeight(r) for r in range(rows)) + 2 * self.table.frameWidth())
        return self.table

    def _build_buttons(self) -> QHBoxLayout:
        """Build, then Make active once built; Cancel stops the work, or closes."""
        self.build_button = QPushButton("Build")
        self.build_button.setObjectName("ensembleBuildButton")
        self.build_button.setDefault(True)
        self.build_button.clicked.connect(self.build)
        self.active_button = QPushButton("Make active")
        self.active_button.setObjectName("ensembleActiveButton")
        self.active_button.setToolTip("Read digits with the ensemble on the Draw, Image and Webcam tabs")
        self.active_button.clicked.connect(self._make_active)
        self.active_button.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("ensembleCancelButton")
        self.cancel_button.clicked.connect(self.cancel)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.active_button)
        row.addWidget(self.build_button)
        row.addWidget(self.cancel_button)
        return row

    @property
    def busy(self) -> bool:
        return self._runner.busy

    def accuracies(self) -> list[str]:
        """The test-accuracy cells, members first, the ensemble last."""
        return [self.table.item(r, 1).text() for r in range(self.table.rowCount())]

    @Slot()
    def build(self) -> None:
        """Build, test and save the ensemble on the worker thread."""
        name = self.name_edit.text().strip()
        if self.busy or not name:
            return
        self._stop.clear()
        self.banner.clear_message()
        self.build_button.setEnabled(False)
        self.name_edit.setEnabled(False)
        self.progress.setRange(0, 0)  # busy until the first step is reported
        self.progress.show()
        self.status_label.setText("Loading the models…")
        self.cancel_button.setText("Cancel")
        self._runner.submit(_build, self.store, [p for _, p in self.members], name, self._load_test,
                            self._should_stop, self._report_progress, tag="build")

    def _should_stop(self) -> bool:
        return self._stop.is_set() or self._runner.stopping()

    def _report_progress(self, done: int, total: int, text: str) -> None:
        """On the worker thread: progress to the dialog, until it is closed (and may be gone)."""
        if not self._stop.is_set():
            self._progress.emit(done, total, text)

    @Slot()
    def cancel(self) -> None:
        """While building: stop at the next step (nothing is added). Otherwise: close."""
        if self.busy:
            self._stop.set()
            self.cancel_button.setEnabled(False)
            self.status_label.setText("Stopping…")
        else:
            self.reject()

    def _make_active(self) -> None:
        if self.info is not None:
            self.activateRequested.emit(self.info.id)
            self.accept()

    @Slot(int, int, str)
    def _on_progress(self, done: int, total: int, text: str) -> None:
        if not self.busy or self._stop.is_set():
            return
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.status_label.setText(text[:1].upper() + text[1:] + "…")

    @Slot(object, object)
    def _on_done(self, _tag: Any, result: EnsembleResult | None) -> None:
        if result is None:
            self._idle("Stopped: nothing was added.")
            return
        self.result = result
        self.info = self.store.get(result.model_id)
        for row, rep in enumerate([*result.member_reports, result.report]):
            self.table.item(row, 1).setText(PENDING if rep is None else f"{rep.accuracy:.2%}")
        best = max((r.accuracy for r in result.member_reports if r is not None), default=None)
        gain = (f" ({(result.report.accuracy - best) * 100:+.2f} points over the best member)"
                if best is not None and result.report is not None else "")
        self.status_label.setText(f"Added “{self.info.name}” to your models, tested on {result.test_source}{gain}.")
        self.progress.hide()
        self.build_button.hide()
        self.active_button.show()
        self.active_button.setDefault(True)
        self.cancel_button.setText("Close")
        self.built.emit(self.info)

    @Slot(object, object)
    def _on_failed(self, _tag: Any, exc: Exception) -> None:
        self.banner.show_error(f"Could not make the ensemble: {describe_error(exc)}")
        self._idle("Nothing was added. Fix the models above, or close.")

    def _idle(self, text: str) -> None:
        self.progress.hide()
        self.status_label.setText(text)
        self.name_edit.setEnabled(True)
        self.build_button.setEnabled(bool(self.name_edit.text().strip()))
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Close")

    def done(self, result: int) -> None:
        """Closing stops the work at its next step, without waiting for it: a step cannot be
        stopped inside (importing TensorFlow, loading a model), and the dialog closes at once.
        Stopped at a step, the work adds nothing; its thread ends on its own."""
        self._stop.set()
        self._runner.shutdown(wait=False)
        super().done(result)


def open_ensemble_dialog(owner: QWidget, store: "ModelStore", members: list[tuple[str, str | os.PathLike]],
                         built, activate) -> EnsembleDialog:
    """Show the Ensemble dialog (not blocking) over ``owner``, a tab that keeps it in its
    ``ensemble_dialog`` attribute: a dialog already open there is closed first, and the
    attribute is cleared when this one closes. ``built`` gets the saved ensemble's ModelInfo,
    ``activate`` its id when "make it active" is pressed."""
    if owner.ensemble_dialog is not None:
        owner.ensemble_dialog.close()
    dialog = EnsembleDialog(store, members, owner)
    dialog.built.connect(built)
    dialog.activateRequested.connect(activate)

    def forget(_result: int) -> None:
        if owner.ensemble_dialog is dialog:
            owner.ensemble_dialog = None
        dialog.deleteLater()

    dialog.finished.connect(forget)
    owner.ensemble_dialog = dialog
    dialog.open()
    return dialog
