# Needs no display: frame sources, the capture loop and the latest-frame buffer are plain Python.
from __future__ import annotations

import time
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from digitdesk.core import frames
from tests.conftest import number_image
from digitdesk.core.frames import (CameraSource, FolderSource, LatestFrame, SourceError, VideoFileSource,
                                        open_source, run_capture)


def test_open_source_picks_the_kind(tmp_path, video_file):
    assert isinstance(open_source("0"), CameraSource) and open_source(" 2 ").index == 2
    assert isinstance(open_source(str(video_file)), VideoFileSource)
    assert isinstance(open_source(str(tmp_path)), FolderSource)
    with pytest.raises(SourceError, match="no such camera"):
        open_source(str(tmp_path / "missing.avi"))


def test_video_file_plays_to_the_end(video_file):
    src = VideoFileSource(video_file, loop=False)
    src.open()
    assert src.fps == pytest.approx(30.0)
    buf = LatestFrame()
    assert run_capture(src, buf, lambda: False, pace=False) == "ended"
    src.close()
    assert buf.captured == 30
    seq, frame = buf.take(0)
    assert seq == 30 and frame.shape == (480, 640, 3) and frame.dtype == np.uint8
    assert buf.take(seq) is None


def test_capture_loops_and_stops_when_asked(video_file):
    src = VideoFileSource(video_file, loop=True)
    src.open()
    buf = LatestFrame()
    assert run_capture(src, buf, lambda: buf.captured >= 45, pace=False) == "stopped"
    src.close()
    assert buf.captured == 45  # looped past the 30 frames of the file


def test_recordings_play_at_their_frame_rate(video_file, monkeypatch):
    """On a clock that only the waits move (decoding takes no time on it), each of 12 frames at
    30 fps is followed by a wait of one frame period: paced, not as fast as they decode."""
    clock, waits = [0.0], []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(frames, "time", SimpleNamespace(monotonic=lambda: clock[0], sleep=time.sleep))
    src = VideoFileSource(video_file, loop=True)
    src.open()
    buf = LatestFrame()
    run_capture(src, buf, lambda: buf.captured >= 12, wait, pace=True)
    src.close()
    assert waits == pytest.approx([1 / 30] * 12)


def test_folder_source_skips_unreadable_files(tmp_path):
    cv2.imwrite(str(tmp_path / "b.png"), number_image("5"))
    (tmp_path / "a.png").write_bytes(b"")  # unreadable: skipped
    src = FolderSource(tmp_path, loop=False)
    src.open()
    frame = src.read()
    assert frame is not None and frame.shape[2] == 3
    assert src.read() is None


def test_bad_sources_raise_source_error(tmp_path):
    with pytest.raises(SourceError, match="no images"):
        FolderSource(tmp_path).open()
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"nope" * 50)
    with pytest.raises(SourceError, match="bad.avi"):
        VideoFileSource(bad).open()
    with pytest.raises(SourceError, match="Camera 97"):
        CameraSource(97).open()


def test_camera_probe_lists_only_cameras_that_open_and_prints_nothing(capfd):
    """97 and 98 are not cameras: none is listed, and OpenCV's "can't open camera by index"
    warnings (written by its C++ code to the terminal) stay silent, as do those of open()."""
    from digitdesk.core.frames import available_cameras

    capfd.readouterr()
    assert available_cameras([97, 98]) == []
    with pytest.raises(SourceError):
        CameraSource(97).open()
    out = capfd.readouterr()
    assert "can't open camera" not in out.err + out.out and "WARN" not in out.err
    assert cv2.utils.logging.getLogLevel() != cv2.utils.logging.LOG_LEVEL_SILENT  # restored afterwards


def test_latest_frame_wakes_once_per_frame_taken():
    """The buffer wakes the GUI when a frame arrives, but not again until a take() answered the
    wake-up: a capture thread faster than the GUI sends one wake-up, not a queue of them."""
    wakes = []
    buf = LatestFrame(lambda: wakes.append(buf.captured))
    frame = np.zeros((4, 4, 3), np.uint8)
    for _ in range(5):
        buf.put(frame)
    assert wakes == [1]
    seq, _ = buf.take(0)
    assert seq == 5
    buf.put(frame)
    assert wakes == [1, 6]
    assert buf.take(6) is None  # nothing newer, but the wake-up is answered all the same...
    buf.put(frame)
    assert wakes == [1, 6, 7]  # ...so the next frame wakes the GUI again
