"""No Qt needed. Fine-tuning on the user's samples mixed with MNIST: it learns the new style,
does not forget MNIST, leaves the base model alone, and reports progress and stops like train()."""

import cv2
import numpy as np
import pytest

from digitdesk.core.data import Split
from digitdesk.core.errors import TrainingError
from digitdesk.core.evaluate import evaluate_model
from digitdesk.core.finetune import FineTuneConfig, clone_model, fine_tune, fine_tune_metadata, mix
from digitdesk.core.training import TrainConfig, train

FAST = dict(epochs=5, batch_size=32, learning_rate=2e-3, user_fraction=0.3, mnist_samples=1500,
            validation_samples=500, augment=False)  # a tiny model learns faster than the defaults assume


def outline(split: Split) -> Split:
    """A tiny synthetic "handwriting style": hollow digits (only the outline of a thickened stroke)."""
    k = np.ones((3, 3), np.uint8)
    return Split(np.stack([cv2.morphologyEx(cv2.dilate(i, k), cv2.MORPH_GRADIENT, k) for i in split.images]),
                 split.labels)


def per_digit(split: Split, n: int) -> Split:
    idx = np.concatenate([np.flatnonzero(split.labels == d)[:n] for d in range(10)])
    return Split(split.images[idx], split.labels[idx])


@pytest.fixture(scope="module")
def base(mnist):
    """A tiny model trained briefly on MNIST (about 92% on MNIST, under 10% on hollow digits)."""
    config = TrainConfig(arch="tiny", epochs=3, batch_size=64, learning_rate=3e-3, augment=False,
                         validation_split=0.0, seed=0)
    return train(config, Split(mnist.train.images[:4000], mnist.train.labels[:4000])).model


@pytest.fixture(scope="module")
def style(mnist):
    test = mnist.test
    user = outline(per_digit(Split(test.images[:5000], test.labels[:5000]), 20))
    held_out = outline(Split(test.images[5000:6000], test.labels[5000:6000]))
    return user, held_out


def test_mix_proportions_and_disjoint_validation(mnist):
    samples = per_digit(mnist.test, 3)  # 30 samples
    config = FineTuneConfig(user_fraction=0.25, mnist_samples=900, validation_samples=300, seed=4)
    data, val = mix(samples, mnist.train, config)
    assert len(data) == 900 + 300 and len(val) == 300
    assert data.images.dtype == np.uint8 and data.labels.dtype == np.int64
    user_rows = data.images[:300]
    per_sample = [sum(np.array_equal(u, s) for u in user_rows) for s in samples.images]
    assert set(per_sample) == {10}  # each sample repeated equally
    train_keys = {img.tobytes() for img in data.images[300:]}
    assert not train_keys & {img.tobytes() for img in val.images}  # validation is held out
    again, _ = mix(samples, mnist.train, config)
    assert np.array_equal(again.images, data.images)  # seeded
    with pytest.raises(TrainingError, match="no samples"):
        mix(Split(np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)), mnist.train, config)
    with pytest.raises(TrainingError, match="MNIST"):
        mix(samples, None, config)


def test_fine_tune_learns_the_style_and_keeps_mnist(base, style, mnist):
    user, held_out = style
    mnist_eval = Split(mnist.test.images[6000:8000], mnist.test.labels[6000:8000])
    weights_before = [w.copy() for w in base.get_weights()]
    style_before = evaluate_model(base, held_out.images, held_out.labels).accuracy
    mnist_before = evaluate_model(base, mnist_eval.images, mnist_eval.labels).accuracy
    reports = []
    result = fine_tune(base, user, mnist.train, FineTuneConfig(**FAST), on_progress=reports.append)
    style_after = evaluate_model(result.model, held_out.images, held_out.labels).accuracy
    mnist_after = evaluate_model(result.model, mnist_eval.images, mnist_eval.labels).accuracy
    assert style_after >= style_before + 0.25, (style_before, style_after)  # measured: 9% -> 54%
    assert mnist_after >= mnist_before - 0.03, (mnist_before, mnist_after)  # does not collapse
    assert result.model is not base and result.epochs_run == 5 and not result.stopped
    assert all(np.array_equal(a, b) for a, b in zip(weights_before, base.get_weights()))  # base untouched
    epochs = [p for p in reports if p.kind == "epoch"]
    assert len(epochs) == 5 and all(p.val_accuracy is not None for p in epochs)
    assert any(p.kind == "batch" for p in reports)
    meta = fine_tune_metadata(FineTuneConfig(**FAST), result, user, mnist.train, name="mine", base_model="bundled")
    assert meta["fine_tuned_from"] == "bundled" and meta["name"] == "mine"
    assert meta["fine_tune"]["user_samples"] == 200 and meta["fine_tune"]["user_counts"] == [20] * 10
    assert meta["data"] == "MNIST + 200 samples of your handwriting" and meta["architecture"] == "tiny"


def test_stop_ends_within_a_batch(base, style, mnist):
    batches = []
    result = fine_tune(base, style[0], mnist.train, FineTuneConfig(**FAST),
                       on_progress=lambda p: batches.append(p) if p.kind == "batch" else None,
                       should_stop=lambda: len(batches) >= 2)
    assert result.cancelled and len(batches) == 2 and result.epochs_run == 0


def test_batchnorm_statistics_frozen_and_layers_restored(mnist):
    import keras

    model = keras.Sequential([
        keras.Input((28, 28, 1)), keras.layers.Rescaling(1 / 255), keras.layers.Conv2D(4, 3, strides=2),
        keras.layers.BatchNormalization(), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax"),
    ])
    bn = model.layers[2]
    samples = per_digit(mnist.test, 2)
    config = FineTuneConfig(epochs=1, mnist_samples=300, validation_samples=0, augment=False)
    frozen = fine_tune(model, samples, mnist.train, config).model
    moving = [w for w in frozen.layers[2].weights if "moving" in w.path]
    assert len(moving) == 2
    assert all(np.array_equal(w.numpy(), b.numpy()) for w, b in zip(moving, [bn.moving_mean, bn.moving_variance]))
    assert frozen.layers[2].trainable  # a normal model again
    config.freeze_batchnorm = False
    trained = fine_tune(model, samples, mnist.train, config).model
    assert not np.array_equal(trained.layers[2].moving_mean.numpy(), bn.moving_mean.numpy())


def test_clone_is_independent(base):
    copy = clone_model(base)
    assert copy is not base and copy.count_params() == base.count_params()
    copy.set_weights([w + 1 for w in copy.get_weights()])
    assert not np.array_equal(copy.get_weights()[0], base.get_weights()[0])
