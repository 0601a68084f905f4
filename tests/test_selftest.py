# Qt only in a subprocess (offscreen). `digitdesk self-test` from the source tree: it passes, and a
# broken installation (a bad model, a misread sample, a tab that raises, an error that only reaches
# a hook or the log) fails with the reason; a broken tab does not abort the app.
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from digitdesk import selftest

REPO = Path(__file__).resolve().parents[1]


def test_self_test_passes_from_source(tmp_path):
    home, config = tmp_path / "home", tmp_path / "config"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TF_CPP_MIN_LOG_LEVEL": "3",
           "DIGITDESK_HOME": str(home), "XDG_CONFIG_HOME": str(config), "PYTHONPATH": str(REPO),
           "DIGITDESK_DATA": str(tmp_path / "no-mnist-here")}  # self-contained: brings its own data
    out = subprocess.run([sys.executable, "-m", "digitdesk", "self-test"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout + out.stderr[-3000:]
    lines = out.stdout.splitlines()
    assert lines[0].startswith("digitdesk ") and f"source {REPO}" in lines[0]
    for check in selftest.CHECKS:
        assert any(re.match(rf"ok +{check} +\d+\.\d s  \S", line) for line in lines), (check, out.stdout)
    assert "4/4 images read as labelled" in out.stdout
    assert '"2026" drawn on the canvas read as "2026"' in out.stdout
    assert "confusion matrix plotted" in out.stdout
    window = next(line for line in lines if line.startswith("ok    window"))
    for shown in ("Train tab: tiny net trained", "Train tab's live plot", "Train tab's confusion matrix",
                  "Train tab's per-digit table", "Train tab's misclassified gallery", "Data tab charts",
                  "Models tab: lists 2 models (default, self-test)"):
        assert shown in window, (shown, window)
    assert "Traceback" not in out.stdout + out.stderr, out.stderr[-3000:]
    assert "Downloading" not in out.stdout + out.stderr
    # TensorFlow's native notices went to the self-test's own log, not into the report.
    assert "oneDNN" not in out.stdout + out.stderr and "absl" not in out.stdout + out.stderr, out.stderr[-3000:]
    assert re.match(r"self-test passed: 4 checks in \d+\.\d s \(TensorFlow ", lines[-1]), lines[-1]
    # Trained in a temporary user folder that is gone afterwards; the user's own folder and Qt
    # settings are untouched.
    saved = re.search(r"saved to the user folder (\S+), reloaded", out.stdout).group(1)
    assert not Path(saved).exists() and not home.exists() and not (config / "digitdesk").exists()


def test_corrupt_bundled_model_fails_with_the_reason(tmp_path, monkeypatch, capsys):
    corrupt = tmp_path / "default.keras"
    corrupt.write_bytes(b"PK\x03\x04 half a download")
    monkeypatch.setattr(selftest, "default_model_path", lambda: corrupt)
    assert selftest.run(checks=("samples",)) == selftest.EXIT_FAILED
    lines = capsys.readouterr().out.splitlines()
    assert re.match(rf"FAIL +model +\d+\.\d s  {re.escape(str(corrupt))}: not a Keras model file", lines[1]), lines
    assert lines[2].startswith("skip  samples") and "needs the model" in lines[2]
    assert lines[-1].startswith("self-test FAILED (1 of 2 checks)") and "not a Keras model file" in lines[-1]


def test_a_misread_sample_fails_with_what_was_read(monkeypatch, capsys):
    samples = selftest.load_samples()
    samples[0] = {**samples[0], "text": "35890"}  # drawn_35891.png, labelled wrongly
    monkeypatch.setattr(selftest, "load_samples", lambda: samples)
    assert selftest.run(verbose=False, checks=("samples",)) == selftest.EXIT_FAILED
    out = capsys.readouterr().out
    assert 'drawn_35891.png: read "35891", expected "35890"' in out
    assert "ok " not in out  # quiet: only what failed


def test_cli_has_the_sub_command(tmp_path):
    from digitdesk.cli import build_parser, cmd_self_test

    model = tmp_path / "m.keras"
    model.write_bytes(b"")  # --model must name an existing file
    args = build_parser().parse_args(["self-test", "--model", str(model)])
    assert args.func is cmd_self_test and args.model == str(model)


# Run in a subprocess with one part of the app broken, then `selftest.run(checks=("window",))`.
BREAK = r"""
import importlib.abc, logging, sys
how = sys.argv[1]
if how in ("no-qtsvg", "app"):  # what the frozen app did when build.spec left PySide6.QtSvg out
    class NoQtSvg(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == "PySide6.QtSvg":
                raise ImportError("cannot import name 'QtSvg' from 'PySide6'")
    sys.meta_path.insert(0, NoQtSvg())
elif how == "slot":  # raises in a slot the event loop calls: only sys.excepthook sees it
    from digitdesk.gui.tabs.data import DataTab
    def _on_loaded(self, tag, exploration):
        raise RuntimeError("the Data tab cannot show what it loaded")
    DataTab._on_loaded = _on_loaded
elif how == "logged":  # the app logs an error and carries on
    from digitdesk.gui.tabs.models import ModelsTab
    refresh = ModelsTab.refresh
    def logged_refresh(self):
        logging.getLogger("digitdesk.gui.tabs.models").error("could not list the models")
        refresh(self)
    ModelsTab.refresh = logged_refresh
elif how == "qt-critical":  # Qt reports a critical problem and carries on
    from PySide6.QtCore import qCritical
    from digitdesk.gui.widgets.plots import ConfusionPlot
    set_matrix = ConfusionPlot.set_matrix
    def critical_set_matrix(self, confusion):
        qCritical("QPainter::begin: Paint device returned engine == 0")
        set_matrix(self, confusion)
    ConfusionPlot.set_matrix = critical_set_matrix
if how == "app":  # the app itself, with the Train tab (and so its plots) shown at start
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from digitdesk.gui.app import configure_application, run
    from digitdesk.gui.settings import Settings
    app = QApplication(sys.argv[:1])
    configure_application(app)  # the app's settings file
    Settings().group("window").set("tab", 3)
    QTimer.singleShot(3000, app.quit)
    sys.exit(run())
from digitdesk import selftest
sys.exit(selftest.run(checks=("window",)))
"""


def _broken(tmp_path, how: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO),
           "DIGITDESK_HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    return subprocess.run([sys.executable, "-c", BREAK, how], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.parametrize("how, reason", [
    ("no-qtsvg", "ImportError: cannot import name 'QtSvg' from 'PySide6' (uncaught, sys.excepthook)"),
    ("slot", "RuntimeError: the Data tab cannot show what it loaded (uncaught, sys.excepthook)"),
    ("logged", "could not list the models (logged at ERROR by digitdesk.gui.tabs.models)"),
    ("qt-critical", "QPainter::begin: Paint device returned engine == 0 (Qt critical message)"),
])
def test_a_broken_tab_fails_the_self_test_naming_the_check(tmp_path, how, reason):
    out = _broken(tmp_path, how)
    assert out.returncode == selftest.EXIT_FAILED, out.stdout + out.stderr[-3000:]
    lines = out.stdout.splitlines()
    assert re.match(r"ok +model ", lines[1]), lines
    assert re.match(r"FAIL +window +\d+\.\d s  ", lines[2]) and reason in lines[2], lines[2]
    assert lines[-1].startswith("self-test FAILED (1 of 2 checks)") and f"window: {reason}" in lines[-1], lines[-1]


def test_an_error_in_the_train_tab_at_start_is_reported_not_an_abort(tmp_path):
    # The frozen app without QtSvg, Train the last tab used: the plots' ImportError was raised at
    # the next Python call, the window's event filter, and the app aborted (exit 134) with its
    # worker threads still running.
    out = _broken(tmp_path, "app")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Error calling Python override" not in out.stderr and "QThread: Destroyed" not in out.stderr
    log = (tmp_path / "home" / "logs" / "digitdesk.log").read_text()  # the app's log
    assert "uncaught exception" in log and "ImportError: cannot import name 'QtSvg'" in log, log[-3000:]
