"""The Train tab's settings: data source, architecture (or fine-tuning), epochs, batch size,
learning rate and schedule, augmentation, early stopping, validation split, and presets (ours,
and the classic notebooks' "Reproduce: ..." recipes from :mod:`digitdesk.core.presets`)."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout,
                               QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from digitdesk.core.finetune import FineTuneConfig
from digitdesk.core import presets as notebooks
from digitdesk.core.models import DESCRIPTIONS, RENAMED, ZOO
from digitdesk.core.training import SCHEDULES, TrainConfig
from digitdesk.gui.widgets.corrections import SampleCollector, SampleCounts
from digitdesk.gui.settings import Settings
from digitdesk.core.trainrequest import NEEDS_PATH, SOURCES, TrainRequest

PATH_HINTS = {"csv": "train.csv (Kaggle)", "folder": "a folder with 0/ … 9/",
              "mnist-folder": "a folder with the four MNIST files or mnist.npz"}

MNIST_SOURCES = {"mnist": ("mnist", "mnist-folder")}  # a notebook's source: the form's sources that are it
FINE_TUNE = "fine-tune the active model"
PRESETS = {  # name: TrainConfig fields
    "Quick": dict(arch="tiny", epochs=2, batch_size=128, learning_rate=2e-3, schedule="cosine", augment=False,
                  early_stopping=0, validation_split=0.1),
    "Standard": dict(arch="digitnet", epochs=10, batch_size=128, learning_rate=1e-3, schedule="cosine", augment=True,
                     early_stopping=0, validation_split=0.1),
    "Best": dict(arch="digitnet", epochs=30, batch_size=128, learning_rate=1e-3, schedule="cosine", augment=True,
                 early_stopping=0, validation_split=0.1),
}
PRESET_TIPS = {  # measured through the core on a 2-core CPU (the Quick run: 6.5-6.9 s, 95.53%, twice)
    "Quick": "A tiny network, 2 epochs, no augmentation: about 7 s of training on a 2-core CPU; "
             "95.5% on the MNIST test set",
    "Standard": "digitnet, 10 epochs with augmentation: 1-2 min an epoch on a 2-core CPU (10-20 min); "
                "the same run cut to 2 epochs reached 99.1% on the MNIST test set",
    "Best": "digitnet, 30 epochs with augmentation: 35 min to an hour on a 2-core CPU; the bundled model, "
            "trained much the same way (learning rate 0.002), reached 99.65%",
}
SCHEDULE_NAMES = {"constant": "constant", "cosine": "cosine decay", "exponential": "exponential decay",
                  "plateau": "halve on plateau"}
DEFAULT_PRESET = "Quick"


def _spin(name: str, low: int, high: int, value: int, special: str = "", suffix: str = "") -> QSpinBox:
    s = QSpinBox()
    s.setObjectName(name)
    s.setRange(low, high)
    s.setValue(value)
    s.setSuffix(suffix)
    if special:
        s.setSpecialValueText(special)
    return s


class TrainForm(QWidget):
    """Every setting of a run; :meth:`request` turns them into a :class:`TrainRequest`."""

    changed = Signal()  # a setting changed

    def __init__(self, collector: SampleCollector | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self._applying = False
        self._base = TrainConfig()  # what the fields do not show (a notebook's augmentation, its plateau)
        self._paths: dict[str, str] = {}  # the file or folder chosen for each source of NEEDS_PATH
        self._path_source = ""  # the source whose path the path field shows
        data_box, model_box, train_box = self._build_data(collector), self._build_model(), self._build_training()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for box in (model_box, data_box, train_box):
            layout.addWidget(box)
        layout.addStretch(1)
        self.apply_preset(DEFAULT_PRESET)
        self._path_source = self.source()
        self._connect()
        self._update_enabled()

    def _build_model(self) -> QGroupBox:
        """Preset and architecture."""
        self.preset_combo = QComboBox()
        self.preset_combo.setObjectName("presetCombo")
        tips = {**PRESET_TIPS, **{p.title: p.describe() for p in notebooks.PRESETS.values()}}
        for name in [*PRESETS, *(p.title for p in notebooks.PRESETS.values())]:
            self.preset_combo.addItem(name)
            self.preset_combo.setItemData(self.preset_combo.count() - 1, tips[name], Qt.ItemDataRole.ToolTipRole)
        self.preset_combo.addItem("Custom")
        self.preset_combo.activated.connect(lambda _i: self.apply_preset(self.preset_combo.currentText()))
        self.arch_combo = QComboBox()
        self.arch_combo.setObjectName("archCombo")
        for name in ZOO:
            self.arch_combo.addItem(name, name)
            self.arch_combo.setItemData(self.arch_combo.count() - 1, DESCRIPTIONS[name], Qt.ItemDataRole.ToolTipRole)
        self.arch_combo.addItem(FINE_TUNE, "fine-tune")
        self.arch_combo.setItemData(self.arch_combo.count() - 1,
                                    "Teach the active model your handwriting (your samples mixed with MNIST)", Qt.ItemDataRole.ToolTipRole)
        self.arch_help = QLabel()
        self.arch_help.setObjectName("archHelp")
        self.arch_help.setWordWrap(True)
        model_box = QGroupBox("Model")
        form = QFormLayout(model_box)
        form.addRow("Preset", self.preset_combo)
        form.addRow("Architecture", self.arch_combo)
        form.addRow(self.arch_help)
        return model_box

    def _build_data(self, collector: SampleCollector | None) -> QGroupBox:
        """The data source (with a path for files and folders), your samples, subset sizes."""
        self.source_combo = QComboBox()
        self.source_combo.setObjectName("sourceCombo")
        for key, text in SOURCES.items():
            self.source_combo.addItem(text, key)
        self.path_edit = QLineEdit()
        self.path_edit.setObjectName("dataPathEdit")
        self.browse_button = QPushButton("Browse…")
        self.browse_button.setObjectName("dataBrowseButton")
        self.browse_button.clicked.connect(self.browse)
        self.path_row = QWidget()
        row = QHBoxLayout(self.path_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.path_edit, 1)
        row.addWidget(self.browse_button)
        self.counts = SampleCounts(collector)
        self.max_train_spin = _spin("maxTrainSpin", 0, 10_000_000, 0, "all")
        self.max_train_spin.setSingleStep(1000)
        self.max_train_spin.setToolTip("Train on a random subset of this many images (all: every image)")
        self.max_test_spin = _spin("maxTestSpin", 0, 10_000_000, 0, "all")
        self.max_test_spin.setSingleStep(1000)
        self.max_test_spin.setToolTip("Evaluate on a random subset of this many test images (all: every image)")
        data_box = QGroupBox("Data")
        form = QFormLayout(data_box)
        form.addRow("Source", self.source_combo)
        form.addRow(self.path_row)
        form.addRow("My samples", self.counts)
        form.addRow("Training images", self.max_train_spin)
        form.addRow("Test images", self.max_test_spin)
        return data_box

    def _build_training(self) -> QGroupBox:
        """Epochs, batch size, learning rate and schedule, augmentation, early stopping, validation."""
        self.epochs_spin = _spin("epochsSpin", 1, 500, 2)
        self.batch_spin = _spin("batchSizeSpin", 8, 2048, 128)
        self.batch_spin.setSingleStep(32)
        self.lr_spin = QDoubleSpinBox()
        self.lr_spin.setObjectName("learningRateSpin")
        self.lr_spin.setDecimals(5)
        self.lr_spin.setRange(1e-5, 0.1)
        self.lr_spin.setSingleStep(1e-4)
        self.schedule_combo = QComboBox()
        self.schedule_combo.setObjectName("scheduleCombo")
        for key in SCHEDULES:
            self.schedule_combo.addItem(SCHEDULE_NAMES.get(key, key), key)
        self.augment_check = QCheckBox("Augmentation (rotate, scale, shift, thicken)")
        self.augment_check.setObjectName("augmentCheck")
        self.early_spin = _spin("earlyStoppingSpin", 0, 50, 0, "off", " epochs")
        self.early_spin.setToolTip("Stop when the validation loss has not improved for this many epochs")
        self.val_spin = _spin("validationSpin", 0, 50, 10, "none", " %")
        train_box = QGroupBox("Training")
        form = QFormLayout(train_box)
        form.addRow("Epochs", self.epochs_spin)
        form.addRow("Batch size", self.batch_spin)
        form.addRow("Learning rate", self.lr_spin)
        form.addRow("Schedule", self.schedule_combo)
        form.addRow(self.augment_check)
        form.addRow("Early stopping", self.early_spin)
        form.addRow("Validation", self.val_spin)
        return train_box

    def _connect(self) -> None:
        """Follow the person's edits (after the preset filled the form)."""
        self.source_combo.currentIndexChanged.connect(self._source_changed)
        self.source_combo.currentIndexChanged.connect(self._update_enabled)
        self.arch_combo.currentIndexChanged.connect(self._arch_changed)
        for w in (self.epochs_spin, self.batch_spin, self.lr_spin, self.early_spin, self.val_spin):
            w.valueChanged.connect(self._edited)
        for w in (self.schedule_combo, self.source_combo):
            w.currentIndexChanged.connect(self._edited)
        self.augment_check.toggled.connect(self._edited)

    # Values ------------------------------------------------------------------------------

    def fine_tuning(self) -> bool:
        return self.arch_combo.currentData() == "fine-tune"

    def source(self) -> str:
        return self.source_combo.currentData()

    def config(self) -> TrainConfig:
        """The TrainConfig of the current settings (on the last preset's, for what the form does not show)."""
        return replace(self._base, arch=self.arch_combo.currentData() if not self.fine_tuning() else "fine-tuned",
                       epochs=self.epochs_spin.value(), batch_size=self.batch_spin.value(),
                       learning_rate=self.lr_spin.value(), schedule=self.schedule_combo.currentData(),
                       augment=self.augment_check.isChecked(), early_stopping=self.early_spin.value(),
                       validation_split=self.val_spin.value() / 100)

    def request(self, samples_root: str | None = None) -> TrainRequest:
        """What Start runs."""
        config = self.config()
        fine = None
        if self.fine_tuning():
            fine = replace(FineTuneConfig(), epochs=config.epochs, batch_size=config.batch_size,
                           learning_rate=config.learning_rate, schedule=config.schedule, augment=config.augment)
        return TrainRequest(config=config, source=self.source(), path=self.path_edit.text().strip() or None,
                            fine_tune=fine, max_train=self.max_train_spin.value(),
                            max_test=self.max_test_spin.value(), samples_root=samples_root)

    def apply_preset(self, name: str) -> None:
        """Set the fields of preset ``name`` ("Custom" leaves them); a notebook's recipe also sets
        its data source if it needs one (a Kaggle CSV) and what the fields do not show."""
        values = PRESETS.get(name)
        notebook = notebooks.by_title(name)
        if notebook is not None:
            self._base = notebook.train_config()
            values = {f: getattr(self._base, f) for f in ("arch", "epochs", "batch_size", "learning_rate", "schedule",
                                                          "augment", "early_stopping", "validation_split")}
        elif values is not None:
            self._base = TrainConfig()
        self._applying = True
        if notebook is not None and self.source() not in MNIST_SOURCES.get(notebook.source, (notebook.source,)):
            self.source_combo.setCurrentIndex(self.source_combo.findData(notebook.source))
        if values is not None:
            self.arch_combo.setCurrentIndex(self.arch_combo.findData(values["arch"]))
            self._set_fields(values)
        self.preset_combo.setCurrentText(name)
        self._applying = False
        self._update_enabled()

    def _set_fields(self, v: dict) -> None:
        self.epochs_spin.setValue(v["epochs"])
        self.batch_spin.setValue(v["batch_size"])
        self.lr_spin.setValue(v["learning_rate"])
        self.schedule_combo.setCurrentIndex(self.schedule_combo.findData(v["schedule"]))
        self.augment_check.setChecked(v["augment"])
        if "early_stopping" in v:
            self.early_spin.setValue(v["early_stopping"])
            self.val_spin.setValue(round(v["validation_split"] * 100))

    def _edited(self) -> None:
        if not self._applying:
            self.preset_combo.setCurrentText("Custom")
        self.changed.emit()

    def _arch_changed(self) -> None:
        if self.fine_tuning() and not self._applying:
            f = FineTuneConfig()  # the measured fine-tuning defaults
            self._applying = True
            self._set_fields(dict(epochs=f.epochs, batch_size=f.batch_size, learning_rate=f.learning_rate,
                                  schedule=f.schedule, augment=f.augment))
            self._applying = False
        self._edited()
        self._update_enabled()

    def _source_changed(self) -> None:
        """Show the path chosen for the new source (each source keeps its own)."""
        self._paths[self._path_source] = self.path_edit.text()
        self._path_source = self.source()
        self.path_edit.setText(self._paths.get(self._path_source, ""))

    def _update_enabled(self) -> None:
        fine = self.fine_tuning()
        self.source_combo.setEnabled(not fine)
        self.path_row.setVisible(self.source() in NEEDS_PATH and not fine)
        self.path_edit.setPlaceholderText(PATH_HINTS.get(self.source(), ""))
        self.early_spin.setEnabled(not fine)
        self.val_spin.setEnabled(not fine)
        if fine:
            self.arch_help.setText("Fine-tunes a copy of the active model on your samples mixed with MNIST "
                                   "(so it does not forget); validation on held-out MNIST.")
        else:
            self.arch_help.setText(DESCRIPTIONS.get(self.arch_combo.currentData(), ""))

    def browse(self) -> None:
        """Choose the file or folder the source needs (a folder chooser for MNIST and image folders)."""
        start = self.path_edit.text().strip()
        if self.source() == "csv":
            path, _ = QFileDialog.getOpenFileName(self, "Kaggle CSV", start, "CSV files (*.csv *.csv.gz);;All files (*)")
        elif self.source() == "mnist-folder":
            path = QFileDialog.getExistingDirectory(self, "Folder with the MNIST files (train-images-idx3-ubyte.gz … "
                                                    "or mnist.npz)", start)
        else:
            path = QFileDialog.getExistingDirectory(self, "Folder with sub-folders 0 … 9 of digit images", start)
        if path:
            self.path_edit.setText(path)

    # Settings -----------------------------------------------------------------------------

    def save_state(self, s: Settings) -> None:
        c = self.config()
        self._paths[self._path_source] = self.path_edit.text()
        for key in NEEDS_PATH:
            s.group("paths").set(key, self._paths.get(key, ""))
        for key, value in (("preset", self.preset_combo.currentText()), ("source", self.source()),
                           ("arch", self.arch_combo.currentData()),
                           ("epochs", c.epochs), ("batchSize", c.batch_size), ("learningRate", c.learning_rate),
                           ("schedule", c.schedule), ("augment", c.augment), ("earlyStopping", c.early_stopping),
                           ("validationPercent", self.val_spin.value())):
            s.set(key, value)

    def restore_state(self, s: Settings) -> None:
        preset = s.get("preset", "")
        if not preset:
            return  # first run: the default preset
        self._applying = True
        source = s.get("source", "mnist")
        old = s.get("path", "")  # before each source kept its own path
        self._paths = {key: s.group("paths").get(key, old if key == source else "") for key in NEEDS_PATH}
        self._path_source = ""  # so that showing the restored source does not overwrite its path
        self.source_combo.setCurrentIndex(max(0, self.source_combo.findData(source)))
        self._path_source = self.source()
        self.path_edit.setText(self._paths.get(self._path_source, ""))
        notebook = notebooks.by_title(preset)
        self._base = notebook.train_config() if notebook is not None else TrainConfig()
        arch = s.get("arch", "tiny")
        self.arch_combo.setCurrentIndex(max(0, self.arch_combo.findData(RENAMED.get(arch, arch))))
        self._set_fields(dict(epochs=s.get("epochs", 2), batch_size=s.get("batchSize", 128),
                              learning_rate=s.get("learningRate", 1e-3), schedule=s.get("schedule", "cosine"),
                              augment=s.get("augment", False), early_stopping=s.get("earlyStopping", 0),
                              validation_split=s.get("validationPercent", 10) / 100))
        self.preset_combo.setCurrentText(preset if self.preset_combo.findText(preset) >= 0 else "Custom")
        self._applying = False
        self._update_enabled()
