"""Needs Qt (offscreen) and TensorFlow. Faults while the app runs: a camera that disappears, a
recording that ends, a model file deleted or replaced by garbage, saving into a folder that cannot
be written (``chattr +i``: immutable even for root), and closing the window (and quitting the real
app in a subprocess) in the middle of training, capture and a slow photo. These check that the
work is stopped, not waited for, and that nothing is left running; how long quitting takes is
measured by ``python -m benchmarks.bench_close``.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import cv2
import pytest
from PySide6.QtWidgets import QLabel

from benchmarks.bench_close import make_page, run_once
from conftest import draw_strokes, number_image
from digitdesk.core.frames import CameraSource, VideoFileSource
from digitdesk.core.strokes import number_strokes
from digitdesk.gui.workers.threads import running_threads

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
    """A cv2.VideoCapture over a video file that gives a frame every 1/30 s, as a camera's read
    blocks until its next frame, and after ``frames`` frames answers like a camera that was
    unplugged: ``read() -> (False, None)`` for ever."""

    def __init__(self, path: Path, frames: int):
        self._cap, self._left = cv2.VideoCapture(str(path)), frames

    def read(self):
        if self._left <= 0:
            return False, None
        self._left -= 1
        time.sleep(1 / 30)
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
    from digitdesk.gui.tabs import webcam as webcam_tab

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
    assert tab.frames_shown == 0  # a new run counts its own frames
    qtbot.waitUntil(lambda: tab.frames_shown > 3, timeout=10_000)
    tab.stop()


def test_recording_that_ends_stops_cleanly(window, qtbot, video_file, monkeypatch):
    from digitdesk.gui.tabs import webcam as webcam_tab

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
    mine = store.add(recognizer.keras_model(), None, "Mine")
    spare = store.add(recognizer.keras_model(), None, "Spare")
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
    from digitdesk.gui.widgets.corrections import SampleCollector

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
    from train_settings import TRAIN_TIMEOUT, configure

    tab, store = window.train_tab, window.store
    old = store.add(window.model.recognizer.keras_model(), {"note": "old"}, "Old one")
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
    from train_settings import TRAIN_TIMEOUT, configure

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


def test_close_during_a_slow_photo(qtbot, recognizer, tmp_path, caplog, monkeypatch):
    """Closing stops the reading at its next check (the tab passes its runner's stop flag down to
    ``Recognizer.read``): it is not waited for, and it is logged, not shown as an error."""
    photo = make_page(tmp_path / "page.jpg")  # 6300x4300, 2,400 printed digits: seconds of work
    before = python_threads()
    win = _window(qtbot, recognizer)
    caplog.set_level(logging.INFO, logger="digitdesk.gui.workers.threads")
    reading = threading.Event()  # set once the reader thread is inside Recognizer.read
    read = recognizer.read
    monkeypatch.setattr(recognizer, "read", lambda *a, **k: reading.set() or read(*a, **k))
    win.open_image(photo)
    qtbot.waitUntil(lambda: "Reading" in win.statusBar().currentMessage(), timeout=20_000)
    qtbot.waitUntil(reading.is_set, timeout=20_000)  # into the reading (it takes over a second: 2,400 digits)
    assert win.image_tab._runner.busy and "image-reader" in running_threads()
    seconds = _close_timed(win)
    print(f"\nclose during a slow photo ({photo.stat().st_size / 1e6:.1f} MB JPEG): {seconds:.2f} s")
    assert win.image_tab.reading() is None  # stopped half-way, not read to the end
    stopped = [r for r in caplog.records if r.name == "digitdesk.gui.workers.threads" and "stopped" in r.getMessage()]
    assert len(stopped) == 1 and stopped[0].levelno == logging.INFO, [r.getMessage() for r in caplog.records]
    _assert_all_stopped(before)
    qtbot.wait(100)


def test_quitting_the_real_app_during_training(tmp_path):
    """File > Quit in a fresh app process while it trains (the benchmark's own launcher)."""
    r = run_once("training", tmp_path / "unused", tmp_path)
    assert "error" not in r, r
    print(f"\nquit during training: process exited {r['exit_s']:.2f} s after File > Quit")
    assert "trainer" in r["busy"], r  # it was training when the quit came
    assert r["code"] == 0 and r["left"] == [] and r["crash"] == [], r
