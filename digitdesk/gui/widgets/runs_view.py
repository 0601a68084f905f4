"""The Runs view: every kept training run (:class:`~digitdesk.core.runs.RunStore`) in a sortable
table; the selected runs' curves overlaid and their confusion matrices side by side; rename,
delete, export. What a row says and how it sorts is :mod:`digitdesk.core.runcompare`."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QMessageBox,
                               QPushButton, QSplitter, QStackedWidget, QStyle, QTableView, QVBoxLayout, QWidget)

from digitdesk.core.ensemble import MIN_MEMBERS
from digitdesk.core.errors import RunError
from digitdesk.core.runcompare import COLUMNS, confusion, curves, rows
from digitdesk.core.runs import RunEntry, RunStore, to_csv, to_markdown
from digitdesk.gui.widgets.cards import MessageBanner
from digitdesk.gui.widgets.run_plots import ConfusionGrid, RunCurves, run_color
from digitdesk.gui.widgets.runs_table import HEADERS, NAME, RunsModel, RunsSortProxy

log = logging.getLogger(__name__)
MAX_COMPARED = 8  # runs overlaid at most (their colours stay distinct)
MAX_NAME_WIDTH = 260  # pixels the name column takes at most when fitted (wider by hand)
HEADER_PAD = 14  # pixels beside a header's text (Fusion draws the sort arrow above it)


class RunsView(QWidget):
    """Compare the kept training runs; refreshed by the Train tab when a run ends."""

    status = Signal(str)  # a short message for the status bar
    ensembleRequested = Signal(list)  # (run name, saved .keras path) of the selected runs that have one

    def __init__(self, store: RunStore | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("runsView")
        self.store = store if store is not None else RunStore()
        self.entries: dict[str, RunEntry] = {}
        self.model = RunsModel(self.rename)
        self.proxy = RunsSortProxy(self)
        self.proxy.setSourceModel(self.model)
        self.banner = MessageBanner()
        self.banner.setObjectName("runsMessage")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addLayout(self._build_buttons())
        layout.addWidget(self.banner)
        layout.addWidget(self._build_splitter(), 1)
        self._update_buttons()

    def _build_buttons(self) -> QHBoxLayout:
        """Refresh, Rename, Delete, Export and the count of runs."""
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Read the runs folder again")
        self.refresh_button.clicked.connect(self.refresh)
        self.rename_button = QPushButton("Rename")
        self.rename_button.setToolTip("Rename the current run (F2, or double-click its name)")
        self.rename_button.clicked.connect(self.rename_current)
        self.delete_button = QPushButton("Delete…")
        self.delete_button.setToolTip("Delete the selected runs (Delete)")
        self.delete_button.clicked.connect(self.delete_selected)
        self.export_button = QPushButton("Export table…")
        self.export_button.setToolTip("Save the table as CSV or Markdown")
        self.export_button.clicked.connect(self.export_dialog)
        self.ensemble_button = QPushButton("Ensemble…")
        self.ensemble_button.setObjectName("runsEnsembleButton")
        self.ensemble_button.clicked.connect(lambda: self.ensembleRequested.emit(self.selected_models()))
        self.count_label = QLabel()
        self.count_label.setObjectName("runsCount")
        row = QHBoxLayout()
        for b in (self.refresh_button, self.rename_button, self.delete_button, self.export_button):
            row.addWidget(b)
        row.addWidget(self.count_label, 1)
        row.addWidget(self.ensemble_button)
        return row

    def _build_table(self) -> QTableView:
        self.table = QTableView()
        self.table.setObjectName("runsTable")
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)  # fitted on refresh, then the person's
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # the store's order: newest first
        self.table.setSortingEnabled(True)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._on_selection())
        for text, keys, slot in (("Delete", QKeySequence.StandardKey.Delete, self.delete_selected),
                                 ("Rename", QKeySequence(Qt.Key.Key_F2), self.rename_current)):
            action = QAction(text, self.table)
            action.setShortcut(keys)
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.table.addAction(action)
        return self.table

    def _build_splitter(self) -> QSplitter:
        """The table (or the empty-state text) above; the curves beside the confusion matrices below."""
        self.empty_label = QLabel("No training runs yet. Each run you start here is kept and listed, "
                                  "to compare it with the others.")
        self.empty_label.setObjectName("runsEmpty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self._build_table())
        self.stack.addWidget(self.empty_label)
        self.curves = RunCurves()
        self.curves.setObjectName("runCurves")
        self.curves.setMinimumSize(320, 200)
        self.confusions = ConfusionGrid()
        self.confusions.setObjectName("runConfusions")
        self.confusions.setMinimumSize(200, 200)
        self.charts = QSplitter(Qt.Orientation.Horizontal)
        self.charts.setObjectName("runsChartsSplitter")
        self.charts.addWidget(self.curves)
        self.charts.addWidget(self.confusions)
        self.charts.setStretchFactor(0, 3)
        self.charts.setStretchFactor(1, 2)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("runsSplitter")
        self.splitter.addWidget(self.stack)
        self.splitter.addWidget(self.charts)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([200, 400])  # a few rows; most of the height for the charts
        return self.splitter

    # The list -------------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the store again, keeping the selection (broken files are rows too)."""
        keep = self.selected_ids()
        try:
            entries = self.store.list()
            new_rows = rows(entries)
        except Exception as exc:  # listing never raises by design; a bug here must not break the tab
            log.exception("could not list the runs in %s", self.store.root)
            self.banner.show_error(f"Could not list the runs in {self.store.root}: {exc}")
            return
        self.entries = {e.id: e for e in entries}
        self.model.set_rows(new_rows)
        self.stack.setCurrentWidget(self.table if new_rows else self.empty_label)
        self.charts.setVisible(bool(new_rows))
        self._fit_columns()
        self.select(keep)

    def _fit_columns(self) -> None:
        """Each column as wide as its cells or its header's text (not the header's size hint, which
        keeps room for a sort arrow beside the text); the name takes what is left, up to
        MAX_NAME_WIDTH unless more is free (its tooltip has it all)."""
        metrics = self.table.horizontalHeader().fontMetrics()
        widths = []
        for c, key in enumerate(COLUMNS):
            text = max(metrics.horizontalAdvance(line) for line in HEADERS[key].split("\n")) + HEADER_PAD
            widths.append(max(text, self.table.sizeHintForColumn(c)))
        widths[NAME] += self.table.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize) + 10  # the colour swatch
        free = self.table.viewport().width() - sum(widths) + widths[NAME]
        widths[NAME] = max(min(widths[NAME], MAX_NAME_WIDTH), min(widths[NAME], free), 80)
        for c, width in enumerate(widths):
            self.table.setColumnWidth(c, width)

    def row_ids(self) -> list[str]:
        """The run ids in the order the table shows them."""
        return [self.model.rows[self.proxy.mapToSource(self.proxy.index(r, 0)).row()]["id"]
                for r in range(self.proxy.rowCount())]

    def selected_ids(self) -> list[str]:
        """The selected runs, in table order."""
        rows_ = sorted(i.row() for i in self.table.selectionModel().selectedRows())
        return [self.model.rows[self.proxy.mapToSource(self.proxy.index(r, 0)).row()]["id"] for r in rows_]

    def select(self, run_ids: list[str]) -> None:
        """Select these runs (those still listed)."""
        wanted = set(run_ids)
        selection = QItemSelection()
        for r, run_id in enumerate(self.row_ids()):
            if run_id in wanted:
                selection.select(self.proxy.index(r, 0), self.proxy.index(r, len(COLUMNS) - 1))
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        model = self.table.selectionModel()
        if not selection.isEmpty():  # the current row (F2 renames it) is the first selected
            model.setCurrentIndex(selection.indexes()[0].siblingAtColumn(NAME), QItemSelectionModel.SelectionFlag.NoUpdate)
        model.select(selection, flags)
        self._on_selection()

    def selected_models(self) -> list[tuple[str, Path]]:
        """(name, path) of the selected runs whose saved ``.keras`` model is still there."""
        found = []
        for run_id in self.selected_ids():
            entry = self.entries.get(run_id)
            model = entry.record.get("model") if entry is not None and entry.record else None
            if model and str(model).lower().endswith(".keras") and Path(model).is_file():
                found.append((entry.name or run_id, Path(model)))
        return found

    def _proxy_index(self, run_id: str, column: int = NAME) -> QModelIndex:
        ids = self.row_ids()
        return self.proxy.index(ids.index(run_id), column) if run_id in ids else QModelIndex()

    def _on_selection(self) -> None:
        """Overlay the selected runs' curves and show their confusion matrices."""
        runs = [self.entries[i] for i in self.selected_ids() if i in self.entries and not self.entries[i].broken]
        shown = runs[:MAX_COMPARED]
        by_id = {e.id: run_color(k) for k, e in enumerate(shown)}
        self.model.set_colors(by_id)
        self.curves.show_runs([(e.name or e.id, by_id[e.id], curves(e.record)) for e in shown])
        self.confusions.show_matrices([(e.name or e.id, by_id[e.id], confusion(e.record),
                                        e.summary().get("test accuracy")) for e in shown])
        if len(runs) > MAX_COMPARED:
            self.status.emit(f"Comparing the first {MAX_COMPARED} of the {len(runs)} selected runs")
        self._update_count()
        self._update_buttons()

    def _update_count(self) -> None:
        """"3 runs, 2 selected" (and how many files cannot be read)."""
        n, broken = len(self.model.rows), sum(1 for r in self.model.rows if r["broken"])
        selected = len(self.table.selectionModel().selectedRows())
        text = f"{n} run{'s' if n != 1 else ''}" + (f", {broken} unreadable (see its status)" if broken else "")
        if selected:
            text += f", {selected} selected"
        elif n > 1:
            text += " — select several to compare them"
        self.count_label.setText(text)

    def _update_buttons(self) -> None:
        selected = self.selected_ids() if hasattr(self, "table") else []
        self.delete_button.setEnabled(bool(selected))
        self.rename_button.setEnabled(len(selected) == 1 and not self.entries[selected[0]].broken)
        self.export_button.setEnabled(any(not e.broken for e in self.entries.values()))
        with_models = len(self.selected_models()) if selected else 0
        self.ensemble_button.setEnabled(with_models >= MIN_MEMBERS)
        self.ensemble_button.setToolTip(
            "Average the probabilities of the selected runs' saved models in one new model" if with_models >= MIN_MEMBERS
            else f"Select two or more runs whose model was saved ({with_models} of the selected have one)")

    # Rename, delete, export --------------------------------------------------------------------------

    def rename_current(self) -> None:
        """Edit the name of the current (or only selected) run in place."""
        selected = self.selected_ids()
        current = self.table.currentIndex()
        run_id = (self.model.rows[self.proxy.mapToSource(current).row()]["id"] if current.isValid()
                  else selected[0] if selected else None)
        if run_id is not None:
            index = self._proxy_index(run_id)
            if self.proxy.flags(index) & Qt.ItemFlag.ItemIsEditable:
                self.table.setCurrentIndex(index)
                self.table.edit(index)

    def rename(self, run_id: str, name: str) -> bool:
        """Rename ``run_id`` in the store; False (and says why) when it cannot be."""
        try:
            self.store.rename(run_id, name)
        except RunError as exc:
            self.banner.show_error(f"Could not rename the run: {exc}")
            return False
        self.banner.clear_message()
        if run_id in self.entries:
            self.entries[run_id] = self.store.entry(run_id)
            self._on_selection()  # the charts' titles and legend
        self.status.emit(f"Renamed the run to “{name.strip()}”")
        return True

    def delete_selected(self) -> None:
        """Delete the selected runs' files after asking."""
        ids = self.selected_ids()
        if not ids:
            return
        names = [self.entries[i].name or self.entries[i].path.name for i in ids if i in self.entries]
        what = f"the run “{names[0]}”" if len(ids) == 1 else f"these {len(ids)} runs"
        answer = QMessageBox.question(self, "Delete runs", f"Delete {what}? Their records are removed from "
                                      f"{self.store.root}; saved models are kept.",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            deleted = self.store.delete(ids)
            self.banner.clear_message()
        except RunError as exc:
            self.banner.show_error(f"Could not delete every run: {exc}")
            deleted = []
        self.refresh()
        if deleted:
            self.status.emit(f"Deleted {len(deleted)} run{'s' if len(deleted) != 1 else ''}")

    def export_dialog(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(self, "Export the runs table", "runs.csv",
                                                   "CSV (*.csv);;Markdown (*.md)")
        if path:
            self.export(path, "md" if chosen.startswith("Markdown") else "csv")

    def export(self, path: str | os.PathLike, fmt: str | None = None) -> bool:
        """Write the readable runs, in the table's order, as CSV or Markdown (``fmt``, else by suffix)."""
        path = Path(path)
        fmt = fmt or ("md" if path.suffix.lower() in (".md", ".markdown") else "csv")
        if not path.suffix:
            path = path.with_suffix(f".{fmt}")
        by_id = {r["id"]: r for r in self.model.rows if not r["broken"]}
        table = [by_id[i] for i in self.row_ids() if i in by_id]
        try:
            path.write_text(to_markdown(table) if fmt == "md" else to_csv(table), encoding="utf-8")
        except OSError as exc:
            self.banner.show_error(f"Could not write {path}: {exc.strerror or exc}")
            return False
        self.banner.clear_message()
        self.status.emit(f"Exported {len(table)} runs to {path.name}")
        return True

    # State -----------------------------------------------------------------------------------------

    def save_state(self, settings) -> None:
        header = self.table.horizontalHeader()
        settings.set("sortColumn", header.sortIndicatorSection())
        settings.set("sortDescending", header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder)
        settings.set("splitter", self.splitter.saveState())
        settings.set("chartsSplitter", self.charts.saveState())

    def restore_state(self, settings) -> None:
        from PySide6.QtCore import QByteArray

        column = settings.get("sortColumn", -1)
        if 0 <= column < len(COLUMNS):
            order = Qt.SortOrder.DescendingOrder if settings.get("sortDescending", False) else Qt.SortOrder.AscendingOrder
            self.table.sortByColumn(column, order)
        for key, splitter in (("splitter", self.splitter), ("chartsSplitter", self.charts)):
            state = settings.get(key, QByteArray())
            if state:
                splitter.restoreState(state)
