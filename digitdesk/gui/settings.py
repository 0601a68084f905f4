"""User preferences in QSettings (the only place the app uses QSettings)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QCoreApplication, QSettings

ORGANIZATION = "digitdesk"
APPLICATION = "digitdesk"
MAX_RECENT = 8
T = TypeVar("T")


def ensure_app_identity() -> None:
    """Give the application the names QSettings files are stored under (if none are set)."""
    if not QCoreApplication.organizationName():
        QCoreApplication.setOrganizationName(ORGANIZATION)
    if not QCoreApplication.applicationName():
        QCoreApplication.setApplicationName(APPLICATION)


class Settings:
    """Typed access to the app's QSettings, one group per part of the window."""

    def __init__(self, group: str = ""):
        ensure_app_identity()
        self._qs = QSettings()
        self._group = group

    def _key(self, key: str) -> str:
        return f"{self._group}/{key}" if self._group else key

    def group(self, name: str) -> "Settings":
        """Settings of one part of the window, e.g. ``Settings().group("draw")``."""
        child = Settings.__new__(Settings)
        child._qs, child._group = self._qs, self._key(name)
        return child

    def get(self, key: str, default: T) -> T:
        """The stored value converted to the type of ``default`` (or ``default``)."""
        if default is None or isinstance(default, (bytes, bytearray)):
            value = self._qs.value(self._key(key), default)
            return value if value is not None else default
        if isinstance(default, list):
            value = self._qs.value(self._key(key), default, type=list)
            return [str(v) for v in value] if value else list(default)
        try:
            return self._qs.value(self._key(key), default, type=type(default))
        except (TypeError, ValueError):
            return default

    def set(self, key: str, value: Any) -> None:
        self._qs.setValue(self._key(key), value)

    @property
    def file_name(self) -> str:
        """Where the settings are stored."""
        return self._qs.fileName()

    def sync(self) -> bool:
        """Write the settings to disk now; False if they could not be written (read-only folder,
        full disk): the app goes on, with the settings of this session kept in memory."""
        self._qs.sync()
        return self._qs.status() == QSettings.Status.NoError

    # Shared lists ------------------------------------------------------------------------

    def recent_files(self) -> list[str]:
        """Recently opened image files, newest first, only those that still exist."""
        return [p for p in Settings().get("recentFiles", []) if os.path.exists(p)]

    def add_recent_file(self, path: str | os.PathLike) -> list[str]:
        path = str(Path(path).resolve())
        files = [path] + [p for p in Settings().get("recentFiles", []) if p != path]
        Settings().set("recentFiles", files[:MAX_RECENT])
        return files[:MAX_RECENT]

    def clear_recent_files(self) -> None:
        Settings().set("recentFiles", [])

    def last_folder(self) -> str:
        return Settings().get("lastFolder", str(Path.home()))

    def set_last_folder(self, folder: str | os.PathLike) -> None:
        Settings().set("lastFolder", str(folder))
