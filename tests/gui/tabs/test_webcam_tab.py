# Needs Qt (offscreen): the Webcam tab running from a video file or a folder, and stopping cleanly.
from __future__ import annotations

import cv2
from PySide6.QtWidgets import QLabel

from conftest import number_image
from digitdesk.gui.workers.threads import running_threads


def webcam_text(window) -> str:
    return window.findChild(QLabel, "webcamResultLabel").text()


def status_text(window) -> str:
    return window.findChild(QLabel, "webcamStatusLabel").text()


def test_video_file_shows_a_reading_and_stops(window, qtbot, video_file):
    tab = window.webcam_tab
    window.tabs.setCurrentWidget(tab)
    tab.start(str(video_file))
    assert tab.is_running() and "webcam-capture" in running_threads()
    qtbot.waitUntil(lambda: webcam_text(window) == "42", timeout=10_000)
    assert tab.frames_shown > 0 and not tab.preview.frame().isNull()
    assert len(tab.preview._overlays) == 2
    qtbot.waitUntil(lambda: "fps" in status_text(window), timeout=5000)
    tab.stop()
    assert not tab.is_running()
    assert "webcam-capture" not in running_threads()
    assert tab.start_button.text() == "Start"


def test_camera_released_when_tab_is_left(window, qtbot, video_file):
    tab = window.webcam_tab
    window.tabs.setCurrentWidget(tab)
    tab.start(str(video_file))
    qtbot.waitUntil(lambda: tab.frames_shown > 0, timeout=10_000)
    window.tabs.setCurrentWidget(window.draw_tab)
    assert not tab.is_running() and "webcam-capture" not in running_threads()
    window.tabs.setCurrentWidget(tab)  # coming back restarts it
    assert tab.is_running()
    qtbot.waitUntil(lambda: tab.frames_shown > 0, timeout=10_000)


def test_folder_of_images_as_a_camera(window, qtbot, tmp_path):
    folder = tmp_path / "shots"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), number_image("305"))
    (folder / "notes.txt").write_text("not an image")
    window.tabs.setCurrentWidget(window.webcam_tab)
    window.webcam_tab.start(str(folder))
    qtbot.waitUntil(lambda: webcam_text(window) == "305", timeout=10_000)


def test_missing_camera_gives_a_clear_status(window, qtbot, tmp_path):
    tab = window.webcam_tab
    window.tabs.setCurrentWidget(tab)
    tab.start("97")
    qtbot.waitUntil(lambda: "cannot be opened" in status_text(window), timeout=10_000)
    assert "Camera 97" in status_text(window)
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=5000)
    tab.start(str(tmp_path / "nope.avi"))
    assert "nope.avi" in status_text(window) and not tab.is_running()
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"garbage" * 100)
    tab.start(str(bad))
    qtbot.waitUntil(lambda: "bad.avi" in status_text(window) and not tab.is_running(), timeout=10_000)


def test_freeze_and_send_to_image_tab(window, qtbot, video_file):
    tab = window.webcam_tab
    window.tabs.setCurrentWidget(tab)
    tab.start(str(video_file))
    qtbot.waitUntil(lambda: webcam_text(window) == "42", timeout=10_000)
    tab.freeze_check.setChecked(True)
    shown, captured = tab.frames_shown, tab._buffer.captured
    qtbot.waitUntil(lambda: tab._buffer.captured >= captured + 5, timeout=5000)  # new frames came in...
    assert tab.frames_shown == shown  # ...and none was shown
    tab.send_button.click()
    assert window.tabs.currentWidget() is window.image_tab
    assert not tab.is_running()  # leaving the tab released the source
    qtbot.waitUntil(lambda: window.findChild(QLabel, "imageResultLabel").text() == "42", timeout=8000)


def test_region_of_interest_limits_reading(window, qtbot, video_file):
    tab = window.webcam_tab
    window.tabs.setCurrentWidget(tab)
    tab.start(str(video_file))
    qtbot.waitUntil(lambda: webcam_text(window) == "42", timeout=10_000)
    tab.roi_check.setChecked(True)
    tab.preview.set_roi((0.0, 0.0, 0.45, 1.0))  # only the left half: the "4"
    qtbot.waitUntil(lambda: webcam_text(window) == "4", timeout=10_000)


def test_camera_argument_starts_with_the_tab(qtbot, recognizer, video_file):
    from digitdesk.gui import create_main_window

    win = create_main_window(camera=str(video_file), recognizer=recognizer)
    qtbot.addWidget(win)
    win.show()
    assert win.webcam_tab.source_spec() == str(video_file)
    assert not win.webcam_tab.is_running()  # not on the Webcam tab yet
    win.tabs.setCurrentWidget(win.webcam_tab)
    assert win.webcam_tab.is_running()
    qtbot.waitUntil(lambda: webcam_text(win) == "42", timeout=10_000)
    win.close()


def test_no_thread_left_after_close(qtbot, recognizer, video_file, tmp_path):
    from digitdesk.gui import create_main_window
    from conftest import draw_strokes
    from digitdesk.core.strokes import number_strokes

    win = create_main_window(recognizer=recognizer)
    qtbot.addWidget(win)
    win.show()
    draw_strokes(win.draw_tab.canvas, number_strokes("3", 50, 50, 150))
    img = tmp_path / "n.png"
    cv2.imwrite(str(img), number_image("305"))
    win.open_image(img)
    win.tabs.setCurrentWidget(win.webcam_tab)
    win.webcam_tab.start(str(video_file))
    qtbot.waitUntil(lambda: win.webcam_tab.frames_shown > 3, timeout=10_000)
    assert {"webcam-capture", "webcam-reader", "draw-reader", "image-reader"} <= set(running_threads())
    win.close()
    assert running_threads() == []


def test_camera_unplugged_mid_stream(window, qtbot, monkeypatch):
    """A source that fails after a few frames: a clear status line, the thread ends, no hang."""
    import numpy as np

    from digitdesk.gui.tabs import webcam as webcam_tab
    from digitdesk.core.frames import FrameSource, SourceError

    class Unplugged(FrameSource):
        name, live = "Camera 5", True

        def __init__(self):
            self.reads = 0

        def open(self):
            pass

        def read(self):
            self.reads += 1
            if self.reads > 5:
                raise SourceError("Camera 5 stopped sending pictures (unplugged or in use by another program?).")
            return np.full((480, 640, 3), 200, np.uint8)

        def close(self):
            pass

    monkeypatch.setattr(webcam_tab, "open_source", lambda spec: Unplugged())
    tab = window.webcam_tab
    window.tabs.setCurrentWidget(tab)
    tab.start("5")
    qtbot.waitUntil(lambda: "unplugged" in status_text(window), timeout=5000)
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=5000)
    assert "webcam-capture" not in running_threads()
    assert tab.start_button.text() == "Start"


def test_status_names_the_source_from_the_first_frame(window, qtbot, tmp_path):
    """A folder plays one image a second: the status shows the source from the first frame on,
    not "waiting for the first frame…" while the frame is already shown and read."""
    folder = tmp_path / "slides"
    folder.mkdir()
    image = number_image("305")
    cv2.imwrite(str(folder / "a.png"), image)
    tab = window.webcam_tab
    window.tabs.setCurrentWidget(tab)
    tab.start(str(folder))
    qtbot.waitUntil(lambda: tab.frames_shown >= 1, timeout=10_000)
    h, w = image.shape[:2]
    assert status_text(window).startswith(f"slides/ · {w}×{h}"), status_text(window)
    assert "waiting" not in status_text(window)


def test_no_camera_found_is_said_in_the_source_box(window, qtbot, monkeypatch, capfd):
    """Only cameras that open are listed (97 and 98 do not, through real OpenCV); the box is never
    blank, says no camera was found, offers the file and folder entries, and OpenCV prints nothing."""
    from digitdesk.core import frames as frame_source

    monkeypatch.setattr(frame_source, "camera_candidates", lambda probe=4: [97, 98])
    tab = window.webcam_tab
    combo = tab.source_combo
    assert tab._cameras is None  # not probed before the tab is shown
    capfd.readouterr()
    window.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab._cameras is not None, timeout=10_000)
    assert [combo.itemText(i) for i in range(combo.count())] == ["No camera found", "", "Video file…",
                                                                  "Folder of images…"]
    assert combo.currentText() == "No camera found" and tab.source_spec() is None
    assert "No camera found" in status_text(window) and "Folder of images" in status_text(window)
    assert "can't open camera" not in capfd.readouterr().err
    tab.start()  # nothing to start: said again, no thread
    assert "No camera found" in status_text(window) and not tab.is_running()


def test_found_cameras_are_listed_and_the_first_chosen(window, qtbot, monkeypatch):
    from digitdesk.gui.tabs import webcam as webcam_tab

    monkeypatch.setattr(webcam_tab, "available_cameras", lambda candidates, should_stop: [0, 2])
    tab = window.webcam_tab
    window.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab._cameras is not None, timeout=10_000)
    combo = tab.source_combo
    assert [combo.itemText(i) for i in range(combo.count())][:2] == ["Camera 0", "Camera 2"]
    assert combo.currentText() == "Camera 0" and tab.source_spec() == "0"


def test_region_while_frozen_reads_the_frozen_frame(window, qtbot, video_file):
    """Region on, a new region drawn, and Region off while frozen: each reads the frozen frame
    again and shows its boxes."""
    from PySide6.QtCore import QPoint, Qt

    tab = window.webcam_tab
    window.tabs.setCurrentWidget(tab)
    tab.start(str(video_file))
    qtbot.waitUntil(lambda: webcam_text(window) == "42", timeout=10_000)
    tab.freeze_check.setChecked(True)
    frozen = tab.preview.frame()
    tab.roi_check.setChecked(True)
    qtbot.waitUntil(lambda: len(tab.preview._overlays) > 0, timeout=10_000)
    r = tab.preview._frame_rect()  # drag a region over the left half of the frame: the "4"
    start = QPoint(round(r.x() + 2), round(r.y() + 2))
    # To 48% of the width: the "4" ends at about 44-45% as the card moves, so a region ending at
    # 45% cut it in some frozen frames (1 of the video's 30 frames, 4 before issue 11's engine).
    end = QPoint(round(r.x() + 0.48 * r.width()), round(r.bottom() - 2))
    qtbot.mousePress(tab.preview, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(tab.preview, end)
    qtbot.mouseRelease(tab.preview, Qt.MouseButton.LeftButton, pos=end)
    qtbot.waitUntil(lambda: webcam_text(window) == "4" and len(tab.preview._overlays) == 1, timeout=10_000)
    tab.roi_check.setChecked(False)
    qtbot.waitUntil(lambda: webcam_text(window) == "42" and len(tab.preview._overlays) == 2, timeout=10_000)
    assert tab.preview.frame() == frozen  # still the frozen frame


def test_the_sheet_read_is_outlined_over_the_preview(window, qtbot, tmp_path):
    """A sheet held before a blotchy wall only a little darker than it (issue 11): the preview
    outlines the sheet found (its corners within a few pixels) under the digits' boxes."""
    import numpy as np

    from tests.core.test_paper import _sheet_before_a_blotchy_wall

    frame, corners = _sheet_before_a_blotchy_wall()
    folder = tmp_path / "shots"
    folder.mkdir()
    cv2.imwrite(str(folder / "sheet.png"), frame)
    tab = window.webcam_tab
    window.tabs.setCurrentWidget(tab)
    tab.start(str(folder))
    qtbot.waitUntil(lambda: webcam_text(window) == "365", timeout=10_000)
    assert tab.preview._outline is not None
    assert np.abs(np.float32(tab.preview._outline) - corners).max() < 25
