"""Train tab: settings on the left; Start/Stop, progress, live curves and a log on the right;
after the run, the results (confusion matrix, per-digit table, mistakes) and Save / Use.

Training runs on a :class:`TrainSession` thread; evaluation, saving and export on a TaskRunner.
The Runs and Search pages are built when first shown or asked for (``runs_view``, ``search_view``).
A timer drains the run's progress reports ten times a second into a :class:`TrainHistory`
(progress bar, text, log); the plot redraws from it on its own, slower timer.

Longer than ~300 lines because a tab is one screen: its builders, its slots for the workers'
results and its saved state stay together; the parts that stand alone are in ``gui/widgets`` (form,
results panel, plots), ``gui/workers/training.py`` and ``core/trainrequest.py``.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer, Qt, Signal, Slot
from PySide6.QtWidgets import (QFileDialog, QFrame, QHBoxLayout, QLabel, QPlainTextEdit, QProgressBar, QPushButton,
                               QScrollArea, QSizePolicy, QTabWidget, QVBoxLayout, QWidget)

from digitdesk.core.errors import RunError
from digitdesk.core.runs import RunStore
from digitdesk.core.trainjob import epochs_trained
from digitdesk.gui.widgets.plots import LivePlot
from digitdesk.gui.workers.recognition import describe_error
from digitdesk.gui.widgets.results_panel import ResultsPanel
from digitdesk.gui.settings import Settings
from digitdesk.gui.widgets.train_form import TrainForm
from digitdesk.core.trainhistory import TrainHistory, epoch_line, format_duration
from digitdesk.core.trainrequest import default_name, evaluate
from digitdesk.gui.workers.training import TrainOutcome, TrainSession
from digitdesk.gui.widgets.cards import MessageBanner
from digitdesk.gui.widgets.ensemble_dialog import EnsembleDialog, open_ensemble_dialog
from digitdesk.gui.workers.threads import TaskRunner

if TYPE_CHECKING:
    from digitdesk.core.modelstore import ModelInfo, ModelStore
    from digitdesk.core.recognizer import Recognizer
    from digitdesk.gui.widgets.corrections import SampleCollector
    from digitdesk.gui.widgets.runs_view import RunsView
    from digitdesk.gui.widgets.search_view import SearchView

log = logging.getLogger(__name__)
PROGRESS_STEPS = 1000
STATUS_MS = 100  # how often the progress reports are drained (bar, text, log)


class TrainTab(QWidget):
    """Train or fine-tune a model, watch it learn, see where it fails, keep it."""

    status = Signal(str)  # a short message for the status bar
    modelSaved = Signal(object)  # the ModelInfo of a model just saved to the store
    activateRequested = Signal(str)  # the id of a stored model to make active
    evaluated = Signal(object)  # the Evaluation of the run just tested (results shown)

    def __init__(self, store: "ModelStore | None" = None, collector: "SampleCollector | None" = None,
                 parent: QWidget | None = None, runs: RunStore | None = None):
        super().__init__(parent)
        self.setObjectName("trainTab")
        self._store, self._collector = store, collector
        self.runs = runs if runs is not None else RunStore()  # where every run is kept, listed on the Runs page
        self._rec: Recognizer | None = None
        self._closed = False
        self.history = TrainHistory()
        self.outcome: TrainOutcome | None = None
        self.evaluation = None
        self.saved: ModelInfo | None = None
        self.ensemble_dialog: EnsembleDialog | None = None
        self._runs_view: RunsView | None = None  # the Runs and Search pages, once built
        self._search_view: SearchView | None = None
        self._page_settings: Settings | None = None  # what they restore when built
        self.session = TrainSession(self, self.runs)
        self.session.log.connect(self.append_log)
        self.session.finished.connect(self._on_finished)
        self.session.failed.connect(self._on_failed)
        self.session.ended.connect(self._on_ended)
        self._jobs = TaskRunner("train-results", self)
        self._jobs.finished.connect(self._on_job_done)
        self._jobs.failed.connect(self._on_job_failed)
        self._status_timer = QTimer(self)
        self._status_timer.setInterval(STATUS_MS)
        self._status_timer.timeout.connect(self._drain)

        self.form = TrainForm(collector)
        self.banner = MessageBanner()
        self.banner.setObjectName("trainErrorLabel")
        self.status_label = QLabel("Choose a preset or settings and press Start.")
        self.status_label.setObjectName("trainStatusLabel")
        self.train_header = QWidget()  # what training shows above the pages (hidden on the Search page)
        header = QVBoxLayout(self.train_header)
        header.setContentsMargins(0, 0, 0, 0)
        header.addLayout(self._build_controls())
        header.addWidget(self.status_label)
        header.addWidget(self._build_stop_bar())
        header.addWidget(self.banner)
        right = QVBoxLayout()
        right.addWidget(self.train_header)
        right.addWidget(self._build_views(), 1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 10)
        self.form_scroll = self._build_form_scroll()
        layout.addWidget(self.form_scroll)
        layout.addLayout(right, 1)
        self.views.currentChanged.connect(self._page_changed)

    def _build_form_scroll(self) -> QScrollArea:
        """The settings form, scrolling on its own at the left."""
        scroll = QScrollArea()
        scroll.setObjectName("trainSettings")
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFixedWidth(self.form.sizeHint().width() + 24)
        return scroll

    def _build_controls(self) -> QHBoxLayout:
        """Start, stop and the progress bar."""
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("trainStartButton")
        self.start_button.setToolTip("Start training with these settings")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("trainStopButton")
        self.stop_button.setToolTip("Stop after the current batch (you can keep the best weights so far)")
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setObjectName("trainProgress")
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("%p%")
        top = QHBoxLayout()
        top.addWidget(self.start_button)
        top.addWidget(self.stop_button)
        top.addWidget(self.progress, 1)
        return top

    def _build_stop_bar(self) -> QFrame:
        """Shown after Stop: keep the weights trained so far, or discard them."""
        self.stop_bar = QFrame()
        self.stop_bar.setObjectName("stopBar")
        self.stop_bar.setFrameShape(QFrame.Shape.StyledPanel)
        self.stop_label = QLabel()
        self.stop_label.setWordWrap(True)
        self.keep_button = QPushButton("Keep these weights")
        self.keep_button.setObjectName("keepWeightsButton")
        self.keep_button.clicked.connect(self.keep_stopped)
        self.discard_button = QPushButton("Discard")
        self.discard_button.setObjectName("discardWeightsButton")
        self.discard_button.clicked.connect(self.discard_stopped)
        bar = QHBoxLayout(self.stop_bar)
        bar.addWidget(self.stop_label, 1)
        bar.addWidget(self.keep_button)
        bar.addWidget(self.discard_button)
        self.stop_bar.hide()
        return self.stop_bar

    def _build_views(self) -> QTabWidget:
        """Progress (the live plot and the log), Results and Runs (every kept run), as tabs."""
        self.plot = LivePlot()
        self.plot.setObjectName("livePlot")
        self.plot.set_epochs(self.form.epochs_spin.value())
        self.form.epochs_spin.valueChanged.connect(self.plot.set_epochs)
        self.plot.setMinimumHeight(220)
        self.log = QPlainTextEdit()
        self.log.setObjectName("trainLog")
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)
        self.log.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.log.setPlaceholderText("The log of a run: data, each epoch's loss and accuracy, the result.")
        live = QWidget()
        live_layout = QVBoxLayout(live)
        live_layout.setContentsMargins(0, 6, 0, 0)
        live_layout.addWidget(self.plot, 3)
        live_layout.addWidget(QLabel("Log"))
        live_layout.addWidget(self.log, 1)
        self.results = ResultsPanel()
        self.results.saveRequested.connect(lambda name: self.save_model(name))
        self.results.useRequested.connect(lambda name: self.save_model(name, use=True))
        self.results.exportRequested.connect(self.export_dialog)
        self.views = QTabWidget()
        self.views.setObjectName("trainViews")
        self.views.addTab(live, "Progress")
        results_scroll = QScrollArea()
        results_scroll.setWidget(self.results)
        results_scroll.setWidgetResizable(True)
        results_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.views.addTab(results_scroll, "Results")
        self.runs_page = QScrollArea()  # like Results: a narrow window scrolls the page, not the form away
        self.runs_page.setWidgetResizable(True)
        self.runs_page.setFrameShape(QFrame.Shape.NoFrame)
        self.views.addTab(self.runs_page, "Runs")
        self.search_page = QScrollArea()
        self.search_page.setWidgetResizable(True)
        self.search_page.setFrameShape(QFrame.Shape.NoFrame)
        self.views.addTab(self.search_page, "Search")
        self.views.setTabToolTip(self.views.count() - 1, "Search hyperparameters with KerasTuner, then train the best")
        self.views.currentChanged.connect(self._show_page)
        return self.views

    @property
    def runs_view(self) -> "RunsView":
        """The Runs page's view (built now if it was not yet)."""
        if self._runs_view is None:
            from digitdesk.gui.widgets.runs_view import RunsView

            view = RunsView(self.runs)
            view.status.connect(self.status)
            view.ensembleRequested.connect(self.open_ensemble)
            if self._page_settings is not None:
                view.restore_state(self._page_settings.group("runs"))
            self.runs_page.setWidget(view)
            self._runs_view = view
        return self._runs_view

    @property
    def search_view(self) -> "SearchView":
        """The Search page's view (built now if it was not yet)."""
        if self._search_view is None:
            from digitdesk.gui.widgets.search_view import SearchView

            view = SearchView(self._store, self.runs)
            view.status.connect(self.status)
            view.modelSaved.connect(self.modelSaved)
            view.activateRequested.connect(self.activateRequested)
            view.busyChanged.connect(self._search_busy)
            view.start_button.setEnabled(not self.running)
            if self._page_settings is not None:
                view.restore_state(self._page_settings.group("search"))
            self.search_page.setWidget(view)
            self._search_view = view
        return self._search_view

    def build_pages(self) -> None:
        """Build the Runs and Search pages now (the window does when the app is idle)."""
        self.runs_view, self.search_view  # noqa: B018  (the properties build them)

    @Slot(int)
    def _show_page(self, index: int) -> None:
        """The Runs page lists the runs again each time it is shown; a page is built when first shown."""
        page = self.views.widget(index)
        if page is self.runs_page:
            self.runs_view.refresh()
        elif page is self.search_page:
            self.search_view  # noqa: B018

    def _refresh_runs(self) -> None:
        """List the runs again on the Runs page (if it is built: else it lists them when built)."""
        if self._runs_view is not None:
            self._runs_view.refresh()

    def _searching(self) -> bool:
        return self._search_view is not None and self._search_view.running

    # Public API -----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.session.running

    @Slot(int)
    def _page_changed(self, index: int) -> None:
        """The Search page is a mode of its own: its settings take the training settings' place."""
        searching = self.views.widget(index) is self.search_page
        self.form_scroll.setVisible(not searching)
        self.train_header.setVisible(not searching)

    @Slot(bool)
    def _search_busy(self, busy: bool) -> None:
        """One job at a time: no training while a search runs."""
        self.start_button.setEnabled(not busy and not self.running)
        if not busy:
            self._refresh_runs()  # the best's run

    def set_recognizer(self, rec: "Recognizer | None") -> None:
        """The active model: compared with after training, and the base for fine-tuning."""
        self._rec = rec

    @Slot()
    def start(self) -> None:
        """Start a run with the form's settings."""
        if self.running or self._closed or self._searching():
            return
        self.banner.clear_message()
        self.stop_bar.hide()
        root = str(self._collector.store.root) if self._collector is not None else None
        request = self.form.request(samples_root=root)
        base = base_name = None
        if request.fine_tune is not None:
            if self._rec is None:
                self.banner.show_error("Fine-tuning starts from the active model, and it has not loaded yet.")
                return
            if not self._rec.trainable:
                self.banner.show_error(f"“{self._rec.name}” is a LiteRT (.tflite) model: it reads digits but cannot "
                                       "be fine-tuned. Make a .keras model active to fine-tune it.")
                return
            base, base_name = self._rec, self._rec.name  # its Keras model is loaded by the worker
        self.outcome = self.evaluation = self.saved = None
        self.results.clear()
        self.history = TrainHistory()
        self.plot.watch(self.history, request.config.epochs)
        self.progress.setValue(0)
        self.log.clear()
        self.views.setCurrentIndex(0)
        self.start_button.setEnabled(False)
        if self._search_view is not None:
            self._search_view.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.form.setEnabled(False)
        self.status_label.setText("Loading the data…")
        self._status_timer.start()
        self.session.start(request, base, base_name)
        self.status.emit("Training…")

    @Slot()
    def stop(self) -> None:
        """Stop after the current batch; then offer to keep the best weights so far."""
        if self.running:
            self.session.stop()
            self.stop_button.setEnabled(False)
            self.status_label.setText("Stopping after this batch…")

    def shutdown(self) -> None:
        """Abort a run and stop every thread (window closing)."""
        self._closed = True
        if self.ensemble_dialog is not None:
            self.ensemble_dialog.close()  # stops its work at the next step
        self._status_timer.stop()
        self.plot.timer.stop()
        self.session.shutdown()
        if self._search_view is not None:  # a page never built has nothing to stop
            self._search_view.shutdown()
        self._jobs.shutdown()  # a save finishes; a test stops at its next check

    @Slot(list)
    def open_ensemble(self, members: list) -> None:
        """The Ensemble dialog for the saved models of runs (name, path); it adds the ensemble to my models."""
        if self._store is None or len(members) < 2:
            return
        open_ensemble_dialog(self, self._store, members, self.modelSaved, self.activateRequested)

    def append_log(self, line: str) -> None:
        self.log.appendPlainText(line)

    def save_state(self, settings: Settings) -> None:
        """The form's settings, and those of the pages built (a page never built keeps what it
        saved last time)."""
        self.form.save_state(settings)
        if self._runs_view is not None:
            self._runs_view.save_state(settings.group("runs"))
        if self._search_view is not None:
            self._search_view.save_state(settings.group("search"))

    def restore_state(self, settings: Settings) -> None:
        """The form's settings now; the Runs and Search pages restore theirs when built."""
        self._page_settings = settings
        self.form.restore_state(settings)
        if self._runs_view is not None:
            self._runs_view.restore_state(settings.group("runs"))
        if self._search_view is not None:
            self._search_view.restore_state(settings.group("search"))

    # The run ----------------------------------------------------------------------------------

    @Slot()
    def _drain(self) -> None:
        """Take the run's new progress reports: history (for the plot), bar, text and log."""
        reports = self.session.drain()
        for p in reports:
            self.history.add(p)
            if p.kind == "epoch":
                self.append_log(epoch_line(p))
        if reports:
            self.progress.setValue(round(self.history.fraction() * PROGRESS_STEPS))
            if self.running and self.stop_button.isEnabled():
                self.status_label.setText(self.history.status_text())

    @Slot(object)
    def _on_finished(self, outcome: TrainOutcome) -> None:
        if self._closed:
            return
        self._drain()
        self.outcome = outcome
        r = outcome.result
        if r.cancelled:
            trained = epochs_trained(r)
            if r.epochs_run:
                what = (f"the best weights so far (epoch {r.best_epoch} of the {r.epochs_run} completed)"
                        if outcome.request.fine_tune is None else f"the weights after epoch {r.epochs_run}")
            else:
                what = f"the weights as they are (no epoch completed, {trained} of the first: only partly trained)"
            self.stop_label.setText(f"Training stopped. Keep {what}? Keeping tests them and lets you save them.")
            self.stop_bar.show()
            planned = (outcome.request.fine_tune or outcome.request.config).epochs
            self.status_label.setText(f"Stopped after {trained} of {planned} epochs.")  # not "Stopping…" any more
            n = outcome.batches_after_stop
            self.append_log(f"Stopped after {format_duration(r.seconds)}"
                            + (f", {n} batch{'es' if n != 1 else ''} after Stop was pressed." if n is not None else "."))
            self.status.emit("Training stopped")
            return
        why = "early stopping: no improvement" if r.stopped else "done"
        self.append_log(f"Training {why} after {r.epochs_run} epochs in {format_duration(r.seconds)}; "
                        f"keeping the weights of epoch {r.best_epoch}.")
        self._evaluate()

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if self._closed:
            return
        self.banner.show_error(f"Training could not run: {message}")
        self.append_log(f"Error: {message}")
        self.status.emit("Training failed")

    @Slot()
    def _on_ended(self) -> None:
        self._drain()
        self._status_timer.stop()
        self.plot.stop()
        self.start_button.setEnabled(not self._searching())
        if self._search_view is not None:
            self._search_view.start_button.setEnabled(not self._searching())
        self.stop_button.setEnabled(False)
        self.form.setEnabled(True)
        if self.history.last is not None and self.outcome is not None and not self.outcome.result.cancelled:
            self.progress.setValue(PROGRESS_STEPS)
        if self.outcome is None:
            self.status_label.setText("Ready.")
        self._refresh_runs()  # the run just kept (finished, stopped or failed)

    @Slot()
    def keep_stopped(self) -> None:
        """Keep the stopped run's weights: evaluate them and show the results."""
        self.stop_bar.hide()
        if self.outcome is not None:
            self._evaluate()

    @Slot()
    def discard_stopped(self) -> None:
        self.stop_bar.hide()
        self.outcome = None
        self.status_label.setText("Discarded the stopped run.")
        self.append_log("Discarded.")

    def _evaluate(self) -> None:
        self.status_label.setText("Testing the new model…")
        o = self.outcome
        self._jobs.submit(evaluate, o.request, o.data, o.result, self._rec, o.base_name, self._jobs.stopping,
                          tag=("evaluate", o))

    # Save, use, export ---------------------------------------------------------------------------

    def save_model(self, name: str, use: bool = False) -> None:
        """Save the trained model to my models as ``name``; ``use``: then make it active."""
        if self.evaluation is None or self._store is None:
            return
        if self.saved is not None and name == self.saved.name:
            if use:
                self.activateRequested.emit(self.saved.id)
            return
        self.results.set_busy(True)
        self.results.set_saved("Saving…")
        self._jobs.submit(self._store.add, self.outcome.result.model, self.evaluation.metadata, name,
                          tag=("save", use, getattr(self.outcome.result, "recorder", None)))

    def export_dialog(self) -> None:
        name = self.results.name()
        path, _ = QFileDialog.getSaveFileName(self, "Export the model", f"{name}.keras", "Keras models (*.keras)")
        if path:
            self.export_model(path)

    def export_model(self, path: str | os.PathLike) -> None:
        """Write the trained model (with its metadata) to a ``.keras`` file."""
        from digitdesk.core.modelio import save_model

        if self.evaluation is None:
            return
        path = str(path) if str(path).endswith(".keras") else f"{path}.keras"
        meta = {**self.evaluation.metadata, "name": self.results.name()}
        self.results.set_busy(True)
        self._jobs.submit(save_model, self.outcome.result.model, path, meta,
                          tag=("export", path, getattr(self.outcome.result, "recorder", None)))

    @Slot(object, object)
    def _on_job_done(self, tag: Any, value: Any) -> None:
        kind = tag[0]
        if kind == "evaluate":
            if tag[1] is not self.outcome:
                return  # a newer run started
            self.evaluation = value
            name = default_name(self.outcome.request, self.outcome.base_name)
            self.results.show_evaluation(value, name)
            self.views.setCurrentIndex(1)
            acc = value.report.accuracy
            self.status_label.setText(f"Done: test accuracy {acc:.2%}.")
            self.append_log(f"Test accuracy {acc:.2%} on {value.test_source}.")
            self.status.emit(f"Training done: test accuracy {acc:.2%}")
            self.evaluated.emit(value)
            self._refresh_runs()  # its test metrics
        elif kind == "save":
            self.saved = value
            self.results.set_busy(False)
            self.results.set_saved(f"Saved as “{value.name}” in your models.")
            self._record_model(tag[2], value.path)
            self.modelSaved.emit(value)
            self.status.emit(f"Saved the model “{value.name}”")
            if tag[1]:
                self.activateRequested.emit(value.id)
        elif kind == "export":
            self.results.set_busy(False)
            self.results.set_saved(f"Exported to {tag[1]}")
            self._record_model(tag[2], tag[1])
            self.status.emit(f"Exported {os.path.basename(tag[1])}")

    def _record_model(self, recorder, path: str | os.PathLike) -> None:
        """Keep in the run where its model was saved (the last save or export wins)."""
        if recorder is None or recorder.store is None or recorder.gone:
            return
        try:
            recorder.store.set_model(recorder.id, path)
        except RunError:  # deleted on the Runs page meanwhile: not brought back
            log.info("run %s not updated with its model", recorder.id, exc_info=True)
        self._refresh_runs()

    @Slot(object, object)
    def _on_job_failed(self, tag: Any, exc: Exception) -> None:
        kind = tag[0]
        what = {"evaluate": "test the model", "save": "save the model", "export": "export the model"}[kind]
        self.banner.show_error(f"Could not {what}: {describe_error(exc)}")
        self.results.set_busy(False)
        if kind == "evaluate":
            self.status_label.setText("Testing failed.")
