"""MNIST (IDX files, gzipped or not, a Keras ``mnist.npz``, the Keras download) and the
:class:`Split` / :class:`Dataset` every loader returns: uint8 images ``(N, 28, 28)``, int labels ``(N,)``.

MNIST is found by :func:`load_mnist` in this order: an explicit path, the ``DIGITDESK_DATA``
environment variable, the Keras cache (``~/.keras/datasets/mnist.npz``), then the Keras download.
"""

from __future__ import annotations

import gzip
import logging
import os
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitdesk.core.errors import DataError

log = logging.getLogger(__name__)

ENV_VAR = "DIGITDESK_DATA"
IDX_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


@dataclass(frozen=True)
class Split:
    """Images ``(N, 28, 28)`` uint8 and labels ``(N,)`` int64 (or ``None`` when unlabelled)."""

    images: np.ndarray
    labels: np.ndarray | None

    def __len__(self) -> int:
        return len(self.images)


@dataclass(frozen=True)
class Dataset:
    """A training and a test split plus where they came from."""

    train: Split
    test: Split
    source: str


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (gzipped or raw) into a numpy array."""
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (OSError, EOFError, zlib.error) as exc:  # zlib.error: corrupt gzip data
        raise DataError(f"{path}: cannot read ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError(
            f"{path}: IDX header says shape {shape} ({expected} bytes) "
            f"but the file holds {len(raw) - header} bytes of data"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def find_idx(folder: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx") + ".gz", stem.replace("-idx", ".idx")):
        if (folder / name).is_file():
            return folder / name
    return None


def _whole_numbers(a: np.ndarray, lo: int, hi: int) -> bool:
    """True if every value of ``a`` is a whole number in ``lo..hi`` (a cast would silently wrap or truncate)."""
    if a.dtype.kind not in "biuf":
        return False
    if a.size == 0:
        return True
    if a.dtype.kind == "f" and not np.array_equal(a, np.round(a)):  # also false for NaN
        return False
    return bool(a.min() >= lo and a.max() <= hi)


def _check_pair(images: np.ndarray, labels: np.ndarray, where: str) -> Split:
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(f"{where}: images have shape {images.shape}, expected (N, 28, 28)")
    if images.dtype != np.uint8 and not _whole_numbers(images, 0, 255):
        raise DataError(f"{where}: images hold {images.dtype.name} values, expected whole pixel values 0..255")
    if labels.ndim != 1 or len(labels) != len(images):
        raise DataError(f"{where}: {len(labels)} labels for {len(images)} images")
    if not _whole_numbers(labels, -(2**62), 2**62):
        raise DataError(f"{where}: labels hold {labels.dtype.name} values, expected whole numbers 0..9")
    labels = labels.astype(np.int64)
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        bad = int(labels[(labels < 0) | (labels > 9)][0])
        raise DataError(f"{where}: label {bad} out of range 0..9")
    return Split(np.ascontiguousarray(images, dtype=np.uint8), labels)


def load_mnist_idx(folder: str | os.PathLike) -> Dataset:
    """Load the four MNIST IDX files (gzipped or raw) from ``folder``."""
    folder = Path(folder)
    paths = {}
    for key, stem in IDX_NAMES.items():
        found = find_idx(folder, stem)
        if found is None:
            raise DataError(f"{folder}: missing {stem}.gz (or {stem})")
        paths[key] = found
    train = _check_pair(read_idx(paths["train_images"]), read_idx(paths["train_labels"]), str(paths["train_labels"]))
    test = _check_pair(read_idx(paths["test_images"]), read_idx(paths["test_labels"]), str(paths["test_labels"]))
    return Dataset(train, test, str(folder))


def load_mnist_npz(path: str | os.PathLike) -> Dataset:
    """Load the Keras ``mnist.npz`` (arrays ``x_train, y_train, x_test, y_test``)."""
    path = Path(path)
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):  # a single .npy array
            raise DataError(f"{path}: holds one array, expected an .npz archive of x_train, y_train, x_test, y_test")
        with loaded as npz:
            missing = {"x_train", "y_train", "x_test", "y_test"} - set(npz.files)
            if missing:
                raise DataError(f"{path}: missing arrays {sorted(missing)}")
            arrays = {k: npz[k] for k in ("x_train", "y_train", "x_test", "y_test")}
            raw = [k for k, v in arrays.items() if not isinstance(v, np.ndarray)]  # members that are not .npy come back as bytes
            if raw:
                raise DataError(f"{path}: {raw[0]} is not a numpy array")
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except Exception as exc:  # zipfile/pickle/ValueError: a malformed file
        raise DataError(f"{path}: not a readable .npz file ({exc})") from None
    train = _check_pair(arrays["x_train"], arrays["y_train"], f"{path} (train)")
    test = _check_pair(arrays["x_test"], arrays["y_test"], f"{path} (test)")
    return Dataset(train, test, str(path))


def keras_cache_path() -> Path:
    """Where ``keras.datasets.mnist.load_data()`` keeps its download."""
    base = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(base) / "datasets" / "mnist.npz"


def load_mnist_at(path: Path) -> Dataset:
    if path.is_dir():
        if (path / "mnist.npz").is_file() and find_idx(path, IDX_NAMES["train_images"]) is None:
            return load_mnist_npz(path / "mnist.npz")
        return load_mnist_idx(path)
    if path.suffix == ".npz":
        return load_mnist_npz(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    raise DataError(f"{path}: expected a folder of MNIST IDX files or a mnist.npz file")


def load_mnist(path: str | os.PathLike | None = None, download: bool = True) -> Dataset:
    """Find and load MNIST: explicit path, ``$DIGITDESK_DATA``, the Keras cache, then the Keras download."""
    if path is not None:
        return load_mnist_at(Path(path))
    env = os.environ.get(ENV_VAR)
    if env:
        return load_mnist_at(Path(env))
    cache = keras_cache_path()
    if cache.is_file():
        return load_mnist_npz(cache)
    if not download:
        raise DataError(
            f"MNIST not found: pass a path, set {ENV_VAR}, or put mnist.npz in {cache.parent}"
        )
    return _download_mnist()


def _download_mnist() -> Dataset:
    """Keras's download. Off the main thread (the desktop app's workers) its messages and
    progress bar go to the log, not to the terminal (Keras keeps that setting per thread)."""
    log.info("MNIST is not on this machine: downloading it with Keras (about 11 MB)")
    try:
        from keras.datasets import mnist

        if threading.current_thread() is not threading.main_thread():
            from keras.config import disable_interactive_logging

            disable_interactive_logging()
        (x_train, y_train), (x_test, y_test) = mnist.load_data()
    except Exception as exc:  # network errors come in many types
        raise DataError(
            "MNIST is not on this machine and the download failed "
            f"({type(exc).__name__}: {exc}). Are you offline? Download the four MNIST files "
            f"and pass their folder, or set {ENV_VAR} to it."
        ) from None
    return Dataset(_check_pair(x_train, y_train, "download"), _check_pair(x_test, y_test, "download"), "keras download")
