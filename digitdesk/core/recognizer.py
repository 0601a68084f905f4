"""Inference: a loaded, checked, warmed-up model that reads every digit in an image.

A ``.keras`` model is read through its LiteRT twin (see :mod:`digitdesk.core.twin`) when it has
a fresh one, without importing TensorFlow; otherwise through a compiled ``tf.function``
(``model.predict`` costs about 100 ms per call and is never used here). A ``.tflite`` file is
read on its own. Crops are classified in one batch. A Recognizer is safe to use from several
threads.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from digitdesk.core.errors import ImageError, ModelError, raise_if_stopped
from digitdesk.core.litert import TFLITE_SUFFIX, LiteModel
from digitdesk.core.modelio import check_contract, load_model, read_metadata
from digitdesk.core.paths import default_model_path
from digitdesk.core.segment import segment

UNCERTAIN_BELOW = 0.70  # a digit read with less confidence is marked uncertain
READ_CHUNK = 1024  # read() classifies at most this many digits per call (a stop check between)


@dataclass
class DigitResult:
    """One digit read from an image."""

    digit: int
    confidence: float
    top: list[tuple[int, float]]  # the three likeliest digits with their probabilities
    box: tuple[int, int, int, int]  # (x, y, w, h) in image pixels
    line: int  # 0-based line of text the digit is on
    input28: np.ndarray  # what the model saw: 28x28 uint8, white ink on black

    @property
    def uncertain(self) -> bool:
        return self.confidence < UNCERTAIN_BELOW

    def to_dict(self) -> dict:
        return {
            "digit": self.digit,
            "confidence": round(self.confidence, 4),
            "box": [int(v) for v in self.box],
            "top": [[d, round(p, 4)] for d, p in self.top],
        }


@dataclass
class Reading:
    """Every digit in an image, in reading order, and the text they spell."""

    digits: list[DigitResult]
    stages: dict[str, np.ndarray] = field(default_factory=dict)
    surface: np.ndarray | None = None  # outline (N x 2, image pixels) of the sheet read, if one was found

    @property
    def text(self) -> str:
        lines: dict[int, str] = {}
        for d in self.digits:
            lines[d.line] = lines.get(d.line, "") + str(d.digit)
        return "\n".join(lines[k] for k in sorted(lines))

    def to_dict(self) -> dict:
        return {"text": self.text, "digits": [d.to_dict() for d in self.digits]}


class Recognizer:
    """A digit model ready for fast inference. Build with :meth:`load` or from a Keras model."""

    def __init__(self, model, path: str | os.PathLike | None = None, metadata: dict | None = None,
                 twin_problem: str | None = None):
        """``model``: a Keras model, or a :class:`~digitdesk.core.litert.LiteModel` (LiteRT).
        ``twin_problem``: why a ``.keras`` model is read with TensorFlow (it has no fresh twin)."""
        self.model = model
        self.path = Path(path) if path else None
        self.metadata = metadata or {}
        self.twin_problem = twin_problem
        if isinstance(model, LiteModel):
            self._run = model
        else:
            self._run = _keras_runner(model, str(path or "model"))
        # Warm-up (trace and allocate once), and a check that the outputs are probabilities.
        probe = self.classify(np.stack([np.zeros((28, 28), np.uint8), np.full((28, 28), 255, np.uint8)]))
        if not (np.isfinite(probe).all() and (probe >= -1e-6).all() and np.allclose(probe.sum(axis=1), 1.0, atol=1e-3)):
            raise ModelError(f"{path or 'model'}: its outputs are not probabilities (the model must end in a softmax)")

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> "Recognizer":
        """Load a model (default: the bundled one), check and warm it up: a ``.tflite`` file with
        LiteRT; a ``.keras`` file through its fresh LiteRT twin, else in Keras safe mode."""
        from digitdesk.core.twin import find_twin, keras_forced

        path = Path(path) if path else default_model_path()
        if path.suffix.lower() == TFLITE_SUFFIX:
            return cls(LiteModel.load(path), path, read_metadata(path))
        if not path.is_file():
            load_model(path)  # ModelError: missing, a folder
        twin, why = find_twin(path)
        if keras_forced():
            twin, why = None, "$DIGITDESK_READER asks for TensorFlow"
        if twin is not None:
            try:
                return cls(LiteModel.load(twin), path, read_metadata(path))
            except ModelError as exc:
                why = f"its LiteRT twin cannot be read ({str(exc).removeprefix(f'{twin}: ')})"
        return cls(load_model(path), path, read_metadata(path), twin_problem=why)

    @property
    def runtime(self) -> str:
        """``"litert"`` or ``"keras"``: what reads the digits."""
        return "litert" if isinstance(self._run, LiteModel) else "keras"

    @property
    def trainable(self) -> bool:
        """False for a ``.tflite`` model opened on its own: it can read digits, not be trained."""
        return not (self.path is not None and self.path.suffix.lower() == TFLITE_SUFFIX)

    def keras_model(self):
        """The Keras model behind this one, to train or fine-tune (loads it from the ``.keras``
        file, importing TensorFlow, if reading used the twin); ModelError for a ``.tflite`` file."""
        if not isinstance(self.model, LiteModel):
            return self.model
        if not self.trainable or self.path is None:
            raise ModelError(f"{self.path or 'the model'}: a LiteRT (.tflite) model can read digits but cannot be "
                             "trained or fine-tuned; use the .keras model it was made from")
        return load_model(self.path)

    @property
    def name(self) -> str:
        return str(self.metadata.get("name") or (self.path.stem if self.path else "model"))

    @property
    def accuracy(self) -> float | None:
        """MNIST test accuracy from the metadata, if known."""
        acc = self.metadata.get("test_accuracy")
        return float(acc) if acc is not None else None

    def classify(self, digits28: np.ndarray) -> np.ndarray:
        """Probabilities ``(N, 10)`` for framed digits ``(N, 28, 28)`` uint8 (or one ``(28, 28)``)."""
        try:
            x = np.asarray(digits28)
        except (ValueError, TypeError):  # ragged nested lists
            raise ImageError("cannot classify digits of different sizes: expected (N, 28, 28)") from None
        if x.dtype.kind not in "biuf":
            raise ImageError(f"cannot classify digits of type {x.dtype} (expected numbers 0..255)")
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise ImageError(f"expected digits of shape (N, 28, 28) or (28, 28), got {x.shape}")
        if len(x) == 0:
            return np.zeros((0, 10), np.float32)
        if x.dtype != np.uint8:  # the model knows 0..255 only: NaN is no ink, huge values full ink
            x = np.clip(np.nan_to_num(x.astype(np.float64) * (255 if x.dtype == bool else 1), nan=0.0), 0, 255)
        return self._run(x.astype(np.float32)[..., None])

    def classify_many(self, digits28: np.ndarray, chunk: int = 2048,
                      should_stop: Callable[[], bool] | None = None) -> np.ndarray:
        """Probabilities ``(N, 10)`` for a whole data set, in chunks of ``chunk`` digits;
        ``should_stop`` is checked before each chunk (:class:`~digitdesk.core.errors.Cancelled`)."""
        if len(digits28) == 0:
            return np.zeros((0, 10), np.float32)
        parts = []
        for i in range(0, len(digits28), chunk):
            raise_if_stopped(should_stop, "classification")
            parts.append(self.classify(digits28[i : i + chunk]))
        return np.concatenate(parts)

    def read(self, image: np.ndarray, keep_stages: bool = False,
             should_stop: Callable[[], bool] | None = None, dark_ink: bool | None = None) -> Reading:
        """Find and classify every digit in ``image`` (grayscale or BGR, either polarity; with
        ``dark_ink`` a plain page of that known polarity, see :func:`segment`).

        ``should_stop`` is called during segmentation (see :func:`segment`) and before each
        chunk of :data:`READ_CHUNK` digits is classified; once it returns True,
        :class:`~digitdesk.core.errors.Cancelled` is raised."""
        seg = segment(image, keep_stages=keep_stages, should_stop=should_stop, dark_ink=dark_ink)
        if not seg.regions:
            return Reading([], seg.stages, seg.surface)
        probs = self.classify_many(np.stack([r.digit28 for r in seg.regions]), READ_CHUNK, should_stop)
        digits = []
        for region, p in zip(seg.regions, probs):
            order = np.argsort(p)[::-1][:3]
            digits.append(DigitResult(
                digit=int(order[0]), confidence=float(p[order[0]]),
                top=[(int(d), float(p[d])) for d in order],
                box=region.box, line=region.line, input28=region.digit28,
            ))
        return Reading(digits, seg.stages, seg.surface)


def _keras_runner(model, where: str) -> Callable[[np.ndarray], np.ndarray]:
    """``batch -> probabilities`` through one traced ``tf.function`` (imports TensorFlow)."""
    from digitdesk.core.tfimport import import_tensorflow

    tf = import_tensorflow()
    check_contract(model, where)

    @tf.function(input_signature=[tf.TensorSpec([None, 28, 28, 1], tf.float32)])
    def infer(x):
        return model(x, training=False)

    # The traced graph for any batch size; calling it directly skips tf.function's dispatch.
    concrete = infer.get_concrete_function()
    return lambda batch: concrete(tf.constant(batch)).numpy()
