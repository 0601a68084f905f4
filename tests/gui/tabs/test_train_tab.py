# Needs Qt (offscreen) and TensorFlow: real tiny training runs on the Train tab's worker thread.
from __future__ import annotations

import re

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QProgressBar, QPushButton, QSpinBox

from conftest import draw_strokes
from train_settings import TRAIN_TIMEOUT, configure  # tests/gui is on sys.path (its conftest.py)

from digitdesk.core.strokes import number_strokes


def click(qtbot, button) -> None:
    assert button.isEnabled(), button.objectName()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_train_tab_contract(window):
    from digitdesk.core.models import ZOO

    tabs = window.tabs
    assert [tabs.tabText(i) for i in range(3, 6)] == ["Train", "Models", "Data"]
    tabs.setCurrentIndex(3)  # built when first shown (Ctrl+4, a click)
    assert tabs.widget(3) is window.train_tab
    start = window.findChild(QPushButton, "trainStartButton")
    stop = window.findChild(QPushButton, "trainStopButton")
    assert start.isEnabled() and not stop.isEnabled()
    assert isinstance(window.findChild(QSpinBox, "epochsSpin"), QSpinBox)
    combo = window.findChild(QComboBox, "archCombo")
    names = [combo.itemText(i) for i in range(combo.count())]
    assert set(ZOO) <= set(names) and any("fine-tune" in n for n in names)
    bar = window.findChild(QProgressBar, "trainProgress")
    assert bar.value() == 0 and bar.maximum() > 100


def test_training_shows_curves_progress_and_results(window, qtbot):
    tab = window.train_tab
    window.tabs.setCurrentWidget(tab)
    configure(tab, epochs=2, max_train=2000, max_test=400, batch=16)
    mid_epoch = []  # progress bar values set while epoch 1 runs

    def seen(value):
        p = tab.history.last
        if p is not None and p.kind == "batch" and p.epoch == 1 and p.batch < p.batches:
            mid_epoch.append(value)

    tab.progress.valueChanged.connect(seen)
    ticks = []  # the plot's redraw timer firing
    tab.plot.timer.timeout.connect(lambda: ticks.append(1))
    click(qtbot, window.findChild(QPushButton, "trainStartButton"))
    assert tab.running and window.findChild(QPushButton, "trainStopButton").isEnabled()
    qtbot.waitUntil(lambda: tab.evaluation is not None, timeout=TRAIN_TIMEOUT)
    assert not tab.running

    batches = -(-1800 // 16)  # 10% of 2,000 held out for validation
    assert len(tab.history.x) == 2 * batches
    assert tab.plot.point_count() == 2 * batches  # the plot got every batch...
    updates = tab.plot.redraws + tab.plot.blits
    # ...but redrew on its timer, not per batch: at most one update per tick, plus the empty axes
    # drawn at the start, the first refresh and the last one at the end
    assert 1 <= updates <= len(ticks) + 3
    assert tab.plot.redraws <= 8  # mostly blitting the curves; whole figure only when a range changes
    assert len(tab.plot.val_loss_line.get_xdata()) == 2  # validation once per epoch
    assert np.isfinite(tab.plot.acc_line.get_ydata()).all()
    assert len(mid_epoch) >= 2 and mid_epoch[-1] > mid_epoch[0] > 0, mid_epoch  # advances within an epoch
    assert mid_epoch[-1] < tab.progress.maximum() // 2
    assert tab.progress.value() == tab.progress.maximum()
    log = tab.log.toPlainText()
    assert "Epoch 1/2" in log and "Epoch 2/2" in log and "Test accuracy" in log

    ev = tab.evaluation
    assert ev.report.confusion.sum() == 400
    assert ev.active_accuracy is not None and ev.active_accuracy > 0.95  # the bundled model, same images
    assert ev.report.accuracy > 0.5
    results = tab.results
    assert tab.views.currentIndex() == 1
    assert "Test accuracy" in results.summary_label.text() and window.model.recognizer.name in results.summary_label.text()
    assert results.table.item(3, 2).text() == f"{ev.report.f1[3]:.3f}"
    wrong = int((ev.report.confusion.sum() - np.trace(ev.report.confusion)))
    assert results.gallery.count() == min(wrong, 96)
    qtbot.waitUntil(lambda: results.confusion.matrix is not None, timeout=5000)  # set on its own event-loop turn
    assert results.confusion.matrix is not None and results.confusion.matrix.sum() == 400
    results.gallery.show_enlarged(0)
    assert results.gallery.zoom.isVisible() and "read as" in results.gallery.zoom.caption.text()
    results.gallery.zoom.close()


def test_stop_ends_within_one_batch_and_keeps_best_weights(window, qtbot):
    tab = window.train_tab
    configure(tab, epochs=30, max_train=2000, max_test=300)
    tab.start()
    qtbot.waitUntil(lambda: len(tab.history.epochs) >= 2, timeout=TRAIN_TIMEOUT)
    click(qtbot, tab.stop_button)
    qtbot.waitUntil(lambda: tab.stop_bar.isVisible(), timeout=30_000)
    assert tab.outcome.batches_after_stop <= 1  # the batch running when Stop was pressed, at most
    assert "after Stop was pressed" in tab.log.toPlainText()
    result = tab.outcome.result
    assert result.cancelled and 2 <= result.epochs_run < 30
    best = int(np.argmin(result.history["val_loss"])) + 1
    assert result.best_epoch == best
    assert f"epoch {best} of the {result.epochs_run}" in tab.stop_label.text()
    qtbot.waitUntil(lambda: not tab.running)
    assert tab.start_button.isEnabled()
    click(qtbot, tab.keep_button)  # keep the best weights so far: they are tested
    qtbot.waitUntil(lambda: tab.evaluation is not None, timeout=30_000)
    assert not tab.stop_bar.isVisible()
    assert tab.evaluation.report.count == 300
    meta = tab.evaluation.metadata
    assert result.epochs_run < result.epochs_trained < result.epochs_run + 1  # into the next epoch when stopped
    assert meta["epochs"] == pytest.approx(result.epochs_trained, abs=0.005) and meta["stopped_by_user"] is True


def test_a_run_stopped_in_its_first_epoch_says_so_on_the_tab_and_in_the_models_list(window, qtbot):
    tab = window.train_tab
    configure(tab, epochs=30, max_train=2000, max_test=200)
    tab.start()
    qtbot.waitUntil(lambda: len(tab.history.x) >= 3, timeout=TRAIN_TIMEOUT)
    click(qtbot, tab.stop_button)
    assert tab.status_label.text() == "Stopping after this batch…"
    qtbot.waitUntil(lambda: not tab.running, timeout=30_000)
    assert tab.stop_bar.isVisible()
    text = tab.status_label.text()
    assert "Stopping" not in text and text.startswith("Stopped after 0.") and text.endswith(" of 30 epochs."), text
    result = tab.outcome.result
    assert result.epochs_run == 0 and 0 < result.epochs_trained < 1
    assert f"{tab.outcome.result.epochs_trained:.2f}".rstrip("0") in tab.stop_label.text()  # "0.05 of an epoch"
    click(qtbot, tab.keep_button)
    qtbot.waitUntil(lambda: tab.evaluation is not None, timeout=30_000)
    with qtbot.waitSignal(tab.modelSaved, timeout=30_000) as saved:
        click(qtbot, tab.results.save_button)
    info = saved.args[0]
    assert info.metadata["stopped_by_user"] is True and 0 < info.metadata["epochs"] < 1
    models = window.models_tab
    models.select(info.id)
    details = models.details.text()
    assert f"stopped after {info.metadata['epochs']:g} of 30 epochs" in details, details
    assert re.search(r"\b0 epochs", details) is None  # what it said before


def test_discarding_a_stopped_run(window, qtbot):
    tab = window.train_tab
    configure(tab, epochs=30, max_train=1000, max_test=200)
    tab.start()
    qtbot.waitUntil(lambda: len(tab.history.x) >= 3, timeout=TRAIN_TIMEOUT)
    tab.stop()
    qtbot.waitUntil(lambda: tab.stop_bar.isVisible(), timeout=30_000)
    assert "no epoch completed" in tab.stop_label.text() or "best weights" in tab.stop_label.text()
    click(qtbot, tab.discard_button)
    assert tab.outcome is None and not tab.stop_bar.isVisible()
    qtbot.waitUntil(lambda: not tab.running)
    qtbot.wait(200)
    assert tab.evaluation is None


def test_use_this_model_saves_activates_and_the_draw_tab_reads_with_it(window, qtbot):
    tab = window.train_tab
    configure(tab, epochs=1, max_train=3000, max_test=300)
    tab.start()
    qtbot.waitUntil(lambda: tab.evaluation is not None, timeout=TRAIN_TIMEOUT)
    tab.results.name_edit.setText("my tiny model")
    with qtbot.waitSignal(window.model.ready, timeout=60_000) as ready:
        click(qtbot, tab.results.use_button)
    rec = ready.args[0]
    assert rec.name == "my tiny model"
    active = window.store.active()
    assert active.name == "my tiny model" and not active.bundled
    assert active.test_accuracy == pytest.approx(tab.evaluation.report.accuracy, abs=1e-6)
    assert active.metadata["architecture"] == "tiny" and active.metadata["train_samples"] == 3000
    assert window.draw_tab._rec is rec and window.image_tab._rec is rec and window.webcam_tab._rec is rec
    assert "my tiny model" in window.model_label.text()
    models = window.models_tab
    row = models.row_of(active.id)
    assert row >= 0 and "active" in models.table.item(row, 6).text()
    assert "saved" in tab.results.saved_label.text().lower()
    window.tabs.setCurrentWidget(window.draw_tab)
    with qtbot.waitSignal(window.draw_tab.readingShown, timeout=5000):
        draw_strokes(window.draw_tab.canvas, number_strokes("1", 120, 40, 200))
    assert len([c for c in window.draw_tab.cards if c.isVisible()]) == 1


def test_save_and_export(window, qtbot, tmp_path):
    from digitdesk.core.modelio import read_metadata
    from digitdesk.core.recognizer import Recognizer

    tab = window.train_tab
    configure(tab, epochs=1, max_train=1000, max_test=200, validation=0)
    tab.start()
    qtbot.waitUntil(lambda: tab.evaluation is not None, timeout=TRAIN_TIMEOUT)
    with qtbot.waitSignal(tab.modelSaved, timeout=30_000) as saved:
        click(qtbot, tab.results.save_button)
    info = saved.args[0]
    assert window.store.get(info.id).name == tab.results.name()
    assert window.models_tab.row_of(info.id) >= 0
    assert window.store.active().bundled  # saving does not switch
    out = tmp_path / "exported.keras"
    tab.export_model(out)
    qtbot.waitUntil(lambda: out.exists() and "Exported" in tab.results.saved_label.text(), timeout=30_000)
    assert read_metadata(out)["name"] == tab.results.name()
    assert Recognizer.load(out).classify(np.zeros((2, 28, 28), np.uint8)).shape == (2, 10)


def test_closing_the_window_during_training_stops_it(qtbot, recognizer):
    from digitdesk.gui import create_main_window
    from digitdesk.gui.workers.threads import running_threads

    win = create_main_window(recognizer=recognizer)
    qtbot.addWidget(win)
    win.show()
    tab = win.train_tab
    configure(tab, epochs=50, max_train=3000)
    tab.start()
    qtbot.waitUntil(lambda: len(tab.history.x) >= 5, timeout=TRAIN_TIMEOUT)
    assert "trainer" in running_threads()
    win.close()
    assert tab.history.fraction() < 0.5  # stopped, not waited for
    assert running_threads() == []
    assert not tab.running
    qtbot.wait(100)  # late signals from the finished thread are ignored


def test_fine_tune_on_my_samples(window, qtbot, mnist):
    tab = window.train_tab
    for i in range(20):  # twenty "corrected" digits
        window.samples.add(mnist.test.images[i], int(mnist.test.labels[i]))
    assert tab.form.counts.text().count(":") == 10 and sum(window.samples.counts().values()) == 20
    configure(tab, epochs=1, max_train=600, max_test=200, arch="fine-tune the active model")
    assert not tab.form.source_combo.isEnabled()
    tab.form.epochs_spin.setValue(1)
    tab.start()
    qtbot.waitUntil(lambda: tab.evaluation is not None, timeout=TRAIN_TIMEOUT)
    ev = tab.evaluation
    assert ev.samples_after is not None and ev.samples_before is not None
    assert ev.metadata["fine_tune"]["user_samples"] == 20
    assert ev.metadata["fine_tuned_from"] == window.model.recognizer.name
    assert "handwriting samples" in tab.results.summary_label.text()


def test_training_errors_are_shown(window, qtbot):
    tab = window.train_tab
    configure(tab)
    tab.form.source_combo.setCurrentIndex(tab.form.source_combo.findData("samples"))  # none collected yet
    with qtbot.waitSignal(tab.session.failed, timeout=30_000):
        tab.start()
    qtbot.waitUntil(lambda: not tab.running)
    assert tab.banner.isVisible() and "no samples" in tab.banner.text()
    assert tab.start_button.isEnabled()


def test_training_on_a_folder_of_labelled_images(window, qtbot, tmp_path, mnist):
    import cv2

    for i in range(120):  # 12 PNGs per digit, white digits on black as MNIST
        label = int(mnist.train.labels[i])
        (tmp_path / str(label)).mkdir(exist_ok=True)
        cv2.imwrite(str(tmp_path / str(label) / f"{i}.png"), 255 - mnist.train.images[i])  # dark on light
    tab = window.train_tab
    configure(tab, epochs=1, max_train=0, max_test=0, batch=16)
    form = tab.form
    form.source_combo.setCurrentIndex(form.source_combo.findData("folder"))
    assert form.path_row.isVisible()
    form.path_edit.setText(str(tmp_path))
    tab.start()
    qtbot.waitUntil(lambda: tab.evaluation is not None, timeout=TRAIN_TIMEOUT)
    assert tab.evaluation.report.count == 20  # 1/6 of 120 held out for testing
    assert "image folder" in tab.evaluation.test_source


def test_preset_tips_state_what_each_preset_does():
    """The tips name each preset's network and epochs, and the Quick one its measured figures (about
    7 s and 95.5% here), not "a minute or so, about 97%"."""
    from digitdesk.gui.widgets.train_form import PRESET_TIPS, PRESETS

    for name, values in PRESETS.items():
        tip = PRESET_TIPS[name]
        assert tip.startswith("A tiny network" if values["arch"] == "tiny" else values["arch"]), tip
        assert f"{values['epochs']} epochs" in tip and ("augmentation" in tip) , tip
    quick = PRESET_TIPS["Quick"]
    assert "7 s" in quick and "95.5%" in quick and "minute" not in quick and "97%" not in quick
    assert "no augmentation" in quick and not PRESETS["Quick"]["augment"]


@pytest.fixture
def no_mnist_anywhere(monkeypatch, tmp_path):
    """MNIST neither in $DIGITDESK_DATA nor in the Keras cache, and its download fails at once (a
    proxy on a closed port): what a new user offline has."""
    monkeypatch.delenv("DIGITDESK_DATA", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    for var in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    for var in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(var, raising=False)


def test_mnist_missing_error_names_what_the_tab_offers(no_mnist_anywhere):
    from digitdesk.core.errors import DataError
    from digitdesk.core.training import TrainConfig
    from digitdesk.core.trainrequest import SOURCES, TrainRequest, load_data

    with pytest.raises(DataError) as info:
        load_data(TrainRequest(TrainConfig(arch="tiny"), source="mnist"))
    message = str(info.value)
    assert SOURCES["mnist-folder"] in message and "DIGITDESK_DATA" not in message and "pass" not in message


def test_training_from_a_chosen_mnist_folder(window, qtbot, tmp_path, mnist_path, no_mnist_anywhere):
    import shutil

    from digitdesk.gui.settings import Settings
    from digitdesk.gui.widgets.train_form import TrainForm

    folder = tmp_path / "my mnist"
    folder.mkdir()
    for f in mnist_path.glob("*-ubyte.gz"):
        shutil.copy(f, folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no digits here")
    tab = window.train_tab
    configure(tab, epochs=1, max_train=1000, max_test=200)
    form = tab.form
    combo = form.source_combo
    assert "MNIST folder…" in [combo.itemText(i) for i in range(combo.count())]
    form.source_combo.setCurrentIndex(form.source_combo.findData("mnist-folder"))
    assert form.path_row.isVisible() and "MNIST" in form.path_edit.placeholderText()

    form.path_edit.setText(str(empty))  # as Browse… sets it
    with qtbot.waitSignal(tab.session.failed, timeout=30_000):
        tab.start()
    qtbot.waitUntil(lambda: not tab.running)
    assert "holds no MNIST files" in tab.banner.text() and "empty" in tab.banner.text()

    form.path_edit.setText(str(folder))
    tab.start()
    qtbot.waitUntil(lambda: tab.evaluation is not None, timeout=TRAIN_TIMEOUT)
    assert tab.evaluation.report.count == 200 and "my mnist" in tab.evaluation.test_source
    assert "my mnist" in tab.evaluation.metadata["data"]

    form.source_combo.setCurrentIndex(form.source_combo.findData("folder"))  # each source keeps its own path
    assert form.path_edit.text() == ""
    form.path_edit.setText(str(empty))
    form.source_combo.setCurrentIndex(form.source_combo.findData("mnist-folder"))
    assert form.path_edit.text() == str(folder)

    settings = Settings().group("train-test")
    tab.save_state(settings)
    restored = TrainForm()
    qtbot.addWidget(restored)
    restored.restore_state(settings)
    assert restored.source() == "mnist-folder" and restored.path_edit.text() == str(folder)
    assert restored.request().path == str(folder)
    restored.source_combo.setCurrentIndex(restored.source_combo.findData("folder"))
    assert restored.path_edit.text() == str(empty)
