"""Webcam tab: live preview with the digits boxed, the current reading, freeze, send to Image.

Capture runs on its own QThread (a FrameSource filling a LatestFrame buffer). The buffer wakes the
GUI thread once per frame it can take (never a queue of wake-ups); the GUI takes the newest frame,
shows it and hands it to the reader thread when that is free, so a slow recognizer skips frames
instead of stalling the preview, and the preview runs as fast as frames come and can be painted.

Longer than ~300 lines because a tab is one screen: its builders, its slots for the workers'
results and its saved state stay together; the parts that stand alone are in ``gui/widgets`` (the frame
view), ``gui/workers/capture.py`` and ``core/frames.py``.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QShowEvent, QStandardItemModel
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout,
                               QWidget)

from digitdesk.gui.overrides import never_raises
from digitdesk.gui.workers.capture import Capture
from digitdesk.core.frames import LatestFrame, SourceError, available_cameras, open_source
from digitdesk.gui.widgets.cards import digit_text
from digitdesk.gui.widgets.frame_view import DEFAULT_ROI, FrameView
from digitdesk.gui.widgets.image_view import Overlay
from digitdesk.gui.workers.recognition import describe_error, timed_read
from digitdesk.gui.widgets.theme import big_font, colors, css
from digitdesk.gui.workers.threads import TaskRunner

if TYPE_CHECKING:
    from digitdesk.gui.settings import Settings
    from digitdesk.core.recognizer import Reading, Recognizer

log = logging.getLogger(__name__)
BROWSE_FILE, BROWSE_FOLDER = "<file>", "<folder>"
NO_CAMERA_HINT = "No camera found: choose “Video file…” or “Folder of images…” under Source."


class WebcamTab(QWidget):
    """Camera chooser, live preview with overlays, the reading, freeze and send-to-Image."""

    readingShown = Signal(str)  # text of the newest reading
    sendToImage = Signal(object, str)  # a BGR frame and a name, for the Image tab
    status = Signal(str)  # a short message for the status bar
    _frameArrived = Signal()  # from the capture thread: a frame is waiting in the buffer

    def __init__(self, camera: str | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("webcamTab")
        self._rec: Recognizer | None = None
        self._capture = Capture(self)
        self._capture.opened.connect(self._on_opened)
        self._capture.failed.connect(self._on_failed)
        self._capture.ended.connect(self._on_ended)
        self._capture.stopped.connect(self._on_stopped)
        self._buffer = LatestFrame()
        self._showing = False  # frames from the buffer are shown (between start and stop)
        self._seen = 0
        self._frame: np.ndarray | None = None
        self._run = 0  # incremented per start, to drop readings of an earlier run
        self._resume = False
        self._camera_arg = str(camera) if camera is not None else None  # always listed
        self._cameras: list[int] | None = None  # the cameras that opened; None until probed
        self._probe: TaskRunner | None = None  # made when the tab is first shown
        self._started: str | None = None  # the source last started (kept listed, its status kept)
        self._still = 0  # incremented per re-read of a frozen or stopped frame
        self._info: dict = {}  # {"name", "fps", "live"} of the source being shown
        self.pace = True  # play recordings at their frame rate (benchmarks may turn this off)
        self.frames_shown = 0
        self._shown_times: deque[float] = deque(maxlen=90)
        self._reader = TaskRunner("webcam-reader", self)
        self._reader.finished.connect(self._on_reading)
        self._reader.failed.connect(self._on_read_failed)
        self._frameArrived.connect(self._drain, Qt.ConnectionType.QueuedConnection)

        self.preview = FrameView()
        self.preview.roiChanged.connect(lambda _roi: self._read_still())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 10)
        layout.addLayout(self._build_tools())
        layout.addWidget(self.preview, 1)
        layout.addLayout(self._build_result())
        if self._camera_arg is not None and self._camera_arg.isdigit():
            self._cameras = [int(self._camera_arg)]  # --camera N: that one, no probing
        self._fill_sources()
        self._set_status("Choose a source and press Start." if camera is None else f"Press Start to use {camera}.")

    def _build_tools(self) -> QHBoxLayout:
        """The row above the preview: source, start, freeze, region and send to Image."""
        self.source_combo = QComboBox()
        self.source_combo.setObjectName("cameraCombo")
        self.source_combo.setMinimumWidth(220)
        self.source_combo.activated.connect(self._on_source_chosen)
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("startButton")
        self.start_button.setToolTip("Start or stop the camera (Ctrl+Space)")
        self.start_button.clicked.connect(self.toggle)
        self.freeze_check = QCheckBox("Freeze")
        self.freeze_check.setObjectName("freezeButton")
        self.freeze_check.setToolTip("Hold the current frame and reading (Ctrl+F)")
        self.roi_check = QCheckBox("Region")
        self.roi_check.setObjectName("roiCheck")
        self.roi_check.setToolTip("Read only inside a box; drag on the preview to draw it")
        self.roi_check.toggled.connect(self._toggle_roi)
        self.send_button = QPushButton("Send to Image tab")
        self.send_button.setObjectName("sendToImageButton")
        self.send_button.setEnabled(False)
        self.send_button.clicked.connect(self.send_to_image)
        tools = QHBoxLayout()
        tools.setSpacing(8)
        tools.addWidget(QLabel("Source"))
        tools.addWidget(self.source_combo)
        tools.addWidget(self.start_button)
        tools.addSpacing(12)
        tools.addWidget(self.freeze_check)
        tools.addWidget(self.roi_check)
        tools.addStretch(1)
        tools.addWidget(self.send_button)
        return tools

    def _build_result(self) -> QHBoxLayout:
        """The row below the preview: the number read and the status line."""
        self.result_label = QLabel("")
        self.result_label.setObjectName("webcamResultLabel")
        self.result_label.setFont(big_font(self, 34))
        self.result_label.setMinimumHeight(self.result_label.fontMetrics().height())
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status_label = QLabel()
        self.status_label.setObjectName("webcamStatusLabel")
        self.status_label.setWordWrap(True)
        bottom = QHBoxLayout()
        bottom.setSpacing(18)
        bottom.addWidget(self.result_label, 0)
        bottom.addWidget(self.status_label, 1)
        return bottom

    # Sources ---------------------------------------------------------------------------

    @staticmethod
    def _source_label(spec: str) -> str:
        if spec.isdigit():
            return f"Camera {spec}"
        path = Path(spec)
        return f"{path.name}/" if path.is_dir() else path.name or spec

    def _fill_sources(self) -> None:
        """List the cameras found, the --camera source and the one chosen, then the browse entries;
        a grey first line says when cameras are still being looked for or none was found."""
        current = self.source_spec()
        keep = [spec for spec in dict.fromkeys((current, self._camera_arg)) if self._still_there(spec)]
        combo = self.source_combo
        combo.clear()
        if self._cameras is None or not self._cameras:
            combo.addItem("Looking for cameras…" if self._cameras is None else "No camera found")
            model = combo.model()
            if isinstance(model, QStandardItemModel):
                model.item(0).setEnabled(False)
        for i in self._cameras or []:
            combo.addItem(f"Camera {i}", str(i))
        for spec in keep:
            if combo.findData(spec) < 0:
                combo.addItem(self._source_label(spec), spec)
                combo.setItemData(combo.count() - 1, spec, Qt.ItemDataRole.ToolTipRole)
        combo.insertSeparator(combo.count())
        combo.addItem("Video file…", BROWSE_FILE)
        combo.addItem("Folder of images…", BROWSE_FOLDER)
        chosen = combo.findData(current) if current is not None else -1
        if chosen < 0:  # the first source, else the grey line: never the separator
            chosen = next((i for i in range(combo.count()) if combo.itemData(i) not in (None, BROWSE_FILE,
                                                                                       BROWSE_FOLDER)), 0)
        combo.setCurrentIndex(chosen)

    def _still_there(self, spec: str | None) -> bool:
        """Whether a chosen source stays listed: a camera only if the probe found it (or --camera named it)."""
        if spec is None:
            return False
        return (spec in (self._camera_arg, self._started) or not spec.isdigit() or self._cameras is None
                or int(spec) in self._cameras)

    @never_raises
    def showEvent(self, event: QShowEvent) -> None:
        """Look for cameras the first time the tab is shown (on a thread: opening one is slow)."""
        super().showEvent(event)
        if self._cameras is None and self._probe is None:
            self._probe = TaskRunner("camera-probe", self)
            self._probe.finished.connect(self._on_cameras)
            self._probe.failed.connect(lambda _tag, exc: self._on_cameras(None, []))
            self._probe.submit(available_cameras, None, self._probe.stopping)

    @Slot(object, object)
    def _on_cameras(self, _tag: Any, cameras: list[int]) -> None:
        self._cameras = list(cameras)
        self._fill_sources()
        if not cameras and self.source_spec() is None and self._started is None:
            self._set_status(NO_CAMERA_HINT)  # (after a start, its own status stays: it says more)

    def set_source(self, spec: str) -> None:
        """Select a camera index, video file or image folder (added to the list if new)."""
        spec = str(spec)
        if self.source_combo.findData(spec) < 0:
            self.source_combo.insertItem(0, self._source_label(spec), spec)
            self.source_combo.setItemData(0, spec, Qt.ItemDataRole.ToolTipRole)
        self.source_combo.setCurrentIndex(self.source_combo.findData(spec))

    def source_spec(self) -> str | None:
        data = self.source_combo.currentData()
        return data if data not in (None, BROWSE_FILE, BROWSE_FOLDER) else None

    def save_state(self, settings: "Settings") -> None:
        """Remember the chosen camera, video file or folder."""
        spec = self.source_spec()
        if spec is not None:
            settings.set("source", spec)

    def restore_state(self, settings: "Settings") -> None:
        """Choose the remembered source again, if it still exists."""
        source = settings.get("source", "")
        if source and (source.isdigit() or Path(source).exists()):
            self.set_source(source)

    @Slot(int)
    def _on_source_chosen(self, index: int) -> None:
        data = self.source_combo.itemData(index)
        if data == BROWSE_FILE:
            path, _ = QFileDialog.getOpenFileName(self, "Play a video file", "",
                                                  "Videos (*.avi *.mp4 *.mkv *.mov *.webm);;All files (*)")
        elif data == BROWSE_FOLDER:
            path = QFileDialog.getExistingDirectory(self, "Play a folder of images")
        else:
            return
        if path:
            self.set_source(path)
        else:
            self._fill_sources()  # back to the first source

    # Start / stop ---------------------------------------------------------------------------

    def is_running(self) -> bool:
        return self._capture.is_running()

    def toggle(self) -> None:
        self.stop() if self.is_running() else self.start()

    def start(self, spec: str | None = None) -> None:
        """Open the selected source (or ``spec``) on a capture thread and start previewing."""
        self.stop()
        if spec is not None:
            self.set_source(spec)
        spec = self.source_spec()
        self._started = spec
        if spec is None:
            self._set_status(NO_CAMERA_HINT if self._cameras == [] else
                             "Choose a camera, a video file or a folder of images first.", error=True)
            return
        try:
            source = open_source(spec)
        except SourceError as exc:
            self._set_status(str(exc), error=True)
            return
        self._run += 1
        self._buffer, self._seen, self._frame = LatestFrame(self._frameArrived.emit), 0, None
        self._shown_times.clear()
        self.frames_shown = 0
        self._info = {"name": source.name}  # until the capture thread reports the source open
        self._capture.start(source, self._buffer, self.pace)
        self.preview.set_message(f"Opening {source.name}…")
        self._set_status(f"Opening {source.name}…")
        self.start_button.setText("Stop")
        self._showing = True

    def stop(self, quiet: bool = False) -> None:
        """Stop capturing and release the camera; returns once the capture thread has ended."""
        self._showing = False
        self._reader.cancel_pending()
        if self._capture.stop() and not quiet:
            self._set_status("Stopped.")
        self.start_button.setText("Start")
        self.send_button.setEnabled(self._frame is not None)

    def suspend(self) -> None:
        """Release the camera when the tab is left; :meth:`resume` restarts it."""
        self._resume = self.is_running()
        self.stop()

    def start_when_shown(self) -> None:
        """Start the camera the next time the tab is shown (``--camera``)."""
        self._resume = True

    def resume(self) -> None:
        """Restart the camera that :meth:`suspend` released (or :meth:`start_when_shown` asked for)."""
        if self._resume:
            self._resume = False
            self.start()

    def shutdown(self) -> None:
        """Stop every thread of this tab (window closing)."""
        self._resume = False
        self.stop()
        self._capture.shutdown()
        self._reader.shutdown()
        if self._probe is not None:
            self._probe.shutdown()

    def set_recognizer(self, rec: "Recognizer | None") -> None:
        self._rec = rec

    def preview_fps(self) -> float:
        """Frames shown per second over the last ~90 frames."""
        t = self._shown_times
        return (len(t) - 1) / (t[-1] - t[0]) if len(t) > 2 and t[-1] > t[0] else 0.0

    # Frames -------------------------------------------------------------------------------

    @Slot()
    def _drain(self) -> None:
        got = self._buffer.take(self._seen) if self._showing else None
        if got is None or self.freeze_check.isChecked():
            return
        self._seen, frame = got
        self._frame = frame
        self.preview.set_frame(frame)
        self.frames_shown += 1
        self._shown_times.append(time.perf_counter())
        self.send_button.setEnabled(True)
        if self._rec is not None and not self._reader.busy:
            crop, offset = self._roi_crop(frame)
            self._reader.submit(timed_read, self._rec, crop, False, self._reader.stopping,
                                tag=("live", self._run, offset))
        if self.frames_shown == 1 or self.frames_shown % 15 == 0:
            self._update_status()

    def _roi_crop(self, frame: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
        roi = self.preview.roi()
        if not roi:
            return frame, (0, 0)
        h, w = frame.shape[:2]
        x0, y0 = int(roi[0] * w), int(roi[1] * h)
        x1, y1 = max(x0 + 8, int((roi[0] + roi[2]) * w)), max(y0 + 8, int((roi[1] + roi[3]) * h))
        return frame[y0:y1, x0:x1], (x0, y0)

    def _is_still(self) -> bool:
        """The frame on screen stays: frozen, or the source stopped."""
        return self.freeze_check.isChecked() or not self.is_running()

    def _read_still(self) -> None:
        """Read the frame on screen again if it stays (the region changed while frozen)."""
        if self._frame is None or self._rec is None or not self._is_still():
            return
        self._still += 1
        crop, offset = self._roi_crop(self._frame)
        self._reader.submit(timed_read, self._rec, crop, False, self._reader.stopping,
                            tag=("still", self._still, offset))

    @Slot(object, object)
    def _on_reading(self, tag: Any, result: Any) -> None:
        kind, n, (ox, oy) = tag
        if kind == "live" and (n != self._run or not self.is_running() or self.freeze_check.isChecked()):
            return  # from an earlier run, or the picture is frozen
        if kind == "still" and (n != self._still or not self._is_still()):
            return  # the region changed again, or live frames are back
        reading: Reading = result[0]
        self.preview.set_overlays([Overlay((d.box[0] + ox, d.box[1] + oy, d.box[2], d.box[3]),
                                           digit_text(d.digit, d.uncertain), d.uncertain)
                                   for d in reading.digits])
        self.preview.set_outline(None if reading.surface is None
                                 else [(float(x) + ox, float(y) + oy) for x, y in reading.surface])
        uncertain = any(d.uncertain for d in reading.digits)
        self.result_label.setText(reading.text.replace("\n", " ") if reading.digits else "")
        c = colors(self.palette())
        self.result_label.setStyleSheet(f"color: {css(c.amber)};" if uncertain else "")
        self.readingShown.emit(reading.text)

    @Slot(object, object)
    def _on_read_failed(self, tag: Any, exc: Exception) -> None:
        log.warning("reading a frame failed: %s", describe_error(exc))

    @Slot(dict)
    def _on_opened(self, info: dict) -> None:
        self._info = info
        if self.frames_shown:  # the first frame came first: keep it and say what is shown
            self._update_status()
            return
        self.preview.set_message("")
        self._set_status(f"{info['name']}: waiting for the first frame…")

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.stop()
        hint = "Choose another camera, a video file or a folder of images under Source, or press Start to try again."
        if self._frame is None:
            self.preview.set_message(f"{message}\n\n{hint}")
        # else: the last frame and its reading stay on screen, the message goes below them
        self._set_status(f"{message} {hint}", error=True)
        self.status.emit("Camera problem")

    @Slot()
    def _on_ended(self) -> None:
        self._set_status("The recording ended.")

    @Slot()
    def _on_stopped(self) -> None:
        self.stop(quiet=True)  # the source ended or failed on its own

    def _update_status(self) -> None:
        info = self._info
        if self._frame is None:
            return
        h, w = self._frame.shape[:2]
        fps = self.preview_fps()
        self._set_status(f"{info.get('name', 'source')} · {w}×{h}" + (f" · {fps:.0f} fps preview" if fps else "")
                         + (" · model loading…" if self._rec is None else ""))

    def _set_status(self, text: str, error: bool = False) -> None:
        c = colors(self.palette())
        self.status_label.setStyleSheet(f"color: {css(c.error if error else c.muted)};")
        self.status_label.setText(text)

    # Freeze, region, send ----------------------------------------------------------------

    @Slot(bool)
    def _toggle_roi(self, on: bool) -> None:
        self.preview.set_roi(DEFAULT_ROI if on else None)
        self.preview.set_overlays([])
        self.preview.set_outline(None)
        self._read_still()

    @Slot()
    def send_to_image(self) -> None:
        """Hand the frame shown to the Image tab (``sendToImage``)."""
        if self._frame is not None:
            self.sendToImage.emit(self._frame.copy(), "webcam frame")
