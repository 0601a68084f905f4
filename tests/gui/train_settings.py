"""Tiny Train tab settings shared by the Train tab tests and the fault tests."""

TRAIN_TIMEOUT = 120_000


def configure(tab, epochs: int = 1, max_train: int = 2000, max_test: int = 400, batch: int = 32,
              arch: str = "tiny", validation: int = 10) -> None:
    """Tiny settings through the form's widgets (the data: MNIST from DIGITDESK_DATA)."""
    tab.window().tabs.setCurrentWidget(tab)
    form = tab.form
    form.arch_combo.setCurrentIndex(form.arch_combo.findText(arch))
    form.epochs_spin.setValue(epochs)
    form.batch_spin.setValue(batch)
    form.max_train_spin.setValue(max_train)
    form.max_test_spin.setValue(max_test)
    form.val_spin.setValue(validation)
    form.augment_check.setChecked(False)
