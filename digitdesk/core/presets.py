"""The classic MNIST/Kaggle notebooks' recipes, to reproduce their published accuracy: one table
for ``digitdesk train --preset``, the Train tab's "Reproduce: ..." presets and
``benchmarks/reproduce_notebooks.py``.

What the notebooks state is kept as they state it (architecture, epochs, batch size, the deep
CNN's augmentation and callbacks, the MLP's Kaggle CSV and 10% validation split); where they leave
a value to Keras, the Keras default is used (Adam at 0.001, batch size 32) and ``notes`` says so.
The optimizer is always Adam (:func:`digitdesk.core.training.train`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from digitdesk.core.augment import AugmentParams
from digitdesk.core.errors import TrainingError
from digitdesk.core.training import TrainConfig

# Keras ImageDataGenerator(rotation_range=10, zoom_range=0.1, width_shift_range=0.1,
# height_shift_range=0.1, shear_range=0.1) in AugmentParams' terms: rotation +-10 degrees; each
# axis zoomed by its own factor in 1 +- 0.1; a shift of +-10% of 28 px; shear_range is an angle
# in degrees there, so a shear factor of tan(0.1 degrees). No scale, aspect or stroke changes.
NOTEBOOK_AUGMENT = AugmentParams(rotation=10.0, scale=0.0, aspect=0.0, shift=0.1 * 28, shear=math.tan(math.radians(0.1)),
                                 thicken=0.0, thin=0.0, zoom=0.1)


@dataclass(frozen=True)
class Preset:
    """One notebook's recipe and the figure it published."""

    key: str  # the --preset name
    title: str  # what the Train tab shows
    config: TrainConfig  # copy it with :meth:`train_config` before changing it
    source: str = "mnist"  # a TrainRequest source: "mnist", or "csv" (a Kaggle train.csv)
    published: tuple[float, float] | None = None  # the notebook's test accuracy (low, high); None: none given
    notes: str = ""
    callbacks: tuple[str, ...] = field(default=())  # the notebook's Keras callbacks, as it names them

    def train_config(self, **changes) -> TrainConfig:
        """A fresh TrainConfig of this recipe, with ``changes`` (e.g. ``epochs=1``)."""
        return dataclasses.replace(self.config, **changes)

    def published_text(self) -> str:
        """``98.66%``, ``96–98%``, or ``–`` when the notebook gives no figure."""
        if self.published is None:
            return "–"
        low, high = self.published
        if low == high:
            return f"{low * 100:.2f}%"
        return f"{low * 100:.0f}–{high * 100:.0f}%"

    def describe(self) -> str:
        """One paragraph for a tooltip or ``--help``: the recipe and the published figure."""
        c = self.config
        data = "a Kaggle train.csv" if self.source == "csv" else "MNIST"
        parts = [f"{c.arch}, {c.epochs} epochs, batch {c.batch_size}, Adam {c.learning_rate:g}, on {data} "
                 f"with {c.validation_split:.0%} for validation"]
        if c.augment:
            a = c.augment_params
            parts.append(f"augmentation: rotation {a.rotation:g}°, zoom {a.zoom:g}, shift {a.shift / 28:g}, "
                         f"shear {math.degrees(math.atan(a.shear)):g}°")
        if self.callbacks:
            parts.append("; ".join(self.callbacks))
        parts.append(f"the notebook's figure: {self.published_text()}")
        return ". ".join(parts) + "."


def _plain(arch: str, epochs: int, batch_size: int = 32) -> TrainConfig:
    """A notebook without augmentation or callbacks: constant learning rate, the last epoch's weights."""
    return TrainConfig(arch=arch, epochs=epochs, batch_size=batch_size, learning_rate=1e-3, schedule="constant",
                       augment=False, validation_split=0.1, early_stopping=0, keep="last")


KERAS_DEFAULTS = "Adam 0.001 and batch size 32 are Keras' defaults (the notebook does not set them)"

PRESETS: dict[str, Preset] = {p.key: p for p in (
    Preset("fnn", "Reproduce: FNN", _plain("fnn", 10), notes=KERAS_DEFAULTS),
    Preset("mlp", "Reproduce: MLP", _plain("mlp", 5, batch_size=64), source="csv", published=(0.96, 0.98),
           notes="Kaggle's train.csv, 10% held out for validation (digitdesk tests on 1/6 of the CSV held out "
                 "beforehand); Adam 0.001 is Keras' default"),
    Preset("simple_cnn", "Reproduce: CNN", _plain("simple_cnn", 10), published=(0.9866, 0.9866), notes=KERAS_DEFAULTS),
    Preset("lenet5", "Reproduce: LeNet-5", _plain("lenet5", 10), published=(0.9894, 0.9894), notes=KERAS_DEFAULTS),
    Preset("deep_cnn", "Reproduce: deep CNN",
           TrainConfig(arch="deep_cnn", epochs=30, batch_size=64, learning_rate=1e-3, schedule="plateau",
                       plateau_factor=0.5, plateau_patience=3, min_learning_rate=1e-4, augment=True,
                       augment_params=NOTEBOOK_AUGMENT, validation_split=0.1, early_stopping=5, keep="best"),
           published=(0.9942, 0.9942),
           callbacks=("ReduceLROnPlateau(factor 0.5, patience 3, min_lr 1e-4)",
                      "EarlyStopping(patience 5, restore_best_weights)", "ModelCheckpoint(best epoch)"),
           notes="30 epochs (early stopping ends it sooner) and batch size 64 are ours, the notebook's are not "
                 "stated; the callbacks watch the validation loss; the best epoch is kept in memory "
                 "(keep='best'), which restores what ModelCheckpoint(save_best_only) saves"),
)}
ENSEMBLE_PUBLISHED = 0.9946  # the notebooks' average of three deep CNNs


def get(key: str) -> Preset:
    """The preset ``key`` (``fnn``, ``mlp``, ``simple_cnn``, ``lenet5``, ``deep_cnn``)."""
    try:
        return PRESETS[key]
    except KeyError:
        raise TrainingError(f"unknown preset {key!r}; choose one of {', '.join(PRESETS)}") from None


def by_title(title: str) -> Preset | None:
    """The preset the Train tab shows as ``title``, or None."""
    return next((p for p in PRESETS.values() if p.title == title), None)
