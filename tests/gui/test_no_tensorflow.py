# Needs Qt (offscreen): the window as `digitdesk` builds it, in a child process, reads without TensorFlow.
"""Reading never imports TensorFlow: the app after readings on the Draw and Image tabs and the
Models tab's listing, and ``digitdesk predict``. Each runs in a fresh child process, which
checks ``sys.modules``; with ``DIGITDESK_READER=keras`` (the old path) the same check must fail."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.gui import child_app

APP = child_app.script(r"""

    wait("the model", lambda: window.model.recognizer is not None)
    shown = []
    window.draw_tab.readingShown.connect(shown.append)
    draw_number(window.draw_tab.canvas, "38")
    wait("a reading", lambda: "38" in shown)
    window.tabs.setCurrentWidget(window.image_tab)
    window.image_tab.open_image(sys.argv[1])
    wait("the image's reading", lambda: window.image_tab.reading() is not None)
    window.tabs.setCurrentWidget(window.models_tab)
    window.models_tab.refresh()
    wait("the listing", lambda: len(window.models_tab.models) >= 1)
    print("runtime", window.model.recognizer.runtime, "image read as", repr(window.image_tab.reading().text), flush=True)
    print("tensorflow imported" if "tensorflow" in sys.modules else "no tensorflow", flush=True)
    window.close()
""")

PREDICT = ("import sys; from digitdesk.cli import main; rc = main(['predict', sys.argv[1]]); "
           "print('tensorflow imported' if 'tensorflow' in sys.modules else 'no tensorflow'); sys.exit(rc)")
SAMPLE = str(REPO / "resources" / "samples" / "photo_2026_4071.jpg")


def _child(code: str, tmp_path, reader: str | None) -> str:
    env = {**os.environ, "DIGITDESK_HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen"}
    env.pop("DIGITDESK_READER", None)
    if reader:
        env["DIGITDESK_READER"] = reader
    done = subprocess.run([sys.executable, "-c", code, SAMPLE], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.parametrize("code", [APP, PREDICT], ids=["app", "predict"])
def test_reading_never_imports_tensorflow(tmp_path, code):
    out = _child(code, tmp_path, None)
    assert "no tensorflow" in out, out
    assert "2026" in out or "runtime litert" in out, out


@pytest.mark.parametrize("code", [APP, PREDICT], ids=["app", "predict"])
def test_the_check_sees_tensorflow_on_the_old_path(tmp_path, code):
    assert "tensorflow imported" in _child(code, tmp_path, "keras")


TRAIN_TWICE = child_app.script(r"""

    wait("the model", lambda: window.model.recognizer is not None)
    tab = window.train_tab
    tab.form.source_combo.setCurrentIndex(tab.form.source_combo.findData("samples"))  # none: fails after the import
    logs = []
    for run in range(2):
        tab.start()
        wait("the run's end", lambda: not tab.running, 300)
        logs.append(tab.log.toPlainText())
    print("first run:", logs[0].replace("\n", " / "), flush=True)
    print("second run:", logs[1].replace("\n", " / "), flush=True)
    print("tensorflow imported" if "tensorflow" in sys.modules else "no tensorflow", flush=True)
    window.close()
""")


def test_the_first_training_of_a_session_says_it_starts_tensorflow(tmp_path):
    """Reading never imports TensorFlow, so the first Start of a session waits for it: the log
    says so then, and only then."""
    out = _child(TRAIN_TWICE, tmp_path, None)
    first = next(line for line in out.splitlines() if line.startswith("first run:"))
    second = next(line for line in out.splitlines() if line.startswith("second run:"))
    assert "Starting TensorFlow" in first and "no samples" in first, out
    assert "Starting TensorFlow" not in second and "no samples" in second, out
    assert "tensorflow imported" in out
