"""Training: one function for the CLI and the GUI. Config dataclass in, model and history out;
progress through a plain callback, cooperative cancellation through ``should_stop``."""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from digitdesk.core.augment import AugmentParams
from digitdesk.core.data import Split
from digitdesk.core.errors import TrainingError

SCHEDULES = ("constant", "cosine", "exponential", "plateau")


@dataclass
class TrainConfig:
    """Everything that decides a training run."""

    arch: str = "digitnet"
    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 1e-3
    schedule: str = "cosine"
    augment: bool = True
    augment_params: AugmentParams = field(default_factory=AugmentParams)
    validation_split: float = 0.1
    early_stopping: int = 0  # patience in epochs; 0 = off
    seed: int = 0
    keep: str = "best"  # "best" (lowest validation loss) or "last" weights
    # schedule "plateau" (Keras ReduceLROnPlateau on the validation loss): multiply the learning
    # rate by plateau_factor after plateau_patience epochs without improvement, not below min_learning_rate
    plateau_factor: float = 0.5
    plateau_patience: int = 2
    min_learning_rate: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Progress:
    """One progress report; ``kind`` is "batch" or "epoch". Epochs and batches count from 1."""

    kind: str
    epoch: int
    epochs: int
    batch: int
    batches: int
    loss: float
    accuracy: float
    samples_per_s: float
    elapsed: float
    learning_rate: float
    val_loss: float | None = None
    val_accuracy: float | None = None


@dataclass
class TrainResult:
    """The trained model (best or last weights per the config) and what happened."""

    model: object
    history: dict[str, list[float]]
    stopped: bool  # cancelled by should_stop or early stopping
    cancelled: bool  # cancelled by should_stop
    best_epoch: int  # 1-based epoch whose weights the model holds; 0 if none completed
    epochs_run: int  # epochs completed
    seconds: float
    samples_per_s: float
    epochs_trained: float = 0.0  # epochs completed plus the share of an epoch stopped part-way (e.g. 2.25)
    recorder: object = None  # the runrecord.RunRecorder that keeps this run in the runs store (None: not kept)


def epochs_trained(result: TrainResult) -> int | float:
    """The epochs a run trained for: a whole number, or with two decimals when it was stopped
    part-way through an epoch (0.25: a quarter of the first)."""
    n = round(result.epochs_trained, 2)
    return int(n) if n == int(n) else n


_multi_worker = None  # the process's MultiWorkerMirroredStrategy, once created


def set_multi_worker_strategy(strategy) -> None:
    """The strategy :func:`get_strategy` returns under ``TF_CONFIG`` (made by cluster.make_strategy)."""
    global _multi_worker
    _multi_worker = strategy


def is_multi_worker(strategy) -> bool:
    """Whether ``strategy`` trains across several worker processes."""
    import tensorflow as tf

    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return False
    in_mode = getattr(strategy.extended, "_in_multi_worker_mode", None)
    return bool(in_mode()) if callable(in_mode) else True


def _fix_keras_for_multi_worker(model, strategy) -> None:
    """Work around Keras 3's multi-worker bugs (keras-team/keras#20585: its ``fit`` fails under
    MultiWorkerMirroredStrategy), for this model only where possible:

    - every step's logs (scalars) are averaged across workers with ``reduce(..., axis=0)``, which
      fails on a scalar: they are averaged with ``axis=None`` instead (the same mean);
    - before the first step, the first batch is averaged across workers only to learn its shapes
      (and fails on an ``(x, y)`` pair): this worker's own part gives the same shapes.
    """
    import tensorflow as tf
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer

    if not getattr(trainer, "_digitdesk_fixed", False):
        original = trainer.reduce_per_replica

        def reduce_per_replica(values, strategy, reduction):
            if reduction in ("auto", "mean") and is_multi_worker(strategy):
                return tree.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
            return original(values, strategy, reduction)

        trainer.reduce_per_replica = reduce_per_replica
        trainer._digitdesk_fixed = True

    def local(value):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    def symbolic_build(iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, it in iterator:
                data_batch = tree.map_structure(local, next(it))
                break
        with strategy.scope():
            model._symbolic_build(data_batch=data_batch)

    model._maybe_symbolic_build = symbolic_build


def _local_copy(model, weights=None):
    """The trained model as a plain one (its variables this process's own, not mirrored across
    the workers): evaluating, saving and converting it then involve no other worker."""
    copy = model.__class__.from_config(model.get_config())
    copy.set_weights(model.get_weights() if weights is None else weights)
    return copy


def get_strategy(devices: list[str] | None = None):
    """Pick a ``tf.distribute`` strategy: several workers via ``TF_CONFIG``, several named
    devices or GPUs via MirroredStrategy, else the default (single-device) strategy."""
    global _multi_worker
    import tensorflow as tf

    if os.environ.get("TF_CONFIG"):
        if _multi_worker is None:  # one per process: it starts this worker's server
            from digitdesk.core.cluster import from_environment, make_strategy

            _multi_worker = make_strategy(from_environment())
        return _multi_worker
    if devices and len(devices) > 1:
        return tf.distribute.MirroredStrategy(devices)
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def make_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int, augment: AugmentParams | None,
                 shuffle: bool, seed: int):
    """A batched ``tf.data`` pipeline of float32 ``(B, 28, 28, 1)`` images and int labels."""
    import tensorflow as tf

    from digitdesk.core.augment import augment_batch

    ds = tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int32)))
    # Several workers: each builds this whole pipeline (the same seeds, so the same batches) and
    # keeps its share of every batch ("DATA"); in-memory arrays have no files to share out.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    ds = ds.with_options(options)
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if augment is None:
        ds = ds.map(lambda x, y: (tf.cast(x, tf.float32)[..., tf.newaxis], y), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        # One stateless seed per batch, new every epoch yet reproducible from ``seed``.
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        ds = tf.data.Dataset.zip((ds, seeds)).map(
            lambda xy, s: (augment_batch(tf.cast(xy[0], tf.float32)[..., tf.newaxis], augment, s), xy[1]),
            num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def split_validation(data: Split, fraction: float, seed: int) -> tuple[Split, Split | None]:
    """Hold out a seeded random ``fraction`` of ``data`` for validation."""
    if fraction <= 0:
        return data, None
    if not 0 < fraction < 1:
        raise TrainingError(f"validation split must be between 0 and 1, not {fraction}")
    order = np.random.default_rng(seed).permutation(len(data))
    n_val = max(1, int(round(len(data) * fraction)))
    val, train = order[:n_val], order[n_val:]
    return Split(data.images[train], data.labels[train]), Split(data.images[val], data.labels[val])


def _callback_class():
    import keras

    class _Bridge(keras.callbacks.Callback):
        """Turns Keras callbacks into Progress reports, cancellation and best-weight tracking."""

        def __init__(self, owner: "_Run"):
            super().__init__()
            self.owner = owner

        def on_epoch_begin(self, epoch, logs=None):
            self.owner.epoch_begin(epoch)

        def on_train_batch_end(self, batch, logs=None):
            if self.owner.batch_end(batch, logs or {}):
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            logs = {} if logs is None else logs
            if not self.owner.cancelled and self.owner.val_ds is not None:
                # Validate here rather than via fit(validation_data=...), which would
                # still run a full validation pass after a cancel.
                val = self.model.evaluate(self.owner.val_ds, verbose=0, return_dict=True)
                logs.update({"val_" + k: v for k, v in val.items()})
            if self.owner.epoch_end(epoch, logs):
                self.model.stop_training = True

    return _Bridge


class _Run:
    def __init__(self, config, model, batches, n_train, val_ds, on_progress, should_stop):
        self.config, self.model, self.batches, self.n_train = config, model, batches, n_train
        self.val_ds = val_ds
        self.on_progress, self.should_stop = on_progress, should_stop
        self.start = time.perf_counter()
        self.epoch_start = self.start
        self.epoch = 0
        self.cancelled = False
        self.early = False
        self.best_score = -math.inf
        self.best_weights = None
        self.best_epoch = 0
        self.waited = 0
        self.epochs_run = 0
        self.batches_done = 0  # in the current epoch
        self.samples_seen = 0
        self.history: dict[str, list[float]] = {}

    def lr(self) -> float:
        opt = self.model.optimizer
        lr = opt.learning_rate
        try:
            return float(lr(opt.iterations) if callable(lr) else lr)
        except Exception:
            return float("nan")

    def epoch_begin(self, epoch: int) -> None:
        self.epoch = epoch + 1
        self.epoch_start = time.perf_counter()
        self.batches_done = 0

    def batch_end(self, batch: int, logs: dict) -> bool:
        now = time.perf_counter()
        self.batches_done = batch + 1
        done = min((batch + 1) * self.config.batch_size, self.n_train)
        if self.on_progress is not None:
            self.on_progress(Progress(
                "batch", self.epoch, self.config.epochs, batch + 1, self.batches,
                float(logs.get("loss", math.nan)), float(logs.get("accuracy", math.nan)),
                done / max(now - self.epoch_start, 1e-9), now - self.start, self.lr(),
            ))
        if self.should_stop is not None and self.should_stop():
            self.cancelled = True
        return self.cancelled

    def epoch_end(self, epoch: int, logs: dict) -> bool:
        if self.cancelled:
            return True  # an interrupted epoch: not counted, its weights are not a candidate
        now = time.perf_counter()
        self.epochs_run = epoch + 1
        self.batches_done = 0
        self.samples_seen += self.n_train
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        val_acc = logs.get("val_accuracy")
        # "Best" is the lowest validation loss: smoother than validation accuracy, whose
        # differences of a few samples are noise (training loss when there is no validation).
        val_loss = logs.get("val_loss")
        score = -float(val_loss if val_loss is not None else logs.get("loss", math.inf))
        if score > self.best_score:
            self.best_score, self.best_epoch, self.waited = score, epoch + 1, 0
            self.best_weights = self.model.get_weights()
        else:
            self.waited += 1
        if self.on_progress is not None:
            self.on_progress(Progress(
                "epoch", epoch + 1, self.config.epochs, self.batches, self.batches,
                float(logs.get("loss", math.nan)), float(logs.get("accuracy", math.nan)),
                self.n_train / max(now - self.epoch_start, 1e-9), now - self.start, self.lr(),
                None if logs.get("val_loss") is None else float(logs["val_loss"]),
                None if val_acc is None else float(val_acc),
            ))
        patience = self.config.early_stopping
        if patience and self.waited >= patience:
            self.early = True
        return self.cancelled or self.early


def _optimizer(config: TrainConfig, steps_per_epoch: int):
    import keras

    lr = config.learning_rate
    if config.schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(1, config.epochs * steps_per_epoch), alpha=0.01)
    elif config.schedule == "exponential":
        lr = keras.optimizers.schedules.ExponentialDecay(lr, decay_steps=steps_per_epoch, decay_rate=0.85)
    return keras.optimizers.Adam(lr)


def train(
    config: TrainConfig,
    data: Split,
    validation: Split | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    initial_model=None,
    strategy=None,
) -> TrainResult:
    """Train a zoo model (or fine-tune ``initial_model``) on ``data``.

    Without ``validation``, ``config.validation_split`` of ``data`` is held out. ``should_stop``
    is polled after every batch; the run then ends within one batch.
    """
    from digitdesk.core.tfimport import import_tensorflow

    import_tensorflow()
    import keras

    from digitdesk.core.models import build

    if config.schedule not in SCHEDULES:
        raise TrainingError(f"unknown schedule {config.schedule!r}; choose one of {', '.join(SCHEDULES)}")
    if config.epochs < 1 or config.batch_size < 1:
        raise TrainingError("epochs and batch size must be at least 1")
    if not 0 < config.plateau_factor < 1 or config.plateau_patience < 0 or config.min_learning_rate < 0:
        raise TrainingError("the plateau schedule needs a factor between 0 and 1, a patience and a minimum of 0 or more")
    if config.keep not in ("best", "last"):
        raise TrainingError(f"keep must be 'best' or 'last', not {config.keep!r}")
    if data.labels is None or len(data) == 0:
        raise TrainingError("training needs labelled images")
    if validation is None:
        data, validation = split_validation(data, config.validation_split, config.seed)
    keras.utils.set_random_seed(config.seed)
    strategy = strategy or get_strategy()
    steps = math.ceil(len(data) / config.batch_size)
    with strategy.scope():
        model = build(config.arch) if initial_model is None else initial_model
        model.compile(
            optimizer=_optimizer(config, steps),
            loss=keras.losses.SparseCategoricalCrossentropy(),
            metrics=["accuracy"],
        )
    train_ds = make_dataset(data.images, data.labels, config.batch_size,
                            config.augment_params if config.augment else None, True, config.seed)
    val_ds = None
    if validation is not None and len(validation):
        val_ds = make_dataset(validation.images, validation.labels, 1024, None, False, config.seed)
    run = _Run(config, model, steps, len(data), val_ds, on_progress, should_stop)
    callbacks = [_callback_class()(run)]  # first: it adds val_* to the logs the others read
    if config.schedule == "plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss" if val_ds is not None else "loss", factor=config.plateau_factor,
            patience=config.plateau_patience, min_lr=config.min_learning_rate))
    multi_worker = is_multi_worker(strategy)
    if multi_worker:
        _fix_keras_for_multi_worker(model, strategy)
    try:
        model.fit(train_ds, epochs=config.epochs, callbacks=callbacks, verbose=0, shuffle=False)  # shuffled by tf.data
    except Exception as exc:
        if not multi_worker or isinstance(exc, TrainingError):
            raise
        from digitdesk.core.cluster import DEFAULT_TIMEOUT, describe_failure, from_environment

        cluster = from_environment()
        timeout = getattr(strategy, "_digitdesk_timeout", DEFAULT_TIMEOUT)
        raise TrainingError(describe_failure(exc, cluster, timeout) if cluster else str(exc)) from None
    if multi_worker:  # the same weights on every worker now; the rest is this worker's own
        model = _local_copy(model, run.best_weights if config.keep == "best" else None)
    elif config.keep == "best" and run.best_weights is not None:
        model.set_weights(run.best_weights)
    seconds = time.perf_counter() - run.start
    return TrainResult(
        model=model,
        history=run.history,
        stopped=run.cancelled or run.early,
        cancelled=run.cancelled,
        best_epoch=run.best_epoch if config.keep == "best" else run.epochs_run,
        epochs_run=run.epochs_run,
        seconds=seconds,
        samples_per_s=run.samples_seen / seconds if run.samples_seen else 0.0,
        epochs_trained=run.epochs_run + run.batches_done / max(run.batches, 1),
    )

