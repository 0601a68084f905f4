"""Render every tab offscreen with realistic content and save PNGs.

``python -m digitdesk.gui.dev.screenshots --out resources/screenshots [--dark] [--only explain]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def _wait_until(app, done: Callable[[], bool], timeout: float = 20.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        app.processEvents()
        if done():
            return True
        time.sleep(0.01)
    return False


def dark_palette():
    """A dark palette close to Fusion's dark scheme."""
    from PySide6.QtGui import QColor, QPalette

    p = QPalette()
    roles = {QPalette.ColorRole.Window: "#2b2d31", QPalette.ColorRole.WindowText: "#e6e6e6",
             QPalette.ColorRole.Base: "#1f2023", QPalette.ColorRole.AlternateBase: "#2a2c30",
             QPalette.ColorRole.Text: "#e6e6e6", QPalette.ColorRole.Button: "#35373c",
             QPalette.ColorRole.ButtonText: "#e6e6e6", QPalette.ColorRole.Highlight: "#3d7fd9",
             QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: "#35373c",
             QPalette.ColorRole.ToolTipText: "#e6e6e6", QPalette.ColorRole.PlaceholderText: "#8a8d93",
             QPalette.ColorRole.Mid: "#45474c", QPalette.ColorRole.Dark: "#1a1b1e", QPalette.ColorRole.Light: "#4a4c52"}
    for role, color in roles.items():
        p.setColor(role, QColor(color))
    return p


def sheet_on_desk(photo, size: tuple[int, int]):
    """``photo`` (BGR) as a sheet lying at a slant on a dark desk, in a ``size`` frame: what the
    engine's sheet finder is for (the Image tab's "Sheet found" stage, the webcam's outline)."""
    import cv2
    import numpy as np

    w, h = size
    ph, pw = photo.shape[:2]
    shade = np.linspace(40, 64, w, dtype=np.float32)[None, :, None] + np.zeros((h, 1, 3), np.float32)
    desk = np.clip(shade + np.random.default_rng(1).normal(0, 5, (h, w, 3)), 0, 255).astype(np.uint8)
    corners = np.float32([[0.15, 0.15], [0.875, 0.11], [0.915, 0.82], [0.12, 0.875]]) * np.float32([w, h])
    m = cv2.getPerspectiveTransform(np.float32([[0, 0], [pw, 0], [pw, ph], [0, ph]]), corners)
    sheet = cv2.warpPerspective(photo, m, (w, h), flags=cv2.INTER_AREA)
    inside = cv2.warpPerspective(np.full((ph, pw), 255, np.uint8), m, (w, h)) > 127
    return np.where(inside[..., None], sheet, desk)


def take_screenshots(out: Path, dark: bool = False, size: tuple[int, int] = (1180, 780),
                     only: str | None = None) -> list[Path]:
    """Save draw/image/webcam/train/models/data PNGs (``-dark`` suffixed for the dark scheme) into
    ``out`` (``only="explain"``: the Draw tab and its "Why this digit?" dialog). Models and
    samples go to a temporary user folder, never the real one."""
    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtWidgets import QApplication

    from digitdesk.core.imageio import read_image
    from digitdesk.core.paths import resource_path
    from digitdesk.gui import create_main_window
    from digitdesk.gui.app import configure_application
    from digitdesk.gui.dev.demo import demo_video
    from digitdesk.gui.widgets.canvas import draw_number
    from digitdesk.gui.workers.recognition import load_recognizer

    app = QApplication.instance() or QApplication(sys.argv[:1])
    configure_application(app)
    settings_dir = tempfile.TemporaryDirectory()  # neither use nor change the user's settings
    home = tempfile.TemporaryDirectory()  # nor the user's models and samples
    os.environ["DIGITDESK_HOME"] = home.name
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir.name)
    if dark:  # the offscreen platform has no system theme: use a dark Fusion palette like a dark desktop's
        app.styleHints().setColorScheme(Qt.ColorScheme.Dark)
        app.setStyle("Fusion")
        app.setPalette(dark_palette())
    suffix = "-dark" if dark else ""
    out.mkdir(parents=True, exist_ok=True)
    rec = load_recognizer()
    win = create_main_window(recognizer=rec)
    win.resize(*size)
    win.show()
    _wait_until(app, lambda: win.isVisible(), 5)
    saved = []

    def grab(name: str) -> None:
        for _ in range(5):
            app.processEvents()
        path = out / f"{name}{suffix}.png"
        win.grab().save(str(path))
        saved.append(path)

    win.tabs.setCurrentWidget(win.draw_tab)
    _wait_until(app, lambda: win.draw_tab.canvas.width() > 400, 5)
    draw_number(win.draw_tab.canvas, "2026")
    _wait_until(app, lambda: win.draw_tab.result_label.text() != "")
    grab("draw")
    _explain(app, win, out / f"explain{suffix}.png")
    saved.append(out / f"explain{suffix}.png")
    if only == "explain":
        win.close()
        return saved

    win.open_image(resource_path("resources", "samples", "photo_2026_4071.jpg"))
    _wait_until(app, lambda: win.image_tab.reading() is not None)
    tab = win.image_tab
    uncertain = [i for i, d in enumerate(tab.reading().digits) if d.uncertain]
    tab.digit_list.setCurrentItem(tab.digit_list.topLevelItem(uncertain[0] if uncertain else 0))
    grab("image")

    with tempfile.TemporaryDirectory() as tmp:
        import cv2

        photo = read_image(resource_path("resources", "samples", "photo_2026_4071.jpg"))
        on_desk = Path(tmp) / "sheet_on_desk.jpg"  # the same sheet photographed lying on a desk
        cv2.imwrite(str(on_desk), sheet_on_desk(photo, (1280, 960)), [cv2.IMWRITE_JPEG_QUALITY, 90])
        win.open_image(on_desk)
        _wait_until(app, lambda: tab.reading() is not None and tab.reading().surface is not None)
        tab.stage_combo.setCurrentIndex(tab.stage_combo.findText("Sheet found"))
        grab("image-stages")
        tab.stage_combo.setCurrentIndex(0)

        video = demo_video(Path(tmp) / "camera.avi", sheet_on_desk(photo, (640, 480)), frames=60)
        win.tabs.setCurrentWidget(win.webcam_tab)
        win.webcam_tab.start(str(video))
        _wait_until(app, lambda: win.webcam_tab.result_label.text() != "" and win.webcam_tab.frames_shown > 30)
        grab("webcam")
        win.webcam_tab.stop()

    _train_models_data(app, win, grab)
    win.close()
    settings_dir.cleanup()
    home.cleanup()
    return saved


def _explain(app, win, path: Path) -> None:
    """The "Why this digit?" dialog for the digit drawn whose runner-up is likeliest, once its
    neighbours are shown (the first time, after the index of the 60,000 training digits is built)."""
    digits = win.draw_tab._shown[0].digits
    dialog = win.draw_tab.explain_digit(max(range(len(digits)), key=lambda i: digits[i].top[1][1]))
    _wait_until(app, lambda: dialog.neighbours is not None or not dialog.busy, 600)
    for _ in range(5):
        app.processEvents()
    dialog.grab().save(str(path))
    dialog.close()


def _train_models_data(app, win, grab: Callable[[str], None]) -> None:
    """A short real training run on the Train tab, then the Models and Data tabs."""
    import numpy as np

    from digitdesk.core.data import load_mnist
    from digitdesk.core.models import build

    mnist = load_mnist()
    for i in range(40):  # a few "corrected" digits for the samples counter
        win.samples.add(mnist.test.images[i], int(mnist.test.labels[i]))
    tab = win.train_tab
    win.tabs.setCurrentWidget(tab)
    form = tab.form
    form.apply_preset("Quick")
    form.arch_combo.setCurrentIndex(form.arch_combo.findData("simple_cnn"))
    form.epochs_spin.setValue(4)
    form.batch_spin.setValue(64)
    form.max_train_spin.setValue(12_000)
    tab.start()
    _wait_until(app, lambda: tab.history.fraction() >= 0.6 and len(tab.history.epochs) >= 2, 600)
    tab.plot.refresh()  # the plot's own timer would within 250 ms
    grab("train-running")
    _wait_until(app, lambda: tab.evaluation is not None, 600)
    tab.results.gallery.scrollToTop()
    grab("train-done")

    tab.save_model("simple_cnn, 4 epochs on 12k MNIST")
    _wait_until(app, lambda: tab.saved is not None, 60)
    _train_runs(app, win, grab)
    _train_search(app, win, grab)
    store = win.store
    store.add(build("tiny"), {"test_accuracy": 0.9412, "data": "MNIST", "epochs": 2, "architecture": "tiny"},
              "tiny quick test")
    (store.folder / "downloaded-model.keras").write_bytes(np.random.default_rng(0).bytes(2048))
    models = win.models_tab
    models.refresh()
    win.tabs.setCurrentWidget(models)
    models.select(tab.saved.id)
    grab("models")

    data = win.data_tab
    win.tabs.setCurrentWidget(data)
    _wait_until(app, lambda: data.exploration is not None, 60)
    grab("data")


def _example_run(store, name: str, accuracy: float, epochs: int, arch: str, parameters: int) -> str:
    """Record a finished run through the real recorder (no training): its curves approach
    ``accuracy``, its test report has that accuracy (the misread digits taken as the next one)."""
    import numpy as np

    from digitdesk.core.evaluate import report
    from digitdesk.core.runrecord import RunRecorder
    from digitdesk.core.training import Progress, TrainConfig, TrainResult

    rng = np.random.default_rng(len(name))
    labels = rng.integers(0, 10, 2000)
    pred = labels.copy()
    wrong = rng.choice(len(labels), round(len(labels) * (1 - accuracy)), replace=False)
    pred[wrong] = (labels[wrong] + 1 + rng.integers(0, 3, len(wrong))) % 10
    probs = np.full((len(labels), 10), 0.02)
    probs[np.arange(len(labels)), pred] = 0.82
    rec = RunRecorder.start(TrainConfig(arch=arch, epochs=epochs), "MNIST", 12_000, store, name=name,
                            extra={"parameters": parameters})
    for e in range(1, epochs + 1):
        acc = accuracy - 0.25 / e
        rec.add(Progress("epoch", e, epochs, 10, 10, 1.2 / e, acc - 0.01, 900.0, e * 3.0, 1e-3, 1.3 / e, acc))
    rec.finish(TrainResult(model=None, history={}, stopped=False, cancelled=False, best_epoch=epochs,
                           epochs_run=epochs, seconds=epochs * 3.0, samples_per_s=900.0, epochs_trained=epochs),
               report(labels, pred, probs))
    return rec.id


def _train_runs(app, win, grab: Callable[[str], None]) -> None:
    """The Train tab's Runs page: the run just trained beside two recorded ones, all selected."""
    tab = win.train_tab
    _example_run(tab.runs, "tiny baseline", 0.912, 3, "tiny", 7_018)
    _example_run(tab.runs, "mlp, 5 epochs", 0.954, 5, "mlp", 109_386)
    tab.views.setCurrentWidget(tab.runs_page)  # showing it refreshes it
    tab.runs_view.select(tab.runs_view.row_ids())
    app.processEvents()
    grab("train-runs")


def _train_search(app, win, grab: Callable[[str], None]) -> None:
    """The Train tab's Search page after a real small search (the tiny family, so it takes
    about a minute), its best trained and tested."""
    tab = win.train_tab
    tab.views.setCurrentWidget(tab.search_page)
    view, form = tab.search_view, tab.search_view.form
    form.family_combo.setCurrentIndex(form.family_combo.findData("tiny"))
    form.trials_spin.setValue(6)
    form.epochs_spin.setValue(2)
    form.images_spin.setValue(4000)
    form.final_spin.setValue(3)
    form.final_images_spin.setValue(12_000)
    view.start()
    _wait_until(app, lambda: not view.running, 600)
    grab("train-search")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m digitdesk.gui.dev.screenshots", description=__doc__)
    parser.add_argument("--out", default="resources/screenshots", help="folder for the PNGs")
    parser.add_argument("--dark", action="store_true", help="use the dark colour scheme")
    parser.add_argument("--only", choices=["explain"], help="only the Draw tab and its “Why this digit?” dialog")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for path in take_screenshots(Path(args.out), dark=args.dark, only=args.only):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
