"""The model zoo. Every model takes ``(N, 28, 28, 1)`` raw pixels 0..255 (white ink on black,
MNIST framing), scales them itself, and outputs 10 softmax probabilities."""

from __future__ import annotations

from typing import Callable

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


def _layers():
    from keras import layers

    return layers


def _n(count: int, width: float) -> int:
    """``count`` filters or units scaled by ``width`` (at least 1)."""
    return max(1, int(round(count * width)))


def _dropout(L, rate: float) -> list:
    """A Dropout layer when ``rate`` is above 0, else nothing (the classic models have none)."""
    return [L.Dropout(rate)] if rate > 0 else []


def fnn() -> "keras.Model":
    """The notebooks' feed-forward net: Flatten, Dense 50 x2 (42,310 parameters)."""
    import keras

    L = _layers()
    return keras.Sequential(
        [
            keras.Input(INPUT_SHAPE),
            L.Rescaling(1.0 / 255),
            L.Flatten(),
            L.Dense(50, activation="relu"),
            L.Dense(50, activation="relu"),
            L.Dense(NUM_CLASSES, activation="softmax"),
        ],
        name="fnn",
    )


def mlp(width: float = 1.0, dropout: float = 0.0) -> "keras.Model":
    """The Kaggle notebooks' multilayer perceptron: Dense 128 x3 (134,794 parameters).

    ``width`` scales the units and ``dropout`` adds Dropout after each hidden layer (a search's
    hyperparameters; the defaults are the notebook's model)."""
    import keras

    L = _layers()
    hidden = [layer for _ in range(3) for layer in (L.Dense(_n(128, width), activation="relu"), *_dropout(L, dropout))]
    return keras.Sequential(
        [
            keras.Input(INPUT_SHAPE),
            L.Rescaling(1.0 / 255),
            L.Flatten(),
            *hidden,
            L.Dense(NUM_CLASSES, activation="softmax"),
        ],
        name="mlp",
    )


def dense_deep() -> "keras.Model":
    """A deeper fully connected net: Dense 128 x3, then Dense 50 x2 (called "dense" before)."""
    import keras

    L = _layers()
    return keras.Sequential(
        [
            keras.Input(INPUT_SHAPE),
            L.Rescaling(1.0 / 255),
            L.Flatten(),
            L.Dense(128, activation="relu"),
            L.Dense(128, activation="relu"),
            L.Dense(128, activation="relu"),
            L.Dense(50, activation="relu"),
            L.Dense(50, activation="relu"),
            L.Dense(NUM_CLASSES, activation="softmax"),
        ],
        name="dense_deep",
    )


def simple_cnn(width: float = 1.0, dropout: float = 0.0) -> "keras.Model":
    """The notebooks' simple CNN: Conv32 3x3, MaxPool, Dense 128 (693,962 parameters).

    ``width`` scales the filters and units, ``dropout`` adds Dropout before and after the dense
    layer (a search's hyperparameters; the defaults are the notebook's model)."""
    import keras

    L = _layers()
    return keras.Sequential(
        [
            keras.Input(INPUT_SHAPE),
            L.Rescaling(1.0 / 255),
            L.Conv2D(_n(32, width), 3, activation="relu"),
            L.MaxPooling2D(),
            L.Flatten(),
            *_dropout(L, dropout),
            L.Dense(_n(128, width), activation="relu"),
            *_dropout(L, dropout),
            L.Dense(NUM_CLASSES, activation="softmax"),
        ],
        name="simple_cnn",
    )


def lenet5(width: float = 1.0, dropout: float = 0.0) -> "keras.Model":
    """LeNet-5 (LeCun et al. 1998): Conv6 5x5, AvgPool, Conv16 5x5, AvgPool, Dense 120, 84; tanh (61,706 parameters).

    ``width`` scales the filters and units, ``dropout`` adds Dropout after each dense layer."""
    import keras

    L = _layers()
    return keras.Sequential(
        [
            keras.Input(INPUT_SHAPE),
            L.Rescaling(1.0 / 255),
            L.Conv2D(_n(6, width), 5, padding="same", activation="tanh"),
            L.AveragePooling2D(2),
            L.Conv2D(_n(16, width), 5, activation="tanh"),
            L.AveragePooling2D(2),
            L.Flatten(),
            L.Dense(_n(120, width), activation="tanh"),
            *_dropout(L, dropout),
            L.Dense(_n(84, width), activation="tanh"),
            *_dropout(L, dropout),
            L.Dense(NUM_CLASSES, activation="softmax"),
        ],
        name="lenet5",
    )


def deep_cnn(width: float = 1.0, dropout: float = 0.5) -> "keras.Model":
    """The notebooks' deep CNN: Conv32 x2, Conv64 x2, Dense 256, with BatchNorm and Dropout (331,754 parameters).

    ``width`` scales the filters and units; ``dropout`` is the dense layer's rate, the two
    convolution blocks' is half of it (the notebook's 0.5 and 0.25 by default)."""
    import keras

    L = _layers()
    return keras.Sequential(
        [
            keras.Input(INPUT_SHAPE),
            L.Rescaling(1.0 / 255),
            L.Conv2D(_n(32, width), 3, activation="relu"),
            L.BatchNormalization(),
            L.Conv2D(_n(32, width), 3, activation="relu"),
            L.BatchNormalization(),
            L.MaxPooling2D(),
            *_dropout(L, dropout / 2),
            L.Conv2D(_n(64, width), 3, activation="relu"),
            L.BatchNormalization(),
            L.Conv2D(_n(64, width), 3, activation="relu"),
            L.BatchNormalization(),
            L.MaxPooling2D(),
            *_dropout(L, dropout / 2),
            L.Flatten(),
            L.Dense(_n(256, width), activation="relu"),
            L.BatchNormalization(),
            *_dropout(L, dropout),
            L.Dense(NUM_CLASSES, activation="softmax"),
        ],
        name="deep_cnn",
    )


def _conv_bn(L, filters: int, kernel: int, strides: int = 1, padding: str = "valid") -> list:
    return [
        L.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=False),
        L.BatchNormalization(),
        L.ReLU(),
    ]


def digitnet() -> "keras.Model":
    """Our design: three conv-BN stages, learned (strided) downsampling, heavy dropout.

    Strided 5x5 convolutions instead of pooling and a final 4x4 conv as the classifier's
    feature layer; trained with strong augmentation so it reads mouse strokes and other hands.
    """
    import keras

    L = _layers()
    return keras.Sequential(
        [
            keras.Input(INPUT_SHAPE),
            L.Rescaling(1.0 / 255),
            *_conv_bn(L, 32, 3),
            *_conv_bn(L, 32, 3),
            *_conv_bn(L, 32, 5, strides=2, padding="same"),
            L.Dropout(0.4),
            *_conv_bn(L, 64, 3),
            *_conv_bn(L, 64, 3),
            *_conv_bn(L, 64, 5, strides=2, padding="same"),
            L.Dropout(0.4),
            *_conv_bn(L, 128, 4),
            L.Flatten(),
            L.Dropout(0.4),
            L.Dense(NUM_CLASSES, activation="softmax"),
        ],
        name="digitnet",
    )


def tiny(width: float = 1.0, dropout: float = 0.0) -> "keras.Model":
    """A very small CNN for tests and quick demos (trains in seconds)."""
    import keras

    L = _layers()
    return keras.Sequential(
        [
            keras.Input(INPUT_SHAPE),
            L.Rescaling(1.0 / 255),
            L.Conv2D(_n(8, width), 3, strides=2, activation="relu"),
            L.Conv2D(_n(16, width), 3, strides=2, activation="relu"),
            L.Flatten(),
            *_dropout(L, dropout),
            L.Dense(NUM_CLASSES, activation="softmax"),
        ],
        name="tiny",
    )


ZOO: dict[str, Callable[[], "keras.Model"]] = {
    "digitnet": digitnet,
    "deep_cnn": deep_cnn,
    "lenet5": lenet5,
    "simple_cnn": simple_cnn,
    "mlp": mlp,
    "fnn": fnn,
    "dense_deep": dense_deep,
    "tiny": tiny,
}
DESCRIPTIONS = {name: (fn.__doc__ or "").strip().splitlines()[0] for name, fn in ZOO.items()}
RENAMED = {"dense": "dense_deep"}  # old name: new name (saved settings and scripts still build them)


SCALABLE = ("simple_cnn", "lenet5", "deep_cnn", "mlp", "tiny")  # take width= and dropout= (a search's families)


def build(name: str, **shape) -> "keras.Model":
    """Build an untrained model from the zoo by name; ``shape`` (``width``, ``dropout``) for the
    :data:`SCALABLE` ones."""
    from digitdesk.core.errors import TrainingError

    try:
        factory = ZOO[RENAMED.get(name, name)]
    except KeyError:
        raise TrainingError(f"unknown architecture {name!r}; choose one of {', '.join(ZOO)}") from None
    if shape and name not in SCALABLE:
        raise TrainingError(f"{name} has a fixed shape; the ones a search can widen are {', '.join(SCALABLE)}")
    return factory(**shape)
