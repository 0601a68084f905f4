"""Evaluation: accuracy, loss, confusion matrix and per-class (and macro) precision, recall and F1."""

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

    @property
    def macro(self) -> dict[str, float]:
        """Unweighted means over the 10 digits: ``precision``, ``recall`` and ``f1``."""
        return {"precision": float(np.mean(self.precision)), "recall": float(np.mean(self.recall)),
                "f1": float(np.mean(self.f1))}

    def to_dict(self) -> dict:
        return {
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
                }
                for d in range(10)
            },
            "confusion": self.confusion.astype(int).tolist(),
        }

    def format(self) -> str:
        """A plain-text table: per-class metrics and the confusion matrix."""
        lines = [f"accuracy: {self.accuracy * 100:.2f}% of {self.count}"]
        if self.loss is not None:
            lines.append(f"loss: {self.loss:.4f}")
        lines += ["", "digit  precision  recall     f1  support"]
        for d in range(10):
            lines.append(f"{d:>5}  {self.precision[d]:9.4f}  {self.recall[d]:6.4f}  "
                         f"{self.f1[d]:.4f}  {self.support[d]:7d}")
        m = self.macro
        lines.append(f"{'macro':>5}  {m['precision']:9.4f}  {m['recall']:6.4f}  {m['f1']:.4f}  {self.count:7d}")
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
    """Compare true ``labels`` with ``predicted`` digits; with the ``probs`` they came from, the
    report has the loss too."""
    labels = np.asarray(labels, dtype=np.int64).ravel()
    predicted = np.asarray(predicted, dtype=np.int64).ravel()
    if len(labels) != len(predicted):
        raise DataError(f"{len(labels)} labels but {len(predicted)} predictions")
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
    loss = None
    if probs is not None:
        if len(probs) != len(labels):
            raise DataError(f"{len(labels)} labels but {len(probs)} rows of probabilities")
        loss = cross_entropy(labels, probs)
    return Report(float(tp.sum() / len(labels)), confusion, precision, recall, f1, support, len(labels), loss)


def predict_proba(model, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Probabilities ``(N, 10)`` for uint8 images ``(N, 28, 28)`` in large batches (bulk use only)."""
    x = np.asarray(images, dtype=np.float32)[..., None]
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))


def evaluate_model(model, images: np.ndarray, labels: np.ndarray) -> Report:
    """Classify ``images`` with ``model`` and report against ``labels``."""
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
