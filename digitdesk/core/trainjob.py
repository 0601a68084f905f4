"""A complete training job: train, evaluate on the test split, save the model with metadata."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from digitdesk import __version__
from digitdesk.core.data import Dataset
from digitdesk.core.evaluate import Report, evaluate_model
from digitdesk.core.modelio import now_iso, save_model
from digitdesk.core.runrecord import RunRecorder
from digitdesk.core.runs import RunStore
from digitdesk.core.twin import write_twin
from digitdesk.core.preprocess import PREPROCESS_VERSION
from digitdesk.core.training import Progress, TrainConfig, TrainResult, epochs_trained, train


def build_metadata(config: TrainConfig, result: TrainResult, dataset: Dataset,
                   test_report: Report | None, name: str | None = None, base_model: str | None = None) -> dict:
    """The JSON metadata stored beside a trained model."""
    meta = {
        "name": name or config.arch,
        "architecture": config.arch,
        "parameters": int(result.model.count_params()),
        "data": dataset.source,
        "train_samples": len(dataset.train),
        "epochs": epochs_trained(result),  # what the model trained for, a stopped epoch by its share
        "epochs_planned": config.epochs,
        "best_epoch": result.best_epoch,
        "config": config.to_dict(),
        "augmentation": config.augment_params.to_dict() if config.augment else None,
        "history": {k: [round(v, 5) for v in vals] for k, vals in result.history.items()},
        "training_seconds": round(result.seconds, 1),
        "stopped_early": result.stopped,
        "stopped_by_user": result.cancelled,
        "fine_tuned_from": base_model,
        "date": now_iso(),
        "digitdesk_version": __version__,
        "preprocessing_version": PREPROCESS_VERSION,
        "input": "(N, 28, 28, 1) float32 pixels 0..255, white ink on black, MNIST framing",
    }
    if test_report is not None:
        meta["test_accuracy"] = round(test_report.accuracy, 6)
        meta["test_report"] = test_report.to_dict()
    return meta


def train_and_save(
    config: TrainConfig,
    dataset: Dataset,
    out: str | os.PathLike,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    initial_model=None,
    name: str | None = None,
    runs: RunStore | None = None,
    cluster=None,
    strategy=None,
) -> tuple[TrainResult, dict]:
    """Train on ``dataset.train``, evaluate on ``dataset.test`` (if labelled), save to ``out``
    with its LiteRT twin beside it (:func:`~digitdesk.core.twin.write_twin`). The run is kept in
    ``runs`` (default: the per-user runs store), also when it is cancelled or fails.

    With a ``cluster`` (:class:`~digitdesk.core.cluster.Cluster`), this process is one of its
    workers: all of them train the one model together, and only the chief (worker 0) tests it,
    saves it and keeps the run; the others write nothing (their metadata is returned only)."""
    if cluster is not None and not cluster.is_chief:
        result = train(config, dataset.train, on_progress=on_progress, should_stop=should_stop,
                       initial_model=initial_model, strategy=strategy)
        meta = build_metadata(config, result, dataset, None, name=name)
        meta["worker"] = {"index": cluster.index, "workers": list(cluster.workers)}
        return result, meta
    extra = {"workers": list(cluster.workers)} if cluster is not None else None
    recorder = RunRecorder.start(config, dataset.source, len(dataset.train), runs, name=name or config.arch, extra=extra)
    try:
        result = train(config, dataset.train, on_progress=recorder.progress(on_progress), should_stop=should_stop,
                       initial_model=initial_model, strategy=strategy)
        result.recorder = recorder
        test_report = None
        if dataset.test is not None and dataset.test.labels is not None and len(dataset.test):
            test_report = evaluate_model(result.model, dataset.test.images, dataset.test.labels)
        meta = build_metadata(config, result, dataset, test_report, name=name)
        meta["run_id"] = recorder.id
        if cluster is not None:
            meta["workers"] = list(cluster.workers)  # trained by these processes together
        save_model(result.model, out, meta)
        write_twin(out, result.model)
    except BaseException as exc:
        recorder.fail(exc)
        raise
    recorder.finish(result, test_report, model_path=Path(out).resolve())
    return result, meta
