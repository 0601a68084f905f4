"""The window's six tabs (draw, image, webcam, train, models, data), one module each.

A tab builds its widgets, wires them to workers and saves and restores its own settings
(``save_state`` / ``restore_state``). Tabs import widgets and workers, never each other: the
main window connects them. The import-linter contract in ``pyproject.toml`` keeps the layers
(tabs -> widgets -> workers).
"""
