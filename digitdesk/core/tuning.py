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
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from digitdesk.core.data import Split
from digitdesk.core.errors import TrainingError
from digitdesk.core.tuners import OBJECTIVE, STATES, SearchProgress, SearchState, TrialRow, best_row  # noqa: F401  (the API is here)
from digitdesk.core.tunespace import SearchConfig, shape, trial_config

SETTINGS_FILE = "search.json"  # our settings beside KerasTuner's files, to check a continued search


def tuning_dir() -> Path:
    """Where the searches' folders are: ``tuning/`` in the per-user data folder."""
    from digitdesk.core.paths import user_data_dir

    return user_data_dir() / "tuning"


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
        return best_row(self.rows)

    def ranked(self) -> list[TrialRow]:
        """Finished trials by score, best first, then the others in trial order."""
        done = sorted((r for r in self.rows if r.state == "finished" and r.val_accuracy is not None),
                      key=lambda r: (-r.val_accuracy, int(r.id)))
        return done + [r for r in self.rows if r not in done]


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

    from digitdesk.core.tuners import keras_tuner_classes, needs_scipy, open_tuner, row_of, same_values

    needs_scipy(config.algorithm)
    import_tensorflow()
    classes = keras_tuner_classes()
    folder = Path(root or tuning_dir()) / config.folder_name
    _check_folder(config, folder, fresh)
    train, val = split_validation(limit(data, config.budget.images, config.seed), config.validation_split, config.seed)
    val_ds = make_dataset(val.images, val.labels, 1024, None, False, config.seed)
    search = SearchState(config, len(train), on_progress, should_stop, val_ds)
    hypermodel = classes["HyperModel"](search, train.images, train.labels)
    common = dict(objective=OBJECTIVE, seed=config.seed + 1,  # KerasTuner takes a seed of 0 for "none"
                  directory=str(folder.parent), project_name=folder.name,
                  overwrite=False, max_retries_per_trial=0, max_consecutive_failed_trials=3)
    b = config.budget
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # KerasTuner prints "Reloading Tuner from ..."
            tuner = open_tuner(classes, config, search, hypermodel, common)
    except (RuntimeError, ValueError, KeyError, OSError) as exc:  # its files damaged (a crash while writing them)
        raise TrainingError(f"cannot continue the search {config.folder_name!r} in {folder}: its files are damaged "
                            f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); start it over "
                            "(--fresh) or give it another name") from None

    for trial in tuner.oracle.trials.values():
        search.rows[trial.trial_id] = row_of(trial, b.epochs)
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
    start_id = next((r.id for r in rows if config.algorithm != "hyperband" and same_values(r.values, start)), None)
    return SearchResult(config, rows, search.cancelled, time.perf_counter() - search.start, folder, start_id)


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
