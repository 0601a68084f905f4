"""No Qt needed. The evaluation report: loss and macro averages beside the per-class metrics,
and one-vs-rest ROC curves and AUC from the probabilities."""

import json
import sys

import numpy as np
import pytest

from digitdesk.core.errors import DataError
from digitdesk.core.evaluate import cross_entropy, report, roc_auc, roc_curve, save_roc_png


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


def _one_hot(labels):
    return np.eye(10)[labels]


LABELS = np.repeat(np.arange(10), 5)


def test_a_perfect_classifier_has_auc_1_and_a_reversed_one_0():
    perfect = report(LABELS, LABELS, _one_hot(LABELS))
    np.testing.assert_array_equal(perfect.auc, np.ones(10))
    assert perfect.macro_auc == 1.0
    reversed_ = report(LABELS, LABELS, 1 - _one_hot(LABELS))
    np.testing.assert_array_equal(reversed_.auc, np.zeros(10))
    assert reversed_.macro_auc == 0.0


def test_a_small_case_by_hand():
    # positives score 0.9 and 0.7, negatives 0.8 and 0.6: 3 of the 4 (positive, negative) pairs are in order
    scores, positive = np.array([0.9, 0.8, 0.7, 0.6]), np.array([True, False, True, False])
    assert roc_auc(scores, positive) == pytest.approx(0.75)
    fpr, tpr = roc_curve(scores, positive)
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 0.5, 1, 1])


def test_ties_count_half_and_make_one_step():
    # one positive at 0.5, negatives at 0.5 and 0.2: one tied pair (1/2) and one in order (1): 1.5 / 2
    scores, positive = np.array([0.5, 0.5, 0.2]), np.array([True, False, False])
    assert roc_auc(scores, positive) == pytest.approx(0.75)
    fpr, tpr = roc_curve(scores, positive)
    np.testing.assert_allclose(fpr, [0, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 1, 1])
    assert roc_auc(np.full(6, 0.3), np.array([1, 0, 1, 0, 0, 1], bool)) == pytest.approx(0.5)  # all tied


def test_auc_is_the_share_of_positive_negative_pairs_in_order():
    rng = np.random.default_rng(0)
    scores, positive = rng.integers(0, 20, 300) / 20, rng.random(300) < 0.3
    pos, neg = scores[positive][:, None], scores[~positive][None, :]
    expected = ((pos > neg).sum() + 0.5 * (pos == neg).sum()) / (pos.size * neg.size)
    assert roc_auc(scores, positive) == pytest.approx(expected, abs=1e-12)


def test_report_with_probabilities_tells_the_aucs_and_a_missing_digit_is_left_out():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 9, 400)  # no 9
    probs = rng.dirichlet(np.ones(10), 400)
    probs[np.arange(400), labels] += 0.3
    probs /= probs.sum(axis=1, keepdims=True)
    rep = report(labels, probs.argmax(axis=1), probs)
    assert np.isnan(rep.auc[9]) and not np.isnan(rep.auc[:9]).any()
    assert rep.macro_auc == pytest.approx(np.mean(rep.auc[:9]))
    for d in range(9):
        assert rep.auc[d] == pytest.approx(roc_auc(probs[:, d], labels == d))
    d = json.loads(json.dumps(rep.to_dict()))
    assert d["per_class"]["3"]["auc"] == pytest.approx(rep.auc[3], abs=1e-6) and d["per_class"]["9"]["auc"] is None
    assert d["macro_auc"] == pytest.approx(rep.macro_auc, abs=1e-6)
    text = rep.format()
    header = next(line for line in text.splitlines() if line.startswith("digit"))
    assert "macro AUC" in text and header.endswith("AUC") and f"{rep.auc[3]:.6f}" in text


def test_report_without_probabilities_is_as_before():
    rep = report(LABELS, LABELS)
    assert rep.auc is None and rep.macro_auc is None
    assert "macro_auc" not in rep.to_dict() and "auc" not in rep.to_dict()["per_class"]["0"]
    assert "AUC" not in rep.format()
    with pytest.raises(DataError, match="probabilities of shape"):
        report(LABELS, LABELS, np.zeros((len(LABELS), 9)))


def test_save_roc_png_without_pyplot(tmp_path):
    had_pyplot = "matplotlib.pyplot" in sys.modules
    rng = np.random.default_rng(2)
    probs = rng.dirichlet(np.ones(10), len(LABELS))
    save_roc_png(LABELS, probs, str(tmp_path / "roc.png"))
    data = (tmp_path / "roc.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    assert had_pyplot or "matplotlib.pyplot" not in sys.modules
