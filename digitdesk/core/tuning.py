"""Hyperparameter search with KerasTuner: random search, Bayesian optimisation or Hyperband over
a :class:`~digitdesk.core.tunespace.SearchSpace`, then the best configuration trained to the end.

The tuner's folder is ``user_data_dir()/tuning/<name>`` (KerasTuner's ``overwrite=False``): the
same name continues a search after a Stop, a crash or a quit. A trial stopped part-way stays
"running" in KerasTuner's oracle, which runs it again when the search continues; finished
trials are never run twice. Progress reaches ``on_progress`` as :class:`SearchProgress`; the
search polls ``should_stop`` after every batch and ends within one.

``keras_tuner`` imports TensorFlow: it is imported inside the functions only.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from digitdesk.core.data import Split
from digitdesk.core.errors import TrainingError
from digitdesk.core.tunespace import HYPERPARAMETERS, SearchConfig, shape, trial_config

OBJECTIVE = "val_accuracy"
SETTINGS_FILE = "search.json"  # our settings beside KerasTuner's files, to check a continued search
STATES = ("running", "finished", "stopped", "failed")


def tuning_dir() -> Path:
    """Where the searches' folders are: ``tuning/`` in the per-user data folder."""
    from digitdesk.core.paths import user_data_dir

    return user_data_dir() / "tuning"


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


@dataclass
class SearchResult:
    """The trials of a finished or stopped search, best first."""

    config: SearchConfig
    rows: list[TrialRow]  # in trial order
    cancelled: bool
    seconds: float
    folder: Path
    start_id: str | None = None  # the trial that ran the preset's values

    @property
    def best(self) -> TrialRow | None:
        done = [r for r in self.rows if r.state == "finished" and r.val_accuracy is not None]
        return max(done, key=lambda r: (r.val_accuracy, -int(r.id))) if done else None

    def ranked(self) -> list[TrialRow]:
        """Finished trials by score, best first, then the others in trial order."""
        done = sorted((r for r in self.rows if r.state == "finished" and r.val_accuracy is not None),
                      key=lambda r: (-r.val_accuracy, int(r.id)))
        return done + [r for r in self.rows if r not in done]


class _Search:
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
        done = [r for r in self.rows.values() if r.state == "finished" and r.val_accuracy is not None]
        return max(done, key=lambda r: (r.val_accuracy, -int(r.id))) if done else None

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


def _row(trial, epochs: int) -> TrialRow:
    """A KerasTuner Trial as a row; a trial left "RUNNING" on disk was stopped part-way."""
    status = str(trial.status)
    state = {"COMPLETED": "finished", "FAILED": "failed", "INVALID": "failed"}.get(status, "stopped")
    values = {k: v for k, v in trial.hyperparameters.values.items() if k in HYPERPARAMETERS}
    score = trial.score if state == "finished" else None
    history = trial.metrics.get_history(OBJECTIVE) if trial.metrics.exists(OBJECTIVE) else []
    best = max((float(o.value[0] if isinstance(o.value, (list, tuple)) else o.value) for o in history), default=None)
    message = (trial.message or "").strip().splitlines()
    return TrialRow(str(trial.trial_id), values, state, float(score) if score is not None else best,
                    len(history) if state == "finished" else 0, epochs, 0.0, message[-1] if message else "")


def _classes():
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

        def __init__(self, search: _Search):
            super().__init__()
            self.search = search

        def on_epoch_end(self, epoch, logs=None):
            if logs is not None and not self.search.cancelled:
                val = self.model.evaluate(self.search.val_ds, verbose=0, return_dict=True)
                logs.update({"val_" + k: v for k, v in val.items()})

    class HyperModel(kt.HyperModel):
        """A family's model with the search space's hyperparameters."""

        def __init__(self, search: _Search, images, labels):
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

            def __init__(self, search: _Search, *args, **kwargs):
                self.watch = search
                super().__init__(*args, **kwargs)

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
                    "running", None, 0, epochs)
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
                row = s.rows[trial.trial_id] = replace(_row(self.oracle.trials[trial.trial_id], s.current.epochs),
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


def _needs_scipy(algorithm: str) -> None:
    if algorithm == "bayes":
        try:
            import scipy.optimize  # noqa: F401
        except ImportError:
            raise TrainingError("Bayesian optimisation needs scipy, which is not installed here (the desktop "
                                "bundle leaves it out): choose random search or Hyperband, or pip install scipy") from None


def _check_folder(config: SearchConfig, folder: Path, fresh: bool) -> None:
    """Refuse to continue a search begun with other settings; write this search's settings."""
    import shutil

    settings = folder / SETTINGS_FILE
    if fresh and folder.exists():
        shutil.rmtree(folder)
    elif settings.is_file():
        try:
            before = SearchConfig.from_dict(json.loads(settings.read_text()))
        except (OSError, ValueError, TrainingError) as exc:
            raise TrainingError(f"the search {config.folder_name!r} in {folder} cannot be continued: its {SETTINGS_FILE} "
                                f"is unreadable ({exc}); start it over (--fresh) or choose another name") from None
        old, new = before.fingerprint(), config.fingerprint()
        diff = [k for k in new if old.get(k) != new[k]]
        if diff:
            raise TrainingError(f"the search {config.folder_name!r} in {folder} was begun with other settings "
                                f"({', '.join(diff)} differ): continue it with the same ones, start it over "
                                "(--fresh), or give this search another name (--name)")
    elif folder.exists() and any(folder.iterdir()):
        raise TrainingError(f"{folder} holds files that are not a digitdesk search: choose another name, or start over (--fresh)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        from digitdesk.core.modelio import atomic_write_bytes

        atomic_write_bytes(settings, json.dumps(config.to_dict(), indent=1).encode())
    except OSError as exc:
        raise TrainingError(f"cannot write the search's folder {folder}: {exc.strerror or exc}") from None


def saved_search(name: str, root: str | Path | None = None) -> SearchConfig:
    """The settings of the search ``name`` (to continue it as it was begun)."""
    folder = Path(root or tuning_dir()) / name
    try:
        return SearchConfig.from_dict(json.loads((folder / SETTINGS_FILE).read_text()))
    except FileNotFoundError:
        raise TrainingError(f"no search named {name!r} in {folder.parent}") from None
    except (OSError, ValueError) as exc:
        raise TrainingError(f"the search {name!r} cannot be read: {exc}") from None


def run_search(config: SearchConfig, data: Split, on_progress: Callable[[SearchProgress], None] | None = None,
               should_stop: Callable[[], bool] | None = None, root: str | Path | None = None,
               fresh: bool = False) -> SearchResult:
    """Search ``config``'s space on ``data`` (at most ``budget.images`` of it; ``validation_split``
    held out), continuing the search of the same name in ``root`` (default :func:`tuning_dir`)
    unless ``fresh``. Returns the trials; TrainingError when it cannot start or every trial failed."""
    config.validate()
    if data.labels is None or len(data) < 20:
        raise TrainingError("a search needs at least 20 labelled training images")
    from digitdesk.core.tfimport import import_tensorflow
    from digitdesk.core.trainrequest import limit
    from digitdesk.core.training import make_dataset, split_validation

    _needs_scipy(config.algorithm)
    import_tensorflow()
    classes = _classes()
    folder = Path(root or tuning_dir()) / config.folder_name
    _check_folder(config, folder, fresh)
    train, val = split_validation(limit(data, config.budget.images, config.seed), config.validation_split, config.seed)
    val_ds = make_dataset(val.images, val.labels, 1024, None, False, config.seed)
    search = _Search(config, len(train), on_progress, should_stop, val_ds)
    hypermodel = classes["HyperModel"](search, train.images, train.labels)
    common = dict(objective=OBJECTIVE, seed=config.seed + 1,  # KerasTuner takes a seed of 0 for "none"
                  directory=str(folder.parent), project_name=folder.name,
                  overwrite=False, max_retries_per_trial=0, max_consecutive_failed_trials=3)
    b = config.budget
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # KerasTuner prints "Reloading Tuner from ..."
            tuner = _open_tuner(classes, config, search, hypermodel, common)
    except (RuntimeError, ValueError, KeyError, OSError) as exc:  # its files damaged (a crash while writing them)
        raise TrainingError(f"cannot continue the search {config.folder_name!r} in {folder}: its files are damaged "
                            f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); start it over "
                            "(--fresh) or give it another name") from None

    for trial in tuner.oracle.trials.values():
        search.rows[trial.trial_id] = _row(trial, b.epochs)
    search.done_at_start = search._fraction(0.0)
    search.report("trial")
    try:
        tuner.search(verbose=0)
    except classes["Stopped"]:
        pass
    except RuntimeError as exc:  # KerasTuner: too many trials in a row failed
        lines = str(exc).strip().splitlines()
        raise TrainingError(f"the search stopped: {lines[0]}" + (f" (the last: {lines[-1]})" if len(lines) > 1 else "")) from None
    rows = sorted(search.rows.values(), key=lambda r: int(r.id))
    start = config.start_values()
    start_id = next((r.id for r in rows if config.algorithm != "hyperband" and _same(r.values, start)), None)
    return SearchResult(config, rows, search.cancelled, time.perf_counter() - search.start, folder, start_id)


def _open_tuner(classes, config: SearchConfig, search: _Search, hypermodel, common: dict):
    b = config.budget
    if config.algorithm == "hyperband":  # brackets again and again until the trials budget is spent
        tuner = classes["hyperband"](search, hypermodel, max_epochs=b.epochs, factor=3, hyperband_iterations=b.trials,
                                     **common)
    else:
        tuner = classes[config.algorithm](search, hypermodel, max_trials=b.trials, **common)
        _first_trial_from_preset(tuner.oracle)
    tuner.oracle.max_trials = b.trials  # a continued search may be given more trials
    return tuner


def _same(a: dict, b: dict) -> bool:
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


@dataclass
class BestModel:
    """The best configuration trained to the end and tested: what the CLI saves and the Train tab offers."""

    values: dict
    config: object  # its core.training.TrainConfig
    result: object  # core.training.TrainResult (its ``recorder`` keeps the run)
    test_report: object | None  # core.evaluate.Report on the test split
    metadata: dict = field(default_factory=dict)


def search_summary(search: SearchResult) -> dict:
    """What a model trained from a search records about it (metadata and the run)."""
    best, start = search.best, next((r for r in search.rows if r.id == search.start_id), None)
    return {"name": search.config.folder_name, "family": search.config.family, "algorithm": search.config.algorithm,
            "space": search.config.space.to_dict(), "budget": search.config.to_dict()["budget"],
            "trials": len(search.rows), "finished": sum(r.state == "finished" for r in search.rows),
            "best_trial": best.id if best else None, "best_values": dict(best.values) if best else None,
            "best_val_accuracy": best.val_accuracy if best else None,
            "start_val_accuracy": start.val_accuracy if start else None, "folder": str(search.folder)}


def train_best(search: SearchResult, dataset, on_progress=None, should_stop=None, runs=None, out=None,
               source: str = "cli", name: str | None = None) -> BestModel:
    """Train the best trial's configuration for ``budget.final_epochs`` on ``budget.final_images``
    of ``dataset.train``, test it on ``dataset.test`` and keep it as a run in ``runs`` (default:
    the per-user store), as ``digitdesk train`` does; ``out``: also save it there with its
    metadata and LiteRT twin. TrainingError when no trial finished."""
    from digitdesk import __version__  # noqa: F401  (metadata via trainjob)
    from digitdesk.core.evaluate import evaluate_model
    from digitdesk.core.models import build
    from digitdesk.core.runrecord import RunRecorder
    from digitdesk.core.trainjob import build_metadata
    from digitdesk.core.trainrequest import limit
    from digitdesk.core.training import train

    best = search.best
    if best is None:
        raise TrainingError("no trial of the search finished, so there is no best configuration to train: "
                            "run the search again to continue it")
    b = search.config.budget
    config = trial_config(search.config, best.values, b.final_epochs)
    train_split = limit(dataset.train, b.final_images, search.config.seed)
    summary = search_summary(search)
    name = name or f"{search.config.family} (searched)"
    recorder = RunRecorder.start(config, dataset.source, len(train_split), runs, name=name, source=source,
                                 extra={"search": summary})
    try:
        import keras

        keras.utils.set_random_seed(config.seed)  # train() seeds again: this is for the initial weights
        model = build(config.arch, **shape(best.values))
        result = train(config, train_split, on_progress=recorder.progress(on_progress), should_stop=should_stop,
                       initial_model=model)
        result.recorder = recorder
        report = None
        if dataset.test is not None and dataset.test.labels is not None and len(dataset.test):
            report = evaluate_model(result.model, dataset.test.images, dataset.test.labels)
        used = replace(dataset, train=train_split)
        meta = build_metadata(config, result, used, report, name=name)
        meta["search"] = summary
        meta["run_id"] = recorder.id
        if out is not None:
            from digitdesk.core.modelio import save_model
            from digitdesk.core.twin import write_twin

            save_model(result.model, out, meta)
            write_twin(out, result.model)
    except BaseException as exc:
        recorder.fail(exc)
        raise
    recorder.finish(result, report, model_path=Path(out).resolve() if out is not None else None)
    return BestModel(dict(best.values), config, result, report, meta)
