"""No Qt needed. ``digitdesk tune`` as a user runs it: a tiny search, its table and saved best;
the same command continues it; Ctrl+C stops it and keeps the finished trials; bad options fail
at once with one clear line."""

import os
import signal
import subprocess
import sys
import time

from tests.conftest import mnist_dir

TINY = ["--arch", "tiny", "--epochs", "1", "--images", "300", "--final-epochs", "1", "--final-images", "300",
        "--batch-sizes", "50", "100"]


def _env(tmp_path):
    return {**os.environ, "DIGITDESK_DATA": str(mnist_dir()), "TF_CPP_MIN_LOG_LEVEL": "3",
            "DIGITDESK_HOME": str(tmp_path / "home")}


def run(tmp_path, *args):
    return subprocess.run([sys.executable, "-m", "digitdesk", "tune", *map(str, args)], capture_output=True,
                          text=True, timeout=600, env=_env(tmp_path))


def test_tune_searches_and_saves_the_best(tmp_path):
    out = tmp_path / "best.keras"
    first = run(tmp_path, *TINY, "--trials", "2", "--out", out)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "trial 0 finished: val accuracy" in first.stderr and "trial 1 finished" in first.stderr
    lines = first.stdout.splitlines()
    assert lines[0].split()[:2] == ["trial", "learning"] and "(best)" in first.stdout
    assert "(the preset's values)" in first.stdout
    assert out.is_file() and out.with_suffix(".tflite").is_file()
    assert "test accuracy" in lines[-1] and "run 2" in lines[-1]  # "run 2026...": kept in the runs store
    assert (tmp_path / "home" / "tuning" / "tiny-random" / "search.json").is_file()


def test_ctrl_c_stops_the_trial_and_keeps_the_finished_ones(tmp_path):
    log = tmp_path / "stderr.txt"
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "digitdesk", "tune", *TINY, "--trials", "4", "--epochs", "3",
                                 "--search-only"], stdout=subprocess.PIPE, stderr=err, text=True, env=_env(tmp_path))
        deadline = time.time() + 300
        while "trial 0 finished" not in log.read_text() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        stdout, _ = proc.communicate(timeout=120)
    text = log.read_text()
    assert proc.returncode == 130, text[-3000:]
    assert "stopping after this batch" in text and "finished trials kept" in text and "--resume tiny-random" in text
    assert "finished (best)" in stdout and "stopped" in stdout

    more = run(tmp_path, *TINY, "--trials", "2", "--epochs", "3", "--search-only")  # the same search, continued
    assert more.returncode == 0, more.stderr[-3000:]
    assert "continuing the search: 1 finished trial kept" in more.stderr
    assert "trial 0 finished" not in more.stderr and "trial 1 finished" in more.stderr
    assert more.stdout.count("finished") == 2


def test_a_killed_search_continues_where_it_was(tmp_path):
    log = tmp_path / "stderr.txt"
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "digitdesk", "tune", *TINY, "--trials", "2", "--epochs", "3",
                                 "--search-only"], stdout=subprocess.DEVNULL, stderr=err, env=_env(tmp_path))
        deadline = time.time() + 300
        while "trial 0 finished" not in log.read_text() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.2)
        proc.kill()  # a crash: no clean-up at all
        proc.wait(timeout=60)
    again = run(tmp_path, *TINY, "--trials", "2", "--epochs", "3", "--search-only")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "continuing the search: 1 finished trial kept" in again.stderr
    assert "trial 0 finished" not in again.stderr and "trial 1 finished" in again.stderr


def test_bad_options_fail_at_once(tmp_path):
    bad = run(tmp_path, "--arch", "tiny", "--lr", "0.1", "0.001")
    assert bad.returncode == 1 and "digitdesk: error: bad search space: learning rate" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    assert "no search named 'nope'" in run(tmp_path, "--resume", "nope").stderr
    assert "--arch" in run(tmp_path, "--trials", "2").stderr
    wrong = run(tmp_path, "--arch", "digitnet")
    assert wrong.returncode == 2 and "invalid choice" in wrong.stderr
