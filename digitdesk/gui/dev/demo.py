"""Demo content for screenshots and benchmarks: a webcam-like video (numbers are written on the
canvas by :func:`digitdesk.gui.widgets.canvas.draw_number`)."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np



def demo_video(path: str | os.PathLike, image: np.ndarray | None = None, text: str = "2026", frames: int = 90,
               size: tuple[int, int] = (640, 480), fps: float = 30.0, seed: int = 0) -> Path:
    """An MJPG .avi that looks like a hand-held camera: drifting over ``image`` (BGR), or over a card
    with ``text`` on a light wall when no image is given."""
    path = Path(path)
    w, h = size
    if image is None:
        image = _card(text)
    ih, iw = image.shape[:2]
    cover = max(w / iw, h / ih)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    if not writer.isOpened():
        raise OSError(f"cannot write {path}")
    rng = np.random.default_rng(seed)
    for i in range(frames):
        m = cv2.getRotationMatrix2D((iw / 2, ih / 2), 1.5 * np.sin(i / 15), cover * (1.0 + 0.02 * np.sin(i / 23)))
        m[0, 2] += w / 2 - iw / 2 + 8 * np.sin(i / 9)
        m[1, 2] += h / 2 - ih / 2 + 5 * np.cos(i / 13)
        frame = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        frame = np.clip(frame + rng.normal(0, 3, frame.shape), 0, 255).astype(np.uint8)
        writer.write(frame)
    writer.release()
    return path


def _card(text: str) -> np.ndarray:
    """A white card with ``text`` in thick strokes on a light wall (640x480)."""
    frame = np.empty((480, 640, 3), np.uint8)
    frame[:] = np.linspace(165, 205, 640, dtype=np.float32)[None, :, None].astype(np.uint8)
    scale = 16.0 / max(3, len(text))
    thick = max(4, int(scale * 3.2))
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, scale, thick)
    x0, y0 = (640 - tw) // 2 - 40, (480 - th) // 2 - 50
    cv2.rectangle(frame, (x0, y0), (x0 + tw + 80, y0 + th + 100), (236, 240, 241), -1)
    cv2.putText(frame, text, (x0 + 40, y0 + th + 50), cv2.FONT_HERSHEY_DUPLEX, scale, (45, 40, 40), thick, cv2.LINE_AA)
    return frame
