"""Shared fixtures. Qt runs offscreen; MNIST comes from $DIGITDESK_DATA or ../shared/data/mnist."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]


def mnist_dir() -> Path:
    """The MNIST folder the tests use: $DIGITDESK_DATA, or ../shared/data/mnist beside the clone."""
    return Path(os.environ.get("DIGITDESK_DATA") or REPO.parent / "shared" / "data" / "mnist")


# The app's own loaders (the Train tab, the CLI and app processes the tests start) look for MNIST
# through DIGITDESK_DATA too: without it they would try the Keras download, which hangs offline.
os.environ.setdefault("DIGITDESK_DATA", str(mnist_dir()))


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    path = mnist_dir()
    if not (path / "t10k-images-idx3-ubyte.gz").exists() and not (path / "mnist.npz").exists():
        pytest.fail(f"MNIST not found at {path}: set DIGITDESK_DATA to the folder with the MNIST files")
    return path


@pytest.fixture(scope="session")
def mnist(mnist_path):
    from digitdesk.core.data import load_mnist

    return load_mnist(mnist_path)


@pytest.fixture(scope="session")
def bundled_model_path() -> Path:
    from digitdesk.core.paths import default_model_path

    path = default_model_path()
    assert path.is_file(), f"bundled model missing at {path}"
    return path


@pytest.fixture(scope="session")
def recognizer(bundled_model_path):
    from digitdesk.core.recognizer import Recognizer

    return Recognizer.load(bundled_model_path)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Every test gets its own per-user data folder."""
    monkeypatch.setenv("DIGITDESK_HOME", str(tmp_path_factory.mktemp("home")))
