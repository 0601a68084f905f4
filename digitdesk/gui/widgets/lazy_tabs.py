"""Pages of a QTabWidget built the first time they are shown or asked for, so that the window
paints without importing or building them. Each starts as an empty placeholder page that the
real widget replaces in place (same index, text and tooltip)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

log = logging.getLogger(__name__)


class LazyTabs(QObject):
    """The lazily built pages of ``tabs``: :meth:`add` a placeholder with a factory; the page is
    built when it becomes the current one, or on :meth:`get` / :meth:`build_next`."""

    built = Signal(str, QWidget)  # the key of a page just built, and its widget

    def __init__(self, tabs: QTabWidget):
        super().__init__(tabs)
        self._tabs = tabs
        self._factories: dict[str, Callable[[], QWidget]] = {}
        self._placeholders: dict[str, QWidget] = {}
        self._widgets: dict[str, QWidget] = {}
        self._building: str | None = None
        tabs.currentChanged.connect(self._on_current_changed)

    def add(self, key: str, text: str, factory: Callable[[], QWidget]) -> None:
        """Append a page ``text`` whose widget ``factory()`` makes when it is first needed."""
        placeholder = QWidget()
        placeholder.setObjectName(f"{key}Placeholder")
        self._factories[key] = factory
        self._placeholders[key] = placeholder
        self._tabs.addTab(placeholder, text)

    def is_built(self, key: str) -> bool:
        return key in self._widgets

    def built_widgets(self) -> dict[str, QWidget]:
        """The pages built so far, by key (none is built by asking)."""
        return dict(self._widgets)

    def get(self, key: str) -> QWidget:
        """The page's widget, built now if it was not yet (the factory's error, if it fails)."""
        widget = self._widgets.get(key)
        return widget if widget is not None else self._build(key)

    def build_next(self) -> bool:
        """Build the first page not built yet; False if every page is built."""
        key = next((k for k in self._factories if k not in self._widgets), None)
        if key is None:
            return False
        self._build(key)
        return True

    @Slot(int)
    def _on_current_changed(self, index: int) -> None:
        """Build the page just made current if it is a placeholder. An error that the page shown
        before left pending (PySide raises it at the next call into Qt, here) is reported to
        sys.excepthook, and the page is built all the same."""
        try:
            page = self._tabs.widget(index)
        except Exception:
            sys.excepthook(*sys.exc_info())
            page = self._tabs.widget(index)
        key = next((k for k, p in self._placeholders.items() if p is page), None)
        if key is not None and self._building is None:
            self._build(key)  # an error goes to sys.excepthook (a slot); the placeholder says so

    def _build(self, key: str) -> QWidget:
        if self._building is not None:
            raise RuntimeError(f"the {key} page was asked for while the {self._building} page is being built")
        placeholder = self._placeholders[key]
        self._building = key
        try:
            widget = self._factories[key]()
        except Exception as exc:
            _show_failure(placeholder, self._tabs.tabText(self._tabs.indexOf(placeholder)), exc)
            raise
        finally:
            self._building = None
        self._widgets[key] = widget
        i = self._tabs.indexOf(placeholder)
        text, tip = self._tabs.tabText(i), self._tabs.tabToolTip(i)
        was_current = self._tabs.currentWidget() is placeholder
        # Inserted before the placeholder, then shown, then the placeholder removed: no other
        # page is shown on the way (a removed current page would show its neighbour), and the
        # same page stays current, so no currentChanged is emitted.
        blocked = self._tabs.blockSignals(True)
        self._tabs.insertTab(i, widget, text)
        self._tabs.setTabToolTip(i, tip)
        if was_current:
            try:
                self._tabs.setCurrentIndex(i)
            except Exception:  # the page's own showEvent failed (PySide raises it at this call)
                sys.excepthook(*sys.exc_info())  # reported as the event loop would; the page is built
        self._tabs.removeTab(i + 1)
        self._tabs.blockSignals(blocked)
        del self._placeholders[key]
        placeholder.deleteLater()
        log.debug("built the %s tab", key)
        self.built.emit(key, widget)
        return widget


def _show_failure(placeholder: QWidget, text: str, exc: Exception) -> None:
    """Say on the placeholder why its page could not be built (it is tried again when shown)."""
    label = placeholder.findChild(QLabel, "lazyTabError")
    if label is None:
        label = QLabel()
        label.setObjectName("lazyTabError")
        label.setWordWrap(True)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        QVBoxLayout(placeholder).addWidget(label)
        label.show()  # at once, though its parent is already shown
    label.setText(f"The {text} tab could not be opened: {type(exc).__name__}: {exc}\n\n"
                  "Switch to another tab and back to try again; the details are in the log.")
