# Needs Qt (offscreen). Qt virtual overrides that raise: the error reaches sys.excepthook and
# nothing is left pending; and every override in digitdesk.gui is guarded.
from __future__ import annotations

import ast
import sys
from pathlib import Path

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QWidget

import digitdesk.gui
from digitdesk.gui.overrides import never_raises

GUI = Path(digitdesk.gui.__file__).parent
OVERRIDE_NAMES = ("eventFilter", "event")  # and every method named ...Event


def _is_override(name: str) -> bool:
    return name in OVERRIDE_NAMES or (name.endswith("Event") and name[:1].islower())


def test_every_qt_override_in_the_gui_is_guarded():
    unguarded = []
    for path in sorted(GUI.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.ClassDef):
                continue
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and _is_override(item.name):
                    names = {ast.unparse(d).split("(")[0] for d in item.decorator_list}
                    if "never_raises" not in names:
                        unguarded.append(f"{path.relative_to(GUI)}:{item.lineno} {node.name}.{item.name}")
    assert not unguarded, "Qt overrides without @never_raises: " + ", ".join(unguarded)


class _Raising(QWidget):
    @never_raises
    def showEvent(self, event) -> None:
        super().showEvent(event)
        raise ValueError("show failed")


class _Filter(QObject):
    seen = 0

    @never_raises(default=False)
    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.User:
            self.seen += 1
            raise KeyError("filter failed")
        return False


def test_an_error_in_an_override_goes_to_excepthook_and_is_not_left_pending(qtbot, monkeypatch):
    caught = []
    monkeypatch.setattr(sys, "excepthook", lambda t, e, tb: caught.append(t))
    widget = _Raising()
    qtbot.addWidget(widget)
    widget.show()  # PySide raises an override's pending error out of show() when unguarded
    QApplication.processEvents()
    assert caught == [ValueError]
    assert widget.isVisible()

    filt = _Filter()
    target = QObject()
    target.installEventFilter(filt)
    QApplication.sendEvent(target, QEvent(QEvent.Type.User))  # the filter's default (False) lets it through
    assert filt.seen == 1 and caught == [ValueError, KeyError]
