"""More data sources: Kaggle Digit Recognizer CSVs, folders of digit images, and ``--data SRC``.

Re-exported by :mod:`digitdesk.core.data`; import them from there.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import re
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from digitdesk.core.data.mnist import IDX_NAMES, Dataset, Split, find_idx, load_mnist, load_mnist_at, load_mnist_npz
from digitdesk.core.errors import DataError, DigitdeskError
from digitdesk.core.imageio import SUPPORTED_EXTENSIONS, read_image, to_gray
from digitdesk.core.preprocess import frame_digit

N_PIXELS = 28 * 28
HOLDOUT_FRACTION = 1 / 6
HOLDOUT_SEED = 0
_PIXEL_HEADER = [f"pixel{i}" for i in range(N_PIXELS)]
_MAX_LISTED = 5


# --------------------------------------------------------------------------- Kaggle CSV


def load_kaggle_csv(path: str | os.PathLike) -> Split:
    """Load a Kaggle Digit Recognizer CSV: ``train.csv`` (labelled) or ``test.csv`` (labels ``None``)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a Kaggle CSV file")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
            header = fh.readline()
            if not header.strip():
                raise DataError(f"{path}: the file is empty")
            labelled = _parse_header(header, path)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)  # "input contained no data"
                    values = np.loadtxt(fh, delimiter=",", dtype=np.int16, comments=None, ndmin=2)
            except UnicodeDecodeError:  # a ValueError, but no CSV problem: the file is not text
                raise
            except (ValueError, OverflowError) as exc:
                fast_error = exc
            else:
                fast_error = None
    except DataError:
        raise
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text CSV file (it is not UTF-8)") from None
    except (OSError, EOFError, zlib.error) as exc:  # zlib.error: corrupt gzip data
        raise DataError(f"{path}: cannot read ({exc})") from None
    if fast_error is None and len(values) == 0:
        raise DataError(f"{path}: has a header but no data rows")
    n_cols = N_PIXELS + labelled
    if fast_error is not None or values.shape[1] != n_cols or _out_of_range(values, labelled):
        _raise_first_problem(path, opener, labelled, fast_error)
    images = values[:, labelled:].astype(np.uint8).reshape(-1, 28, 28)
    labels = values[:, 0].astype(np.int64) if labelled else None
    return Split(np.ascontiguousarray(images), labels)


def _parse_header(line: str, path: Path) -> bool:
    names = [name.strip().strip('"').strip() for name in line.strip().split(",")]
    if names == ["label", *_PIXEL_HEADER]:
        return True
    if names == _PIXEL_HEADER:
        return False
    shown = line.strip()
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    raise DataError(
        f"{path}: bad header on line 1 ({shown!r}): "
        "expected header label,pixel0..pixel783 or pixel0..pixel783"
    )


def _out_of_range(values: np.ndarray, labelled: bool) -> bool:
    if values.size == 0:
        return False
    pixels = values[:, int(labelled):]
    if pixels.min() < 0 or pixels.max() > 255:
        return True
    return bool(labelled and (values[:, 0].min() < 0 or values[:, 0].max() > 9))


def _raise_first_problem(path: Path, opener, labelled: bool, fast_error: Exception | None) -> None:
    """Re-read the file line by line and raise a DataError for its first bad line."""
    n_cols = N_PIXELS + labelled
    pixel = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    good_line = re.compile((r"\d," if labelled else "") + rf"(?:{pixel},){{{N_PIXELS - 1}}}{pixel}", re.ASCII)
    with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
        fh.readline()
        for lineno, line in enumerate(fh, start=2):
            if not line.strip():
                continue
            line = line.rstrip("\r\n")
            if good_line.fullmatch(line):
                continue
            fields = line.split(",")
            if len(fields) != n_cols:
                raise DataError(f"{path}: line {lineno} has {len(fields)} columns, expected {n_cols}")
            if not all(map(_is_int, fields)):
                col, text = next((c, t) for c, t in enumerate(fields) if not _is_int(t))
                raise DataError(
                    f"{path}: non-integer value {text.strip()[:20]!r} on line {lineno}, column {col + 1}"
                )
            values = list(map(int, fields))
            if labelled and not 0 <= values[0] <= 9:
                raise DataError(f"{path}: label {values[0]} out of range 0..9 on line {lineno}")
            pixels = values[int(labelled):]
            if min(pixels) < 0 or max(pixels) > 255:
                col, value = next((c, v) for c, v in enumerate(pixels) if not 0 <= v <= 255)
                raise DataError(
                    f"{path}: pixel value {value} out of range 0..255 on line {lineno}, "
                    f"column {col + 1 + int(labelled)}"
                )
    raise DataError(f"{path}: malformed CSV ({fast_error})")


_INT = re.compile(r"\s*[+-]?[0-9]+\s*")  # what the fast reader accepts: not int()'s "1_0" or Arabic digits


def _is_int(text: str) -> bool:
    return _INT.fullmatch(text) is not None


# --------------------------------------------------------------------------- image folders


def load_image_folder(
    path: str | os.PathLike,
    skip_bad: bool = False,
    frame: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Split:
    """Load a folder with sub-folders ``0/`` .. ``9/`` of digit images, each framed to MNIST's 28x28.

    ``frame`` turns a uint8 grayscale image into the 28x28 white-on-black digit; it defaults to
    :func:`digitdesk.core.preprocess.frame_digit`. Unreadable images raise a DataError listing
    them, unless ``skip_bad`` is true.
    """
    root = Path(path)
    if not root.exists():
        raise DataError(f"{root}: no such folder")
    if not root.is_dir():
        raise DataError(f"{root}: is a file, expected a folder with sub-folders 0/ .. 9/ of images")
    frame = frame or frame_digit
    files = _digit_files(root)
    if not files:
        raise DataError(f"{root}: no images found in sub-folders 0/ .. 9/")
    images, labels, bad = [], [], []
    for label, file in files:
        try:
            digit = np.asarray(frame(to_gray(read_image(file))))
            if digit.shape != (28, 28):
                raise DataError(f"framing gave shape {digit.shape}, expected (28, 28)")
        except DigitdeskError as exc:
            reason = str(exc)
            bad.append(reason if str(file) in reason else f"{file}: {reason}")
            continue
        images.append(digit.astype(np.uint8, copy=False))
        labels.append(label)
    if bad and not skip_bad:
        listed = "; ".join(bad[:_MAX_LISTED])
        more = f"; and {len(bad) - _MAX_LISTED} more" if len(bad) > _MAX_LISTED else ""
        raise DataError(
            f"{root}: {len(bad)} of {len(files)} images could not be read: {listed}{more}. "
            "Fix or remove them, or skip them (skip_bad=True)."
        )
    if not images:
        raise DataError(f"{root}: none of the {len(files)} images could be read")
    return Split(np.stack(images), np.asarray(labels, dtype=np.int64))


def _digit_dirs(root: Path) -> list[tuple[int, Path]]:
    return [(d, root / str(d)) for d in range(10) if (root / str(d)).is_dir()]


def _digit_files(root: Path) -> list[tuple[int, Path]]:
    dirs = _digit_dirs(root)
    if not dirs:
        raise DataError(f"{root}: no digit sub-folders 0/ .. 9/ found")
    return [
        (label, file)
        for label, folder in dirs
        for file in sorted(folder.iterdir())
        if file.is_file() and not file.name.startswith(".") and file.suffix.lower() in SUPPORTED_EXTENSIONS
    ]


# --------------------------------------------------------------------------- --data SRC


def holdout_split(split: Split, fraction: float = HOLDOUT_FRACTION, seed: int = HOLDOUT_SEED) -> tuple[Split, Split]:
    """Split labelled data into (train, test) with a seeded random hold-out of ``fraction``."""
    n = len(split)
    if n < 2:
        raise DataError(f"need at least 2 labelled examples to hold some out for testing, got {n}")
    n_test = min(n - 1, max(1, int(round(n * fraction))))
    order = np.random.default_rng(seed).permutation(n)
    test_idx, train_idx = np.sort(order[:n_test]), np.sort(order[n_test:])
    labels = split.labels

    def take(idx: np.ndarray) -> Split:
        return Split(split.images[idx], None if labels is None else labels[idx])

    return take(train_idx), take(test_idx)


def load_source(spec: str | os.PathLike | None, download: bool = True) -> Dataset:
    """Load what ``--data SRC`` names: ``mnist`` (or None), an MNIST folder or ``mnist.npz``,
    a Kaggle ``train.csv``, or a folder of digit sub-folders ``0/`` .. ``9/`` (or with
    ``train/`` and ``test/`` folders of them). CSVs and single image folders get a seeded
    1/6 test hold-out."""
    if spec is None or str(spec).strip().lower() == "mnist":
        ds = load_mnist(download=download)
        return dataclasses.replace(ds, source=f"MNIST ({ds.source})")
    path = Path(spec).expanduser()
    if not path.exists():
        raise DataError(
            f"{path}: no such file or folder (expected 'mnist', an MNIST folder or mnist.npz, "
            "a Kaggle train.csv, or a folder of digit sub-folders 0/ .. 9/)"
        )
    if path.is_file():
        name = path.name.lower()
        if name.endswith((".csv", ".csv.gz")):
            return _csv_dataset(path)
        if name.endswith(".npz"):
            ds = load_mnist_npz(path)
            return dataclasses.replace(ds, source=f"MNIST ({ds.source})")
        raise DataError(f"{path}: expected a .csv (Kaggle) or .npz (MNIST) file, or a folder")
    if find_idx(path, IDX_NAMES["train_images"]) is not None or (path / "mnist.npz").is_file():
        ds = load_mnist_at(path)
        return dataclasses.replace(ds, source=f"MNIST ({ds.source})")
    if _digit_dirs(path):
        train, test = holdout_split(load_image_folder(path))
        return Dataset(train, test, f"image folder {path} (1/6 held out for testing)")
    if _digit_dirs(path / "train") and _digit_dirs(path / "test"):
        return Dataset(load_image_folder(path / "train"), load_image_folder(path / "test"), f"image folder {path}")
    if (path / "train.csv").is_file():
        return _csv_dataset(path / "train.csv")
    raise DataError(
        f"{path}: found no MNIST files (train-images-idx3-ubyte.gz ... or mnist.npz), "
        "no train.csv and no digit sub-folders 0/ .. 9/"
    )


def _csv_dataset(path: Path) -> Dataset:
    split = load_kaggle_csv(path)
    if split.labels is None:
        raise DataError(
            f"{path}: training needs labels, but this CSV has no label column "
            "(Kaggle's test.csv); use train.csv"
        )
    train, test = holdout_split(split)
    return Dataset(train, test, f"Kaggle CSV {path} (1/6 held out for testing)")
