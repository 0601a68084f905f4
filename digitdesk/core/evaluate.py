"""Evaluation: accuracy, loss, confusion matrix, per-class (and macro) precision, recall and F1,
and (from the probabilities) one-vs-rest ROC curves with their AUC per class."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from digitdesk.core.errors import DataError


@dataclass
class Report:
    """Classification report for the 10 digits."""

    accuracy: float
    confusion: np.ndarray  # (10, 10): rows true digit, columns predicted digit
    precision: np.ndarray  # (10,)
    recall: np.ndarray  # (10,)
    f1: np.ndarray  # (10,)
    support: np.ndarray  # (10,) true samples per digit
    count: int
    loss: float | None = None  # mean cross-entropy of the probabilities (None: only digits were given)
    auc: np.ndarray | None = None  # (10,) one-vs-rest ROC AUC per digit (NaN: no such digit, or only it); None: no probabilities

    @property
    def macro(self) -> dict[str, float]:
        """Unweighted means over the 10 digits: ``precision``, ``recall`` and ``f1``."""
        return {"precision": float(np.mean(self.precision)), "recall": float(np.mean(self.recall)),
                "f1": float(np.mean(self.f1))}

    @property
    def macro_auc(self) -> float | None:
        """The mean of the per-class AUCs that are defined (None without probabilities)."""
        if self.auc is None or np.isnan(self.auc).all():
            return None
        return float(np.nanmean(self.auc))

    def to_dict(self) -> dict:
        out = {
            "accuracy": round(float(self.accuracy), 6),
            "loss": None if self.loss is None else round(float(self.loss), 6),
            "count": int(self.count),
            "macro": {k: round(v, 4) for k, v in self.macro.items()},
            "per_class": {
                str(d): {
                    "precision": round(float(self.precision[d]), 4),
                    "recall": round(float(self.recall[d]), 4),
                    "f1": round(float(self.f1[d]), 4),
                    "support": int(self.support[d]),
                    **({} if self.auc is None else {"auc": None if np.isnan(self.auc[d]) else round(float(self.auc[d]), 6)}),
                }
                for d in range(10)
            },
            "confusion": self.confusion.astype(int).tolist(),
        }
        if self.auc is not None:
            macro = self.macro_auc
            out["macro_auc"] = None if macro is None else round(macro, 6)
        return out

    def format(self) -> str:
        """A plain-text table: per-class metrics and the confusion matrix."""
        lines = [f"accuracy: {self.accuracy * 100:.2f}% of {self.count}"]
        if self.loss is not None:
            lines.append(f"loss: {self.loss:.4f}")
        if self.macro_auc is not None:
            lines.append(f"macro AUC (one-vs-rest ROC): {self.macro_auc:.6f}")
        lines += ["", "digit  precision  recall     f1  support" + ("       AUC" if self.auc is not None else "")]
        for d in range(10):
            auc = "" if self.auc is None else f"  {self.auc[d]:8.6f}"
            lines.append(f"{d:>5}  {self.precision[d]:9.4f}  {self.recall[d]:6.4f}  "
                         f"{self.f1[d]:.4f}  {self.support[d]:7d}{auc}")
        m = self.macro
        lines.append(f"{'macro':>5}  {m['precision']:9.4f}  {m['recall']:6.4f}  {m['f1']:.4f}  {self.count:7d}"
                     + ("" if self.macro_auc is None else f"  {self.macro_auc:8.6f}"))
        lines += ["", "confusion (rows: true, columns: predicted)",
                  "      " + "".join(f"{d:>6}" for d in range(10))]
        for d in range(10):
            lines.append(f"{d:>5} " + "".join(f"{v:>6}" for v in self.confusion[d]))
        return "\n".join(lines)


def cross_entropy(labels: np.ndarray, probs: np.ndarray, eps: float = 1e-7) -> float:
    """Mean cross-entropy of ``probs`` ``(N, 10)`` against the true ``labels`` (clipped at
    ``eps`` as Keras does, so a confident mistake costs about 16, not infinity)."""
    labels = np.asarray(labels, dtype=np.int64).ravel()
    p = np.asarray(probs, dtype=np.float64)[np.arange(len(labels)), labels]
    return float(-np.log(np.clip(p, eps, 1.0)).mean())


def report(labels: np.ndarray, predicted: np.ndarray, probs: np.ndarray | None = None) -> Report:
    """Compare true ``labels`` with ``predicted`` digits; with the ``probs`` ``(N, 10)`` they came
    from, the report has the loss and the one-vs-rest ROC AUC of each digit too."""
    labels = np.asarray(labels, dtype=np.int64).ravel()
    predicted = np.asarray(predicted, dtype=np.int64).ravel()
    if len(labels) != len(predicted):
        raise DataError(f"{len(labels)} labels but {len(predicted)} predictions")
    if probs is not None and np.shape(probs) != (len(labels), 10):
        raise DataError(f"probabilities of shape {np.shape(probs)} for {len(labels)} labels (expected ({len(labels)}, 10))")
    if len(labels) == 0:
        raise DataError("nothing to evaluate: the data set is empty")
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    tp = np.diag(confusion).astype(float)
    support = confusion.sum(axis=1)
    predicted_count = confusion.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted_count > 0, tp / predicted_count, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    loss = auc = None
    if probs is not None:
        loss = cross_entropy(labels, probs)
        auc = np.array([roc_auc(probs[:, d], labels == d) for d in range(10)])
    return Report(float(tp.sum() / len(labels)), confusion, precision, recall, f1, support, len(labels), loss, auc)


# ROC curves in numpy: scikit-learn is not a dependency, and one-vs-rest ROC is a sort and two
# cumulative sums (the same curve and AUC as sklearn.metrics.roc_curve / roc_auc_score).


def roc_curve(scores: np.ndarray, positive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ROC curve ``(false positive rate, true positive rate)`` of ``scores`` for the boolean
    ``positive``: one point per distinct score, from (0, 0) to (1, 1); tied scores make one step."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    positive = np.asarray(positive, dtype=bool).ravel()
    if len(scores) != len(positive):
        raise DataError(f"{len(scores)} scores but {len(positive)} labels")
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], positive[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # the last sample of each run of tied scores
    tps = np.cumsum(y)[last]
    fps = last + 1 - tps
    n_pos, n_neg = int(y.sum()), len(y) - int(y.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.r_[0.0, fps / n_neg], np.r_[0.0, tps / n_pos]


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """The area under the ROC curve (trapezoids: a tie between a positive and a negative counts
    half); NaN when ``positive`` is all true or all false."""
    positive = np.asarray(positive, dtype=bool).ravel()
    if len(positive) == 0 or positive.all() or not positive.any():
        return float("nan")
    fpr, tpr = roc_curve(scores, positive)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def predict_proba(model, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Probabilities ``(N, 10)`` for uint8 images ``(N, 28, 28)`` in large batches (bulk use only)."""
    x = np.asarray(images, dtype=np.float32)[..., None]
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))


def evaluate_model(model, images: np.ndarray, labels: np.ndarray) -> Report:
    """Classify ``images`` with ``model`` and report against ``labels`` (with the loss and AUCs)."""
    probs = predict_proba(model, images)
    return report(labels, probs.argmax(axis=1), probs)


def save_confusion_png(rep: Report, path: str, title: str = "Confusion matrix") -> None:
    """Write the confusion matrix as a heat-map PNG (matplotlib, no pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 5.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    shown = np.log10(1 + rep.confusion)
    ax.imshow(shown, cmap="Blues")
    for t in range(10):
        for p in range(10):
            v = rep.confusion[t, p]
            if v:
                ax.text(p, t, str(v), ha="center", va="center", fontsize=7,
                        color="white" if shown[t, p] > shown.max() * 0.6 else "black")
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{title} (accuracy {rep.accuracy * 100:.2f}%)")
    fig.tight_layout()
    fig.savefig(path)


def save_roc_png(labels: np.ndarray, probs: np.ndarray, path: str, title: str = "ROC, each digit against the rest") -> None:
    """Write the ten one-vs-rest ROC curves (and each AUC) as a PNG (matplotlib, no pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    labels = np.asarray(labels).ravel()
    fig = Figure(figsize=(6, 5.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for d in range(10):
        positive = labels == d
        if positive.all() or not positive.any():
            continue
        fpr, tpr = roc_curve(probs[:, d], positive)
        ax.plot(fpr, tpr, lw=1.2, label=f"{d}  AUC {roc_auc(probs[:, d], positive):.4f}")
    ax.plot([0, 1], [0, 1], color="0.6", lw=0.8, ls="--")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
