# Needs Qt (no window): the one ndarray<->QImage helper.
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QImage

from digitdesk.gui.widgets.qimage import array_to_qimage, bgr_from_qimage, qimage_to_array


def test_qimage_round_trips():
    rng = np.random.default_rng(1)
    gray = rng.integers(0, 256, (31, 17), dtype=np.uint8)
    bgr = rng.integers(0, 256, (13, 29, 3), dtype=np.uint8)
    bgra = rng.integers(0, 256, (7, 9, 4), dtype=np.uint8)
    assert array_to_qimage(gray).format() == QImage.Format.Format_Grayscale8
    assert np.array_equal(qimage_to_array(array_to_qimage(gray)), gray)
    assert np.array_equal(bgr_from_qimage(array_to_qimage(bgr)), bgr)
    assert np.array_equal(qimage_to_array(array_to_qimage(bgra)), bgra)
    view = bgr[:, ::2]  # not contiguous
    assert np.array_equal(bgr_from_qimage(array_to_qimage(view)), view)
    img = array_to_qimage(gray)
    gray[:] = 0  # the QImage owns a copy
    assert qimage_to_array(img).max() > 0
    with pytest.raises(ValueError):
        array_to_qimage(gray.astype(np.float32))
