"""Models tab: every model (the bundled one, read-only, and the user's) with its architecture,
size, accuracy, data and date; broken files listed with the reason. Make active, rename,
delete, import and export; the core ``ModelStore`` does the work. Two or more selected models make
an ensemble (the Ensemble dialog).

Longer than ~300 lines because a tab is one screen: its builders, its slots for the workers'
results and its saved state stay together; the parts that stand alone are in ``gui/widgets``.
"""

from __future__ import annotations

import datetime as _dt
import html
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QItemSelectionModel, Qt, Signal, Slot
from PySide6.QtGui import QBrush, QFont
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QMessageBox,
                               QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from digitdesk.core.errors import DigitdeskError
from digitdesk.core.ensemble import MIN_MEMBERS, store_members_problem
from digitdesk.core.modelstore import ModelInfo, ModelStore
from digitdesk.gui.workers.recognition import describe_error
from digitdesk.gui.widgets.cards import MessageBanner
from digitdesk.gui.widgets.ensemble_dialog import EnsembleDialog, open_ensemble_dialog
from digitdesk.gui.widgets.theme import colors, css
from digitdesk.gui.workers.threads import TaskRunner

if TYPE_CHECKING:
    from digitdesk.core.recognizer import Recognizer

COLUMNS = ["Name", "Architecture", "Parameters", "Test accuracy", "Data", "Date", "Status"]
NAME, DATA, STATUS = 0, 4, 6
STATUS_MAX = 240  # px: a broken model's long reason is elided in its cell (the tooltip and details have it)
OUTSIDE_ID = "(from --model)"  # the row of a model file given with --model that is not one of mine


def status_text(info: ModelInfo, active_id: str) -> str:
    """``active``, ``bundled, read-only``, ``from --model``, ``broken: <reason>`` (joined with " · ")."""
    parts = []
    if info.broken:
        parts.append(f"broken: {info.broken}")
    if info.id == active_id:
        parts.append("active")
    if info.bundled:
        parts.append("bundled, read-only")
    if info.id == OUTSIDE_ID:
        parts.append("from --model")
    if info.reading_only:
        parts.append("LiteRT, reads only (cannot be trained)")
    return " · ".join(parts)


def outside_info(rec: "Recognizer") -> ModelInfo:
    """A row for a loaded model that is not in the store (a file given with --model)."""
    m = rec.metadata if isinstance(rec.metadata, dict) else {}
    path = Path(rec.path) if rec.path is not None else Path(rec.name)
    date = m.get("date")
    if not date and path.is_file():
        date = _dt.datetime.fromtimestamp(path.stat().st_mtime, _dt.timezone.utc).replace(microsecond=0).isoformat()
    params = m.get("parameters")
    return ModelInfo(id=OUTSIDE_ID, name=rec.name, path=path, bundled=False,
                     architecture=m.get("architecture") or getattr(rec.model, "name", None),
                     parameters=params if isinstance(params, int) else int(rec.model.count_params()),
                     test_accuracy=rec.accuracy, data=m.get("data"), date=date, metadata=m)


def same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return a == b


def row_values(info: ModelInfo, active_id: str) -> list[str]:
    """The table cells of one model."""
    return [
        info.name,
        info.architecture or "?",
        f"{info.parameters:,}" if info.parameters is not None else "?",
        f"{info.test_accuracy:.2%}" if info.test_accuracy is not None else "?",
        info.data or "?",
        (info.date or "?")[:16].replace("T", " "),
        status_text(info, active_id),
    ]


class ModelsTab(QWidget):
    """The model list and what can be done with each model."""

    status = Signal(str)  # a short message for the status bar
    activateRequested = Signal(str)  # the id of the model to make active
    modelImported = Signal(object)  # the ModelInfo of a model just imported (or an ensemble just made)

    def __init__(self, store: ModelStore | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("modelsTab")
        self.store = store or ModelStore()
        self.models: list[ModelInfo] = []
        self.active_id = ""  # the model in use now (marked "active")
        self.remembered_id = ""  # the model digitdesk starts with when no --model is given
        self._in_use: "Recognizer | None" = None  # None until the window says which model it uses
        self._filling = False
        self._confirm: QMessageBox | None = None
        self.ensemble_dialog: EnsembleDialog | None = None
        self._io = TaskRunner("models-io", self)
        self._io.finished.connect(self._on_io_done)
        self._io.failed.connect(self._on_io_failed)

        self._build_table()
        buttons = self._build_buttons()
        self._build_labels()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 10)
        layout.addLayout(buttons)
        layout.addWidget(self.banner)
        layout.addWidget(self.session_note)
        layout.addWidget(self.table, 3)
        layout.addWidget(self.details, 1)
        layout.addWidget(self.folder_label)
        self.refresh()

    def _build_table(self) -> None:
        """The model list: one row per model, the name editable in place (F2), double-click to use."""
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("modelsTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)  # several: an ensemble
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        for col in range(len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(DATA, QHeaderView.ResizeMode.Stretch)  # can be long: takes the spare width
        header.setSectionResizeMode(STATUS, QHeaderView.ResizeMode.Interactive)  # sized in refresh, at most STATUS_MAX
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemChanged.connect(self._on_item_changed)
        self.table.itemDoubleClicked.connect(lambda _item: self.make_active_selected())

    def _build_buttons(self) -> QHBoxLayout:
        """The row above the list: make active, rename and delete; import, export and refresh."""
        self.active_button = self._button("makeActiveButton", "Make active", self.make_active_selected,
                                          "Use this model on the Draw, Image and Webcam tabs")
        self.rename_button = self._button("renameButton", "Rename", self.rename_selected, "Edit the name (F2)")
        self.delete_button = self._button("deleteButton", "Delete…", self.delete_selected, "Delete this model file")
        self.import_button = self._button("importButton", "Import…", self.import_dialog,
                                          "Add a .keras model file to your models (it is checked first)")
        self.export_button = self._button("exportButton", "Export…", self.export_dialog, "Save a copy as a .keras file")
        self.refresh_button = self._button("refreshButton", "Refresh", self.refresh, "List the model files again")
        self.ensemble_button = self._button("ensembleButton", "Ensemble…", self.ensemble_selected,
                                            "Average the probabilities of the selected models in one new model")
        buttons = QHBoxLayout()
        for b in (self.active_button, self.rename_button, self.delete_button, self.ensemble_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        for b in (self.import_button, self.export_button, self.refresh_button):
            buttons.addWidget(b)
        return buttons

    def _build_labels(self) -> None:
        """The error banner, the session note, the selected model's details and the models folder."""
        self.banner = MessageBanner()
        self.banner.setObjectName("modelsErrorLabel")
        self.details = QLabel()
        self.details.setObjectName("modelDetails")
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.session_note = QLabel()
        self.session_note.setObjectName("modelsSessionNote")
        self.session_note.setWordWrap(True)
        self.session_note.setTextFormat(Qt.TextFormat.RichText)
        self.session_note.hide()
        self.folder_label = QLabel(f"Your models are kept in {html.escape(str(self.store.folder))}")
        self.folder_label.setObjectName("modelsFolderLabel")
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    def _button(self, name: str, text: str, slot, tip: str) -> QPushButton:
        b = QPushButton(text)
        b.setObjectName(name)
        b.setToolTip(tip)
        b.clicked.connect(slot)
        return b

    # Listing ---------------------------------------------------------------------------------

    def set_in_use(self, rec: "Recognizer") -> None:
        """Mark the model the window reads with now; one that is not among the stored models (a
        file given with --model) is listed as an extra first row."""
        self._in_use = rec
        self.refresh()
        self.select(self.active_id)

    @Slot()
    def refresh(self) -> None:
        """List the models again (cheap: metadata and archive headers only)."""
        selected = [m.id for m in self.selected_models()]
        self.models = self.store.list()
        self.remembered_id = self.store.active().id
        self.active_id = self.remembered_id
        rec = self._in_use
        if rec is not None and rec.path is not None:
            match = next((m for m in self.models if same_file(m.path, Path(rec.path))), None)
            if match is None:
                self.models.insert(0, outside_info(rec))
            self.active_id = match.id if match is not None else OUTSIDE_ID
        self._update_note()
        c = colors(self.palette())
        self._filling = True
        self.table.setRowCount(len(self.models))
        bold = QFont(self.font())
        bold.setBold(True)
        for row, info in enumerate(self.models):
            for col, text in enumerate(row_values(info, self.active_id)):
                item = QTableWidgetItem(text)
                item.setToolTip(text if col != STATUS or not info.broken else f"Cannot be used: {info.broken}")
                flags = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled
                if col == NAME and not info.bundled and info.id != OUTSIDE_ID:
                    flags |= Qt.ItemFlag.ItemIsEditable
                item.setFlags(flags)
                if col in (2, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if info.broken:
                    item.setForeground(QBrush(c.error))
                if info.id == self.active_id:
                    item.setFont(bold)
                item.setData(Qt.ItemDataRole.UserRole, info.id)
                self.table.setItem(row, col, item)
        self._filling = False
        self.table.resizeColumnToContents(STATUS)
        self.table.setColumnWidth(STATUS, min(self.table.columnWidth(STATUS), STATUS_MAX))
        self.select_many(selected or [self.active_id])
        self._update_buttons()

    def selected(self) -> ModelInfo | None:
        """The selected model when exactly one is selected."""
        models = self.selected_models()
        return models[0] if len(models) == 1 else None

    def selected_models(self) -> list[ModelInfo]:
        """The selected models, in the list's order."""
        rows = sorted(i.row() for i in self.table.selectionModel().selectedRows()) if self.table.selectionModel() else []
        return [self.models[r] for r in rows if r < len(self.models)]

    def select_many(self, model_ids: list[str]) -> None:
        """Select these models (those still listed)."""
        self.table.clearSelection()
        rows = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for row, info in enumerate(self.models):
            if info.id in model_ids:
                self.table.selectionModel().select(self.table.model().index(row, 0), rows)

    def select(self, model_id: str) -> None:
        """Select this model alone (whatever modifier keys Qt believes are held: selectRow in an
        extended selection would add to the selection with Ctrl or Shift)."""
        for row, info in enumerate(self.models):
            if info.id == model_id:
                flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
                self.table.selectionModel().setCurrentIndex(self.table.model().index(row, 0), flags)
                return

    def row_of(self, model_id: str) -> int:
        return next((i for i, m in enumerate(self.models) if m.id == model_id), -1)

    def _update_buttons(self) -> None:
        info = self.selected()
        self.active_button.setEnabled(info is not None and not info.broken and info.id != self.active_id)
        stored = info is not None and not info.bundled and info.id != OUTSIDE_ID
        self.rename_button.setEnabled(stored)
        self.delete_button.setEnabled(stored)
        self.export_button.setEnabled(info is not None and not info.broken and info.id != OUTSIDE_ID)
        many = len(self.selected_models())
        self.ensemble_button.setEnabled(many >= MIN_MEMBERS)
        self.ensemble_button.setToolTip("Average the probabilities of the selected models in one new model"
                                        if many >= MIN_MEMBERS else "Select two or more models (Ctrl+click) to "
                                        "average their probabilities in one new model")
        self.details.setText(self._details_html(info) if info else
                             f"{many} models selected: Ensemble… averages them in one new model." if many else "")

    def _update_note(self) -> None:
        """Say so when this session uses another model than the one digitdesk starts with."""
        if self.active_id == self.remembered_id:
            self.session_note.hide()
            return
        using = next(m for m in self.models if m.id == self.active_id)
        start = next(m for m in self.models if m.id == self.remembered_id)
        where = (f" ({html.escape(str(using.path))}), given with --model; it is not one of your models "
                 "(Import… adds it)" if using.id == OUTSIDE_ID else ", given with --model")
        self.session_note.setText(
            f"This session uses <b>{html.escape(using.name)}</b>{where}. To switch, select another model and "
            f"press Make active. Without --model, digitdesk starts with <b>{html.escape(start.name)}</b>.")
        self.session_note.show()

    def _details_html(self, info: ModelInfo) -> str:
        m = info.metadata
        lines = [f"<b>{html.escape(info.name)}</b> — {html.escape(str(info.path))}"]
        if info.broken:
            lines.append(f"<span style='color:{css(colors(self.palette()).error)}'>Cannot be used: "
                         f"{html.escape(info.broken)}</span>")
        facts = []
        epochs = m.get("epochs") if isinstance(m.get("epochs"), (int, float)) else info.epochs  # 0.4: part of one
        if epochs is not None:
            n = f"{round(epochs, 2):g}"
            planned = m.get("epochs_planned")
            if m.get("stopped_by_user"):
                facts.append(f"stopped after {n} of {planned} epochs" if planned else f"stopped after {n} epochs")
            else:
                facts.append(f"{n} epoch{'' if epochs == 1 else 's'}")
            if m.get("best_epoch"):
                facts[-1] += f" (weights of epoch {m['best_epoch']})" if m.get("stopped_by_user") else f" (best {m['best_epoch']})"
        if m.get("train_samples"):
            facts.append(f"{m['train_samples']:,} training images")
        seconds = m.get("training_seconds")
        if isinstance(seconds, (int, float)) and seconds > 0:
            facts.append(f"trained in {seconds:.0f} s" if seconds < 120 else f"trained in {seconds / 60:.0f} min")
        if m.get("fine_tuned_from"):
            facts.append(f"fine-tuned from {html.escape(str(m['fine_tuned_from']))}")
        if m.get("augmentation"):
            facts.append("with augmentation")
        if facts:
            lines.append(" · ".join(facts))
        c = m.get("config") if isinstance(m.get("config"), dict) else {}
        if c:
            lines.append(f"Settings: batch size {c.get('batch_size')}, learning rate {c.get('learning_rate')}, "
                         f"{c.get('schedule')} schedule, validation {float(c.get('validation_split') or 0):.0%}"
                         + (f", early stopping after {c['early_stopping']} epochs" if c.get("early_stopping") else ""))
        if info.data:
            lines.append(f"Data: {html.escape(str(info.data))}")
        members = [x for x in m.get("members") or [] if isinstance(x, dict)]
        if members:  # an ensemble: what it averages
            lines.append("Averages " + ", ".join(
                html.escape(str(x.get("name"))) + (f" ({x['test_accuracy']:.2%})" if isinstance(x.get("test_accuracy"), float) else "")
                for x in members))
        return "<br>".join(lines)

    # Actions ---------------------------------------------------------------------------------

    def make_active(self, model_id: str) -> None:
        """Ask the window to switch to ``model_id`` (it loads it, then remembers it)."""
        info = next((m for m in self.models if m.id == model_id), None)
        if info is not None and info.broken:
            self.banner.show_error(f"{info.name} cannot be used: {info.broken}")
            return
        self.banner.clear_message()
        self.activateRequested.emit(model_id)

    def make_active_selected(self) -> None:
        info = self.selected()
        if info is not None and info.id != self.active_id:
            self.make_active(info.id)

    def rename_selected(self) -> None:
        info = self.selected()
        if info is not None and not info.bundled:
            self.table.editItem(self.table.item(self.row_of(info.id), NAME))

    def rename(self, model_id: str, name: str) -> bool:
        try:
            info = self.store.rename(model_id, name)
        except DigitdeskError as exc:
            self.banner.show_error(str(exc))
            self.refresh()
            return False
        self.banner.clear_message()
        self.status.emit(f"Renamed to “{info.name}”")
        self.refresh()
        return True

    @Slot(QTableWidgetItem)
    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() != NAME:
            return
        model_id = item.data(Qt.ItemDataRole.UserRole)
        info = next((m for m in self.models if m.id == model_id), None)
        if info is not None and item.text().strip() != info.name:
            self.rename(model_id, item.text())

    def delete_selected(self) -> None:
        """Ask (without blocking) whether to delete the selected model."""
        info = self.selected()
        if info is None:
            return
        if info.bundled:
            self.delete(info.id)  # refused, with the reason
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Delete model", f"Delete “{info.name}”? The file "
                          f"{info.path.name} is removed; this cannot be undone.",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("confirmDelete")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.finished.connect(lambda result, i=info.id: self._confirmed_delete(result, i))
        self._confirm = box
        box.open()

    def _confirmed_delete(self, result: int, model_id: str) -> None:
        self._confirm = None
        if result == QMessageBox.StandardButton.Yes:
            self.delete(model_id)

    def delete(self, model_id: str) -> bool:
        """Delete a user model (the bundled one is refused); if it was active, the window is told."""
        was_active = model_id == self.active_id
        try:
            self.store.delete(model_id)
        except DigitdeskError as exc:
            self.banner.show_error(str(exc))
            return False
        self.banner.clear_message()
        self.status.emit("Model deleted")
        self.refresh()
        if was_active:
            self.activateRequested.emit(self.store.active().id)
        return True

    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a model", "",
                                              "Models (*.keras *.tflite);;Keras models (*.keras);;LiteRT models, read only (*.tflite)")
        if path:
            self.import_file(path)

    def import_file(self, path: str | os.PathLike) -> None:
        """Check and copy a ``.keras`` (or read-only ``.tflite``) file into my models, in the
        background (a ``.keras`` file loads TensorFlow to be checked)."""
        self.status.emit(f"Importing {Path(path).name}…")
        self._io.submit(self.store.import_file, path, tag=("import", str(path)))

    def export_dialog(self) -> None:
        info = self.selected()
        if info is None:
            return
        suffix = info.path.suffix
        path, _ = QFileDialog.getSaveFileName(self, "Export the model", f"{info.path.stem}{suffix}",
                                              f"{'LiteRT' if suffix == '.tflite' else 'Keras'} models (*{suffix})")
        if path:
            self.export(info.id, path)

    def export(self, model_id: str, path: str | os.PathLike) -> None:
        self._io.submit(self.store.export, model_id, path, tag=("export", str(path)))

    def ensemble_selected(self) -> None:
        """Open the Ensemble dialog for the selected models, or say why they cannot make one."""
        models = self.selected_models()
        problem = store_members_problem(models)
        if problem:
            self.banner.show_error(problem)
            return
        self.banner.clear_message()
        self.open_ensemble([(m.name, m.path) for m in models])

    def open_ensemble(self, members: list[tuple[str, Path]]) -> EnsembleDialog:
        """Show the Ensemble dialog (not blocking) for ``members`` (name, ``.keras`` path)."""
        return open_ensemble_dialog(self, self.store, members, self._on_ensemble_built, self.make_active)

    def _on_ensemble_built(self, info: ModelInfo) -> None:
        self.refresh()
        self.select(info.id)
        self.status.emit(f"Made the ensemble “{info.name}”")
        self.modelImported.emit(info)  # the window makes its LiteRT twin

    def shutdown(self) -> None:
        if self.ensemble_dialog is not None:
            self.ensemble_dialog.close()  # stops its work at the next step
        self._io.shutdown()  # an import or export in progress finishes

    @Slot(object, object)
    def _on_io_done(self, tag: Any, value: Any) -> None:
        self.banner.clear_message()
        if tag[0] == "import":
            self.refresh()
            self.select(value.id)
            self.status.emit(f"Imported “{value.name}”")
            self.modelImported.emit(value)
        else:
            self.status.emit(f"Exported to {value}")

    @Slot(object, object)
    def _on_io_failed(self, tag: Any, exc: Exception) -> None:
        self.banner.show_error(f"Could not {tag[0]} {Path(tag[1]).name}: {describe_error(exc)}")
