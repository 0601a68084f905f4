# Needs Qt (offscreen): the window as `digitdesk` builds it, in a child process.
""""Why this digit?" brings TensorFlow in only when asked: after a reading on the Draw tab (with
the Why? buttons shown) it is not imported; once an explanation is asked for, it is."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO
from tests.gui import child_app

APP = child_app.script(r"""

    wait("the model", lambda: window.model.recognizer is not None)
    shown = []
    window.draw_tab.readingShown.connect(shown.append)
    draw_number(window.draw_tab.canvas, "7")
    wait("a reading", lambda: "7" in shown)
    card = window.draw_tab.cards[0]
    print("why button", card.why_button.isVisibleTo(card), "action", window.draw_tab.explain_action.isEnabled())
    print("after reading:", "tensorflow imported" if "tensorflow" in sys.modules else "no tensorflow", flush=True)
    card.why_button.click()
    dialog = window.draw_tab.explain_dialog
    wait("the explanation", lambda: dialog.explanation is not None or dialog.banner.isVisible())
    print("explained", dialog.explanation.top.digit if dialog.explanation else dialog.banner.text())
    print("after explaining:", "tensorflow imported" if "tensorflow" in sys.modules else "no tensorflow", flush=True)
    window.close()
""")


def test_tensorflow_is_imported_only_once_an_explanation_is_asked_for(tmp_path):
    env = {**os.environ, "DIGITDESK_HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen"}
    env.pop("DIGITDESK_READER", None)
    done = subprocess.run([sys.executable, "-c", APP], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "why button True action True" in out, out
    assert "after reading: no tensorflow" in out, out
    assert "explained 7" in out and "after explaining: tensorflow imported" in out, out
