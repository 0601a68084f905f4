"""What a hyperparameter search may try and how much it may spend, as plain dataclasses (no
TensorFlow): the search space, the budget, the architecture family and algorithm, checked with
messages for a person; and the training configuration of one trial's values.

The search engine (KerasTuner) is :mod:`digitdesk.core.tuning`.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import asdict, dataclass, field

from digitdesk.core.augment import AugmentParams
from digitdesk.core.errors import TrainingError
from digitdesk.core.models import SCALABLE
from digitdesk.core.training import SCHEDULES, TrainConfig

FAMILIES = SCALABLE  # the architectures a search can widen and regularise
ALGORITHMS = {"random": "Random search", "bayes": "Bayesian optimisation", "hyperband": "Hyperband"}
HYPERPARAMETERS = ("learning_rate", "batch_size", "dropout", "width", "schedule", "augment")
LABELS = {"learning_rate": "learning rate", "batch_size": "batch", "dropout": "dropout", "width": "width ×",
          "schedule": "schedule", "augment": "augmentation"}
MAX_BATCH = 4096
MAX_WIDTH = 8.0
MAX_DROPOUT = 0.9
MAX_AUGMENT = 2.0
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _pair(value, what: str) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise TrainingError(f"{what}: expected a range of two numbers (low, high), not {value!r}") from None
    return low, high


@dataclass
class SearchSpace:
    """The values a search may try. A range whose ends are equal (or a list of one value) fixes
    that hyperparameter. ``width`` multiplies the family's filter and unit counts; ``augment``
    scales the training augmentation (0: off, 1: the usual strength)."""

    learning_rate: tuple[float, float] = (1e-4, 1e-2)  # sampled on a log scale
    batch_size: tuple[int, ...] = (32, 64, 128)
    dropout: tuple[float, float] = (0.0, 0.5)
    width: tuple[float, ...] = (0.5, 1.0, 2.0)
    schedule: tuple[str, ...] = ("constant", "cosine")
    augment: tuple[float, float] = (0.0, 1.0)

    def validate(self) -> "SearchSpace":
        """This space, checked; TrainingError listing every problem otherwise."""
        problems = []

        def check(ok: bool, text: str) -> None:
            if not ok:
                problems.append(text)

        for name in ("learning_rate", "dropout", "augment"):
            try:
                _pair(getattr(self, name), LABELS[name])
            except TrainingError as exc:
                problems.append(str(exc))
        if not problems:
            lr, dr, au = _pair(self.learning_rate, ""), _pair(self.dropout, ""), _pair(self.augment, "")
            check(all(math.isfinite(v) for v in lr + dr + au), "the ranges must be finite numbers")
            check(0 < lr[0] <= lr[1] <= 1, f"learning rate: the range must be above 0, at most 1 and low ≤ high, not {lr[0]:g} to {lr[1]:g}")
            check(0 <= dr[0] <= dr[1] <= MAX_DROPOUT, f"dropout: the range must lie in 0 to {MAX_DROPOUT:g} with low ≤ high, not {dr[0]:g} to {dr[1]:g}")
            check(0 <= au[0] <= au[1] <= MAX_AUGMENT, f"augmentation: the strength must lie in 0 to {MAX_AUGMENT:g} with low ≤ high, not {au[0]:g} to {au[1]:g}")
        check(len(self.batch_size) > 0, "batch size: give at least one value")
        check(all(isinstance(b, int) and not isinstance(b, bool) and 1 <= b <= MAX_BATCH for b in self.batch_size),
              f"batch size: whole numbers from 1 to {MAX_BATCH}, not {list(self.batch_size)}")
        check(len(self.width) > 0, "width: give at least one value")
        check(all(isinstance(w, (int, float)) and 0 < w <= MAX_WIDTH for w in self.width),
              f"width: multipliers above 0 and at most {MAX_WIDTH:g}, not {list(self.width)}")
        check(len(self.schedule) > 0, "schedule: give at least one")
        bad = [s for s in self.schedule if s not in SCHEDULES]
        check(not bad, f"schedule: unknown {', '.join(map(repr, bad))}; choose from {', '.join(SCHEDULES)}")
        if problems:
            raise TrainingError("bad search space: " + "; ".join(problems))
        return self

    def to_dict(self) -> dict:
        return {k: list(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> "SearchSpace":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise TrainingError(f"bad search space: unknown {', '.join(sorted(unknown))}; the space has {', '.join(sorted(known))}")
        return cls(**{k: tuple(v) for k, v in data.items()})

    def start_values(self, start: TrainConfig, dropout: float, width: float = 1.0) -> dict:
        """The values of ``start`` (a preset's recipe, its model's ``dropout`` and ``width``),
        each moved into the space when it lies outside: a search's first trial."""
        def clip(v, pair):
            return min(max(v, pair[0]), pair[1])

        def nearest(v, values):
            return v if v in values else min(values, key=lambda c: (abs(math.log(c / v)) if v > 0 else c, c))

        strength = 1.0 if start.augment else 0.0
        return {"learning_rate": clip(start.learning_rate, self.learning_rate),
                "batch_size": nearest(start.batch_size, self.batch_size),
                "dropout": clip(dropout, self.dropout),
                "width": nearest(width, self.width),
                "schedule": start.schedule if start.schedule in self.schedule else self.schedule[0],
                "augment": clip(strength, self.augment)}


@dataclass
class Budget:
    """How much a search may spend, and how long the best configuration is then trained."""

    trials: int = 8
    epochs: int = 2  # per trial (Hyperband: the most a trial gets)
    images: int = 12000  # training images the search uses (0: all)
    final_epochs: int = 10  # the best configuration's training
    final_images: int = 0  # its training images (0: all)

    def validate(self) -> "Budget":
        problems = []
        for name, low in (("trials", 1), ("epochs", 1), ("images", 0), ("final_epochs", 1), ("final_images", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                problems.append(f"{name.replace('_', ' ')} must be a whole number of at least {low}, not {value!r}")
        for name in ("images", "final_images"):
            value = getattr(self, name)
            if isinstance(value, int) and 0 < value < 100:
                problems.append(f"{name.replace('_', ' ')}: at least 100 images (or 0 for all), not {value}")
        if problems:
            raise TrainingError("bad budget: " + "; ".join(problems))
        return self


@dataclass
class SearchConfig:
    """One search: the family it widens, the algorithm, the space and the budget. ``name`` names
    its folder (default ``family-algorithm``): the same name continues the search."""

    family: str = "simple_cnn"
    algorithm: str = "random"
    space: SearchSpace = field(default_factory=SearchSpace)
    budget: Budget = field(default_factory=Budget)
    name: str = ""
    seed: int = 0
    validation_split: float = 0.1

    @property
    def folder_name(self) -> str:
        return self.name or f"{self.family}-{self.algorithm}"

    def validate(self) -> "SearchConfig":
        if self.family not in FAMILIES:
            raise TrainingError(f"unknown architecture family {self.family!r}; a search can tune {', '.join(FAMILIES)}")
        if self.algorithm not in ALGORITHMS:
            raise TrainingError(f"unknown search algorithm {self.algorithm!r}; choose {', '.join(ALGORITHMS)}")
        if not _NAME.fullmatch(self.folder_name):
            raise TrainingError(f"{self.folder_name!r} cannot name a search: use letters, digits, '.', '_' and '-' (64 at most)")
        if not 0 < self.validation_split < 1:
            raise TrainingError(f"the validation split must be between 0 and 1, not {self.validation_split}")
        self.space.validate()
        self.budget.validate()
        return self

    def start(self) -> TrainConfig:
        """The family's preset recipe (the notebooks'), which the search starts from."""
        from digitdesk.core.presets import PRESETS

        preset = PRESETS.get(self.family)
        if preset is not None:
            return preset.train_config()
        return TrainConfig(arch=self.family, epochs=5, batch_size=64, schedule="constant", augment=False, keep="last")

    def start_values(self) -> dict:
        """The first trial's values: the preset's, within the space."""
        import inspect

        from digitdesk.core.models import ZOO

        dropout = inspect.signature(ZOO[self.family]).parameters["dropout"].default
        return self.space.start_values(self.start(), dropout)

    def fingerprint(self) -> dict:
        """What a continued search must share with the one it continues (more trials may be asked)."""
        b = self.budget
        return {"family": self.family, "algorithm": self.algorithm, "space": self.space.to_dict(),
                "epochs": b.epochs, "images": b.images, "seed": self.seed, "validation_split": self.validation_split}

    def to_dict(self) -> dict:
        return {"family": self.family, "algorithm": self.algorithm, "name": self.folder_name, "seed": self.seed,
                "validation_split": self.validation_split, "space": self.space.to_dict(), "budget": asdict(self.budget)}

    @classmethod
    def from_dict(cls, data: dict) -> "SearchConfig":
        try:
            return cls(family=data["family"], algorithm=data["algorithm"], name=data.get("name", ""),
                       seed=int(data.get("seed", 0)), validation_split=float(data.get("validation_split", 0.1)),
                       space=SearchSpace.from_dict(data.get("space", {})), budget=Budget(**data.get("budget", {})))
        except (KeyError, TypeError, ValueError) as exc:
            raise TrainingError(f"not a search's settings ({exc})") from None


def scaled_augment(base: AugmentParams, strength: float) -> AugmentParams:
    """``base`` with every range and probability times ``strength`` (probabilities at most 1)."""
    ranges = {k: getattr(base, k) * strength for k in ("rotation", "scale", "aspect", "shift", "shear", "zoom")}
    chances = {k: min(1.0, getattr(base, k) * strength)
               for k in ("thicken", "thin", "heavy", "outline", "breaks", "hairline", "gap_line")}
    total = chances["thicken"] + chances["thin"]
    if total > 1:  # thicker or thinner: one draw decides, so their chances add up to 1 at most
        chances["thicken"], chances["thin"] = chances["thicken"] / total, chances["thin"] / total
    return dataclasses.replace(base, **ranges, **chances)


def trial_config(search: SearchConfig, values: dict, epochs: int) -> TrainConfig:
    """The TrainConfig of one trial's ``values`` (a dict of :data:`HYPERPARAMETERS`)."""
    start = search.start()
    base = start.augment_params if start.augment else AugmentParams()
    strength = float(values.get("augment", 0.0))
    return dataclasses.replace(
        start, arch=search.family, epochs=epochs, batch_size=int(values["batch_size"]),
        learning_rate=float(values["learning_rate"]), schedule=str(values["schedule"]),
        augment=strength > 0, augment_params=scaled_augment(base, strength) if strength > 0 else base,
        validation_split=search.validation_split, seed=search.seed, early_stopping=0)


def shape(values: dict) -> dict:
    """The model-building keywords of a trial's ``values``: ``width`` and ``dropout``."""
    return {"width": float(values["width"]), "dropout": float(values["dropout"])}


def format_value(name: str, value) -> str:
    """One hyperparameter value as the trials table shows it."""
    if value is None:
        return ""
    if name == "learning_rate":
        return f"{float(value):.2g}"
    if name in ("dropout", "augment", "width"):
        return f"{float(value):.2f}".rstrip("0").rstrip(".") if float(value) else "0"
    return str(value)
