""""Why this digit?": integrated gradients on the exact 28x28 input a digit was read from, for the
digit read and the runner-up, rendered as heatmaps over that input.

The attributions are computed with TensorFlow's ``GradientTape`` on the model's own ``.keras``
file (loaded, and TensorFlow imported, only when an explanation is asked for: reading digits
never needs it). Integrated gradients (Sundararajan et al. 2017) from a blank (all-black, no
ink) input: each pixel's share of ``p(x) - p(blank)``, the probability of a digit at the input
minus at the blank; the shares add up to that difference ("completeness"), so a pixel without
ink gets none. A softmax often jumps from 0 to 1 within a few per cent of the path from the blank
input, where evenly spaced points miss it, so the path is probed first (forward only) and most
points go where the probability changes. The nearest training digits are in
:mod:`digitdesk.core.neighbours`.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from digitdesk.core.errors import ImageError, ModelError

IG_STEPS = 32  # gradient points on the path from the blank input, per digit
PATH_PROBES = 33  # probabilities probed (forward only) along the path, to place those points
PATH_UNIFORM = 0.25  # the share of the points spread evenly; the rest go where the probability changes
HEAT_SCALE = 10  # a 28x28 heatmap is drawn at 280x280
FOR_COLOR = (226, 74, 51)  # RGB: ink that raises the digit's probability
AGAINST_COLOR = (52, 120, 226)  # RGB: ink that lowers it


@dataclass
class Attribution:
    """Where the probability of one digit comes from, pixel by pixel."""

    digit: int
    probability: float  # p(digit) at the input
    baseline_probability: float  # p(digit) at the blank input
    pixels: np.ndarray  # (28, 28) float32; sums to about probability - baseline_probability

    @property
    def completeness_gap(self) -> float:
        """How far the attributions' sum is from ``p(input) - p(blank)`` (0 for exact integration)."""
        return float(self.pixels.sum()) - (self.probability - self.baseline_probability)

    def to_dict(self) -> dict:
        return {"digit": self.digit, "probability": round(self.probability, 6),
                "blank_probability": round(self.baseline_probability, 6),
                "attribution_sum": round(float(self.pixels.sum()), 6),
                "attribution_for": round(float(self.pixels[self.pixels > 0].sum()), 6),
                "attribution_against": round(float(self.pixels[self.pixels < 0].sum()), 6)}


@dataclass
class Explanation:
    """Why the model read ``input28`` as ``top.digit`` and not ``runner_up.digit``."""

    input28: np.ndarray  # the 28x28 uint8 input the digit was read from (white ink on black)
    probabilities: np.ndarray  # (10,) the Keras model's probabilities for it
    top: Attribution
    runner_up: Attribution
    seconds: float  # time the attributions took

    def heatmaps(self, scale: int = HEAT_SCALE) -> tuple[np.ndarray, np.ndarray]:
        """RGB heatmaps of the top digit and the runner-up over the input, each on its own colour
        scale (a runner-up at 0.01% would be blank on the top digit's)."""
        return (render_heatmap(self.input28, self.top.pixels, None, scale),
                render_heatmap(self.input28, self.runner_up.pixels, None, scale))


def percent(p: float) -> str:
    """A probability for a person: ``99.2%``, ``0.03%``, ``<0.01%``."""
    if p < 0.0001:
        return "<0.01%"
    return f"{p:.1%}" if p >= 0.01 else f"{p:.2%}"


def check_input(input28: np.ndarray) -> np.ndarray:
    """``input28`` as a 28x28 uint8 array with ink; ImageError (for a person) if it is not one."""
    x = np.asarray(input28)
    if x.shape != (28, 28) or x.dtype.kind not in "biuf":
        raise ImageError(f"cannot explain an input of shape {x.shape}: expected the 28x28 digit the model read")
    x = np.clip(np.nan_to_num(x.astype(np.float64)), 0, 255).astype(np.uint8)
    if not x.any():
        raise ImageError("there is nothing to explain: the input has no ink (an empty canvas?)")
    return x


def weights_key(model) -> str:
    """A content hash of a model's weights, for a model that has no file."""
    digest = hashlib.sha256(model.name.encode())
    for w in model.get_weights():
        digest.update(np.ascontiguousarray(w).tobytes())
    return digest.hexdigest()


class Explainer:
    """A Keras digit model, ready for attributions and penultimate-layer embeddings.

    Build with :meth:`load` (a ``.keras`` file) or from a loaded Keras model. ``key`` names the
    model's content (the file's SHA-256), and keys its cached neighbour index. Safe to use from
    several threads (the traced functions are stateless)."""

    def __init__(self, model, key: str | None = None, path: str | os.PathLike | None = None, steps: int = IG_STEPS,
                 uniform: float = PATH_UNIFORM):
        from digitdesk.core.modelio import check_contract
        from digitdesk.core.tfimport import import_tensorflow

        tf = import_tensorflow()
        if not hasattr(model, "get_weights"):
            raise ModelError(f"{path or 'the model'}: only a Keras model can be explained")
        check_contract(model, str(path or "model"))
        self.model, self.path, self.steps = model, Path(path) if path else None, int(steps)
        self.uniform = float(uniform)  # 1: evenly spaced points (plain integrated gradients)
        self.key = key or weights_key(model)
        self._tf = tf
        self._path, self._grads = _ig_functions(tf, model)
        self._embed = None  # made on first use: a model may have no penultimate layer
        self._embed_fn = None
        self._embed_error: ModelError | None = None
        self._embed_lock = threading.Lock()

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Explainer":
        """The explainer of a ``.keras`` file (imports TensorFlow); ModelError for a LiteRT file."""
        from digitdesk.core.modelio import load_model
        from digitdesk.core.twin import file_sha256

        path = Path(path)
        if path.suffix.lower() == ".tflite":
            raise ModelError(f"{path}: a LiteRT (.tflite) model reads digits but cannot explain them; "
                             "use the .keras model it was made from")
        model = load_model(path)
        return cls(model, file_sha256(path), path)

    def probabilities(self, input28: np.ndarray) -> np.ndarray:
        """The model's probabilities ``(10,)`` for one 28x28 input."""
        x = check_input(input28).astype(np.float32)[None, ..., None]
        return np.asarray(self.model(x, training=False))[0]

    def explain(self, input28: np.ndarray, digits: tuple[int, int] | None = None) -> Explanation:
        """Integrated gradients for ``digits`` (the digit read and the runner-up; default: the
        model's two likeliest) on ``input28``, the exact 28x28 uint8 input it was read from."""
        x = check_input(input28)
        t0 = time.perf_counter()
        xf = x.astype(np.float32)[..., None]
        if digits is None:
            probs = np.asarray(self.model(xf[None], training=False))[0]
            order = np.argsort(probs)[::-1]
            digits = (int(order[0]), int(order[1]))
        top, second = (int(d) for d in digits)
        if not (0 <= top <= 9 and 0 <= second <= 9) or top == second:
            raise ValueError(f"explain two different digits 0..9, not {digits}")
        tf = self._tf
        x_t = tf.constant(xf)
        along = self._path(x_t, tf.constant(np.linspace(0, 1, PATH_PROBES, dtype=np.float32))).numpy()
        blank, probs = along[0], along[-1]
        points = [path_points(along[:, d], self.steps, self.uniform) for d in (top, second)]
        pixels = self._grads(x_t, tf.constant(np.stack([a for a, _ in points])),
                             tf.constant(np.stack([w for _, w in points])), tf.constant([top, second], tf.int32)).numpy()
        attrs = [Attribution(d, float(probs[d]), float(blank[d]), pixels[i].astype(np.float32))
                 for i, d in enumerate((top, second))]
        return Explanation(x, probs.astype(np.float32), attrs[0], attrs[1], time.perf_counter() - t0)

    def embedding_model(self):
        """The Keras model from the input to the penultimate features (see :func:`feature_model`)."""
        with self._embed_lock:
            if self._embed is None and self._embed_error is None:
                try:
                    sub = feature_model(self.model, str(self.path or "the model"))
                except ModelError as exc:
                    self._embed_error = exc
                else:
                    self._embed_fn = self._tf.function(lambda x: sub(x, training=False), input_signature=[
                        self._tf.TensorSpec([None, 28, 28, 1], self._tf.float32)])
                    self._embed = sub
        if self._embed_error is not None:
            raise self._embed_error
        return self._embed

    def embed(self, images28: np.ndarray) -> np.ndarray:
        """L2-normalised penultimate features ``(N, D)`` float32 of digits ``(N, 28, 28)`` uint8."""
        self.embedding_model()
        x = np.asarray(images28, np.float32)
        if x.ndim == 2:
            x = x[None]
        feats = self._embed_fn(self._tf.constant(x[..., None])).numpy().reshape(len(x), -1)
        return unit_rows(feats)


def unit_rows(feats: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (a row of zeros stays zero)."""
    norms = np.linalg.norm(feats, axis=1, keepdims=True)
    return (feats / np.maximum(norms, 1e-12)).astype(np.float32)


def _ig_functions(tf, model):
    """Two traced graphs: ``path(x, alphas)`` gives the probabilities along the straight path
    from the blank input to ``x``; ``grads(x, alphas, widths)`` the integrated gradients of
    several digits, each with its own points ``alphas (K, S)`` and their weights ``widths``."""

    @tf.function(input_signature=[tf.TensorSpec([28, 28, 1], tf.float32), tf.TensorSpec([None], tf.float32)])
    def path(x, alphas):
        return model(alphas[:, None, None, None] * x[None], training=False)

    @tf.function(input_signature=[tf.TensorSpec([28, 28, 1], tf.float32), tf.TensorSpec([None, None], tf.float32),
                                  tf.TensorSpec([None, None], tf.float32), tf.TensorSpec([None], tf.int32)])
    def grads(x, alphas, widths, digits):
        k, steps = tf.shape(alphas)[0], tf.shape(alphas)[1]
        batch = tf.reshape(alphas, [-1])[:, None, None, None] * x[None]
        targets = tf.repeat(digits, steps)
        with tf.GradientTape() as tape:
            tape.watch(batch)
            probs = model(batch, training=False)
            picked = tf.gather(probs, targets, axis=1, batch_dims=1)
        g = tf.reshape(tape.gradient(picked, batch), [k, steps, 28, 28])
        return tf.reduce_sum(g * widths[:, :, None, None], axis=1) * x[None, :, :, 0]

    return path, grads


def path_points(along: np.ndarray, steps: int, uniform: float = PATH_UNIFORM) -> tuple[np.ndarray, np.ndarray]:
    """``steps`` points in (0, 1) and their weights (summing to 1) for integrating along a path
    where a probability takes the values ``along`` at evenly spaced points from 0 to 1: most
    points go where it changes (a softmax often jumps from 0 to 1 within a few per cent of the
    path, where evenly spaced points would miss it), ``uniform`` of them evenly. The midpoint
    rule after a change of variable, so the integral is unchanged."""
    change = np.abs(np.diff(np.asarray(along, np.float64)))
    m = len(change)
    density = uniform / m + (1 - uniform) * (change / change.sum() if change.sum() > 1e-9 else np.full(m, 1 / m))
    cdf = np.concatenate([[0.0], np.cumsum(density)])
    cdf /= cdf[-1]
    edges = np.linspace(0.0, 1.0, m + 1)
    bounds = np.interp(np.linspace(0.0, 1.0, steps + 1), cdf, edges)
    mids = np.interp((np.arange(steps) + 0.5) / steps, cdf, edges)
    return mids.astype(np.float32), np.diff(bounds).astype(np.float32)


def _producer(tensor):
    history = getattr(tensor, "_keras_history", None)
    return history.operation if history is not None else None


def _is_softmax(fn) -> bool:
    return getattr(fn, "__name__", "") == "softmax"


def feature_model(model, where: str = "the model"):
    """A Keras model from the input of ``model`` to its penultimate features: the input of the
    Dense layer that feeds the softmax. For an ensemble (``keras.layers.Average`` of nested
    models) the members' features, each of length 1, side by side. ModelError if there is none."""
    import keras

    out = _producer(model.outputs[0])
    if isinstance(out, keras.layers.Average):
        members = [_producer(t) for t in out._inbound_nodes[0].input_tensors]
        if not members or not all(isinstance(m, keras.Model) for m in members):
            raise ModelError(f"{where}: an average of layers that are not models has no penultimate layer to "
                             "compare training digits by")
        subs = [feature_model(m, f"{where} (member {m.name})") for m in members]
        pixels = keras.Input((28, 28, 1), name="pixels")
        parts = [keras.layers.UnitNormalization()(keras.layers.Flatten()(s(pixels))) for s in subs]
        return keras.Model(pixels, keras.layers.Concatenate()(parts) if len(parts) > 1 else parts[0],
                           name="ensemble_features")
    if isinstance(out, keras.Model):  # a model wrapped whole in another (its input the outer one's)
        inner = out._inbound_nodes[0].input_tensors
        if len(inner) == 1 and inner[0] is model.inputs[0]:
            sub = feature_model(out, where)
            pixels = keras.Input((28, 28, 1), name="pixels")
            return keras.Model(pixels, sub(pixels), name=f"{model.name}_features")
    dense = out
    if isinstance(out, keras.layers.Softmax) or (isinstance(out, keras.layers.Activation)
                                                 and _is_softmax(out.activation)):
        dense = _producer(out.input)
    elif isinstance(out, keras.layers.Dense) and not _is_softmax(out.activation):
        dense = None
    if not isinstance(dense, keras.layers.Dense):
        kind = type(out).__name__ if out is not None else "unknown"
        raise ModelError(f"{where}: no penultimate layer to compare training digits by (the nearest digits need "
                         f"a Dense layer before the softmax; this model ends in a {kind} layer)")
    return keras.Model(model.inputs[0], dense.input, name=f"{model.name}_features")


# Heatmaps -----------------------------------------------------------------------------------


def shared_scale(*attributions: np.ndarray) -> float:
    """One colour scale for several heatmaps: the 99th percentile of their absolute values (one
    hot pixel does not wash out the rest)."""
    values = np.abs(np.concatenate([np.ravel(a) for a in attributions]))
    values = values[values > 0]
    return float(np.percentile(values, 99)) if len(values) else 1.0


def render_heatmap(input28: np.ndarray, pixels: np.ndarray, vmax: float | None = None,
                   scale: int = HEAT_SCALE) -> np.ndarray:
    """The input in grey, upscaled ``scale`` times, with ``pixels`` over it: red where the ink
    speaks for the digit, blue where it speaks against, opaque at ``vmax``. RGB uint8."""
    size = 28 * scale
    gray = cv2.resize(np.asarray(input28, np.uint8), (size, size), interpolation=cv2.INTER_NEAREST)
    base = np.repeat((gray.astype(np.float32) * 0.45 + 18)[..., None], 3, axis=2)
    a = cv2.resize(np.asarray(pixels, np.float32), (size, size), interpolation=cv2.INTER_CUBIC)
    vmax = vmax if vmax and vmax > 0 else shared_scale(pixels)
    strength = np.clip(np.abs(a) / vmax, 0, 1) ** 0.7 * 0.9
    color = np.where((a >= 0)[..., None], np.float32(FOR_COLOR), np.float32(AGAINST_COLOR))
    out = base * (1 - strength[..., None]) + color * strength[..., None]
    return np.ascontiguousarray(np.clip(out, 0, 255).astype(np.uint8))


# One explainer per model file, kept while the app runs ----------------------------------------

_lock = threading.Lock()
_explainers: dict[str, Explainer] = {}


def explainer_for(path: str | os.PathLike | None = None, model=None) -> Explainer:
    """The explainer of the ``.keras`` file ``path`` (default: the bundled model), loaded once
    per file content; ``model``: that file already loaded (a Recognizer reading with Keras), or
    with no ``path`` a model that has no file (keyed by its weights)."""
    from digitdesk.core.paths import default_model_path
    from digitdesk.core.twin import file_sha256

    if path is None and model is not None:
        key = weights_key(model)
    else:
        path = Path(path) if path else default_model_path()
        if path.suffix.lower() == ".tflite":
            raise ModelError(f"{path}: a LiteRT (.tflite) model reads digits but cannot explain them; "
                             "use the .keras model it was made from")
        try:
            key = file_sha256(path)
        except OSError as exc:
            raise ModelError(f"{path}: cannot read the model ({exc.strerror or exc})") from None
    with _lock:
        if key not in _explainers:
            _explainers.clear()  # one model at a time: the app explains with its active model
            usable = model is not None and hasattr(model, "get_weights")
            _explainers[key] = Explainer(model, key, path) if usable else Explainer.load(path)
        return _explainers[key]
