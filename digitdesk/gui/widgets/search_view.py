"""The Train tab's Search page: a hyperparameter search's settings, Start/Stop, progress with the
time left, a live table of the trials (the best in bold) and, at the end, the best configuration
trained to the end and tested, to save to my models and use.

The search runs on a :class:`~digitdesk.gui.workers.search.SearchSession`; a timer drains its
reports into the table and the progress bar; saving runs on a TaskRunner.
"""

from __future__ import annotations

import logging
import math

from PySide6.QtCore import QTimer, Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QProgressBar, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from digitdesk.core.errors import DigitdeskError, RunError
from digitdesk.core.runs import RunStore
from digitdesk.core.trainhistory import format_duration
from digitdesk.core.tunespace import HYPERPARAMETERS, format_value
from digitdesk.gui.settings import Settings
from digitdesk.gui.widgets.cards import MessageBanner
from digitdesk.gui.widgets.search_form import SearchForm
from digitdesk.gui.widgets.theme import colors
from digitdesk.gui.workers.recognition import describe_error
from digitdesk.gui.workers.search import SearchOutcome, SearchSession
from digitdesk.gui.workers.threads import TaskRunner

log = logging.getLogger(__name__)
PROGRESS_STEPS = 1000
DRAIN_MS = 100
HEADERS = {"learning_rate": "Learning rate", "batch_size": "Batch", "dropout": "Dropout", "width": "Width ×",
           "schedule": "Schedule", "augment": "Augmentation"}
COLUMNS = ["Trial", *(HEADERS[k] for k in HYPERPARAMETERS), "Val accuracy", "Epochs", "Time", "State"]
STATE_TEXT = {"running": "running", "finished": "finished", "stopped": "stopped (runs again on Start)", "failed": "failed"}


class SearchView(QWidget):
    """Search hyperparameters with KerasTuner; keep the best model."""

    status = Signal(str)  # a short message for the status bar
    busyChanged = Signal(bool)  # a search (or its best's training) started or ended
    modelSaved = Signal(object)  # the ModelInfo of the best model, saved to the store
    activateRequested = Signal(str)  # the id of a stored model to make active

    def __init__(self, store=None, runs: RunStore | None = None, root: str | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("searchView")
        self._store = store
        self.runs = runs if runs is not None else RunStore()
        self.session = SearchSession(self, self.runs, root)
        self.session.log.connect(self._set_status)
        self.session.finished.connect(self._on_finished)
        self.session.failed.connect(self._on_failed)
        self.session.ended.connect(self._on_ended)
        self._jobs = TaskRunner("search-save", self)
        self._jobs.finished.connect(self._on_saved)
        self._jobs.failed.connect(self._on_save_failed)
        self._timer = QTimer(self)
        self._timer.setInterval(DRAIN_MS)
        self._timer.timeout.connect(self._drain)
        self.outcome: SearchOutcome | None = None
        self.saved = None
        self.rows: list = []
        self.best_id: str | None = None
        self.form = SearchForm()
        self.banner = MessageBanner()
        self.banner.setObjectName("searchMessage")
        self.status_label = QLabel("Choose what to search and press Start search. The search starts from the "
                                   "family's preset and is kept: Stop, then Start, continues it.")
        self.status_label.setObjectName("searchStatus")
        self.status_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addWidget(self.form)
        layout.addLayout(self._build_controls())
        layout.addWidget(self.status_label)
        layout.addWidget(self.banner)
        layout.addWidget(self._build_table(), 1)
        layout.addLayout(self._build_save_bar())

    def _build_controls(self) -> QHBoxLayout:
        self.start_button = QPushButton("Start search")
        self.start_button.setObjectName("searchStartButton")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("searchStopButton")
        self.stop_button.setToolTip("End the current trial within a batch; the finished trials are kept")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.progress = QProgressBar()
        self.progress.setObjectName("searchProgress")
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        row = QHBoxLayout()
        row.addWidget(self.start_button)
        row.addWidget(self.stop_button)
        row.addWidget(self.progress, 1)
        return row

    def _build_table(self) -> QTableWidget:
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("trialsTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        return self.table

    def _build_save_bar(self) -> QHBoxLayout:
        self.result_label = QLabel()
        self.result_label.setObjectName("searchResult")
        self.result_label.setWordWrap(True)
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("searchModelName")
        self.name_edit.setPlaceholderText("model name")
        self.save_button = QPushButton("Save to my models")
        self.save_button.setObjectName("searchSaveButton")
        self.save_button.clicked.connect(lambda: self.save_best())
        self.use_button = QPushButton("Save and use")
        self.use_button.setObjectName("searchUseButton")
        self.use_button.clicked.connect(lambda: self.save_best(use=True))
        row = QHBoxLayout()
        row.addWidget(self.result_label, 1)
        row.addWidget(self.name_edit)
        row.addWidget(self.save_button)
        row.addWidget(self.use_button)
        self._show_save(False)
        return row

    def _show_save(self, on: bool) -> None:
        for w in (self.name_edit, self.save_button, self.use_button):
            w.setVisible(on)

    # Running -----------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.session.running

    @Slot()
    def start(self) -> None:
        """Start (or continue) the search the form describes."""
        if self.running:
            return
        self.banner.clear_message()
        try:
            config = self.form.config()
        except DigitdeskError as exc:
            self.banner.show_error(str(exc))
            return
        self.outcome, self.saved, self.rows, self.best_id = None, None, [], None
        self.table.setRowCount(0)
        self.result_label.clear()
        self._show_save(False)
        self.progress.setValue(0)
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.form.setEnabled(False)
        self._timer.start()
        self.session.start(config, fresh=self.form.fresh())
        self.form.fresh_check.setChecked(False)  # once: the next Start continues
        self.busyChanged.emit(True)
        self.status.emit("Searching…")

    @Slot()
    def stop(self) -> None:
        if self.running:
            self.session.stop()
            self.stop_button.setEnabled(False)
            self._set_status("Stopping within a batch…")

    def shutdown(self) -> None:
        self._timer.stop()
        self.session.shutdown()
        self._jobs.shutdown()

    def _set_status(self, text: str) -> None:
        self.status_label.setText(text)

    @Slot()
    def _drain(self) -> None:
        reports = self.session.drain()
        if not reports:
            return
        last = None
        for p in reports:
            if hasattr(p, "trials_done"):  # the search's
                if p.rows is not None:
                    self._show_rows(p.rows, p.best_id)
                last = p
            else:  # the best's training (core.training.Progress)
                self.progress.setValue(round(((p.epoch - 1) * p.batches + p.batch) / (p.epochs * max(p.batches, 1))
                                             * PROGRESS_STEPS))
                if self.stop_button.isEnabled():
                    self._set_status(f"Training the best configuration: epoch {p.epoch}/{p.epochs} · "
                                     f"batch {p.batch}/{p.batches}")
        if last is not None:
            self.progress.setValue(round(last.fraction * PROGRESS_STEPS))
            left = "" if math.isnan(last.seconds_left) else f" · {format_duration(last.seconds_left)} left"
            self.progress.setFormat(f"%p%{left}")
            if self.stop_button.isEnabled():
                where = (f"trial {last.trial_id}: epoch {max(last.epoch, 1)}/{last.epochs} · batch {last.batch}/{last.batches}"
                         if last.trial_id else "starting")
                best = (f" · best {last.best_score:.2%} (trial {last.best_id})" if last.best_score is not None else "")
                self._set_status(f"{last.trials_done} of {last.trials} trials done · {where}{best}")

    def _show_rows(self, rows: list, best_id: str | None) -> None:
        """The trials table, one row per trial in order; the best in bold."""
        self.rows, self.best_id = rows, best_id
        self.table.setRowCount(len(rows))
        c = colors(QApplication.palette())
        highlight = QColor(c.accent)
        highlight.setAlpha(40)
        bold = QFont(self.table.font())
        bold.setBold(True)
        for i, r in enumerate(sorted(rows, key=lambda r: int(r.id))):
            cells = [r.id, *(format_value(k, r.values.get(k)) for k in HYPERPARAMETERS),
                     f"{r.val_accuracy:.2%}" if r.val_accuracy is not None else "",
                     f"{r.epoch}/{r.epochs}", format_duration(r.seconds) if r.seconds else "",
                     STATE_TEXT.get(r.state, r.state) + (" · best" if r.id == best_id else "")]
            for j, text in enumerate(cells):
                item = self.table.item(i, j)
                if item is None:
                    item = QTableWidgetItem()
                    self.table.setItem(i, j, item)
                item.setText(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter if 0 < j < len(cells) - 1 else
                                      Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
                item.setFont(bold if r.id == best_id else self.table.font())
                item.setBackground(QBrush(highlight) if r.id == best_id else QBrush())
                item.setForeground(QBrush(c.error) if r.state == "failed" else QBrush())
                item.setToolTip(r.error if r.error else "")

    @Slot(object)
    def _on_finished(self, outcome: SearchOutcome) -> None:
        self._drain()
        self.outcome = outcome
        result = outcome.search
        if result is None:
            self._set_status("Stopped before the search began.")
            return
        self._show_rows(result.rows, result.best.id if result.best else None)
        done = sum(r.state == "finished" for r in result.rows)
        if result.cancelled:
            self._set_status(f"Stopped: {done} finished trial{'s' if done != 1 else ''} kept. Start continues the "
                             "search (the stopped trial runs again).")
            self.status.emit("Search stopped")
            return
        start = next((r for r in result.rows if r.id == result.start_id), None)
        best = result.best
        text = f"Best: trial {best.id}, {best.val_accuracy:.2%} on validation" if best else "No trial finished."
        if best is not None and start is not None and start.id == best.id:
            text += " — the preset's values stayed the best"
        elif start is not None and start.val_accuracy is not None:
            text += f" (the preset's values, trial {start.id}: {start.val_accuracy:.2%})"
        if outcome.best is None:
            self._set_status(text + "." + (" Its training was stopped: nothing to save." if outcome.best_stopped else ""))
            return
        report = outcome.best.test_report
        acc = f"test accuracy {report.accuracy:.2%}" if report is not None else "no test split"
        stopped = " (its training was stopped part-way)" if outcome.best_stopped else ""
        self._set_status(text + ".")
        self.result_label.setText(f"The best configuration, trained for {outcome.best.result.epochs_run} epochs"
                                  f"{stopped}: {acc}.")
        self.name_edit.setText(f"{result.config.family} searched")
        self._show_save(self._store is not None)
        self.status.emit(f"Search done: {acc}")

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.banner.show_error(f"The search could not run: {message}")
        self._set_status("The search failed; its finished trials are kept.")
        self.status.emit("Search failed")

    @Slot()
    def _on_ended(self) -> None:
        self._drain()
        self._timer.stop()
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.form.setEnabled(True)
        self.progress.setFormat("%p%")
        self.busyChanged.emit(False)

    # Keeping the best ---------------------------------------------------------------------------

    def save_best(self, use: bool = False) -> None:
        """Add the best model to my models (then make it active if ``use``)."""
        o = self.outcome
        if o is None or o.best is None or self._store is None:
            return
        name = self.name_edit.text().strip() or self.name_edit.placeholderText()
        if self.saved is not None and self.saved.name == name:
            if use:
                self.activateRequested.emit(self.saved.id)
            return
        self.save_button.setEnabled(False)
        self.use_button.setEnabled(False)
        self._jobs.submit(self._store.add, o.best.result.model, o.best.metadata, name, tag=("save", use))

    @Slot(object, object)
    def _on_saved(self, tag, info) -> None:
        self.saved = info
        self.save_button.setEnabled(True)
        self.use_button.setEnabled(True)
        self.result_label.setText(self.result_label.text() + f" Saved as “{info.name}” in your models.")
        recorder = getattr(self.outcome.best.result, "recorder", None)
        if recorder is not None and recorder.store is not None and not recorder.gone:
            try:
                recorder.store.set_model(recorder.id, info.path)
            except RunError:
                log.info("run %s not updated with its model", recorder.id, exc_info=True)
        self.modelSaved.emit(info)
        self.status.emit(f"Saved the model “{info.name}”")
        if tag[1]:
            self.activateRequested.emit(info.id)

    @Slot(object, object)
    def _on_save_failed(self, tag, exc: Exception) -> None:
        self.save_button.setEnabled(True)
        self.use_button.setEnabled(True)
        self.banner.show_error(f"Could not save the model: {describe_error(exc)}")

    def save_state(self, settings: Settings) -> None:
        self.form.save_state(settings)

    def restore_state(self, settings: Settings) -> None:
        self.form.restore_state(settings)
