"""No Qt needed. The one training function: progress, cancellation, best weights, seeds, strategies."""

import json
import subprocess
import sys

import numpy as np
import pytest

from digitdesk.core.data import Split
from digitdesk.core.errors import TrainingError
from digitdesk.core.training import TrainConfig, split_validation, train


@pytest.fixture(scope="module")
def small(mnist):
    return Split(mnist.train.images[:3000], mnist.train.labels[:3000])


def test_trains_and_reports_progress(small, mnist):
    events = []
    cfg = TrainConfig(arch="tiny", epochs=2, batch_size=100, learning_rate=3e-3, augment=False, validation_split=0.1, seed=1)
    result = train(cfg, small, on_progress=events.append)
    batches = [e for e in events if e.kind == "batch"]
    epochs = [e for e in events if e.kind == "epoch"]
    assert len(batches) == 2 * 27 and len(epochs) == 2
    assert batches[0].batches == 27 and batches[-1].batch == 27
    assert all(e.samples_per_s > 0 and np.isfinite(e.loss) for e in batches)
    assert epochs[-1].val_accuracy is not None and 0 <= epochs[-1].val_accuracy <= 1
    assert result.epochs_run == 2 and not result.stopped
    assert set(result.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    probs = np.asarray(result.model(mnist.test.images[:500, :, :, None].astype("float32")))
    assert (probs.argmax(1) == mnist.test.labels[:500]).mean() > 0.6


def test_cancel_within_one_batch_keeps_best(small):
    events = []
    stop_after = {"batches": None}

    def on_progress(p):
        events.append(p)
        if p.kind == "epoch":
            stop_after["batches"] = len([e for e in events if e.kind == "batch"]) + 5

    def should_stop():
        n = len([e for e in events if e.kind == "batch"])
        return stop_after["batches"] is not None and n >= stop_after["batches"]

    cfg = TrainConfig(arch="tiny", epochs=5, batch_size=100, augment=False, seed=2, keep="best")
    result = train(cfg, small, on_progress=on_progress, should_stop=should_stop)
    batches = [e for e in events if e.kind == "batch"]
    assert result.cancelled and result.stopped
    assert len(batches) == stop_after["batches"]  # not one batch more
    assert result.best_epoch == 1 and result.epochs_run == 1


def test_same_seed_same_result(small):
    cfg = TrainConfig(arch="tiny", epochs=1, batch_size=100, augment=True, seed=3)
    a = train(cfg, small).model.get_weights()
    b = train(cfg, small).model.get_weights()
    assert all(np.allclose(x, y, atol=1e-5) for x, y in zip(a, b))


def test_early_stopping(small):
    # A learning rate of 0 never improves after the first epoch: patience 1 stops at epoch 2.
    cfg = TrainConfig(arch="tiny", epochs=6, batch_size=300, learning_rate=0.0, schedule="constant",
                      augment=False, early_stopping=1, seed=0)
    result = train(cfg, small)
    assert result.stopped and not result.cancelled and result.epochs_run == 2


def test_schedules_change_the_learning_rate(small):
    rates = []
    cfg = TrainConfig(arch="tiny", epochs=2, batch_size=300, schedule="exponential", augment=False)
    train(cfg, small, on_progress=lambda p: rates.append(p.learning_rate) if p.kind == "epoch" else None)
    assert rates[1] < rates[0]


def test_bad_config(small):
    with pytest.raises(TrainingError, match="schedule"):
        train(TrainConfig(schedule="sometimes"), small)
    with pytest.raises(TrainingError, match="validation split"):
        split_validation(small, 1.5, 0)
    with pytest.raises(TrainingError, match="labelled"):
        train(TrainConfig(arch="tiny"), Split(small.images, None))


def test_mirrored_strategy_on_two_logical_cpus():
    code = r"""
import json, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import numpy as np
from digitdesk.core.data import load_mnist, Split
from digitdesk.core.training import TrainConfig, get_strategy, train
d = load_mnist()
strategy = get_strategy(["/cpu:0", "/cpu:1"])
r = train(TrainConfig(arch="tiny", epochs=2, batch_size=128, learning_rate=3e-3, augment=True), Split(d.train.images[:2560], d.train.labels[:2560]), strategy=strategy)
print(json.dumps({"replicas": strategy.num_replicas_in_sync, "loss": r.history["loss"][-1], "acc": r.history["val_accuracy"][-1]}))
"""
    from tests.conftest import mnist_dir
    import os
    env = {**os.environ, "DIGITDESK_DATA": str(mnist_dir())}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    assert np.isfinite(result["loss"]) and result["acc"] > 0.25  # well above chance (0.1)


def test_a_stopped_run_counts_its_partial_epoch(small):
    """Stopped 5 batches into epoch 2: 1 epoch completed, 1 + 5/27 trained; the metadata says so."""
    from digitdesk.core.data import Dataset
    from digitdesk.core.trainjob import build_metadata

    batches = []
    cfg = TrainConfig(arch="tiny", epochs=4, batch_size=100, augment=False, seed=2)  # 2,700 images: 27 batches
    result = train(cfg, small, on_progress=lambda p: batches.append(p) if p.kind == "batch" else None,
                   should_stop=lambda: len(batches) >= 27 + 5)
    assert result.cancelled and result.epochs_run == 1
    assert result.epochs_trained == pytest.approx(1 + 5 / 27)
    meta = build_metadata(cfg, result, Dataset(small, small, "test"), None)
    assert meta["epochs"] == 1.19 and meta["epochs_planned"] == 4 and meta["stopped_by_user"] is True

    early = train(TrainConfig(arch="tiny", epochs=1, batch_size=100, augment=False), small,
                  should_stop=lambda: True)  # stopped after its first batch
    assert early.epochs_run == 0 and early.epochs_trained == pytest.approx(1 / 27)
    assert build_metadata(cfg, early, Dataset(small, small, "test"), None)["epochs"] == 0.04
    done = train(TrainConfig(arch="tiny", epochs=1, batch_size=300, augment=False), small)
    assert done.epochs_trained == 1 and build_metadata(cfg, done, Dataset(small, small, "test"), None)["epochs"] == 1


def test_plateau_schedule_uses_the_configured_factor_patience_and_floor(small):
    # At a learning rate of 1e-8 the validation loss moves by less than ReduceLROnPlateau's min_delta
    # (1e-4): every epoch after the first is a plateau.
    rates = []
    cfg = TrainConfig(arch="tiny", epochs=5, batch_size=300, learning_rate=1e-8, schedule="plateau", augment=False,
                      plateau_factor=0.1, plateau_patience=1, min_learning_rate=1e-10, seed=0)
    train(cfg, small, on_progress=lambda p: rates.append(p.learning_rate) if p.kind == "epoch" else None)
    assert rates[0] == pytest.approx(1e-8)
    assert min(rates) == pytest.approx(1e-10)  # cut by 10 at each plateau, never below the floor
    assert any(r == pytest.approx(1e-9) for r in rates)
    with pytest.raises(TrainingError, match="plateau"):
        train(TrainConfig(arch="tiny", plateau_factor=1.5), small)
