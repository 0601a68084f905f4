"""The desktop GUI (PySide6): a thin layer over :mod:`digitdesk.core`.

Importing this package does not import TensorFlow; the model loads on a worker thread.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from digitdesk.core.recognizer import Recognizer
    from digitdesk.gui.main_window import MainWindow

__all__ = ["create_main_window"]


def create_main_window(model: str | os.PathLike | None = None, camera: str | None = None,
                       recognizer: "Recognizer | None" = None) -> "MainWindow":
    """The main window, not yet shown; needs a QApplication. Loads ``model`` (default: the bundled
    one) on a worker thread, starting right after the window's first paint (or within 300 ms of
    event processing if it is not shown), unless an already loaded ``recognizer`` is given."""
    from digitdesk.gui.main_window import MainWindow
    from digitdesk.gui.settings import ensure_app_identity

    ensure_app_identity()
    window = MainWindow(model=model, camera=camera)
    if recognizer is not None:
        window.set_recognizer(recognizer)
    else:
        window.load_model_soon()
    return window
