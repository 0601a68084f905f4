"""Corrections ("this is a 4"): store a digit's 28x28 crop with the right label in the user's
samples (core ``SampleStore``), the menu that asks for the digit, and the per-digit counter."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPoint, Qt, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QGridLayout, QLabel, QMenu, QTreeWidget, QWidget

from digitdesk.core.errors import DigitdeskError
from digitdesk.core.samples import SampleStore
from digitdesk.gui.overrides import never_raises
from digitdesk.gui.widgets.theme import colors, css


class SampleCollector(QObject):
    """The user's handwriting samples, shared by the tabs that add or count them."""

    changed = Signal(object)  # samples per digit now: {digit: count}
    failed = Signal(str)  # why a sample could not be stored, for a person

    def __init__(self, store: SampleStore | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self._store = store
        self._counts: dict[int, int] | None = None

    @property
    def store(self) -> SampleStore:
        if self._store is None:
            self._store = SampleStore()  # the per-user folder (DIGITDESK_HOME for tests)
        return self._store

    def add(self, image28: np.ndarray, label: int) -> bool:
        """Store one corrected digit; False (and ``failed``) if it could not be written."""
        try:
            self.store.add(np.asarray(image28), int(label))
        except DigitdeskError as exc:
            self.failed.emit(f"Could not save the sample: {exc}")
            return False
        self.refresh()
        return True

    def keep(self, digits: list, index: int, label: int) -> str | None:
        """Keep digit ``index`` of ``digits`` (DigitResults of the reading shown: its 28x28 crop)
        as a sample of ``label``; the status line to show, or None if nothing was kept."""
        if not 0 <= index < len(digits) or not self.add(digits[index].input28, label):
            return None
        n = self.counts()[label]
        return f"Kept digit {index + 1} as a {label} for training ({n} sample{'s' if n != 1 else ''} of {label})"

    def counts(self) -> dict[int, int]:
        """Samples per digit (0..9 always present)."""
        if self._counts is None:
            self.refresh(emit=False)
        return dict(self._counts)

    def refresh(self, emit: bool = True) -> None:
        """Count the samples on disk again."""
        try:
            self._counts = self.store.counts()
        except DigitdeskError as exc:
            self._counts = {d: 0 for d in range(10)}
            self.failed.emit(str(exc))
        if emit:
            self.changed.emit(dict(self._counts))


def correction_menu(parent: QWidget, pick: Callable[[int], None], current: int | None = None) -> QMenu:
    """A menu "This is a 0" .. "This is a 9"; in the open menu the digit keys pick an entry."""
    menu = QMenu("This is a…", parent)
    menu.setObjectName("correctionMenu")
    menu.setToolTipsVisible(True)
    for digit in range(10):
        action = QAction(f"This is a &{digit}", menu)
        action.setObjectName(f"correctAs{digit}")
        action.setToolTip(f"Keep this 28×28 digit as a {digit} in your samples, for fine-tuning")
        if digit == current:
            action.setText(f"This is a &{digit} (as read)")
        action.triggered.connect(lambda _=False, d=digit: pick(d))
        menu.addAction(action)
    return menu


class ListCorrector(QObject):
    """Corrections on a list of digits (one row per digit): a right-click menu, and the digit
    keys on the selected row. Calls ``pick(row, label)``."""

    def __init__(self, view: QTreeWidget, pick: Callable[[int, int], bool],
                 read_as: Callable[[int], int | None]):
        super().__init__(view)
        self.view, self.pick, self.read_as = view, pick, read_as
        self.enabled = False
        self.menu: QMenu | None = None  # the menu last opened
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self.open_menu)
        view.installEventFilter(self)

    @never_raises(default=False)
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        """A digit key (no modifier but the keypad's) corrects the selected row."""
        if self.enabled and obj is self.view and event.type() == QEvent.Type.KeyPress:
            text, item = event.text(), self.view.currentItem()
            plain = not (event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier)
            if len(text) == 1 and text.isdigit() and item is not None and plain:
                self.pick(self.view.indexOfTopLevelItem(item), int(text))
                return True
        return False

    @Slot(QPoint)
    def open_menu(self, pos: QPoint) -> None:
        """The "This is a…" menu for the row under ``pos`` (viewport coordinates)."""
        item = self.view.itemAt(pos)
        if not self.enabled or item is None:
            return
        row = self.view.indexOfTopLevelItem(item)
        self.view.setCurrentItem(item)
        self.menu = correction_menu(self.view, lambda d: self.pick(row, d), self.read_as(row))
        self.menu.popup(self.view.viewport().mapToGlobal(pos))


class SampleCounts(QWidget):
    """How many samples of each digit are collected: a row of digits over a row of counts."""

    def __init__(self, collector: SampleCollector | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("sampleCounts")
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(7)
        grid.setVerticalSpacing(0)
        self.count_labels: list[QLabel] = []
        for d in range(10):
            head = QLabel(str(d))
            head.setAlignment(Qt.AlignmentFlag.AlignCenter)
            head.setStyleSheet(f"color: {css(colors(self.palette()).muted)};")
            count = QLabel("0")
            count.setObjectName(f"sampleCount{d}")
            count.setAlignment(Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(head, 0, d)
            grid.addWidget(count, 1, d)
            self.count_labels.append(count)
        self.total_label = QLabel()
        self.total_label.setObjectName("sampleTotal")
        grid.addWidget(self.total_label, 0, 10, 2, 1, Qt.AlignmentFlag.AlignVCenter)
        grid.setColumnStretch(10, 1)
        if collector is not None:
            collector.changed.connect(self.set_counts)
            self.set_counts(collector.counts())

    def set_counts(self, counts: dict[int, int]) -> None:
        total = sum(counts.values())
        for d, label in enumerate(self.count_labels):
            n = counts.get(d, 0)
            label.setText(str(n))
            label.setStyleSheet("font-weight: bold;" if n else f"color: {css(colors(self.palette()).muted)};")
        self.total_label.setText(f" {total} in all")
        self.setToolTip("Your handwriting samples per digit: correct digits on the Draw or Image tab to add more")

    def text(self) -> str:
        """``0:1 1:0 …`` (for tests and accessibility)."""
        return " ".join(f"{d}:{lab.text()}" for d, lab in enumerate(self.count_labels))
