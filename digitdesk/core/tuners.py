"""KerasTuner, adapted for digitdesk's search (:mod:`digitdesk.core.tuning`): a hypermodel per
architecture family, the tuners reporting progress and stopping on request, and the live state
of a running search (its trials as table rows). KerasTuner imports TensorFlow: it is imported
inside the functions only.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

from digitdesk.core.errors import TrainingError
from digitdesk.core.tunespace import HYPERPARAMETERS, SearchConfig, shape, trial_config

OBJECTIVE = "val_accuracy"
STATES = ("running", "finished", "stopped", "failed")

@dataclass
class TrialRow:
    """One trial as the trials table shows it."""

    id: str
    values: dict
    state: str  # one of STATES; "stopped": ended part-way, it runs again when the search continues
    val_accuracy: float | None = None  # the best epoch's so far
    epoch: int = 0  # epochs completed
    epochs: int = 0
    seconds: float = 0.0
    error: str = ""


@dataclass
class SearchProgress:
    """One report: ``kind`` "trial" (a trial began or ended), "batch" or "epoch". ``rows`` (every
    trial, copied) comes with "trial" and "epoch" reports only."""

    kind: str
    trial_id: str
    trials_done: int  # trials finished (or failed), this session and before
    trials: int  # the budget's trials
    epoch: int
    epochs: int
    batch: int
    batches: int
    loss: float
    accuracy: float
    fraction: float  # of the whole search, 0..1
    elapsed: float  # seconds of this session
    seconds_left: float  # estimated (nan before the first batch)
    best_id: str | None = None
    best_score: float | None = None
    rows: list[TrialRow] | None = None


def best_row(rows) -> TrialRow | None:
    """The finished trial with the highest validation accuracy (the earliest of equals)."""
    done = [r for r in rows if r.state == "finished" and r.val_accuracy is not None]
    return max(done, key=lambda r: (r.val_accuracy, -int(r.id))) if done else None



class SearchState:
    """The state of one running search, shared by the tuner's hooks."""

    def __init__(self, config: SearchConfig, n_train: int, on_progress, should_stop, val_ds):
        self.config, self.n_train, self.val_ds = config, n_train, val_ds
        self.on_progress, self.should_stop = on_progress, should_stop
        self.rows: dict[str, TrialRow] = {}
        self.cancelled = False
        self.start = time.perf_counter()
        self.trial_start = self.start
        self.current: TrialRow | None = None
        self.batches = 1
        self.done_at_start = 0.0
        self.fraction = 0.0

    def stop_requested(self) -> bool:
        if not self.cancelled and self.should_stop is not None and self.should_stop():
            self.cancelled = True
        return self.cancelled

    def trials_done(self) -> int:
        return sum(r.state in ("finished", "failed") for r in self.rows.values())

    def best(self) -> TrialRow | None:
        return best_row(self.rows.values())

    def _fraction(self, epoch_part: float) -> float:
        trials = max(self.config.budget.trials, 1)
        current = 0.0 if self.current is None else epoch_part / max(self.current.epochs, 1)
        return min(1.0, (self.trials_done() + current) / trials)

    def report(self, kind: str, epoch: int = 0, batch: int = 0, loss: float = math.nan, accuracy: float = math.nan,
               epoch_part: float = 0.0) -> None:
        self.fraction = self._fraction(epoch_part)
        if self.on_progress is None:
            return
        elapsed = time.perf_counter() - self.start
        worked = self.fraction - self.done_at_start
        left = elapsed * (1 - self.fraction) / worked if worked > 0 else math.nan
        best = self.best()
        row = self.current
        self.on_progress(SearchProgress(
            kind, row.id if row else "", self.trials_done(), self.config.budget.trials, epoch,
            row.epochs if row else 0, batch, self.batches, loss, accuracy, self.fraction, elapsed, left,
            best.id if best else None, best.val_accuracy if best else None,
            [replace(r, values=dict(r.values)) for r in self.rows.values()] if kind != "batch" else None))


def row_of(trial, epochs: int) -> TrialRow:
    """A KerasTuner Trial as a row; a trial left "RUNNING" on disk was stopped part-way."""
    status = str(trial.status)
    state = {"COMPLETED": "finished", "FAILED": "failed", "INVALID": "failed"}.get(status, "stopped")
    values = {k: v for k, v in trial.hyperparameters.values.items() if k in HYPERPARAMETERS}
    score = trial.score if state == "finished" else None
    history = trial.metrics.get_history(OBJECTIVE) if trial.metrics.exists(OBJECTIVE) else []
    best = max((float(o.value[0] if isinstance(o.value, (list, tuple)) else o.value) for o in history), default=None)
    message = (trial.message or "").strip().splitlines()
    epochs = int(trial.hyperparameters.values.get("tuner/epochs", epochs))  # Hyperband gives each trial its own
    return TrialRow(str(trial.trial_id), values, state, float(score) if score is not None else best,
                    epochs if state == "finished" else 0, epochs, 0.0, message[-1] if message else "")


def keras_tuner_classes():
    """The tuner classes, made on first use (keras_tuner imports TensorFlow)."""
    global _CLASSES
    if _CLASSES is not None:
        return _CLASSES
    import keras

    _stand_in_for_grpc()
    try:
        import keras_tuner as kt
    except ImportError as exc:
        raise TrainingError(f"a search needs the keras-tuner package, which cannot be imported here ({exc})") from None

    class Stopped(kt.errors.FatalError):
        """Raised out of KerasTuner's loop on Stop (a FatalError is the one it does not catch)."""

    class Validate(keras.callbacks.Callback):
        """Validates at each epoch's end unless stopped (as :func:`~digitdesk.core.training.train`),
        so a Stop part-way through an epoch does not wait for a validation pass."""

        def __init__(self, search: SearchState):
            super().__init__()
            self.search = search

        def on_epoch_end(self, epoch, logs=None):
            if logs is not None and not self.search.cancelled:
                val = self.model.evaluate(self.search.val_ds, verbose=0, return_dict=True)
                logs.update({"val_" + k: v for k, v in val.items()})

    class HyperModel(kt.HyperModel):
        """A family's model with the search space's hyperparameters."""

        def __init__(self, search: SearchState, images, labels):
            super().__init__(name=search.config.family)
            self.search, self.images, self.labels = search, images, labels

        def values(self, hp) -> dict:
            space = self.search.config.space
            start = self.search.config.start_values()

            def num(name, pair, **kw):
                low, high = pair
                if low == high:
                    return hp.Fixed(name, float(low))
                return hp.Float(name, float(low), float(high), default=start[name], **kw)

            def choice(name, options):
                options = list(dict.fromkeys(options))
                return hp.Fixed(name, options[0]) if len(options) == 1 else hp.Choice(name, options, default=start[name])

            return {"learning_rate": num("learning_rate", space.learning_rate, sampling="log"),
                    "batch_size": choice("batch_size", [int(b) for b in space.batch_size]),
                    "dropout": num("dropout", space.dropout),
                    "width": choice("width", [float(w) for w in space.width]),
                    "schedule": choice("schedule", list(space.schedule)),
                    "augment": num("augment", space.augment)}

        def build(self, hp):
            from digitdesk.core.models import build
            from digitdesk.core.training import _optimizer

            values = self.values(hp)
            config = trial_config(self.search.config, values, self.search.config.budget.epochs)
            keras.utils.set_random_seed(config.seed)  # every trial from seeded weights: reproducible, comparable
            model = build(config.arch, **shape(values))
            steps = math.ceil(self.search.n_train / config.batch_size)
            model.compile(optimizer=_optimizer(config, steps), loss=keras.losses.SparseCategoricalCrossentropy(),
                          metrics=["accuracy"])
            return model

        def fit(self, hp, model, *args, callbacks=None, epochs=None, initial_epoch=0, **kwargs):
            from digitdesk.core.training import make_dataset

            config = trial_config(self.search.config, self.values(hp), epochs or self.search.config.budget.epochs)
            self.search.batches = math.ceil(self.search.n_train / config.batch_size)
            ds = make_dataset(self.images, self.labels, config.batch_size,
                              config.augment_params if config.augment else None, True, config.seed)
            extra = [Validate(self.search)]
            if config.schedule == "plateau":
                extra.append(keras.callbacks.ReduceLROnPlateau(
                    monitor="val_loss", factor=config.plateau_factor, patience=config.plateau_patience,
                    min_lr=config.min_learning_rate))
            return model.fit(ds, epochs=config.epochs, initial_epoch=initial_epoch, verbose=0, shuffle=False,
                             callbacks=extra + list(callbacks or []))

    def hooks(base):
        class Tuner(base):
            """KerasTuner's ``base`` reporting progress and stopping on request."""

            def __init__(self, search: SearchState, *args, **kwargs):
                self.watch = search
                super().__init__(*args, **kwargs)

            def _try_build(self, hp):
                """KerasTuner's, without the two full garbage collections it runs before every trial
                (0.4 s a trial on two cores, a tenth of a short trial): the last trial's model goes
                with its last reference; the search has no size limit to check."""
                keras.backend.clear_session(free_memory=False)
                return self._build_hypermodel(hp)

            def _configure_tensorboard_dir(self, callbacks, trial, execution=0):
                """No TensorBoard callbacks here (and TensorFlow 2.21 comes without tensorboard)."""

            def pre_create_trial(self):
                if self.watch.stop_requested():
                    raise Stopped("stopped between trials")

            def on_trial_begin(self, trial):
                super().on_trial_begin(trial)
                s = self.watch
                epochs = int(trial.hyperparameters.values.get("tuner/epochs", s.config.budget.epochs))
                s.current = s.rows[trial.trial_id] = TrialRow(
                    trial.trial_id, {k: v for k, v in trial.hyperparameters.values.items() if k in HYPERPARAMETERS},
                    "running", None,
                    int(trial.hyperparameters.values.get("tuner/initial_epoch", 0)), epochs)  # Hyperband: continued
                s.trial_start = time.perf_counter()
                s.report("trial")

            def on_batch_end(self, trial, model, batch, logs=None):
                s, logs = self.watch, logs or {}
                if s.stop_requested():
                    model.stop_training = True
                s.report("batch", s.current.epoch + 1, batch + 1, float(logs.get("loss", math.nan)),
                         float(logs.get("accuracy", math.nan)), s.current.epoch + (batch + 1) / max(s.batches, 1))

            def on_epoch_end(self, trial, model, epoch, logs=None):
                s, logs = self.watch, logs or {}
                if s.cancelled or OBJECTIVE not in logs:
                    return
                row = s.current
                row.epoch += 1
                value = float(logs[OBJECTIVE])
                row.val_accuracy = value if row.val_accuracy is None else max(row.val_accuracy, value)
                row.seconds = time.perf_counter() - s.trial_start
                s.report("epoch", row.epoch, s.batches, float(logs.get("loss", math.nan)),
                         float(logs.get("accuracy", math.nan)), float(row.epoch))

            def run_trial(self, trial, *args, **kwargs):
                results = super().run_trial(trial, *args, **kwargs)
                if self.watch.cancelled:
                    self.watch.current.state = "stopped"
                    raise Stopped(f"trial {trial.trial_id} stopped")
                return results

            def on_trial_end(self, trial):
                super().on_trial_end(trial)
                s = self.watch
                row = s.rows[trial.trial_id] = replace(row_of(self.oracle.trials[trial.trial_id], s.current.epochs),
                                                        seconds=time.perf_counter() - s.trial_start)
                if row.state == "finished" and s.current.val_accuracy is not None:
                    row.epoch = s.current.epoch
                s.current = row
                s.report("trial", row.epoch, epoch_part=float(row.epochs))
                s.current = None

        Tuner.__name__ = base.__name__
        return Tuner

    _CLASSES = {"Stopped": Stopped, "HyperModel": HyperModel, "random": hooks(kt.RandomSearch),
                "bayes": hooks(kt.BayesianOptimization), "hyperband": hooks(kt.Hyperband)}
    return _CLASSES


_CLASSES = None


def _stand_in_for_grpc() -> None:
    """KerasTuner imports gRPC for its distributed tuning alone (its service stubs call it; a
    search on one machine never does). The desktop bundle leaves gRPC out (17 MB, build.spec):
    there an empty module stands in for it."""
    import sys
    import types

    try:
        import grpc  # noqa: F401
    except ImportError:
        sys.modules["grpc"] = types.ModuleType("grpc", "Stand-in: gRPC is not installed (digitdesk.core.tuning)")


def needs_scipy(algorithm: str) -> None:
    """TrainingError unless ``algorithm`` can run here: KerasTuner's Bayesian optimisation needs
    SciPy and scikit-learn (keras-tuner[bayesian]), which the desktop bundle leaves out."""
    if algorithm == "bayes":
        try:
            import scipy.optimize  # noqa: F401
            import sklearn.gaussian_process  # noqa: F401
        except ImportError:
            raise TrainingError("Bayesian optimisation needs SciPy and scikit-learn, which are not installed here (the "
                                "desktop bundle leaves them out): choose random search or Hyperband, or "
                                "pip install scipy scikit-learn") from None


def open_tuner(classes, config: SearchConfig, search: SearchState, hypermodel, common: dict):
    """The tuner of ``config.algorithm`` over its folder (``common``: KerasTuner's options)."""
    b = config.budget
    if config.algorithm == "hyperband":  # brackets again and again until the trials budget is spent
        tuner = classes["hyperband"](search, hypermodel, max_epochs=b.epochs, factor=3, hyperband_iterations=b.trials,
                                     **common)
    else:
        tuner = classes[config.algorithm](search, hypermodel, max_trials=b.trials, **common)
        _first_trial_from_preset(tuner.oracle)
    tuner.oracle.max_trials = b.trials  # a continued search may be given more trials
    return tuner


def same_values(a: dict, b: dict) -> bool:
    """Whether the values ``a`` hold every value of ``b`` (floats as near as equal)."""
    return all(k in a and (a[k] == b[k] or (isinstance(b[k], float) and math.isclose(float(a[k]), b[k])))
               for k in b)


def _first_trial_from_preset(oracle) -> None:
    """Make a new search's first trial the hyperparameters' defaults: the preset's values
    (:meth:`SearchConfig.start_values`), the point the search starts from."""
    populate = oracle.populate_space

    def first_then_search(trial_id):
        if not oracle.trials:
            return {"status": "RUNNING", "values": {hp.name: hp.default for hp in oracle.hyperparameters.space}}
        return populate(trial_id)

    oracle.populate_space = first_then_search
