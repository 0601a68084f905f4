"""Where things are: bundled resources and models (source tree, installed wheel or PyInstaller
bundle) and the per-user data folder. The app never writes next to its own files."""

from __future__ import annotations

import os
import sys
from pathlib import Path

HOME_ENV = "DIGITDESK_HOME"
_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def _roots() -> list[Path]:
    roots = []
    if hasattr(sys, "_MEIPASS"):  # PyInstaller bundle
        roots.append(Path(sys._MEIPASS))
    roots.append(_PACKAGE_DIR.parent)  # source tree or editable install
    roots.append(Path(sys.prefix) / "share" / "digitdesk")  # wheel data-files
    return roots


def resource_path(*parts: str) -> Path:
    """Path of a bundled file, e.g. ``resource_path("models", "default.keras")`` or
    ``resource_path("resources", "icon.png")``; the first root that has it wins."""
    for root in _roots():
        candidate = root.joinpath(*parts)
        if candidate.exists():
            return candidate
    return _roots()[0].joinpath(*parts)


def default_model_path() -> Path:
    """The bundled model."""
    return resource_path("models", "default.keras")


def user_data_dir() -> Path:
    """Per-user folder for trained models and collected samples (``$DIGITDESK_HOME`` overrides)."""
    override = os.environ.get(HOME_ENV)
    if override:
        path = Path(override)
    else:
        from platformdirs import user_data_dir as _user_data_dir

        path = Path(_user_data_dir("digitdesk", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path
