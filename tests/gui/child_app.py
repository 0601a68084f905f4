# Needs Qt (offscreen), in the child process that runs it: not a test module.
"""The start of a script that builds the window as ``digitdesk`` does (QApplication, excepthook,
``create_main_window()``) in a child process, with ``wait(what, predicate)`` that runs the event
loop until ``predicate()`` holds or exits with status 3. A test appends its scenario."""

from __future__ import annotations

import textwrap

PREAMBLE = textwrap.dedent(r"""
    import sys, time
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication
    from digitdesk.gui import app as gui_app, create_main_window
    from digitdesk.gui.widgets.canvas import draw_number

    qapp = QApplication(sys.argv[:1])
    gui_app.configure_application(qapp)
    gui_app.install_excepthook()
    window = create_main_window()
    window.show()

    def wait(what, predicate, seconds=120):
        end = time.monotonic() + seconds
        while not predicate():
            if time.monotonic() > end:
                print(f"timed out waiting for {what}", flush=True)
                sys.exit(3)
            qapp.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
""")


def script(scenario: str) -> str:
    """The preamble followed by ``scenario`` (dedented)."""
    return PREAMBLE + textwrap.dedent(scenario)
