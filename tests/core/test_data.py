"""Tests for digitdesk.core.data: IDX/npz MNIST, where MNIST is found, Kaggle CSVs, image folders, --data."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digitdesk.core import data
from digitdesk.core.data import (
    Dataset,
    Split,
    holdout_split,
    load_image_folder,
    load_kaggle_csv,
    load_mnist,
    load_mnist_idx,
    load_mnist_npz,
    load_source,
    read_idx,
)
from digitdesk.core.errors import DataError


def real_mnist_dir() -> Path:
    """The real MNIST folder: $DIGITDESK_DATA, else ../shared/data/mnist next to the repo. CI provides it."""
    return Path(os.environ.get("DIGITDESK_DATA") or Path(__file__).resolve().parents[2].parent / "shared/data/mnist")


# --------------------------------------------------------------------------- helpers


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    dtype = {0x08: np.uint8, 0x0C: ">i4"}[type_code]
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + np.ascontiguousarray(array, dtype=dtype).tobytes()


def write_idx(path: Path, array: np.ndarray, type_code: int = 0x08) -> Path:
    raw = idx_bytes(array, type_code)
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)
    return path


def fake_digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), np.arange(n) % 10


def write_mnist_folder(folder: Path, n_train: int, n_test: int, gz: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    x, y = fake_digits(n_train, seed=1)
    write_idx(folder / f"train-images-idx3-ubyte{ext}", x)
    write_idx(folder / f"train-labels-idx1-ubyte{ext}", y)
    x, y = fake_digits(n_test, seed=2)
    write_idx(folder / f"t10k-images-idx3-ubyte{ext}", x)
    write_idx(folder / f"t10k-labels-idx1-ubyte{ext}", y)
    return folder


def write_npz(path: Path, n_train: int, n_test: int, drop: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    x_train, y_train = fake_digits(n_train, 3)
    x_test, y_test = fake_digits(n_test, 4)
    arrays = dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    if drop:
        del arrays[drop]
    np.savez(path, **arrays)
    return path


@pytest.fixture
def no_mnist_env(monkeypatch, tmp_path):
    """No $DIGITDESK_DATA and an empty Keras home: nothing to find unless a test puts it there."""
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    keras_home = tmp_path / "keras_home"
    keras_home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    return keras_home


# --------------------------------------------------------------------------- IDX


@pytest.mark.parametrize("name", ["arr-idx3-ubyte", "arr-idx3-ubyte.gz"])
def test_idx_round_trip(tmp_path, name):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    out = read_idx(write_idx(tmp_path / name, array))
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, array)


def test_idx_round_trip_int32(tmp_path):
    array = np.array([-5, 0, 70000], dtype=np.int64)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "i32", array, 0x0C)), array)


def test_load_mnist_idx_small_folder(tmp_path):
    ds = load_mnist_idx(write_mnist_folder(tmp_path / "m", 12, 5, gz=False))
    assert isinstance(ds, Dataset)
    assert ds.train.images.shape == (12, 28, 28) and ds.test.images.shape == (5, 28, 28)
    assert ds.train.images.dtype == np.uint8 and ds.train.labels.dtype == np.int64
    np.testing.assert_array_equal(ds.train.labels, np.arange(12) % 10)


def test_idx_bad_magic(tmp_path):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(b"\x12\x34\x08\x01" + b"\x00" * 8)
    with pytest.raises(DataError, match=r"bad-idx1-ubyte.*magic"):
        read_idx(path)


def test_idx_truncated_data(tmp_path):
    path = tmp_path / "cut-idx3-ubyte.gz"
    raw = idx_bytes(np.zeros((5, 28, 28), np.uint8))
    path.write_bytes(gzip.compress(raw[: len(raw) - 100]))
    with pytest.raises(DataError, match=r"cut-idx3-ubyte\.gz.*holds"):
        read_idx(path)


def test_idx_truncated_header_and_broken_gzip(tmp_path):
    path = tmp_path / "short-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 8, 3, 0, 0]))
    with pytest.raises(DataError, match="short-idx3-ubyte.*truncated"):
        read_idx(path)
    broken = tmp_path / "broken-idx3-ubyte.gz"
    broken.write_bytes(gzip.compress(idx_bytes(fake_digits(5)[0]))[:500])  # cut mid-stream
    with pytest.raises(DataError, match="broken-idx3-ubyte.gz"):
        read_idx(broken)


def test_idx_label_count_mismatch(tmp_path):
    folder = write_mnist_folder(tmp_path / "m", 10, 5)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(9, np.uint8))
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte\.gz.*9 labels for 10 images"):
        load_mnist_idx(folder)


def test_idx_label_out_of_range(tmp_path):
    folder = write_mnist_folder(tmp_path / "m", 10, 5)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.array([0, 1, 12, 3, 4], np.uint8))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz.*label 12 out of range"):
        load_mnist_idx(folder)


def test_idx_missing_file(tmp_path):
    folder = write_mnist_folder(tmp_path / "m", 10, 5)
    (folder / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataError, match="missing t10k-images-idx3-ubyte"):
        load_mnist_idx(folder)


# --------------------------------------------------------------------------- real MNIST


def _assert_real_mnist(ds: Dataset) -> None:
    assert ds.train.images.shape == (60000, 28, 28) and ds.train.images.dtype == np.uint8
    assert ds.test.images.shape == (10000, 28, 28) and ds.test.images.dtype == np.uint8
    assert ds.train.labels.shape == (60000,) and ds.test.labels.shape == (10000,)
    for labels in (ds.train.labels, ds.test.labels):
        assert set(np.unique(labels).tolist()) == set(range(10))
    assert ds.train.images.max() == 255 and ds.train.images.min() == 0


def test_real_mnist_via_env_and_explicit_path(monkeypatch, no_mnist_env):
    folder = real_mnist_dir()
    if not folder.is_dir():
        pytest.fail(f"real MNIST not found at {folder}: set DIGITDESK_DATA to the MNIST folder")
    monkeypatch.setenv(data.ENV_VAR, str(folder))
    _assert_real_mnist(load_mnist(download=False))
    monkeypatch.delenv(data.ENV_VAR)
    _assert_real_mnist(load_mnist(folder, download=False))


# --------------------------------------------------------------------------- resolution order


def test_explicit_path_beats_env(monkeypatch, tmp_path, no_mnist_env):
    monkeypatch.setenv(data.ENV_VAR, str(write_mnist_folder(tmp_path / "env", 11, 3)))
    ds = load_mnist(write_mnist_folder(tmp_path / "explicit", 7, 2), download=False)
    assert (len(ds.train), len(ds.test)) == (7, 2)


def test_env_beats_keras_cache(monkeypatch, tmp_path, no_mnist_env):
    write_npz(no_mnist_env / "datasets" / "mnist.npz", 4, 2)
    monkeypatch.setenv(data.ENV_VAR, str(write_mnist_folder(tmp_path / "env", 11, 3)))
    assert len(load_mnist(download=False).train) == 11


def test_keras_cache_used_without_env(no_mnist_env):
    cache = write_npz(no_mnist_env / "datasets" / "mnist.npz", 4, 2)
    assert data.keras_cache_path() == cache
    ds = load_mnist(download=False)
    assert (len(ds.train), len(ds.test)) == (4, 2)


def test_nothing_and_no_download(no_mnist_env):
    with pytest.raises(DataError, match=f"MNIST not found.*{data.ENV_VAR}"):
        load_mnist(download=False)


def test_download_offline_message(monkeypatch, no_mnist_env):
    import keras.datasets.mnist

    def offline(*args, **kwargs):
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(DataError) as info:
        load_mnist(download=True)
    message = str(info.value).lower()
    assert "offline" in message and "download" in message


# --------------------------------------------------------------------------- npz


def test_npz_good(tmp_path):
    ds = load_mnist_npz(write_npz(tmp_path / "mnist.npz", 6, 3))
    assert ds.train.images.shape == (6, 28, 28) and ds.test.labels.tolist() == [0, 1, 2]


def test_npz_missing_array(tmp_path):
    path = write_npz(tmp_path / "part.npz", 6, 3, drop="y_test")
    with pytest.raises(DataError, match=r"part\.npz.*missing arrays.*y_test"):
        load_mnist_npz(path)


def test_npz_not_a_zip(tmp_path):
    path = tmp_path / "junk.npz"
    path.write_text("junk")
    with pytest.raises(DataError, match="junk.npz"):
        load_mnist_npz(path)


# --------------------------------------------------------------------------- Kaggle CSV

HEADER_TRAIN = "label," + ",".join(f"pixel{i}" for i in range(784))
HEADER_TEST = ",".join(f"pixel{i}" for i in range(784))


def csv_rows(n: int, labelled: bool, seed: int = 0) -> tuple[list[str], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (n, 784))
    labels = rng.integers(0, 10, n)
    rows = [
        ",".join(map(str, ([int(labels[i])] if labelled else []) + pixels[i].tolist())) for i in range(n)
    ]
    return rows, pixels, labels


def write_csv(path: Path, header: str, rows: list[str], newline: str = "\n") -> Path:
    path.write_text(newline.join([header, *rows]) + newline, newline="")
    return path


def test_kaggle_train_csv(tmp_path):
    rows, pixels, labels = csv_rows(5, labelled=True)
    split = load_kaggle_csv(write_csv(tmp_path / "train.csv", HEADER_TRAIN, rows))
    assert isinstance(split, Split)
    assert split.images.shape == (5, 28, 28) and split.images.dtype == np.uint8
    np.testing.assert_array_equal(split.images.reshape(5, 784), pixels)
    assert split.labels.dtype == np.int64
    np.testing.assert_array_equal(split.labels, labels)


def test_kaggle_test_csv_has_no_labels(tmp_path):
    rows, pixels, _ = csv_rows(3, labelled=False)
    split = load_kaggle_csv(write_csv(tmp_path / "test.csv", HEADER_TEST, rows))
    assert split.labels is None
    np.testing.assert_array_equal(split.images.reshape(3, 784), pixels)


def test_kaggle_csv_single_row_crlf_and_gzip(tmp_path):
    rows, pixels, labels = csv_rows(1, labelled=True)
    split = load_kaggle_csv(write_csv(tmp_path / "one.csv", HEADER_TRAIN, rows, newline="\r\n"))
    assert split.images.shape == (1, 28, 28) and split.labels.tolist() == labels.tolist()
    gz = tmp_path / "train.csv.gz"
    gz.write_bytes(gzip.compress((HEADER_TRAIN + "\n" + "\n".join(rows) + "\n").encode()))
    np.testing.assert_array_equal(load_kaggle_csv(gz).images.reshape(1, 784), pixels)


def _bad_csv(tmp_path, header: str, rows: list[str], line: int, col_text: str | None = None) -> str:
    path = write_csv(tmp_path / "bad.csv", header, rows)
    with pytest.raises(DataError) as info:
        load_kaggle_csv(path)
    message = str(info.value)
    assert str(path) in message
    assert f"line {line}" in message, message
    return message


def test_kaggle_bad_header(tmp_path):
    rows, _, _ = csv_rows(2, labelled=True)
    path = write_csv(tmp_path / "h.csv", "digit," + HEADER_TEST, rows)
    with pytest.raises(DataError, match=r"h\.csv.*expected header label,pixel0\.\.pixel783 or pixel0\.\.pixel783"):
        load_kaggle_csv(path)
    no_header = write_csv(tmp_path / "noheader.csv", rows[0], rows[1:])
    with pytest.raises(DataError, match=r"noheader\.csv.*header"):
        load_kaggle_csv(no_header)


def test_kaggle_wrong_column_count(tmp_path):
    rows, _, _ = csv_rows(4, labelled=True)
    rows[2] = rows[2].rsplit(",", 1)[0]
    message = _bad_csv(tmp_path, HEADER_TRAIN, rows, line=4)
    assert "784 columns, expected 785" in message


def test_kaggle_non_integer(tmp_path):
    rows, _, _ = csv_rows(4, labelled=True)
    rows[1] = rows[1] + ".5"
    message = _bad_csv(tmp_path, HEADER_TRAIN, rows, line=3)
    assert "non-integer" in message


def test_kaggle_non_integer_text(tmp_path):
    rows, _, _ = csv_rows(3, labelled=False)
    fields = rows[0].split(",")
    fields[10] = "abc"
    rows[0] = ",".join(fields)
    message = _bad_csv(tmp_path, HEADER_TEST, rows, line=2)
    assert "'abc'" in message and "column 11" in message


@pytest.mark.parametrize("value", ["256", "-1", "70000"])
def test_kaggle_pixel_out_of_range(tmp_path, value):
    rows, _, _ = csv_rows(4, labelled=True)
    fields = rows[3].split(",")
    fields[100] = value
    rows[3] = ",".join(fields)
    message = _bad_csv(tmp_path, HEADER_TRAIN, rows, line=5)
    assert f"pixel value {value} out of range 0..255" in message


def test_kaggle_label_out_of_range(tmp_path):
    rows, _, _ = csv_rows(4, labelled=True)
    rows[0] = "10" + rows[0][1:]
    message = _bad_csv(tmp_path, HEADER_TRAIN, rows, line=2)
    assert "label 10 out of range 0..9" in message


def test_kaggle_empty_missing_and_header_only(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match=r"empty\.csv.*empty"):
        load_kaggle_csv(empty)
    with pytest.raises(DataError, match=r"missing\.csv.*not found"):
        load_kaggle_csv(tmp_path / "missing.csv")
    header_only = write_csv(tmp_path / "header.csv", HEADER_TRAIN, [])
    with pytest.raises(DataError, match=r"header\.csv.*no data rows"):
        load_kaggle_csv(header_only)


# --------------------------------------------------------------------------- image folders


def digit_image(label: int) -> np.ndarray:
    """A 28x28 white-on-black image whose top-left pixel encodes its label."""
    img = np.zeros((28, 28), np.uint8)
    img[8:20, 12:16] = 255
    img[0, 0] = label * 20
    return img


def write_digit_folder(root: Path, per_digit: int = 2, digits=range(10)) -> Path:
    for d in digits:
        (root / str(d)).mkdir(parents=True, exist_ok=True)
        for i in range(per_digit):
            Image.fromarray(digit_image(d), "L").save(root / str(d) / f"img{i}.png")
    return root


def identity(gray: np.ndarray) -> np.ndarray:
    return gray


def test_image_folder_good(tmp_path):
    root = write_digit_folder(tmp_path / "digits", per_digit=2)
    (root / "3" / "README.txt").write_text("not an image")  # ignored: not an image extension
    (root / "3" / ".DS_Store").write_bytes(b"\0\1")  # ignored: hidden
    (root / "notes").mkdir()  # ignored: not a digit folder
    split = load_image_folder(root, frame=identity)
    assert split.images.shape == (20, 28, 28) and split.images.dtype == np.uint8
    assert split.labels.dtype == np.int64
    assert sorted(split.labels.tolist()) == sorted(list(range(10)) * 2)
    np.testing.assert_array_equal(split.images[:, 0, 0], split.labels * 20)


def test_image_folder_default_framing(tmp_path):
    root = write_digit_folder(tmp_path / "digits", per_digit=1)
    photo = np.full((90, 60, 3), 255, np.uint8)  # a dark-on-light "photo" of a 1, not 28x28
    photo[15:75, 27:33] = 0
    Image.fromarray(photo).save(root / "1" / "photo.jpg", quality=95)
    split = load_image_folder(root)
    assert split.images.shape == (11, 28, 28) and sorted(split.labels.tolist()) == sorted([*range(10), 1])
    framed = split.images[2]  # sorted by label, then file name: 0/img0, 1/img0, 1/photo
    assert split.labels[2] == 1 and framed.max() > 200 and framed[0, 0] == 0  # white on black


def test_image_folder_frame_gets_grayscale_and_any_size(tmp_path):
    root = tmp_path / "big"
    (root / "7").mkdir(parents=True)
    Image.new("RGB", (40, 30), (255, 255, 255)).save(root / "7" / "a.jpg")
    seen = []

    def frame(gray):
        seen.append((gray.shape, gray.dtype))
        return np.zeros((28, 28), np.uint8)

    split = load_image_folder(root, frame=frame)
    assert seen == [((30, 40), np.uint8)]
    assert split.labels.tolist() == [7]


def test_image_folder_bad_image_error_or_skip(tmp_path):
    root = write_digit_folder(tmp_path / "digits", per_digit=2)
    (root / "4" / "broken.png").write_text("not a png")
    with pytest.raises(DataError) as info:
        load_image_folder(root, frame=identity)
    message = str(info.value)
    assert "broken.png" in message and "1 of 21" in message and "skip_bad" in message
    split = load_image_folder(root, skip_bad=True, frame=identity)
    assert len(split) == 20


def test_image_folder_lists_at_most_five_bad_files(tmp_path):
    root = write_digit_folder(tmp_path / "digits", per_digit=1)
    for i in range(7):
        (root / "1" / f"bad{i}.png").write_bytes(b"")
    with pytest.raises(DataError) as info:
        load_image_folder(root, frame=identity)
    message = str(info.value)
    assert sum(f"bad{i}.png" in message for i in range(7)) == 5
    assert "and 2 more" in message


def test_image_folder_framing_failure_is_a_bad_file(tmp_path):
    root = write_digit_folder(tmp_path / "digits", per_digit=1, digits=[2])
    with pytest.raises(DataError, match=r"img0\.png.*\(28, 28\)"):
        load_image_folder(root, frame=lambda gray: gray[:5])


def test_image_folder_empty_or_missing(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match=r"empty.*no digit sub-folders"):
        load_image_folder(empty)
    (empty / "5").mkdir()
    with pytest.raises(DataError, match=r"no images"):
        load_image_folder(empty)
    with pytest.raises(DataError, match="no such folder"):
        load_image_folder(tmp_path / "nope")
    only_bad = tmp_path / "onlybad"
    (only_bad / "0").mkdir(parents=True)
    (only_bad / "0" / "x.png").write_bytes(b"")
    with pytest.raises(DataError, match="none of the 1 images"):
        load_image_folder(only_bad, skip_bad=True)


# --------------------------------------------------------------------------- --data SRC


def test_holdout_split_is_seeded_and_disjoint():
    images = np.arange(60, dtype=np.uint8)[:, None, None] * np.ones((1, 28, 28), np.uint8)
    split = Split(images, np.arange(60) % 10)
    train, test = holdout_split(split)
    assert (len(train), len(test)) == (50, 10)
    ids = sorted(train.images[:, 0, 0].tolist() + test.images[:, 0, 0].tolist())
    assert ids == list(range(60))
    train2, test2 = holdout_split(split)
    np.testing.assert_array_equal(test.images, test2.images)
    np.testing.assert_array_equal(test.labels, test.images[:, 0, 0] % 10)
    with pytest.raises(DataError):
        holdout_split(Split(images[:1], np.zeros(1, np.int64)))


@pytest.mark.parametrize("spec", [None, "mnist", "MNIST"])
def test_load_source_mnist_default(monkeypatch, tmp_path, no_mnist_env, spec):
    monkeypatch.setenv(data.ENV_VAR, str(write_mnist_folder(tmp_path / "env", 9, 4)))
    ds = load_source(spec, download=False)
    assert (len(ds.train), len(ds.test)) == (9, 4) and "MNIST" in ds.source


def test_load_source_mnist_without_data_and_download(no_mnist_env):
    with pytest.raises(DataError, match="MNIST not found"):
        load_source(None, download=False)


def test_load_source_mnist_folder_and_npz(tmp_path, no_mnist_env):
    ds = load_source(str(write_mnist_folder(tmp_path / "m", 8, 3)))
    assert (len(ds.train), len(ds.test)) == (8, 3) and "MNIST" in ds.source
    npz = write_npz(tmp_path / "n" / "mnist.npz", 6, 2)
    assert len(load_source(str(npz)).train) == 6
    assert len(load_source(str(npz.parent)).train) == 6


def test_load_source_kaggle_csv(tmp_path):
    rows, pixels, labels = csv_rows(30, labelled=True)
    path = write_csv(tmp_path / "train.csv", HEADER_TRAIN, rows)
    ds = load_source(str(path))
    assert (len(ds.train), len(ds.test)) == (25, 5)
    assert "Kaggle" in ds.source and "train.csv" in ds.source
    together = np.concatenate([ds.train.images, ds.test.images]).reshape(30, 784)
    assert sorted(map(tuple, together.tolist())) == sorted(map(tuple, pixels.tolist()))
    np.testing.assert_array_equal(load_source(str(path)).test.images, ds.test.images)  # seeded
    assert len(load_source(str(tmp_path)).train) == 25  # a folder holding train.csv


def test_load_source_csv_needs_labels(tmp_path):
    rows, _, _ = csv_rows(6, labelled=False)
    with pytest.raises(DataError, match=r"test\.csv.*needs labels"):
        load_source(str(write_csv(tmp_path / "test.csv", HEADER_TEST, rows)))


def test_load_source_image_folder(tmp_path):
    root = write_digit_folder(tmp_path / "digits", per_digit=3)
    ds = load_source(str(root))
    assert (len(ds.train), len(ds.test)) == (25, 5) and "image folder" in ds.source
    assert ds.train.images.shape[1:] == (28, 28)


def test_load_source_train_test_image_folders(tmp_path):
    write_digit_folder(tmp_path / "set" / "train", per_digit=2)
    write_digit_folder(tmp_path / "set" / "test", per_digit=1)
    ds = load_source(str(tmp_path / "set"))
    assert (len(ds.train), len(ds.test)) == (20, 10)


def test_load_source_bad_specs(tmp_path):
    with pytest.raises(DataError, match="no such file or folder"):
        load_source(str(tmp_path / "nowhere"))
    other = tmp_path / "model.keras"
    other.write_text("x")
    with pytest.raises(DataError, match=r"model\.keras.*expected"):
        load_source(str(other))
    (tmp_path / "stuff").mkdir()
    with pytest.raises(DataError, match="no digit sub-folders"):
        load_source(str(tmp_path / "stuff"))
