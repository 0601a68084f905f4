"""No Qt needed. The classic notebooks' recipes: the table's values, and that each builds its model."""

import math

import pytest

from digitdesk.core.augment import AugmentParams
from digitdesk.core.errors import TrainingError
from digitdesk.core.models import ZOO
from digitdesk.core.presets import ENSEMBLE_PUBLISHED, NOTEBOOK_AUGMENT, PRESETS, by_title, get
from digitdesk.core.training import TrainConfig


def test_the_table():
    rows = {k: (p.title, p.config.arch, p.config.epochs, p.config.batch_size, p.source, p.published_text())
            for k, p in PRESETS.items()}
    assert rows == {
        "fnn": ("Reproduce: FNN", "fnn", 10, 32, "mnist", "–"),
        "mlp": ("Reproduce: MLP", "mlp", 5, 64, "csv", "96–98%"),
        "simple_cnn": ("Reproduce: CNN", "simple_cnn", 10, 32, "mnist", "98.66%"),
        "lenet5": ("Reproduce: LeNet-5", "lenet5", 10, 32, "mnist", "98.94%"),
        "deep_cnn": ("Reproduce: deep CNN", "deep_cnn", 30, 64, "mnist", "99.42%"),
    }
    assert ENSEMBLE_PUBLISHED == 0.9946
    assert all(p.config.arch in ZOO and p.config.validation_split == 0.1 for p in PRESETS.values())


def test_plain_notebooks_train_without_augmentation_or_callbacks_and_keep_the_last_epoch():
    for key in ("fnn", "mlp", "simple_cnn", "lenet5"):
        c = PRESETS[key].config
        assert (c.augment, c.schedule, c.early_stopping, c.keep, c.learning_rate) == (False, "constant", 0, "last", 1e-3)


def test_deep_cnn_recipe():
    c = PRESETS["deep_cnn"].config
    assert c.augment and c.augment_params == NOTEBOOK_AUGMENT
    # ReduceLROnPlateau(factor 0.5, patience 3, min_lr 1e-4)
    assert (c.schedule, c.plateau_factor, c.plateau_patience, c.min_learning_rate) == ("plateau", 0.5, 3, 1e-4)
    # EarlyStopping(patience 5, restore_best_weights) and the best epoch's checkpoint
    assert (c.early_stopping, c.keep) == (5, "best")


def test_notebook_augmentation_means_imagedatagenerator_s_parameters():
    a = NOTEBOOK_AUGMENT
    assert a.rotation == 10.0 and a.zoom == 0.1
    assert a.shift == pytest.approx(2.8)  # width/height_shift_range 0.1 of 28 px
    assert math.degrees(math.atan(a.shear)) == pytest.approx(0.1)  # shear_range is in degrees there
    assert (a.scale, a.aspect, a.thicken, a.thin, a.styles()) == (0, 0, 0, 0, 0)  # nothing the notebook lacks


def test_train_config_is_a_fresh_copy():
    p = get("fnn")
    c = p.train_config(epochs=1)
    assert isinstance(c, TrainConfig) and c.epochs == 1 and p.config.epochs == 10
    c.arch = "tiny"
    assert p.train_config().arch == "fnn"


def test_lookups_and_descriptions():
    assert by_title("Reproduce: LeNet-5") is PRESETS["lenet5"] and by_title("Standard") is None
    with pytest.raises(TrainingError, match="unknown preset 'vgg'"):
        get("vgg")
    text = get("deep_cnn").describe()
    assert "rotation 10°" in text and "ReduceLROnPlateau" in text and "99.42%" in text
    assert "Kaggle train.csv" in get("mlp").describe()
    assert AugmentParams().zoom == 0  # the app's own augmentation is unchanged
