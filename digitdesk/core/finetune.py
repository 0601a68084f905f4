"""Fine-tuning a trained model on the user's handwriting samples without forgetting MNIST.

Each epoch mixes the user's samples, repeated so they make up ``user_fraction`` of it, with a
random MNIST subset; a small learning rate, a few epochs, augmentation on, and BatchNorm
statistics frozen. Validation is a held-out MNIST slice: it shows at every epoch whether the
model is forgetting. Everything goes through :func:`digitdesk.core.training.train`.

Defaults measured with ``benchmarks/bench_finetune.py`` (digitnet, 20 hollow digits per digit,
3 seeds): learning rate 5e-4 cost 0.01 pp MNIST on average, 2e-4 cost 0.06 pp, with the same
gain on the new style. Frozen and trained BatchNorm differed by less than the run-to-run noise
(about 0.05 pp, i.e. 5 test images); frozen is kept because it cannot drift on a tiny sample set.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from digitdesk.core.augment import AugmentParams
from digitdesk.core.data import Dataset, Split
from digitdesk.core.errors import TrainingError
from digitdesk.core.training import Progress, TrainConfig, TrainResult, train


@dataclass
class FineTuneConfig:
    """Everything that decides a fine-tuning run."""

    epochs: int = 4
    batch_size: int = 64
    learning_rate: float = 5e-4
    schedule: str = "cosine"
    user_fraction: float = 0.25  # share of each epoch made of (repeated) user samples
    mnist_samples: int = 6000  # random MNIST images mixed in (the rest of each epoch)
    validation_samples: int = 2000  # held-out MNIST images for validation (0 = none)
    augment: bool = True
    augment_params: AugmentParams = field(default_factory=AugmentParams)
    freeze_batchnorm: bool = True  # keep BatchNorm layers in inference mode (frozen statistics)
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    def train_config(self, arch: str = "fine-tuned") -> TrainConfig:
        """The :class:`TrainConfig` this run passes to ``train`` (also for the model's metadata).
        It keeps the last weights: validation is MNIST only and would favour the least-adapted epoch."""
        return TrainConfig(
            arch=arch, epochs=self.epochs, batch_size=self.batch_size, learning_rate=self.learning_rate,
            schedule=self.schedule, augment=self.augment, augment_params=self.augment_params,
            validation_split=0.0, early_stopping=0, seed=self.seed, keep="last",
        )


def clone_model(model):
    """An independent copy of a Keras model: same architecture and weights, no optimizer."""
    copy = model.__class__.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


def mix(samples: Split, mnist_train: Split | None, config: FineTuneConfig) -> tuple[Split, Split | None]:
    """The training mix (user samples repeated to ``user_fraction`` of it, plus a random MNIST
    subset) and a disjoint MNIST validation slice, both seeded by ``config.seed``."""
    if samples.labels is None or len(samples) == 0:
        raise TrainingError("there are no samples of your handwriting to fine-tune on yet")
    if mnist_train is None or mnist_train.labels is None or len(mnist_train) == 0:
        raise TrainingError("fine-tuning mixes in MNIST so the model does not forget it, but no MNIST data was given")
    if not 0 < config.user_fraction < 1:
        raise TrainingError(f"user_fraction must be between 0 and 1, not {config.user_fraction}")
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(mnist_train))
    n_val = min(config.validation_samples, len(mnist_train) // 5)
    n_mnist = min(config.mnist_samples, len(mnist_train) - n_val)
    val_idx, mnist_idx = order[:n_val], order[n_val:n_val + n_mnist]
    n_user = max(len(samples), round(n_mnist * config.user_fraction / (1 - config.user_fraction)))
    repeats = -(-n_user // len(samples))  # every sample appears equally often (+-1)
    user_idx = np.concatenate([rng.permutation(len(samples)) for _ in range(repeats)])[:n_user]
    images = np.concatenate([samples.images[user_idx], mnist_train.images[mnist_idx]])
    labels = np.concatenate([samples.labels[user_idx], mnist_train.labels[mnist_idx]]).astype(np.int64)
    validation = Split(mnist_train.images[val_idx], mnist_train.labels[val_idx]) if n_val else None
    return Split(images, labels), validation


def _set_batchnorm_trainable(model, trainable: bool) -> None:
    import keras

    for layer in getattr(model, "layers", []):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = trainable  # Keras 3: a frozen BatchNormalization runs in inference mode
        else:
            _set_batchnorm_trainable(layer, trainable)  # nested models


def fine_tune(
    base_model,
    samples: Split,
    mnist_train: Split,
    config: FineTuneConfig | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Fine-tune a copy of ``base_model`` (left untouched) on the user's ``samples`` mixed with
    ``mnist_train``. Progress and cancellation work as in :func:`~digitdesk.core.training.train`."""
    config = config or FineTuneConfig()
    data, validation = mix(samples, mnist_train, config)
    from digitdesk.core.tfimport import import_tensorflow

    import_tensorflow()
    model = clone_model(base_model)
    if config.freeze_batchnorm:
        _set_batchnorm_trainable(model, False)
    try:
        result = train(config.train_config(getattr(base_model, "name", "fine-tuned")), data, validation,
                       on_progress=on_progress, should_stop=should_stop, initial_model=model)
    finally:
        _set_batchnorm_trainable(model, True)  # a normal model again (saved files stay plain)
    return result


def fine_tune_metadata(config: FineTuneConfig, result: TrainResult, samples: Split, mnist_train: Split,
                       test_report=None, name: str | None = None, base_model: str | None = None,
                       data_source: str = "MNIST") -> dict:
    """The JSON metadata for a fine-tuned model (as :func:`trainjob.build_metadata`, plus the
    fine-tuning settings and how many of the user's samples it saw)."""
    from digitdesk.core.trainjob import build_metadata

    mixed, _ = mix(samples, mnist_train, config)
    source = f"{data_source} + {len(samples)} samples of your handwriting"
    dataset = Dataset(train=mixed, test=Split(np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)), source=source)
    meta = build_metadata(config.train_config(getattr(result.model, "name", "fine-tuned")), result, dataset,
                          test_report, name=name, base_model=base_model)
    meta["fine_tune"] = {**config.to_dict(), "user_samples": len(samples),
                         "user_counts": np.bincount(samples.labels, minlength=10)[:10].tolist()}
    return meta
