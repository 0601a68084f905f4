# Needs Qt (offscreen): the app's log file, a quiet terminal, and warnings shown in the window.
from __future__ import annotations

import logging
import os
import subprocess
import sys

from tests.conftest import REPO

CHATTER = ("oneDNN", "XNNPACK", "absl", "port.cc", "INFO", "propagateSizeHints", "can't open camera", "Downloading data")


def test_launch_prints_nothing_and_logs_to_the_user_folder(tmp_path):
    """`digitdesk` as a user starts it, until its first reading is on screen: nothing from
    TensorFlow, Qt, OpenCV or the app's log reaches the terminal; the log file has it."""
    home = tmp_path / "home"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "DIGITDESK_HOME": str(home),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "DIGITDESK_REPORT_STARTUP": "quit"}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as in a user's shell
    out = subprocess.run([sys.executable, "-m", "digitdesk"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert any(line.startswith("first-prediction ") for line in out.stdout.splitlines()), out.stdout
    noisy = [line for line in (out.stdout + out.stderr).splitlines() if any(c in line for c in CHATTER)]
    assert noisy == [], noisy
    assert out.stderr.strip() == "", out.stderr
    log = (home / "logs" / "digitdesk.log").read_text()
    assert "digitdesk started" in log and "model default ready" in log
    # The runtime's native start-up line (LiteRT's "Created TensorFlow Lite XNNPACK delegate")
    # went to the file, not the terminal.
    assert "XNNPACK" in log


def test_app_warnings_reach_the_status_bar_and_third_party_ones_do_not(qtbot, tmp_path):
    from PySide6.QtWidgets import QStatusBar

    from digitdesk.gui.applog import WindowNotices, configure_logging

    path = configure_logging(tmp_path / "logs" / "app.log")
    bar = QStatusBar()
    qtbot.addWidget(bar)
    notices = WindowNotices()
    notices.notice.connect(lambda message: bar.showMessage(message))
    logging.getLogger("digitdesk").addHandler(notices)
    try:
        logging.getLogger("matplotlib.font_manager").warning("a third-party warning")
        assert bar.currentMessage() == ""
        logging.getLogger("digitdesk.gui.test").warning("settings could not be saved")
        assert bar.currentMessage() == "settings could not be saved"
        logging.getLogger("digitdesk.gui.test").info("an info line")
        assert bar.currentMessage() == "settings could not be saved"
    finally:
        from PySide6.QtCore import qInstallMessageHandler

        from digitdesk.core.tfimport import send_native_output_to

        qInstallMessageHandler(None)
        send_native_output_to(None)
        logging.captureWarnings(False)
        logging.getLogger("digitdesk").removeHandler(notices)
        for handler in list(logging.getLogger().handlers):
            if getattr(handler, "_digitdesk", False):
                logging.getLogger().removeHandler(handler)
                handler.close()
    text = path.read_text()
    assert "a third-party warning" in text and "settings could not be saved" in text
