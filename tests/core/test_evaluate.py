"""No Qt needed. The classification report: loss and macro averages beside the per-class metrics."""

import numpy as np
import pytest

from digitdesk.core.errors import DataError
from digitdesk.core.evaluate import cross_entropy, report


def test_loss_is_keras_cross_entropy_and_macro_the_mean_of_the_digits():
    import keras

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 400)
    logits = rng.normal(size=(400, 10)) + 3 * np.eye(10)[labels]
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    probs[0] = np.eye(10)[(labels[0] + 1) % 10]  # a certain mistake: clipped, not infinite
    rep = report(labels, probs.argmax(axis=1), probs)
    expected = float(np.mean(keras.losses.sparse_categorical_crossentropy(labels, probs)))
    assert rep.loss == pytest.approx(expected, rel=1e-4)
    assert np.isfinite(rep.loss) and cross_entropy(labels, probs) == rep.loss
    assert rep.macro == pytest.approx({"precision": rep.precision.mean(), "recall": rep.recall.mean(),
                                       "f1": rep.f1.mean()})
    d = rep.to_dict()
    assert d["loss"] == pytest.approx(rep.loss, abs=1e-6) and d["macro"]["f1"] == pytest.approx(rep.f1.mean(), abs=1e-4)
    assert "loss:" in rep.format() and "macro" in rep.format()


def test_without_probabilities_there_is_no_loss():
    rep = report([1, 2, 3], [1, 2, 4])
    assert rep.loss is None and rep.to_dict()["loss"] is None and "loss:" not in rep.format()
    with pytest.raises(DataError, match="probabilities"):
        report([1, 2], [1, 2], np.full((3, 10), 0.1))
