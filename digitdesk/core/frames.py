"""Where webcam frames come from: a camera, a video file or a folder of images (no Qt here).

``open_source("0")`` is camera 0, ``open_source("clip.avi")`` a video file and
``open_source("shots/")`` a folder of images; all give BGR uint8 frames. :func:`run_capture` is the
capture loop: it fills a :class:`LatestFrame` buffer until ``should_stop()`` says so.
"""

from __future__ import annotations

import glob
import os
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

from digitdesk.core.errors import DigitdeskError, ImageError
from digitdesk.core.imageio import SUPPORTED_EXTENSIONS, read_image

FAILED_READS_BEFORE_ERROR = 30  # consecutive failed camera reads (about a second) = unplugged
_quiet_lock = threading.Lock()
_quiet_depth = 0
_loud_level: int | None = None


@contextmanager
def quiet_opencv() -> Iterator[None]:
    """OpenCV's own log silenced meanwhile: opening a missing camera makes it print warnings such
    as "can't open camera by index" to the terminal; we say what went wrong ourselves."""
    global _quiet_depth, _loud_level
    with _quiet_lock:
        if _quiet_depth == 0:
            _loud_level = cv2.utils.logging.getLogLevel()
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
        _quiet_depth += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0 and _loud_level is not None:
                cv2.utils.logging.setLogLevel(_loud_level)


class SourceError(DigitdeskError):
    """A camera or video source cannot be opened or stopped delivering frames."""


class FrameSource(ABC):
    """A stream of BGR frames."""

    name: str = "source"  # for people, e.g. "Camera 0" or "clip.avi"
    live: bool = False  # a camera (frames come at their own pace) rather than a recording
    fps: float = 30.0  # the pace a recording is played at

    @abstractmethod
    def open(self) -> None:
        """Start the source; raises :class:`SourceError` with a message for a person."""

    @abstractmethod
    def read(self) -> np.ndarray | None:
        """The next frame, or None when a recording has ended; raises SourceError on failure."""

    @abstractmethod
    def close(self) -> None:
        """Release the device or file (safe to call twice)."""


class CameraSource(FrameSource):
    """An OpenCV camera by index, asked for 640x480."""

    live = True

    def __init__(self, index: int, size: tuple[int, int] = (640, 480)):
        self.index, self.size = index, size
        self.name = f"Camera {index}"
        self._cap: cv2.VideoCapture | None = None
        self._failures = 0

    def open(self) -> None:
        with quiet_opencv():
            cap = cv2.VideoCapture(self.index)
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"{self.name} cannot be opened: it is missing, in use by another program, or access was denied.")
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.size[0])
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.size[1])
        self.fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
        self._cap, self._failures = cap, 0

    def read(self) -> np.ndarray | None:
        if self._cap is None:
            raise SourceError(f"{self.name} is not open")
        ok, frame = self._cap.read()
        if ok and frame is not None:
            self._failures = 0
            return frame
        self._failures += 1
        if self._failures >= FAILED_READS_BEFORE_ERROR:
            raise SourceError(f"{self.name} stopped sending pictures (unplugged or in use by another program?).")
        return np.empty((0, 0, 3), np.uint8)  # no frame this time; try again

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class VideoFileSource(FrameSource):
    """A video file played at its own frame rate, looping by default."""

    def __init__(self, path: str | os.PathLike, loop: bool = True):
        self.path, self.loop = Path(path), loop
        self.name = self.path.name
        self._cap: cv2.VideoCapture | None = None

    def open(self) -> None:
        if not self.path.is_file():
            raise SourceError(f"{self.path}: video file not found")
        cap = cv2.VideoCapture(str(self.path))
        ok = cap.isOpened()
        if ok:
            ok, _ = cap.read()
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        if not ok:
            cap.release()
            raise SourceError(f"{self.path.name}: not a video OpenCV can play")
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 1 <= fps <= 240 else 30.0
        self._cap = cap

    def read(self) -> np.ndarray | None:
        if self._cap is None:
            raise SourceError(f"{self.name} is not open")
        ok, frame = self._cap.read()
        if not ok and self.loop:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._cap.read()
        return frame if ok else None

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class FolderSource(FrameSource):
    """The images of a folder in name order, each shown for ``seconds`` (a slide show), looping."""

    def __init__(self, folder: str | os.PathLike, seconds: float = 1.0, loop: bool = True):
        self.folder, self.loop = Path(folder), loop
        self.name = f"{self.folder.name or self.folder}/"
        self.fps = 1.0 / max(0.01, seconds)
        self._files: list[Path] = []
        self._next = 0

    def open(self) -> None:
        if not self.folder.is_dir():
            raise SourceError(f"{self.folder}: folder not found")
        self._files = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in SUPPORTED_EXTENSIONS)
        if not self._files:
            raise SourceError(f"{self.folder}: no images in this folder")
        self._next = 0

    def read(self) -> np.ndarray | None:
        for _ in range(len(self._files)):
            if self._next >= len(self._files):
                if not self.loop:
                    return None
                self._next = 0
            path = self._files[self._next]
            self._next += 1
            try:
                return read_image(path)
            except ImageError:
                continue  # skip unreadable files
        raise SourceError(f"{self.folder}: none of the images can be read")

    def close(self) -> None:
        self._files = []


def open_source(spec: str | int) -> FrameSource:
    """A source from a command-line style spec: a camera index, a video file or a folder."""
    text = str(spec).strip()
    if text.isdigit():
        return CameraSource(int(text))
    path = Path(text).expanduser()
    if path.is_dir():
        return FolderSource(path)
    if path.exists():
        return VideoFileSource(path)
    raise SourceError(f"{text}: no such camera, video file or folder")


def camera_candidates(probe: int = 4) -> list[int]:
    """Camera indices worth trying: the /dev/video* devices on Linux, else the first ``probe``."""
    if sys.platform.startswith("linux"):
        return sorted(int(p[len("/dev/video"):]) for p in glob.glob("/dev/video*") if p[len("/dev/video"):].isdigit())
    return list(range(probe))


def available_cameras(candidates: list[int] | None = None,
                      should_stop: Callable[[], bool] = lambda: False) -> list[int]:
    """The camera indices that open (default: :func:`camera_candidates`), found by opening each
    with OpenCV's log silenced. Slow (a camera takes up to a second): call it off the GUI thread."""
    cams = []
    for i in camera_candidates() if candidates is None else candidates:
        if should_stop():
            break
        with quiet_opencv():
            cap = cv2.VideoCapture(i)
            if cap.isOpened():
                cams.append(i)
            cap.release()
    return cams


class LatestFrame:
    """A one-slot buffer: the capture thread overwrites it, the GUI takes the newest frame.

    ``notify``, if given, is called (on the capture thread) when a frame arrives and the previous
    call has been answered by a :meth:`take`: one wake-up per frame the GUI can show, never a queue
    of them, however fast frames arrive."""

    def __init__(self, notify: Callable[[], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._frame: np.ndarray | None = None
        self._seq = 0
        self._notify = notify
        self._pending = False  # a wake-up was sent and no take() has answered it yet
        self.captured = 0  # frames put in so far

    def put(self, frame: np.ndarray) -> None:
        with self._lock:
            self._frame = frame
            self._seq += 1
            self.captured += 1
            wake = self._notify is not None and not self._pending
            self._pending = self._pending or wake
        if wake:
            self._notify()

    def take(self, after: int) -> tuple[int, np.ndarray] | None:
        """``(seq, frame)`` if a frame newer than ``after`` arrived, else None. Answers the
        latest wake-up, so the next frame sends another."""
        with self._lock:
            self._pending = False
            if self._seq > after and self._frame is not None:
                return self._seq, self._frame
            return None


def run_capture(source: FrameSource, buffer: LatestFrame, should_stop: Callable[[], bool],
                wait: Callable[[float], object] = time.sleep, pace: bool = True) -> str:
    """Read frames from an open ``source`` into ``buffer`` until ``should_stop()``; recordings are
    played at ``source.fps`` when ``pace``. Returns ``"stopped"`` or ``"ended"``; SourceError passes."""
    period = 1.0 / source.fps if pace and not source.live else 0.0
    due = time.monotonic()
    while not should_stop():
        frame = source.read()
        if frame is None:
            return "ended"
        if frame.size:
            buffer.put(frame)
        elif source.live:
            wait(0.03)
        if period:
            due += period
            delay = due - time.monotonic()
            if delay > 0:
                wait(delay)
            elif delay < -period * 5:
                due = time.monotonic()  # fell far behind: do not try to catch up
    return "stopped"
