"""No Qt needed. Data-tab helpers: class counts, mean images, intensity histogram, sample grid, summary."""

import numpy as np
import pytest

from digitdesk.core import explore
from digitdesk.core.data import Split
from digitdesk.core.errors import DataError


@pytest.fixture
def toy() -> Split:
    """Digit d is a constant image of value 10 * d (digit 5 appears three times, digit 7 never)."""
    labels = np.array([0, 1, 2, 3, 4, 5, 5, 5, 6, 8, 9])
    images = np.stack([np.full((28, 28), 10 * d, np.uint8) for d in labels])
    return Split(images, labels)


def test_class_counts(toy):
    counts = explore.class_counts(toy)
    assert counts.shape == (10,)
    assert counts.tolist() == [1, 1, 1, 1, 1, 3, 1, 0, 1, 1]


def test_mean_images(toy):
    images = toy.images.copy()
    images[6] = 0  # one of the three fives is black: the mean five is 2/3 of 50
    means = explore.mean_images(Split(images, toy.labels))
    assert means.shape == (10, 28, 28) and means.dtype == np.float64
    assert np.allclose(means[9], 90) and np.allclose(means[5], 100 / 3)
    assert np.all(means[7] == 0)  # no sevens


def test_intensity_histogram(toy):
    counts, edges = explore.intensity_histogram(toy, bins=32)
    assert counts.shape == (32,) and edges.shape == (33,)
    assert edges[0] == 0 and edges[-1] == 256
    assert counts.sum() == len(toy) * 28 * 28
    assert counts[0] == 784 and counts[1] == 784  # 0 is in [0, 8), 10 in [8, 16)
    assert counts[50 // 8] == 3 * 784 and counts[90 // 8] == 784
    full, _ = explore.intensity_histogram(toy, bins=256)
    assert full[50] == 3 * 784 and full[0] == 784 and full[10] == 784
    with pytest.raises(ValueError):
        explore.intensity_histogram(toy, bins=0)


def test_sample_grid_rows_hold_their_digit(toy):
    grid = explore.sample_grid(toy, per_class=4, seed=1)
    assert grid.shape == (280, 4 * 28) and grid.dtype == np.uint8
    for d in range(10):
        row = grid[d * 28:(d + 1) * 28]
        if d == 7:
            assert not row.any()  # no sevens: black
        else:
            assert row[:, :28].min() == 10 * d  # first cell is a d
            assert not row[:, 28 * (3 if d == 5 else 1):].any()  # the rest is padding
    idx = explore.sample_indices(toy, per_class=4, seed=1)
    assert idx.shape == (10, 4) and idx[7].tolist() == [-1] * 4
    assert sorted(idx[5][:3]) == [5, 6, 7]


def test_sample_grid_is_random_per_seed_and_deterministic(mnist):
    small = Split(mnist.test.images[:500], mnist.test.labels[:500])
    a = explore.sample_grid(small, per_class=8, seed=0)
    assert np.array_equal(a, explore.sample_grid(small, per_class=8, seed=0))
    assert not np.array_equal(a, explore.sample_grid(small, per_class=8, seed=1))
    idx = explore.sample_indices(small, per_class=8, seed=0)
    assert all(small.labels[i] == d for d in range(10) for i in idx[d])


def test_summary(toy):
    s = explore.summary(toy)
    assert s["count"] == 11 and s["labelled"]
    assert s["class_counts"][5] == 3 and s["missing_classes"] == [7]
    assert s["largest_class"] == 5 and s["smallest_class"] == 7
    assert s["imbalance"] == 3.0
    assert s["blank_images"] == 1  # the zero
    assert s["mean_intensity"] == pytest.approx(toy.images.mean(), abs=1e-3)


def test_unlabelled_and_empty():
    unlabelled = Split(np.zeros((3, 28, 28), np.uint8), None)
    with pytest.raises(DataError, match="no labels"):
        explore.class_counts(unlabelled)
    assert explore.summary(unlabelled)["labelled"] is False
    empty = Split(np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64))
    assert explore.summary(empty)["count"] == 0
    assert explore.class_counts(empty).tolist() == [0] * 10
    assert explore.sample_grid(empty).shape == (280, 8 * 28)
    assert explore.intensity_histogram(empty)[0].sum() == 0
