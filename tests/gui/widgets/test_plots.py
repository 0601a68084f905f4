# Needs Qt (offscreen) and matplotlib. A plot whose Qt backend cannot be imported (the frozen app
# once left PySide6.QtSvg out), shown inside a page that overrides showEvent, as every tab does.
from __future__ import annotations

import importlib.abc
import sys

import PySide6
from PySide6.QtWidgets import QVBoxLayout, QWidget

from digitdesk.gui.widgets.plots import ConfusionPlot


class NoQtSvg(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "PySide6.QtSvg":
            raise ImportError("cannot import name 'QtSvg' from 'PySide6'")


class Page(QWidget):
    def showEvent(self, event) -> None:
        super().showEvent(event)


def test_a_plot_that_cannot_be_built_is_reported_and_leaves_its_page_whole(qtbot, monkeypatch):
    """An exception leaving the plot's showEvent (a Qt virtual) made PySide 6.11 drop a reference
    to the page's own showEvent function: the class kept a freed function, and the app died in a
    later garbage collection (SIGSEGV). The plot reports the error to sys.excepthook instead."""
    for name in [n for n in sys.modules if n.startswith("matplotlib.backends.") or n == "PySide6.QtSvg"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delattr(PySide6, "QtSvg", raising=False)
    monkeypatch.setattr(sys, "meta_path", [NoQtSvg(), *sys.meta_path])
    reported = []
    monkeypatch.setattr(sys, "excepthook", lambda t, e, tb: reported.append(e))

    page = Page()
    QVBoxLayout(page).addWidget(ConfusionPlot())
    qtbot.addWidget(page)
    show_event = Page.__dict__["showEvent"]  # held here, so that a lost reference fails, not crashes
    refs = sys.getrefcount(show_event)
    for _ in range(3):
        page.show()
        qtbot.waitExposed(page)
        page.hide()
    assert sys.getrefcount(show_event) == refs
    assert len(reported) == 3 and all(isinstance(e, ImportError) and "QtSvg" in str(e) for e in reported), reported
