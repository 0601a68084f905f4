"""No Qt needed. Malformed data sets and model files: Kaggle CSVs, MNIST IDX and npz files, and
.keras and .tflite models that are broken, of the wrong shape, unsafe or zip bombs. Each gives DataError or
ModelError with a message for a person (naming the file), or, for a mutated file that is still
valid, the documented result. Nothing is unpickled and no model code runs.

Extends tests/core/test_data.py and test_recognizer.py, which cover the basic cases (bad magic,
wrong column count, missing arrays, wrong shapes, the first zip bomb...). Case counts are in the
test names: ``..._300`` runs 300 hypothesis examples.
"""

from __future__ import annotations

import gzip
import io
import struct
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import keras
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from digitdesk.core.data import Dataset, Split, load_kaggle_csv, load_mnist_idx, load_mnist_npz, read_idx
from digitdesk.core.errors import DataError, DigitdeskError, ModelError
from digitdesk.core.modelio import MAX_UNCOMPRESSED, check_archive, load_model
from digitdesk.core.recognizer import Recognizer
from tests.core.fuzzing import assert_human, fuzz, outcome
from tests.core.test_data import HEADER_TEST, HEADER_TRAIN, csv_rows, idx_bytes, write_mnist_folder


def _raises(error: type[DigitdeskError], fn, *args, words: tuple[str, ...] = ()) -> str:
    with pytest.raises(error) as info:
        fn(*args)
    assert_human(info.value, *words)
    return str(info.value)


def _check_split(split, labelled: bool = True) -> None:
    assert isinstance(split, Split)
    assert split.images.dtype == np.uint8 and split.images.ndim == 3 and split.images.shape[1:] == (28, 28)
    if labelled:
        assert split.labels.dtype == np.int64 and split.labels.shape == (len(split.images),)
        assert len(split.labels) == 0 or (split.labels.min() >= 0 and split.labels.max() <= 9)


@st.composite
def _mutations(draw, data: bytes, alphabet: bytes | None = None) -> bytes:
    """``data`` truncated, bit-flipped, with bytes overwritten, inserted or deleted (1-3 of these)."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        if not out:
            break
        pos = draw(st.integers(0, len(out) - 1))
        kind = draw(st.sampled_from(["truncate", "flip", "overwrite", "insert", "delete"]))
        byte = st.sampled_from(list(alphabet)) if alphabet else st.integers(0, 255)
        if kind == "truncate":
            del out[pos:]
        elif kind == "flip":
            out[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "overwrite":
            out[pos] = draw(byte)
        elif kind == "insert":
            out[pos:pos] = bytes(draw(st.lists(byte, min_size=1, max_size=4)))
        else:
            del out[pos : pos + draw(st.integers(1, 8))]
    return bytes(out)


# --------------------------------------------------------------------------- Kaggle CSV

_TRAIN_CSV = (HEADER_TRAIN + "\n" + "\n".join(csv_rows(3, labelled=True)[0]) + "\n").encode()
_CSV_ALPHABET = b"0123456789,,,,-+ .e\n\r\t\"x\xef\xbb\xbf\xff\x00"


@fuzz(300, slow_data=True)
@given(_mutations(_TRAIN_CSV, _CSV_ALPHABET), st.booleans())
def test_mutated_kaggle_csv_300(tmp_path_factory, data, gz):
    """Mutated train.csv files (stray commas, signs, dots, quotes, BOMs, NULs, bad UTF-8, cut
    lines; gzipped or not): a valid labelled Split or DataError naming the file."""
    path = tmp_path_factory.mktemp("csv") / ("train.csv.gz" if gz else "train.csv")
    path.write_bytes(gzip.compress(data) if gz else data)
    result = outcome(load_kaggle_csv, path)
    if isinstance(result, DigitdeskError):
        assert isinstance(result, DataError) and str(path) in str(result), result
    else:
        _check_split(result, labelled=result.labels is not None)


@pytest.mark.parametrize("text, words", [
    ("1_0", ("'1_0'", "line 2", "column 2")),  # int() reads it, the CSV reader must not
    ("\u0661", ("line 2", "column 2")),  # an Arabic-Indic digit
    ("2.5", ("'2.5'", "line 2")),
    ("", ("line 2", "column 2")),
    ("-1", ("-1", "out of range")),
    ("99999999999999999999", ("out of range",)),
])
def test_kaggle_csv_odd_numbers_are_named(tmp_path, text, words):
    rows, _, _ = csv_rows(2, labelled=True)
    fields = rows[0].split(",")
    fields[1] = text
    path = tmp_path / "odd.csv"
    path.write_text("\n".join([HEADER_TRAIN, ",".join(fields), rows[1]]) + "\n", encoding="utf-8", newline="")
    _raises(DataError, load_kaggle_csv, path, words=("odd.csv", *words))


def test_kaggle_csv_bom_crlf_blank_lines_and_huge_line(tmp_path):
    rows, pixels, labels = csv_rows(3, labelled=True)
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + "\r\n".join([HEADER_TRAIN, rows[0], "", rows[1], rows[2]]).encode() + b"\r\n")
    split = load_kaggle_csv(bom)
    _check_split(split)
    np.testing.assert_array_equal(split.images.reshape(3, -1), pixels)
    np.testing.assert_array_equal(split.labels, labels)

    huge = tmp_path / "huge.csv"  # one 2 MB line: refused with a column count
    huge.write_text(HEADER_TEST + "\n" + ",".join(["7"] * 1_000_000) + "\n")
    _raises(DataError, load_kaggle_csv, huge, words=("huge.csv", "line 2", "1000000 columns", "784"))


def test_kaggle_csv_corrupt_gzip_and_binary(tmp_path):
    rows, _, _ = csv_rows(40, labelled=True)
    packed = bytearray(gzip.compress(("\n".join([HEADER_TRAIN, *rows]) + "\n").encode()))
    packed[10] = 0xFF  # the first deflate block has the reserved type: zlib.error, not OSError
    path = tmp_path / "train.csv.gz"
    path.write_bytes(bytes(packed))
    _raises(DataError, load_kaggle_csv, path, words=("train.csv.gz", "cannot read"))
    png = tmp_path / "picture.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    _raises(DataError, load_kaggle_csv, png, words=("picture.csv",))


# --------------------------------------------------------------------------- IDX

_IDX_IMAGES = idx_bytes(np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28))
_IDX_LABELS = idx_bytes(np.array([1, 2, 3], np.uint8))


@fuzz(300, slow_data=True)
@given(st.sampled_from(["images", "labels"]), st.booleans(), st.data())
def test_mutated_idx_files_300(tmp_path_factory, which, gz, data):
    """An MNIST folder with one mutated IDX file (raw or gzipped, mutated before or after
    compression): a valid Dataset or DataError naming the file."""
    folder = write_mnist_folder(tmp_path_factory.mktemp("idx"), 3, 3, gz=gz)
    name = f"train-{which}-idx{3 if which == 'images' else 1}-ubyte" + (".gz" if gz else "")
    raw = _IDX_IMAGES if which == "images" else _IDX_LABELS
    if gz and data.draw(st.booleans()):
        blob = data.draw(_mutations(gzip.compress(raw)))  # a corrupt gzip stream
    else:
        blob = data.draw(_mutations(raw))
        blob = gzip.compress(blob) if gz else blob
    (folder / name).write_bytes(blob)
    result = outcome(load_mnist_idx, folder)
    if isinstance(result, DigitdeskError):
        assert isinstance(result, DataError) and str(folder) in str(result), result
    else:
        assert isinstance(result, Dataset)
        _check_split(result.train)
        _check_split(result.test)


@pytest.mark.parametrize("type_code, values, words", [
    (0x0D, np.full((2, 28, 28), 0.5, ">f4"), ("float32", "0..255")),  # float pixels would be cut to 0
    (0x0C, np.full((2, 28, 28), 300, ">i4"), ("int32", "0..255")),  # would wrap round to 44
    (0x0B, np.full((2, 28, 28), -1, ">i2"), ("int16", "0..255")),
])
def test_idx_images_that_are_not_bytes_are_checked(tmp_path, type_code, values, words):
    folder = write_mnist_folder(tmp_path / "m", 2, 2, gz=False)
    header = bytes([0, 0, type_code, 3]) + b"".join(int(n).to_bytes(4, "big") for n in values.shape)
    (folder / "train-images-idx3-ubyte").write_bytes(header + values.tobytes())
    _raises(DataError, load_mnist_idx, folder, words=words)


def test_idx_wrong_dims_and_huge_header(tmp_path):
    folder = write_mnist_folder(tmp_path / "m", 4, 2, gz=False)
    (folder / "train-images-idx3-ubyte").write_bytes(idx_bytes(np.zeros((4, 28, 27), np.uint8)))
    _raises(DataError, load_mnist_idx, folder, words=("(4, 28, 27)", "(N, 28, 28)"))
    (folder / "train-images-idx3-ubyte").write_bytes(idx_bytes(np.zeros((4, 784), np.uint8)))
    _raises(DataError, load_mnist_idx, folder, words=("(4, 784)",))
    huge = tmp_path / "huge-idx3-ubyte"  # claims 2**96 bytes: refused before any allocation
    huge.write_bytes(bytes([0, 0, 8, 3]) + b"\xff" * 12 + bytes(16))
    _raises(DataError, read_idx, huge, words=("huge-idx3-ubyte", "16 bytes"))
    nodims = tmp_path / "zero-idx0-ubyte"
    nodims.write_bytes(bytes([0, 0, 8, 0]))
    _raises(DataError, read_idx, nodims, words=("zero-idx0-ubyte",))


# --------------------------------------------------------------------------- npz


def _npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _good_arrays() -> dict[str, np.ndarray]:
    x = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    return {"x_train": x, "y_train": np.array([3, 4]), "x_test": x[:1], "y_test": np.array([5])}


@fuzz(300, slow_data=True)
@given(_mutations(_npz_bytes(**_good_arrays())))
def test_mutated_npz_300(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("npz") / "mnist.npz"
    path.write_bytes(data)
    result = outcome(load_mnist_npz, path)
    if isinstance(result, DigitdeskError):
        assert isinstance(result, DataError) and str(path) in str(result), result
    else:
        _check_split(result.train)
        _check_split(result.test)


class _Marker:
    """Unpickling this writes a file: proof that a loader unpickled data."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (Path.write_text, (Path(self.path), "unpickled!"))


@pytest.mark.parametrize("change, words", [
    ({"x_train": np.zeros((2, 28, 28), np.float32) + 0.5}, ("(train)", "float32", "0..255")),
    ({"x_train": np.full((2, 28, 28), 256, np.int64)}, ("int64", "0..255")),
    ({"y_train": np.array([3.5, 4.0])}, ("labels", "float64", "whole")),
    ({"y_train": np.array([3, 4, 5])}, ("3 labels for 2 images",)),
    ({"y_test": np.array([[5]])}, ("1 labels for 1 images",)),
    ({"y_train": np.array(["3", "4"])}, ("labels", "str")),
    ({"x_test": np.zeros((1, 28, 28, 1), np.uint8)}, ("(1, 28, 28, 1)",)),
])
def test_npz_wrong_shapes_and_dtypes(tmp_path, change, words):
    path = tmp_path / "m.npz"
    path.write_bytes(_npz_bytes(**{**_good_arrays(), **change}))
    _raises(DataError, load_mnist_npz, path, words=("m.npz", *words))


def test_npz_pickles_are_never_loaded(tmp_path):
    marker = tmp_path / "marker.txt"
    arrays = {**_good_arrays(), "y_train": np.array([_Marker(str(marker)), 1], dtype=object)}
    path = tmp_path / "evil.npz"
    path.write_bytes(_npz_bytes(**arrays))
    _raises(DataError, load_mnist_npz, path, words=("evil.npz",))
    pickled = tmp_path / "pickle.npz"  # a bare pickle named .npz
    import pickle

    pickled.write_bytes(pickle.dumps(_Marker(str(marker))))
    _raises(DataError, load_mnist_npz, pickled, words=("pickle.npz",))
    assert not marker.exists(), "a loader unpickled data"
    with np.load(path, allow_pickle=True) as npz:  # the same file, loaded unsafely, would run code
        npz["y_train"]
    assert marker.exists()


def test_npz_odd_members(tmp_path):
    raw = tmp_path / "raw.npz"  # members that are not .npy arrays come back from np.load as bytes
    with zipfile.ZipFile(raw, "w") as zf:
        for name in _good_arrays():
            zf.writestr(f"{name}.npy", b"not an npy array")
    _raises(DataError, load_mnist_npz, raw, words=("raw.npz", "x_train", "not a numpy array"))
    single = tmp_path / "single.npz"  # one .npy array named .npz
    buf = io.BytesIO()
    np.save(buf, np.zeros((2, 28, 28), np.uint8))
    single.write_bytes(buf.getvalue())
    _raises(DataError, load_mnist_npz, single, words=("single.npz", "one array"))
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    _raises(DataError, load_mnist_npz, empty, words=("empty.npz",))


# --------------------------------------------------------------------------- models


def _tiny(inputs=(28, 28, 1), units=10, activation="softmax"):
    return keras.Sequential([keras.Input(inputs), keras.layers.Flatten(), keras.layers.Dense(units, activation=activation)])


@pytest.fixture(scope="module")
def tiny_keras(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("models") / "tiny.keras"
    _tiny().save(path)
    return path.read_bytes()


@pytest.mark.parametrize("model, words", [
    (lambda: _tiny(units=5), ("output shape", "(None, 5)")),
    (lambda: _tiny(inputs=(28, 28)), ("input shape", "(None, 28, 28)")),
    (lambda: _tiny(inputs=(784,)), ("input shape",)),
    (lambda: keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(10, 28, activation="softmax")]),
     ("output shape", "(None, 1, 1, 10)")),
])
def test_models_of_the_wrong_shape(tmp_path, model, words):
    path = tmp_path / "wrong.keras"
    model().save(path)
    _raises(ModelError, load_model, path, words=("wrong.keras", *words))
    _raises(ModelError, Recognizer.load, path, words=("wrong.keras",))


def test_model_without_softmax_is_refused_by_the_recognizer(tmp_path):
    """Right shapes but logits, not probabilities: confidences would be meaningless (above 1, negative)."""
    path = tmp_path / "logits.keras"
    model = _tiny(activation=None)
    model.layers[-1].set_weights([np.full((784, 10), 0.01, np.float32), np.arange(10, dtype=np.float32)])
    model.save(path)
    _raises(ModelError, Recognizer.load, path, words=("logits.keras", "softmax"))
    ok = tmp_path / "ok.keras"
    _tiny().save(ok)
    assert Recognizer.load(ok).classify(np.zeros((28, 28), np.uint8)).sum() == pytest.approx(1.0, abs=1e-5)


def test_lambda_layer_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "lambda-ran.txt"
    code = f"lambda x: (__import__('pathlib').Path({str(marker)!r}).write_text('ran'), x)[1]"
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Lambda(eval(code)),  # noqa: S307
                              keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    path = tmp_path / "lambda.keras"
    model.save(path)
    marker.unlink(missing_ok=True)  # building the model ran it once
    _raises(ModelError, load_model, path, words=("lambda.keras", "Lambda", "safe mode"))
    _raises(ModelError, Recognizer.load, path, words=("lambda.keras",))
    assert not marker.exists(), "the Lambda's code ran while loading"
    keras.models.load_model(path, safe_mode=False)  # what safe mode prevents: the code runs on load
    assert marker.exists()


def _peak_python_mb(fn, *args) -> float:
    """Peak memory Python allocated while ``fn`` ran (tracemalloc sees zlib's output buffers)."""
    tracemalloc.start()
    try:
        fn(*args)
    except DigitdeskError:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak / 2**20


def test_zip_bombs_are_refused_without_extracting(tmp_path):
    for members in (1, 400):  # one huge member; many members that add up
        path = tmp_path / f"bomb{members}.keras"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("config.json", "{}")
            size = (MAX_UNCOMPRESSED + 2**20) // members
            for i in range(members):
                with zf.open(f"assets/{i}.bin", "w", force_zip64=True) as fh:
                    for _ in range(0, size, 2**20):
                        fh.write(bytes(min(2**20, size)))
        assert path.stat().st_size < 2 * 2**20
        _raises(ModelError, load_model, path, words=(path.name, "refusing"))
        assert _peak_python_mb(load_model, path) < 8  # unpacking would take 201 MB


def lying_bomb(path: Path, tiny_keras: bytes, real: int = 300 * 2**20, claimed: int = 1000) -> Path:
    """A working tiny model whose weights member claims ``claimed`` bytes (with the checksum of
    its first ``claimed`` bytes) but inflates to ``real`` bytes of zeros."""
    member = "model.weights.h5"
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(tiny_keras)) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            if name != member:
                dst.writestr(name, src.read(name))
        with dst.open(member, "w") as fh:
            for _ in range(real // 2**20):
                fh.write(bytes(2**20))
        info = dst.getinfo(member)
    data = bytearray(buf.getvalue())
    crc = zlib.crc32(bytes(claimed))
    local = info.header_offset
    struct.pack_into("<II", data, local + 18 - 4, crc, info.compress_size)  # crc, compressed size
    struct.pack_into("<I", data, local + 22, claimed)  # uncompressed size
    end = data.rfind(b"PK\x05\x06")  # the end record: entry count and where the index starts
    count, central = struct.unpack_from("<H", data, end + 10)[0], struct.unpack_from("<I", data, end + 16)[0]
    for _ in range(count):
        n, m, k = struct.unpack_from("<HHH", data, central + 28)
        if data[central + 46:central + 46 + n] == member.encode():
            struct.pack_into("<I", data, central + 16, crc)
            struct.pack_into("<I", data, central + 24, claimed)
        central += 46 + n + m + k
    path.write_bytes(bytes(data))
    return path


def test_zip_bomb_that_lies_about_its_sizes(tmp_path, tiny_keras):
    """The index says 1 kB (checksum included): zipfile alone would inflate all 300 MB to check."""
    path = lying_bomb(tmp_path / "liar.keras", tiny_keras)
    with zipfile.ZipFile(path) as zf:
        assert sum(i.file_size for i in zf.infolist()) < MAX_UNCOMPRESSED  # the size check alone passes
        with zf.open("model.weights.h5") as fh:
            assert fh.read(1000) == bytes(1000)  # and the declared part reads back with a good checksum
    _raises(ModelError, load_model, path, words=(path.name, "declares"))
    _raises(ModelError, Recognizer.load, path, words=(path.name, "declares"))
    assert _peak_python_mb(load_model, path) < 8


@pytest.mark.parametrize("content, words", [
    (b"", ("not a Keras model file",)),
    (bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8)), ("not a Keras model file",)),
    (b"\x89HDF\r\n\x1a\n" + bytes(2000), ("not a Keras model file",)),  # a legacy .h5 model renamed
])
def test_non_zip_model_files(tmp_path, content, words):
    path = tmp_path / "x.keras"
    path.write_bytes(content)
    _raises(ModelError, load_model, path, words=("x.keras", *words))


def test_folder_and_h5_model_paths(tmp_path):
    folder = tmp_path / "x.keras"
    folder.mkdir()
    _raises(ModelError, load_model, folder, words=("x.keras", "folder"))
    _raises(ModelError, Recognizer.load, folder, words=("folder",))
    h5 = tmp_path / "legacy.h5"
    _tiny().save(h5)  # a real legacy HDF5 model
    _raises(ModelError, load_model, h5, words=("legacy.h5",))


def test_archive_without_config_or_with_bad_config(tmp_path, tiny_keras):
    path = tmp_path / "noconf.keras"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("model.weights.h5", b"")
    _raises(ModelError, check_archive, path, words=("noconf.keras", "config.json"))
    for config in (b"{not json", b"[]", b'{"class_name": "os.system", "config": {}}', b'{"class_name": "Sequential"}'):
        path = tmp_path / "badconf.keras"
        with zipfile.ZipFile(io.BytesIO(tiny_keras)) as src, zipfile.ZipFile(path, "w") as dst:
            for info in src.infolist():
                dst.writestr(info, config if info.filename == "config.json" else src.read(info))
        _raises(ModelError, load_model, path, words=("badconf.keras",))


@fuzz(200, slow_data=True)
@given(st.data())
def test_mutated_keras_archives_200(tmp_path_factory, tiny_keras, data):
    """A real .keras archive truncated or bit-flipped (anywhere, or in config.json): a model that
    meets the contract, or ModelError naming the file."""
    path = tmp_path_factory.mktemp("keras") / "m.keras"
    if data.draw(st.booleans()):
        path.write_bytes(data.draw(_mutations(tiny_keras)))
    else:
        with zipfile.ZipFile(io.BytesIO(tiny_keras)) as src, zipfile.ZipFile(path, "w") as dst:
            for info in src.infolist():
                blob = src.read(info)
                if info.filename == "config.json":
                    blob = data.draw(_mutations(blob, b'{}[]":,0123456789 abcnull'))
                dst.writestr(info, blob)
    result = outcome(load_model, path)
    if isinstance(result, DigitdeskError):
        assert isinstance(result, ModelError) and str(path) in str(result), result
    else:
        assert tuple(result.inputs[0].shape[1:]) == (28, 28, 1) and tuple(result.outputs[0].shape[1:]) == (10,)


# --------------------------------------------------------------------------- .tflite models


@pytest.fixture(scope="module")
def tiny_tflite(tiny_keras, tmp_path_factory) -> bytes:
    """The tiny model's LiteRT twin, converted for real."""
    from digitdesk.core.twin import write_twin

    path = tmp_path_factory.mktemp("tflite") / "tiny.keras"
    path.write_bytes(tiny_keras)
    return write_twin(path).read_bytes()


@pytest.mark.parametrize("content, words", [
    (b"", ("not a LiteRT model file",)),
    (b"TFL3", ("not a LiteRT model file",)),
    (b"\x00" * 4 + b"TFL3" + b"\x00" * 64, ("not a usable LiteRT model",)),
    (b"\xff" * 4 + b"TFL3" + b"\xff" * 4096, ("not a usable LiteRT model",)),
    (b"PK\x03\x04 a zip, named .tflite", ("not a LiteRT model file",)),
])
def test_tflite_files_that_are_not_models(tmp_path, content, words):
    path = tmp_path / "x.tflite"
    path.write_bytes(content)
    _raises(ModelError, Recognizer.load, path, words=("x.tflite", *words))


def test_tflite_folder_missing_and_huge(tmp_path, tiny_tflite):
    (tmp_path / "dir.tflite").mkdir()
    _raises(ModelError, Recognizer.load, tmp_path / "dir.tflite", words=("dir.tflite", "folder"))
    _raises(ModelError, Recognizer.load, tmp_path / "gone.tflite", words=("gone.tflite", "no such"))
    huge = tmp_path / "huge.tflite"
    with open(huge, "wb") as fh:  # sparse: 100 MB that are never read
        fh.write(tiny_tflite)
        fh.truncate(100 * 2**20)
    _raises(ModelError, Recognizer.load, huge, words=("huge.tflite", "refusing"))


def test_truncated_tflite_models(tmp_path, tiny_tflite):
    for cut in (8, 64, len(tiny_tflite) // 3, len(tiny_tflite) - 1):
        path = tmp_path / f"cut{cut}.tflite"
        path.write_bytes(tiny_tflite[:cut])
        _raises(ModelError, Recognizer.load, path, words=(path.name,))


@fuzz(200, slow_data=True)
@given(st.data())
def test_mutated_tflite_models_200(tmp_path_factory, tiny_tflite, data):
    """A real .tflite file truncated or bit-flipped: a model that meets the contract and gives
    probabilities, or ModelError naming the file."""
    path = tmp_path_factory.mktemp("tflite") / "m.tflite"
    path.write_bytes(data.draw(_mutations(tiny_tflite)))
    result = outcome(Recognizer.load, path)
    if isinstance(result, DigitdeskError):
        assert isinstance(result, ModelError) and str(path) in str(result), result
    else:
        probs = result.classify(np.full((3, 28, 28), 128, np.uint8))
        assert probs.shape == (3, 10) and np.isfinite(probs).all()
