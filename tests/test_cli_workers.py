"""No Qt needed. Training on several workers (``digitdesk train --workers ... --worker-index I``),
with real worker processes on 127.0.0.1 as a user would start them on two machines, and each way
it can go wrong: a bad --workers list, an index out of range, a port in use, a worker that never
starts or is killed. The TensorFlow-wheel guard (tensorflow and tensorflow-cpu installed together)
is checked with a real dist-info folder that importlib.metadata finds."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.conftest import REPO, mnist_dir

# Settings that learn something in two short epochs (about 80% on 1,000 test digits).
RECIPE = ["--arch", "fnn", "--epochs", "2", "--no-augment", "--lr", "0.003", "--batch-size", "64", "--seed", "0"]


def _env(home):
    return {**os.environ, "DIGITDESK_DATA": str(mnist_dir()), "DIGITDESK_HOME": str(home), "TF_CPP_MIN_LOG_LEVEL": "3",
            "PYTHONPATH": str(REPO)}


def _start(home, *args):
    return subprocess.Popen([sys.executable, "-m", "digitdesk", "train", *map(str, args)], env=_env(home),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _train(home, *args, timeout=300):
    return subprocess.run([sys.executable, "-m", "digitdesk", "train", *map(str, args)], env=_env(home),
                          capture_output=True, text=True, timeout=timeout)


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _runs(home):
    folder = home / "runs"
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []


@pytest.fixture(scope="module")
def small_npz(tmp_path_factory, mnist):
    """2,000 training and 1,000 test digits of MNIST as an mnist.npz."""
    path = tmp_path_factory.mktemp("data") / "small.npz"
    np.savez(path, x_train=mnist.train.images[:2000], y_train=mnist.train.labels[:2000],
             x_test=mnist.test.images[:1000], y_test=mnist.test.labels[:1000])
    return path


def test_two_workers_train_one_model_the_chief_saves_it(tmp_path, small_npz):
    from digitdesk.core.modelio import load_model

    single = _train(tmp_path / "home-single", *RECIPE, "--data", small_npz, "--out", tmp_path / "single.keras")
    assert single.returncode == 0, single.stderr
    single_acc = json.loads((tmp_path / "single.json").read_text())["test_accuracy"]

    ports = _free_ports(2)
    workers = ",".join(f"127.0.0.1:{p}" for p in ports)
    homes = [tmp_path / "home0", tmp_path / "home1"]
    outs = [tmp_path / "chief" / "model.keras", tmp_path / "other" / "model.keras"]
    for out in outs:
        out.parent.mkdir()
    procs = [_start(homes[i], *RECIPE, "--data", small_npz, "--out", outs[i], "--workers", workers,
                    "--worker-index", i, "--worker-timeout", 120) for i in range(2)]
    done = [p.communicate(timeout=400) for p in procs]
    for i, (p, (out, err)) in enumerate(zip(procs, done)):
        assert p.returncode == 0, f"worker {i}: {err}"
        assert f"worker {i} of 2" in err and "epoch 2/2" in err, err
    assert "saved" in done[0][0] and "the chief (worker 0" in done[1][0]

    # Only the chief wrote: its model (with metadata and LiteRT twin) and its run record.
    assert outs[0].is_file() and outs[0].with_suffix(".tflite").is_file()
    assert not any(outs[1].parent.iterdir()), list(outs[1].parent.iterdir())
    [run] = _runs(homes[0])
    assert run["status"] == "finished" and run["workers"] == workers.split(",")
    assert _runs(homes[1]) == []
    model = load_model(outs[0])
    meta = json.loads(outs[0].with_suffix(".json").read_text())
    assert meta["workers"] == workers.split(",") and meta["epochs"] == 2

    # The same recipe on the same data: the accuracy of one process, within 5 points (each
    # step averages the two halves' gradients of the same batch of 64, as one process does).
    acc = meta["test_accuracy"]
    assert acc > 0.6 and abs(acc - single_acc) < 0.05, (acc, single_acc)
    x = np.load(small_npz)["x_test"][:200].astype(np.float32)[..., None]
    assert (model.predict(x, verbose=0).argmax(1) == np.load(small_npz)["y_test"][:200]).mean() > 0.6


@pytest.mark.parametrize("workers, message", [
    ("127.0.0.1", "not host:port"),
    ("127.0.0.1:2222,127.0.0.1:http", "the port must be a number"),
    ("127.0.0.1:2222,127.0.0.1:99999", "the port must be a number from 1 to 65535"),
    ("127.0.0.1:2222,,127.0.0.1:2223", "an empty address"),
    ("127.0.0.1:2222,127.0.0.1:2222", "is given twice"),
    ("127.0.0.1:2222", "at least two workers"),
])
def test_bad_workers_list_is_refused_at_once(tmp_path, workers, message):
    out = _train(tmp_path / "home", "--workers", workers, "--worker-index", "0", "--out", tmp_path / "m.keras", timeout=60)
    assert out.returncode == 2 and message in out.stderr and "--workers" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and not (tmp_path / "m.keras").exists()


def test_index_out_of_range_and_missing_index(tmp_path):
    out = _train(tmp_path / "home", "--workers", "127.0.0.1:2222,127.0.0.1:2223", "--worker-index", "2",
                 "--out", tmp_path / "m.keras", timeout=60)
    assert out.returncode == 1 and "--worker-index 2 is out of range" in out.stderr and "0 to 1" in out.stderr, out.stderr
    out = _train(tmp_path / "home", "--workers", "127.0.0.1:2222,127.0.0.1:2223", "--out", tmp_path / "m.keras", timeout=60)
    assert out.returncode == 1 and "needs --worker-index" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and not (tmp_path / "m.keras").exists() and _runs(tmp_path / "home") == []


def test_bad_tf_config_is_a_clear_error(tmp_path):
    env = {**_env(tmp_path / "home"), "TF_CONFIG": json.dumps(
        {"cluster": {"worker": ["127.0.0.1:2222", "127.0.0.1:2223"]}, "task": {"type": "worker", "index": 5}})}
    out = subprocess.run([sys.executable, "-m", "digitdesk", "train", "--out", str(tmp_path / "m.keras")], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "TF_CONFIG: task worker 5 is out of range" in out.stderr, out.stderr


def test_port_in_use_is_named(tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        port = taken.getsockname()[1]
        [other] = _free_ports(1)
        out = _train(tmp_path / "home", "--workers", f"127.0.0.1:{port},127.0.0.1:{other}", "--worker-index", "0",
                     "--out", tmp_path / "m.keras", timeout=60)
    finally:
        taken.close()
    assert out.returncode == 1 and f"port {port} of 127.0.0.1:{port}" in out.stderr, out.stderr
    assert "already in use" in out.stderr and "Traceback" not in out.stderr and _runs(tmp_path / "home") == []


def test_a_worker_that_never_starts_ends_the_chief_in_bounded_time(tmp_path, small_npz):
    ports = _free_ports(2)
    start = time.monotonic()
    out = _train(tmp_path / "home", *RECIPE, "--data", small_npz, "--out", tmp_path / "m.keras",
                 "--workers", ",".join(f"127.0.0.1:{p}" for p in ports), "--worker-index", "0",
                 "--worker-timeout", "10", timeout=120)
    took = time.monotonic() - start
    assert out.returncode == 1, out.stderr
    assert f"did not answer within 10 s" in out.stderr and f"127.0.0.1:{ports[1]}" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and not (tmp_path / "m.keras").exists()
    assert took < 90, took


def test_a_worker_killed_mid_run_ends_the_chief_with_a_message(tmp_path, small_npz):
    ports = _free_ports(2)
    workers = ",".join(f"127.0.0.1:{p}" for p in ports)
    out = tmp_path / "model.keras"
    out.write_bytes(b"the model from before")  # a failed run must leave it as it was
    args = ["--arch", "fnn", "--epochs", "200", "--no-augment", "--data", small_npz, "--workers", workers,
            "--worker-timeout", "15"]
    chief = _start(tmp_path / "home0", *args, "--worker-index", 0, "--out", out)
    other = _start(tmp_path / "home1", *args, "--worker-index", 1, "--out", tmp_path / "other.keras")
    try:
        deadline = time.monotonic() + 240
        seen = ""
        while "epoch 2/200  loss" not in seen and time.monotonic() < deadline and other.poll() is None:
            seen += other.stderr.readline()
        assert "epoch 2/200  loss" in seen, seen
        other.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        _, err = chief.communicate(timeout=120)
        took = time.monotonic() - killed
    finally:
        for p in (chief, other):
            if p.poll() is None:
                p.kill()
            p.communicate()
    assert chief.returncode == 1, err
    assert "worker 0 of 2 (chief)" in err and f"127.0.0.1:{ports[1]}" in err and "did not answer" in err, err
    assert "Traceback" not in err and took < 75, took
    assert out.read_bytes() == b"the model from before"
    [run] = _runs(tmp_path / "home0")
    assert run["status"] == "failed" and "did not answer" in run["error"]


def _fake_wheel(site, name, version):
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "RECORD").write_text("")


def test_two_tensorflow_wheels_are_refused_with_the_fix(tmp_path):
    """A second TensorFlow wheel beside the installed one (a real dist-info folder on sys.path):
    self-test fails and training refuses, each naming both and the commands that keep one."""
    from digitdesk.core.tfimport import installed_tensorflow_wheels

    installed = installed_tensorflow_wheels()
    assert len(installed) == 1, installed  # this test environment is clean
    site = tmp_path / "site"
    other = "tensorflow" if "tensorflow-cpu" in installed else "tensorflow-cpu"
    _fake_wheel(site, other, "2.21.0")
    env = {**_env(tmp_path / "home"), "PYTHONPATH": os.pathsep.join([str(REPO), str(site)])}
    out = subprocess.run([sys.executable, "-m", "digitdesk", "train", "--out", str(tmp_path / "m.keras")], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "two TensorFlow wheels are installed together" in out.stderr, out.stderr
    assert "tensorflow-cpu" in out.stderr and "tensorflow[and-cuda]" in out.stderr and "pip uninstall" in out.stderr
    assert not (tmp_path / "m.keras").exists()
    code = ("import sys; from digitdesk.selftest import run; sys.exit(run(checks=('samples',)))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 1 and "FAIL  install" in out.stdout and "two TensorFlow wheels" in out.stdout, out.stdout
    assert "self-test FAILED" in out.stdout
