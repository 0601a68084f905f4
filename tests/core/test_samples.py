"""No Qt needed. The user's handwriting samples: add, count, load, remove, clear, crash safety."""

import errno
import os

import numpy as np
import pytest

from digitdesk.core.errors import DataError
from digitdesk.core.paths import user_data_dir
from digitdesk.core.samples import SampleStore


def _digit(value: int) -> np.ndarray:
    img = np.zeros((28, 28), np.uint8)
    img[4:24, 10:18] = value
    img[0, 0] = 7  # a distinctive pixel: PNG must be lossless
    return img


def test_add_count_load_roundtrip():
    store = SampleStore()
    assert store.root == user_data_dir() / "samples"
    assert len(store) == 0 and store.counts() == {d: 0 for d in range(10)}
    assert len(store.load()) == 0 and store.load().images.shape == (0, 28, 28)
    paths = [store.add(_digit(100 + i), label) for i, label in enumerate([4, 4, 1, 9])]
    assert all(p.is_file() and p.parent.name == str(lbl) and p.suffix == ".png" for p, lbl in zip(paths, [4, 4, 1, 9]))
    assert len(set(paths)) == 4
    assert store.counts() == {0: 0, 1: 1, 2: 0, 3: 0, 4: 2, 5: 0, 6: 0, 7: 0, 8: 0, 9: 1}
    assert len(store) == 4
    split = SampleStore().load()  # a fresh store on the same folder sees them
    assert split.images.dtype == np.uint8 and split.images.shape == (4, 28, 28)
    assert split.labels.tolist() == [1, 4, 4, 9]
    assert np.array_equal(split.images[0], _digit(102))
    assert {int(img[10, 12]) for img in split.images[1:3]} == {100, 101}


def test_add_converts_and_rejects():
    store = SampleStore()
    path = store.add(np.full((28, 28), 300.0), np.int64(3))  # float, out of range: clipped
    assert store.load().images[0].min() == 255 and path.parent.name == "3"
    with pytest.raises(DataError, match="28x28"):
        store.add(np.zeros((28, 27), np.uint8), 1)
    for bad in (10, -1, True, "4", 4.0):
        with pytest.raises(DataError, match="digit 0..9"):
            store.add(np.zeros((28, 28), np.uint8), bad)
    assert len(store) == 1


def test_remove_and_clear(tmp_path):
    store = SampleStore(tmp_path / "s")
    a = store.add(_digit(50), 2)
    b = store.add(_digit(60), 2)
    store.remove(a)
    assert not a.exists() and store.counts()[2] == 1
    store.remove(a)  # already gone: fine
    outside = tmp_path / "other.png"
    outside.write_bytes(b"x")
    with pytest.raises(DataError, match="not one of your samples"):
        store.remove(outside)
    assert outside.exists()
    store.add(_digit(70), 0)
    store.clear()
    assert len(store) == 0 and not b.exists()


def test_interrupted_write_leaves_nothing_behind(monkeypatch):
    store = SampleStore()
    kept = store.add(_digit(90), 5)

    def full_disk(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full_disk)  # the temp file is written, then the disk fills up
    with pytest.raises(DataError, match="disk is full"):
        store.add(_digit(91), 5)
    monkeypatch.undo()
    assert [p.name for p in (store.root / "5").iterdir()] == [kept.name]  # no temp file, no half sample
    assert np.array_equal(store.load().images[0], _digit(90))


def test_crash_leftovers_and_corrupt_files_are_skipped():
    store = SampleStore()
    store.add(_digit(80), 7)
    folder = store.root / "7"
    (folder / ".20260101-abc.png.x1y2.tmp").write_bytes(b"half a png")  # a killed process's temp file
    (folder / "zz-corrupt.png").write_bytes(b"\x89PNG\r\n not really")  # damaged by hand
    (folder / "notes.txt").write_text("hello")
    assert store.counts()[7] == 2  # the temp file and the text file do not count
    split = store.load()
    assert len(split) == 1 and split.labels.tolist() == [7]
    assert len(store.skipped) == 1 and "zz-corrupt.png" in store.skipped[0]
    store.clear()
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
