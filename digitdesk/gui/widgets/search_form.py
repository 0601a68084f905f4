"""The Search page's settings: the architecture family, the algorithm, the search space and the
budget; :meth:`SearchForm.config` turns them into a core
:class:`~digitdesk.core.tunespace.SearchConfig` (checked there, with a person's message)."""

from __future__ import annotations

import re

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout,
                               QLabel, QLineEdit, QSpinBox, QWidget)

from digitdesk.core.errors import TrainingError
from digitdesk.core.models import DESCRIPTIONS
from digitdesk.core.training import SCHEDULES
from digitdesk.core.tunespace import ALGORITHMS, FAMILIES, Budget, SearchConfig, SearchSpace
from digitdesk.gui.settings import Settings

SCHEDULE_NAMES = {"constant": "constant", "cosine": "cosine", "exponential": "exponential", "plateau": "plateau"}


def _double(name: str, low: float, high: float, value: float, decimals: int = 2, step: float = 0.05) -> QDoubleSpinBox:
    s = QDoubleSpinBox()
    s.setObjectName(name)
    s.setDecimals(decimals)
    s.setRange(low, high)
    s.setSingleStep(step)
    s.setValue(value)
    return s


def _int(name: str, low: int, high: int, value: int, special: str = "", step: int = 1) -> QSpinBox:
    s = QSpinBox()
    s.setObjectName(name)
    s.setRange(low, high)
    s.setSingleStep(step)
    s.setValue(value)
    s.setGroupSeparatorShown(True)
    if special:
        s.setSpecialValueText(special)
    return s


def _numbers(text: str, kind, what: str) -> tuple:
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    try:
        return tuple(kind(p) for p in parts)
    except ValueError:
        raise TrainingError(f"bad search space: {what}: expected numbers separated by commas, not {text!r}") from None


def _pair(low: QDoubleSpinBox, high: QDoubleSpinBox) -> QHBoxLayout:
    row = QHBoxLayout()
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(low)
    row.addWidget(QLabel("to"))
    row.addWidget(high)
    return row


class SearchForm(QWidget):
    """Every setting of a search, in three columns: what to search, the space, the budget."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._build_what(), 1)
        layout.addWidget(self._build_space(), 2)
        layout.addWidget(self._build_budget(), 1)

    def _build_what(self) -> QGroupBox:
        self.family_combo = QComboBox()
        self.family_combo.setObjectName("searchFamily")
        for family in FAMILIES:
            self.family_combo.addItem(family, family)
            self.family_combo.setItemData(self.family_combo.count() - 1, DESCRIPTIONS[family], 3)  # tooltip role
        self.algorithm_combo = QComboBox()
        self.algorithm_combo.setObjectName("searchAlgorithm")
        for key, title in ALGORITHMS.items():
            self.algorithm_combo.addItem(title, key)
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("searchName")
        self.name_edit.setToolTip("The search is kept under this name in your data folder: the same name continues it")
        self.fresh_check = QCheckBox("Start over")
        self.fresh_check.setObjectName("searchFresh")
        self.fresh_check.setToolTip("Delete the trials this search has kept and begin again")
        self.family_combo.currentIndexChanged.connect(self._update_name)
        self.algorithm_combo.currentIndexChanged.connect(self._update_name)
        self._update_name()
        box = QGroupBox("Search")
        form = QFormLayout(box)
        form.addRow("Family", self.family_combo)
        form.addRow("Algorithm", self.algorithm_combo)
        form.addRow("Name", self.name_edit)
        form.addRow("", self.fresh_check)
        return box

    def _build_space(self) -> QGroupBox:
        self.lr_low = _double("searchLrLow", 1e-6, 1.0, 1e-4, decimals=5, step=1e-4)
        self.lr_high = _double("searchLrHigh", 1e-6, 1.0, 1e-2, decimals=5, step=1e-3)
        self.batch_edit = QLineEdit("32, 64, 128")
        self.batch_edit.setObjectName("searchBatchSizes")
        self.dropout_low = _double("searchDropoutLow", 0.0, 0.9, 0.0)
        self.dropout_high = _double("searchDropoutHigh", 0.0, 0.9, 0.5)
        self.width_edit = QLineEdit("0.5, 1, 2")
        self.width_edit.setObjectName("searchWidths")
        self.width_edit.setToolTip("Multipliers of the family's filter and unit counts")
        self.augment_low = _double("searchAugmentLow", 0.0, 2.0, 0.0)
        self.augment_high = _double("searchAugmentHigh", 0.0, 2.0, 1.0)
        self.augment_high.setToolTip("Augmentation strength: 0 is off, 1 the Train tab's usual ranges")
        self.schedule_checks = {}
        schedules = QHBoxLayout()
        schedules.setContentsMargins(0, 0, 0, 0)
        for s in SCHEDULES:
            check = QCheckBox(SCHEDULE_NAMES[s])
            check.setObjectName(f"searchSchedule_{s}")
            check.setChecked(s in SearchSpace().schedule)
            self.schedule_checks[s] = check
            schedules.addWidget(check)
        schedules.addStretch(1)
        box = QGroupBox("Search space")
        form = QFormLayout(box)
        form.addRow("Learning rate (log)", _pair(self.lr_low, self.lr_high))
        form.addRow("Batch sizes", self.batch_edit)
        form.addRow("Dropout", _pair(self.dropout_low, self.dropout_high))
        form.addRow("Widths ×", self.width_edit)
        form.addRow("Schedules", schedules)
        form.addRow("Augmentation", _pair(self.augment_low, self.augment_high))
        return box

    def _build_budget(self) -> QGroupBox:
        b = Budget()
        self.trials_spin = _int("searchTrials", 1, 1000, b.trials)
        self.epochs_spin = _int("searchEpochs", 1, 100, b.epochs)
        self.images_spin = _int("searchImages", 0, 60000, b.images, special="all", step=1000)
        self.final_spin = _int("searchFinalEpochs", 1, 200, 10)
        self.final_spin.setToolTip("The best configuration is then trained this long and tested")
        self.final_images_spin = _int("searchFinalImages", 0, 60000, 0, special="all", step=1000)
        self.final_images_spin.setToolTip("The training images of the best configuration's training")
        box = QGroupBox("Budget")
        form = QFormLayout(box)
        form.addRow("Trials", self.trials_spin)
        form.addRow("Epochs a trial", self.epochs_spin)
        form.addRow("Images", self.images_spin)
        form.addRow("Best: epochs", self.final_spin)
        form.addRow("Best: images", self.final_images_spin)
        return box

    def _update_name(self) -> None:
        self.name_edit.setPlaceholderText(f"{self.family_combo.currentData()}-{self.algorithm_combo.currentData()}")

    # The settings as a search -----------------------------------------------------------------

    def config(self) -> SearchConfig:
        """The search these settings describe; TrainingError (a person's message) when they are wrong."""
        space = SearchSpace(
            learning_rate=(self.lr_low.value(), self.lr_high.value()),
            batch_size=_numbers(self.batch_edit.text(), int, "batch sizes"),
            dropout=(self.dropout_low.value(), self.dropout_high.value()),
            width=_numbers(self.width_edit.text(), float, "widths"),
            schedule=tuple(s for s, c in self.schedule_checks.items() if c.isChecked()),
            augment=(self.augment_low.value(), self.augment_high.value()))
        budget = Budget(trials=self.trials_spin.value(), epochs=self.epochs_spin.value(), images=self.images_spin.value(),
                        final_epochs=self.final_spin.value(), final_images=self.final_images_spin.value())
        config = SearchConfig(family=self.family_combo.currentData(), algorithm=self.algorithm_combo.currentData(),
                              space=space, budget=budget, name=self.name_edit.text().strip())
        return config.validate()

    def fresh(self) -> bool:
        return self.fresh_check.isChecked()

    def save_state(self, s: Settings) -> None:
        s.set("family", self.family_combo.currentData())
        s.set("algorithm", self.algorithm_combo.currentData())
        s.set("trials", self.trials_spin.value())
        s.set("epochs", self.epochs_spin.value())
        s.set("images", self.images_spin.value())
        s.set("final_epochs", self.final_spin.value())
        s.set("final_images", self.final_images_spin.value())

    def restore_state(self, s: Settings) -> None:
        for combo, key in ((self.family_combo, "family"), (self.algorithm_combo, "algorithm")):
            i = combo.findData(s.get(key, str(combo.currentData())))
            if i >= 0:
                combo.setCurrentIndex(i)
        for spin, key in ((self.trials_spin, "trials"), (self.epochs_spin, "epochs"), (self.images_spin, "images"),
                          (self.final_spin, "final_epochs"), (self.final_images_spin, "final_images")):
            spin.setValue(s.get(key, spin.value()))
