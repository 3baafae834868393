"""Remembered window layout and preferences (QSettings).

Tests pass an .ini path so they never touch the user's real settings.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

ORG = APP = "drawcnn"


class Settings:
    def __init__(self, path: str | Path | None = None):
        if path is None:
            self.qs = QSettings(ORG, APP)
        else:
            self.qs = QSettings(str(path), QSettings.IniFormat)

    def get(self, key: str, default=None, type_=None):
        if type_ is None:
            return self.qs.value(key, default)
        try:
            return self.qs.value(key, default, type=type_)
        except (TypeError, ValueError):
            return default

    def set(self, key: str, value) -> None:
        self.qs.setValue(key, value)

    def get_list(self, key: str) -> list[str] | None:
        v = self.qs.value(key)
        if v is None:
            return None
        if isinstance(v, str):
            return [s for s in v.split(",") if s] if v else []
        return [str(s) for s in v]

    def set_list(self, key: str, values) -> None:
        self.qs.setValue(key, ",".join(values))

    def sync(self) -> None:
        self.qs.sync()
