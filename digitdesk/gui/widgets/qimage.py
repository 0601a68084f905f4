"""The one place where numpy arrays and Qt images are converted into each other."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage, QPixmap

_GRAY_FORMATS = (QImage.Format.Format_Grayscale8, QImage.Format.Format_Alpha8)


def array_to_qimage(array: np.ndarray) -> QImage:
    """A QImage (owning its pixels) of a uint8 array: grayscale ``(H, W)``, BGR ``(H, W, 3)`` or
    BGRA ``(H, W, 4)``, OpenCV's channel order."""
    a = np.asarray(array)
    if a.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {a.dtype}")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 2:
        fmt = QImage.Format.Format_Grayscale8
    elif a.ndim == 3 and a.shape[2] == 3:
        fmt = QImage.Format.Format_BGR888
    elif a.ndim == 3 and a.shape[2] == 4:
        fmt = QImage.Format.Format_ARGB32  # bytes B, G, R, A in memory on little-endian machines
        if np.little_endian is False:  # pragma: no cover - big-endian hosts
            a = a[:, :, ::-1]
    else:
        raise ValueError(f"cannot show an array of shape {a.shape} as an image")
    a = np.ascontiguousarray(a)
    h, w = a.shape[:2]
    return QImage(a.data, w, h, a.strides[0], fmt).copy()  # copy: the QImage must not borrow `a`


def array_to_pixmap(array: np.ndarray) -> QPixmap:
    """A QPixmap of a uint8 grayscale, BGR or BGRA array."""
    return QPixmap.fromImage(array_to_qimage(array))


def qimage_to_array(image: QImage) -> np.ndarray:
    """A copy of a QImage's pixels: ``(H, W)`` for grayscale/alpha-only images, else BGRA
    ``(H, W, 4)`` (premultiplied images are returned as stored, i.e. premultiplied)."""
    if image.isNull():
        return np.zeros((0, 0), np.uint8)
    fmt = image.format()
    if fmt in _GRAY_FORMATS:
        channels = 1
    else:
        if fmt not in (QImage.Format.Format_ARGB32, QImage.Format.Format_ARGB32_Premultiplied,
                       QImage.Format.Format_RGB32):
            image = image.convertToFormat(QImage.Format.Format_ARGB32)
        channels = 4
    h, w, stride = image.height(), image.width(), image.bytesPerLine()
    buf = np.frombuffer(image.constBits(), np.uint8, count=stride * h).reshape(h, stride)
    out = buf[:, : w * channels].reshape(h, w, channels) if channels > 1 else buf[:, :w]
    if channels == 4 and np.little_endian is False:  # pragma: no cover
        out = out[:, :, ::-1]
    return out.copy()


def bgr_from_qimage(image: QImage) -> np.ndarray:
    """A BGR ``(H, W, 3)`` uint8 array of any QImage (transparent pixels over white)."""
    if image.hasAlphaChannel():
        flat = QImage(image.size(), QImage.Format.Format_RGB32)
        flat.fill(0xFFFFFFFF)
        from PySide6.QtGui import QPainter

        with QPainter(flat) as p:
            p.drawImage(0, 0, image)
        image = flat
    return qimage_to_array(image.convertToFormat(QImage.Format.Format_RGB32))[:, :, :3].copy()
