# Needs Qt (no window): the Train form's "Reproduce: ..." presets, filled from core.presets.
from __future__ import annotations

from dataclasses import replace

from digitdesk.core.presets import PRESETS
from digitdesk.core.training import TrainConfig
from digitdesk.gui.settings import Settings
from digitdesk.gui.widgets.train_form import TrainForm


def test_every_notebook_preset_is_offered_with_its_recipe_as_tip(qtbot):
    form = TrainForm()
    qtbot.addWidget(form)
    items = [form.preset_combo.itemText(i) for i in range(form.preset_combo.count())]
    assert items == ["Quick", "Standard", "Best", *(p.title for p in PRESETS.values()), "Custom"]
    i = items.index("Reproduce: deep CNN")
    assert form.preset_combo.itemData(i, 3) == PRESETS["deep_cnn"].describe()  # 3: Qt.ToolTipRole


def test_a_notebook_preset_gives_its_whole_config(qtbot):
    form = TrainForm()
    qtbot.addWidget(form)
    for preset in PRESETS.values():
        form.apply_preset(preset.title)
        assert form.preset_combo.currentText() == preset.title
        assert form.config() == preset.train_config()  # the fields and what they do not show
        assert form.source() == preset.source
    form.apply_preset("Reproduce: MLP")
    assert form.source() == "csv" and form.path_row.isVisibleTo(form)
    form.source_combo.setCurrentIndex(form.source_combo.findData("mnist-folder"))
    form.apply_preset("Reproduce: LeNet-5")
    assert form.source() == "mnist-folder"  # MNIST from a folder is MNIST: kept


def test_an_edit_keeps_the_recipe_and_our_presets_drop_it(qtbot):
    form = TrainForm()
    qtbot.addWidget(form)
    form.apply_preset("Reproduce: deep CNN")
    form.epochs_spin.setValue(2)
    assert form.preset_combo.currentText() == "Custom"
    assert form.config() == PRESETS["deep_cnn"].train_config(epochs=2)
    form.apply_preset("Standard")
    c = form.config()
    assert c.augment_params == TrainConfig().augment_params and c.plateau_patience == TrainConfig().plateau_patience


def test_a_restored_notebook_preset_keeps_its_recipe(qtbot, tmp_path):
    form = TrainForm()
    qtbot.addWidget(form)
    form.apply_preset("Reproduce: deep CNN")
    settings = Settings()
    form.save_state(settings)
    again = TrainForm()
    qtbot.addWidget(again)
    again.restore_state(settings)
    assert again.preset_combo.currentText() == "Reproduce: deep CNN"
    assert again.config() == replace(PRESETS["deep_cnn"].train_config())
