"""Python overrides of Qt's virtual functions (event handlers, event filters) that never raise.

An exception leaving a Qt virtual is kept pending by PySide while Qt goes on dispatching; in
that state PySide 6.11 freed a parent widget's own override function, and the app later crashed
with SIGSEGV in a garbage collection (``tests/gui/widgets/test_plots.py``). So every override
of the GUI is decorated with :func:`never_raises` (``tests/gui/test_overrides.py`` checks that
none is left out): an error goes to ``sys.excepthook`` (the app's error box and log), as an
uncaught error in a slot does, and the handler returns ``default``.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def never_raises(func: F | None = None, *, default: Any = None) -> F | Callable[[F], F]:
    """``@never_raises`` for an event handler, ``@never_raises(default=False)`` for an event
    filter or ``event()``: an exception is reported to ``sys.excepthook`` and ``default``
    returned in its place."""

    def decorate(f: F) -> F:
        @functools.wraps(f)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return f(*args, **kwargs)
            except Exception:
                sys.excepthook(*sys.exc_info())
                return default

        guarded.never_raises = True  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorate(func) if func is not None else decorate
