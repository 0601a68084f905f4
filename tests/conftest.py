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


@pytest.fixture
def video_file(tmp_path):
    """A 640x480 MJPG video of a hand-held card showing "42" (30 frames, 30 fps)."""
    import cv2
    import numpy as np

    path = tmp_path / "card.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (640, 480))
    assert writer.isOpened()
    rng = np.random.default_rng(0)
    for i in range(30):
        frame = np.full((480, 640, 3), (180, 186, 183), np.uint8)  # a light wall; see the report on dark ones
        dx, dy = int(6 * np.sin(i / 5)), int(4 * np.cos(i / 7))
        cv2.rectangle(frame, (140 + dx, 110 + dy), (500 + dx, 370 + dy), (235, 240, 240), -1)
        cv2.putText(frame, "42", (190 + dx, 320 + dy), cv2.FONT_HERSHEY_SIMPLEX, 6, (40, 40, 40), 20, cv2.LINE_AA)
        noise = rng.normal(0, 4, frame.shape)
        writer.write(np.clip(frame + noise, 0, 255).astype(np.uint8))
    writer.release()
    return path


def number_image(text: str = "305", height: int = 260, scale: float = 6.0, thickness: int = 22):
    """A BGR picture of ``text`` in thick Hershey strokes, dark on white."""
    import cv2
    import numpy as np

    (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    img = np.full((h + 120, w + 120, 3), 250, np.uint8)
    cv2.putText(img, text, (60, h + 60), cv2.FONT_HERSHEY_SIMPLEX, scale, (30, 30, 30), thickness, cv2.LINE_AA)
    return img
