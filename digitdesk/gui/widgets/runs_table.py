"""The Runs view's table model: one row per kept run (:func:`runcompare.rows`), cells as
:func:`runcompare.cell_text` reads them, sorted by :func:`runcompare.sort_key` (numbers as
numbers), the name editable, each compared run's chart colour as a swatch beside its name."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QPixmap
from PySide6.QtWidgets import QApplication

from digitdesk.core.runcompare import COLUMNS, NUMERIC, cell_text, sort_key
from digitdesk.gui.widgets.theme import colors

HEADERS = {"name": "Name", "architecture": "Architecture", "parameters": "Params", "epochs": "Epochs",
           "augmentation": "Aug.", "test accuracy": "Test\naccuracy", "loss": "Test\nloss",
           "macro precision": "Macro\nP", "macro recall": "Macro\nR", "macro F1": "Macro\nF1", "time": "Time",
           "status": "Status"}  # short, in two lines: twelve columns fit beside the Train tab's form
HEADER_TIPS = {"parameters": "Parameters (weights) of the model",
               "augmentation": "Data augmentation (rotate, scale, shift, thicken) on or off",
               "test accuracy": "Accuracy on the test images", "loss": "Cross-entropy loss on the test images",
               "macro precision": "Precision averaged over the ten digits (test images)",
               "macro recall": "Recall averaged over the ten digits (test images)",
               "macro F1": "F1 averaged over the ten digits (test images)", "time": "Wall time of the run (m:ss)"}
NAME = COLUMNS.index("name")


class RunsModel(QAbstractTableModel):
    """The rows of :func:`runcompare.rows`; the name is editable (the view renames the run)."""

    def __init__(self, rename: Callable[[str, str], bool], parent: QObject | None = None):
        super().__init__(parent)
        self.rows: list[dict] = []
        self.colors: dict[str, str] = {}  # run id -> its colour in the charts
        self._rename = rename  # (run id, new name) -> True when renamed

    def set_rows(self, new_rows: list[dict]) -> None:
        self.beginResetModel()
        self.rows = new_rows
        self.endResetModel()

    def set_colors(self, by_id: dict[str, str]) -> None:
        self.colors = by_id
        if self.rows:
            self.dataChanged.emit(self.index(0, NAME), self.index(len(self.rows) - 1, NAME))

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        """Text, edit text, tooltips, alignment, the status colour and the chart colour swatch."""
        row, key = self.rows[index.row()], COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(key, row.get(key))
        if role == Qt.ItemDataRole.EditRole:
            return str(row.get(key) or "")
        if role == Qt.ItemDataRole.ToolTipRole:
            if key == "status":
                return row.get("note") or None
            if key == "name":
                lines = [row["name"], f"run {row['id']}" + (f", started {row['date']}" if row.get("date") else "")]
                lines += [f"{label}: {row[k]}" for label, k in (("data", "data"), ("model", "model"), ("cannot be read", "broken"))
                          if row.get(k)]
                return "\n".join(lines)
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and key in NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and key == "status" and row["status"] in ("broken", "failed"):
            return QBrush(colors(QApplication.palette()).error)
        if role == Qt.ItemDataRole.DecorationRole and key == "name" and row["id"] in self.colors:
            return _swatch(self.colors[row["id"]])
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal:
            return None
        key = COLUMNS[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[key]
        if role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS.get(key)
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        flags = super().flags(index)
        if index.column() == NAME and not self.rows[index.row()].get("broken"):
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def setData(self, index: QModelIndex, value, role: int = Qt.ItemDataRole.EditRole) -> bool:
        """A new name typed in the table: rename the run (the view says why when it cannot)."""
        if role != Qt.ItemDataRole.EditRole or index.column() != NAME:
            return False
        row, name = self.rows[index.row()], str(value).strip()
        if name == row["name"] or not self._rename(row["id"], name):
            return False
        row["name"] = name
        self.dataChanged.emit(index, index)
        return True


def _swatch(color: str) -> QIcon:
    """A square of the run's chart colour, the same when its row is selected (a plain QColor
    decoration is tinted with the selection colour there)."""
    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor(color))
    icon = QIcon()
    for mode in (QIcon.Mode.Normal, QIcon.Mode.Selected):
        icon.addPixmap(pixmap, mode)
    return icon


class RunsSortProxy(QSortFilterProxyModel):
    """Sorts by :func:`runcompare.sort_key`: numbers as numbers, unknown values last."""

    def lessThan(self, left: QModelIndex, right: QModelIndex) -> bool:
        key, source = COLUMNS[left.column()], self.sourceModel().rows
        return sort_key(key, source[left.row()].get(key)) < sort_key(key, source[right.row()].get(key))
