"""Needs Qt (offscreen) and TensorFlow. Faults while the app runs: a camera that disappears, a
recording that ends, a model file deleted or replaced by garbage, saving into a folder that cannot
be written (``chattr +i``: immutable even for root), and closing the window (and quitting the real
app in a subprocess) in the middle of training, capture and a slow photo. These check that the
work is stopped, not waited for, and that nothing is left running; how long quitting takes is
measured by ``python -m benchmarks.bench_close``.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtWidgets import QLabel

from conftest import draw_strokes, number_image
from digitdesk.gui.frame_source import CameraSource, VideoFileSource
from digitdesk.gui.strokes import number_strokes
from digitdesk.gui.workers import running_threads

REPO = Path(__file__).resolve().parents[2]


def label(window, name: str) -> str:
    return window.findChild(QLabel, name).text()


def python_threads() -> list[str]:
    """Python threads alive now (Qt threads that ran Python code show up as dummies: left out)."""
    return sorted(t.name for t in threading.enumerate()
                  if t.is_alive() and not isinstance(t, threading._DummyThread) and t is not threading.main_thread())


@contextmanager
def immutable(folder: Path):
    """``folder`` cannot be written, even by root, until the block ends (``chattr +i``)."""
    folder.mkdir(parents=True, exist_ok=True)
    if shutil.which("chattr") is None:
        pytest.fail("`chattr` (e2fsprogs) is needed to make a folder unwritable for root: apt-get install e2fsprogs")
    done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"chattr +i does not work on {folder} ({done.stderr.strip()}): the file system must be ext4/xfs-like")
    try:
        probe = folder / "probe"
        try:
            probe.write_bytes(b"")
        except OSError:
            pass
        else:
            probe.unlink()
            pytest.fail(f"{folder} is still writable after chattr +i")
        yield folder
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


# ----------------------------------------------------------------------------- the camera


class _DyingCapture:
    """A cv2.VideoCapture over a video file that, after ``frames`` frames, answers like a camera
    that was unplugged: ``read() -> (False, None)`` for ever."""

    def __init__(self, path: Path, frames: int):
        self._cap, self._left = cv2.VideoCapture(str(path)), frames

    def read(self):
        if self._left <= 0:
            return False, None
        self._left -= 1
        ok, frame = self._cap.read()
        if not ok:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._cap.read()
        return ok, frame

    def release(self) -> None:
        self._cap.release()


class UnpluggedCamera(CameraSource):
    """The real CameraSource (its read and failure counting) over a capture that dies."""

    def __init__(self, path: Path, frames: int = 40):
        super().__init__(5)
        self._path, self._frames = path, frames

    def open(self) -> None:
        self._cap, self._failures = _DyingCapture(self._path, self._frames), 0


def test_camera_unplugged_mid_stream_keeps_the_last_frame_and_can_restart(window, qtbot, video_file, monkeypatch):
    from digitdesk.gui import webcam_tab

    monkeypatch.setattr(webcam_tab, "open_source", lambda spec: UnpluggedCamera(video_file))
    tab = window.webcam_tab
    window.tabs.setCurrentWidget(tab)
    tab.start("5")
    qtbot.waitUntil(lambda: label(window, "webcamResultLabel") == "42", timeout=15_000)
    t0 = time.perf_counter()
    qtbot.waitUntil(lambda: "stopped sending pictures" in label(window, "webcamStatusLabel"), timeout=10_000)
    print(f"\nunplugged camera reported {time.perf_counter() - t0:.2f} s after the last reading")
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=5000)
    assert "webcam-capture" not in running_threads() and tab.start_button.text() == "Start"
    assert not tab.preview.frame().isNull(), "the last frame was wiped"
    assert label(window, "webcamResultLabel") == "42" and tab.send_button.isEnabled()
    shown = tab.frames_shown
    tab.start("5")  # plugged in again
    qtbot.waitUntil(lambda: tab.frames_shown > 3 and tab.is_running(), timeout=10_000)
    assert tab.frames_shown < shown or tab.frames_shown > 3
    tab.stop()


def test_recording_that_ends_stops_cleanly(window, qtbot, video_file, monkeypatch):
    from digitdesk.gui import webcam_tab

    monkeypatch.setattr(webcam_tab, "open_source", lambda spec: VideoFileSource(spec, loop=False))
    tab = window.webcam_tab
    window.tabs.setCurrentWidget(tab)
    tab.pace = False
    tab.start(str(video_file))
    qtbot.waitUntil(lambda: "recording ended" in label(window, "webcamStatusLabel"), timeout=15_000)
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=5000)
    assert "webcam-capture" not in running_threads() and tab.start_button.text() == "Start"
    assert not tab.preview.frame().isNull() and tab.send_button.isEnabled()
    tab.start(str(video_file))  # plays again
    qtbot.waitUntil(lambda: "recording ended" in label(window, "webcamStatusLabel") and not tab.is_running(),
                    timeout=15_000)


# ----------------------------------------------------------------------------- model files


def test_model_file_deleted_or_garbage_while_the_app_runs(window, qtbot, recognizer):
    store, models = window.store, window.models_tab
    mine = store.add(recognizer.model, None, "Mine")
    spare = store.add(recognizer.model, None, "Spare")
    with qtbot.waitSignal(window.model.ready, timeout=60_000) as ready:
        window.activate_model(mine.id)
    assert ready.args[0].name == "Mine" and store.active().id == mine.id

    mine.path.unlink()  # deleted behind the app's back
    spare.path.write_bytes(b"this is not a model any more")
    window.tabs.setCurrentWidget(window.draw_tab)
    draw_strokes(window.draw_tab.canvas, number_strokes("3", 50, 50, 150))
    qtbot.waitUntil(lambda: window.draw_tab.result_label.text() == "3", timeout=10_000)  # the loaded model still reads

    models.refresh()
    assert models.row_of(mine.id) == -1  # gone from the list
    assert store.active().bundled  # the store falls back to the bundled model
    assert "not a Keras model file" in (store.get(spare.id).broken or "")
    window.activate_model(mine.id)
    assert "no model" in window.statusBar().currentMessage() and "deleted" in window.statusBar().currentMessage()
    window.activate_model(spare.id)
    assert "cannot be used" in window.statusBar().currentMessage()
    assert window.model.recognizer is ready.args[0]  # still the model in use
    models.select(spare.id)
    assert not models.active_button.isEnabled() and "Cannot be used" in models.details.text()


# ----------------------------------------------------------------------------- unwritable folders


def test_unwritable_folders_show_a_message_and_lose_nothing(window, qtbot, tmp_path, recognizer, caplog):
    from digitdesk.gui.corrections import SampleCollector

    # Image tab export
    image = tmp_path / "n.png"
    cv2.imwrite(str(image), number_image("305"))
    window.open_image(image)
    qtbot.waitUntil(lambda: label(window, "imageResultLabel") == "305", timeout=15_000)
    out = tmp_path / "locked"
    out.mkdir()
    (out / "old.json").write_text("old")
    with immutable(out):
        assert window.image_tab.export_results(out / "old.json") is None
        assert "read-only" in window.image_tab.banner.text() and "Nothing was lost" in window.image_tab.banner.text()
        assert (out / "old.json").read_text() == "old"
    assert window.image_tab.export_results(tmp_path / "elsewhere.json").is_file()

    # a correction (sample) while the samples folder is locked
    collector: SampleCollector = window.samples
    with immutable(collector.store.root):
        assert window.image_tab.correct_digit(0, 3) is False
        assert "Could not save the sample" in window.statusBar().currentMessage()
        assert "read-only" in window.statusBar().currentMessage()
    assert window.image_tab.correct_digit(0, 3) is True and collector.counts()[3] == 1

    # Models tab export into a locked folder
    models = window.models_tab
    with immutable(tmp_path / "locked-models"):
        models.export("bundled", tmp_path / "locked-models" / "copy.keras")
        qtbot.waitUntil(lambda: "Could not export" in models.banner.text(), timeout=10_000)
        assert "read-only" in models.banner.text()
    models.export("bundled", tmp_path / "copy.keras")
    qtbot.waitUntil(lambda: (tmp_path / "copy.keras").is_file(), timeout=10_000)

    # the settings folder locked when the window closes: it still closes, with a warning
    settings_file = Path(window.settings.file_name)
    settings_file.parent.mkdir(parents=True, exist_ok=True)
    with immutable(settings_file.parent):
        window.close()
    assert "settings" in caplog.text.lower() and running_threads() == []


@pytest.mark.slow
def test_train_tab_save_into_a_locked_folder_keeps_the_model(window, qtbot, tmp_path):
    from test_train_tab import TRAIN_TIMEOUT, configure

    tab, store = window.train_tab, window.store
    old = store.add(window.model.recognizer.model, {"note": "old"}, "Old one")
    before = {p.name: p.read_bytes() for p in store.folder.iterdir()}
    configure(tab, epochs=1, max_train=600, max_test=200)
    tab.start()
    qtbot.waitUntil(lambda: tab.evaluation is not None, timeout=TRAIN_TIMEOUT)
    with immutable(store.folder):
        tab.save_model("Fresh")
        qtbot.waitUntil(lambda: "Could not save the model" in tab.banner.text(), timeout=20_000)
        assert "read-only" in tab.banner.text() and tab.saved is None
        tab.export_model(tmp_path / "rescued.keras")  # the trained model is still in memory
        qtbot.waitUntil(lambda: (tmp_path / "rescued.keras").is_file() and not tab._jobs.busy, timeout=20_000)
    assert {p.name: p.read_bytes() for p in store.folder.iterdir()} == before
    assert store.get(old.id).metadata["note"] == "old"
    tab.save_model("Fresh")  # and once the folder is writable again, it saves
    qtbot.waitUntil(lambda: tab.saved is not None, timeout=20_000)
    assert store.get(tab.saved.id).name == "Fresh"


# ----------------------------------------------------------------------------- closing mid-work


def _close_timed(window) -> float:
    t0 = time.perf_counter()
    window.close()
    return time.perf_counter() - t0


def _window(qtbot, recognizer):
    from digitdesk.gui import create_main_window

    win = create_main_window(recognizer=recognizer)
    qtbot.addWidget(win)
    win.resize(1100, 720)
    win.show()
    return win


def _assert_all_stopped(before: list[str]) -> None:
    assert running_threads() == [], running_threads()
    assert python_threads() == before, python_threads()


@pytest.mark.parametrize("when", ["loading data", "training"])
def test_close_during_training(qtbot, recognizer, when):
    from test_train_tab import TRAIN_TIMEOUT, configure

    before = python_threads()
    win = _window(qtbot, recognizer)
    tab = win.train_tab
    configure(tab, epochs=50, max_train=3000)
    tab.start()
    if when == "training":
        qtbot.waitUntil(lambda: len(tab.history.x) >= 3, timeout=TRAIN_TIMEOUT)
    assert "trainer" in running_threads()
    seconds = _close_timed(win)
    print(f"\nclose during training ({when}): {seconds:.2f} s")
    assert tab.history.fraction() < 0.5  # the 50 epochs were not waited for
    _assert_all_stopped(before)
    qtbot.wait(100)  # late signals are ignored


def test_close_during_webcam_capture(qtbot, recognizer, video_file):
    before = python_threads()
    win = _window(qtbot, recognizer)
    win.tabs.setCurrentWidget(win.webcam_tab)
    win.webcam_tab.start(str(video_file))
    qtbot.waitUntil(lambda: win.webcam_tab.frames_shown > 5, timeout=10_000)
    seconds = _close_timed(win)
    print(f"\nclose during webcam capture: {seconds:.2f} s")  # the capture loops for ever: it was stopped
    _assert_all_stopped(before)


def big_photo(path: Path, rows: int = 40, cols: int = 60) -> Path:
    """A 6300x4300 photo of a page of ``rows`` x ``cols`` printed digits (slow to read)."""
    rng = np.random.default_rng(0)
    img = np.full((rows * 104 + 140, 6300, 3), 245, np.uint8)
    for r in range(rows):
        text = "".join(str(d) for d in rng.integers(0, 10, cols))
        cv2.putText(img, text, (20, 100 + r * 104), cv2.FONT_HERSHEY_SIMPLEX, 2.4, (30, 30, 30), 6)
    cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


def test_close_during_a_slow_photo(qtbot, recognizer, tmp_path, caplog):
    """Closing stops the reading at its next check (the tab passes its runner's stop flag down to
    ``Recognizer.read``): it is not waited for, and it is logged, not shown as an error."""
    photo = big_photo(tmp_path / "page.jpg")
    before = python_threads()
    win = _window(qtbot, recognizer)
    caplog.set_level(logging.INFO, logger="digitdesk.gui.workers")
    win.open_image(photo)
    qtbot.waitUntil(lambda: "Reading" in win.statusBar().currentMessage(), timeout=20_000)
    qtbot.wait(300)  # into the reading (it takes over a second: 2,400 digits)
    assert win.image_tab._runner.busy and "image-reader" in running_threads()
    seconds = _close_timed(win)
    print(f"\nclose during a slow photo ({photo.stat().st_size / 1e6:.1f} MB JPEG): {seconds:.2f} s")
    assert win.image_tab.reading() is None  # stopped half-way, not read to the end
    stopped = [r for r in caplog.records if r.name == "digitdesk.gui.workers" and "stopped" in r.getMessage()]
    assert len(stopped) == 1 and stopped[0].levelno == logging.INFO, [r.getMessage() for r in caplog.records]
    _assert_all_stopped(before)
    qtbot.wait(100)


QUIT_SCRIPT = textwrap.dedent(r'''
    """The app's own start and quit path (File > Quit) while training runs."""
    import os, sys, time
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from digitdesk.gui.app import configure_application, install_excepthook
    from digitdesk.gui import create_main_window
    from digitdesk.gui.workers import running_threads

    app = QApplication(sys.argv[:1])
    configure_application(app)
    install_excepthook()
    window = create_main_window()
    window.show()
    tab = window.train_tab
    form = tab.form
    window.tabs.setCurrentWidget(tab)
    form.arch_combo.setCurrentIndex(form.arch_combo.findText("tiny"))
    form.epochs_spin.setValue(50)
    form.max_train_spin.setValue(3000)
    form.augment_check.setChecked(False)
    quit_action = next(a for a in window.findChildren(type(window.menuBar().actions()[0])) if a.text() == "&Quit")
    t = {}

    def watch():
        if not tab.running and "t0" not in t:
            tab.start()
        if len(tab.history.x) >= 3 and "t0" not in t:
            t["t0"] = time.perf_counter()
            quit_action.trigger()
            return
        QTimer.singleShot(20, watch)

    QTimer.singleShot(0, watch)
    code = app.exec()
    window.shutdown()
    print(f"quit-seconds {time.perf_counter() - t['t0']:.3f}", flush=True)
    print(f"threads-left {running_threads()}", flush=True)
    sys.exit(code)
''')


def test_quitting_the_real_app_during_training(tmp_path):
    script = tmp_path / "quit.py"
    script.write_text(QUIT_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(REPO), "DIGITDESK_HOME": str(tmp_path / "home"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=240, env=env, cwd=REPO)
    out = proc.stdout
    print("\n" + "\n".join(line for line in out.splitlines() if line.startswith(("quit-", "threads-"))))
    assert proc.returncode == 0, f"exit code {proc.returncode}\n{out[-2000:]}\n{proc.stderr[-3000:]}"
    assert "threads-left []" in out
    for bad in ("QThread: Destroyed while thread is still running", "Aborted", "Traceback", "Fatal Python error"):
        assert bad not in proc.stderr, proc.stderr[-3000:]
