"""The model zoo. Every model takes ``(N, 28, 28, 1)`` raw pixels 0..255 (white ink on black,
MNIST framing), scales them itself, and outputs 10 softmax probabilities."""

from __future__ import annotations

from typing import Callable

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


def _layers():
    from keras import layers

    return layers


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


def mlp() -> "keras.Model":
    """The Kaggle notebooks' multilayer perceptron: Dense 128 x3 (134,794 parameters)."""
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


def simple_cnn() -> "keras.Model":
    """The notebooks' simple CNN: Conv32 3x3, MaxPool, Dense 128 (693,962 parameters)."""
    import keras

    L = _layers()
    return keras.Sequential(
        [
            keras.Input(INPUT_SHAPE),
            L.Rescaling(1.0 / 255),
            L.Conv2D(32, 3, activation="relu"),
            L.MaxPooling2D(),
            L.Flatten(),
            L.Dense(128, activation="relu"),
            L.Dense(NUM_CLASSES, activation="softmax"),
        ],
        name="simple_cnn",
    )


def lenet5() -> "keras.Model":
    """LeNet-5 (LeCun et al. 1998): Conv6 5x5, AvgPool, Conv16 5x5, AvgPool, Dense 120, 84; tanh (61,706 parameters)."""
    import keras

    L = _layers()
    return keras.Sequential(
        [
            keras.Input(INPUT_SHAPE),
            L.Rescaling(1.0 / 255),
            L.Conv2D(6, 5, padding="same", activation="tanh"),
            L.AveragePooling2D(2),
            L.Conv2D(16, 5, activation="tanh"),
            L.AveragePooling2D(2),
            L.Flatten(),
            L.Dense(120, activation="tanh"),
            L.Dense(84, activation="tanh"),
            L.Dense(NUM_CLASSES, activation="softmax"),
        ],
        name="lenet5",
    )


def deep_cnn() -> "keras.Model":
    """The notebooks' deep CNN: Conv32 x2, Conv64 x2, Dense 256, with BatchNorm and Dropout (331,754 parameters)."""
    import keras

    L = _layers()
    return keras.Sequential(
        [
            keras.Input(INPUT_SHAPE),
            L.Rescaling(1.0 / 255),
            L.Conv2D(32, 3, activation="relu"),
            L.BatchNormalization(),
            L.Conv2D(32, 3, activation="relu"),
            L.BatchNormalization(),
            L.MaxPooling2D(),
            L.Dropout(0.25),
            L.Conv2D(64, 3, activation="relu"),
            L.BatchNormalization(),
            L.Conv2D(64, 3, activation="relu"),
            L.BatchNormalization(),
            L.MaxPooling2D(),
            L.Dropout(0.25),
            L.Flatten(),
            L.Dense(256, activation="relu"),
            L.BatchNormalization(),
            L.Dropout(0.5),
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


def tiny() -> "keras.Model":
    """A very small CNN for tests and quick demos (trains in seconds)."""
    import keras

    L = _layers()
    return keras.Sequential(
        [
            keras.Input(INPUT_SHAPE),
            L.Rescaling(1.0 / 255),
            L.Conv2D(8, 3, strides=2, activation="relu"),
            L.Conv2D(16, 3, strides=2, activation="relu"),
            L.Flatten(),
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


def build(name: str) -> "keras.Model":
    """Build an untrained model from the zoo by name."""
    from digitdesk.core.errors import TrainingError

    try:
        factory = ZOO[RENAMED.get(name, name)]
    except KeyError:
        raise TrainingError(f"unknown architecture {name!r}; choose one of {', '.join(ZOO)}") from None
    return factory()
