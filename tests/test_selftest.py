# Qt only in a subprocess (offscreen). `digitdesk self-test` from the source tree: it passes, and a
# broken installation fails with the reason.
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

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
    assert "Downloading" not in out.stdout + out.stderr
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


def test_cli_has_the_sub_command():
    from digitdesk.cli import build_parser, cmd_self_test

    args = build_parser().parse_args(["self-test", "--model", "m.keras"])
    assert args.func is cmd_self_test and args.model == "m.keras"
