"""Ensembles: one Keras model that averages the probabilities of two or more saved models.

The members are nested, each under its own name (``member_1`` ...), on one shared input, and
``keras.layers.Average`` joins their outputs: no Lambda layer, so the ensemble loads in safe
mode, meets the model contract, and gets a LiteRT twin like any other model.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from digitdesk import __version__
from digitdesk.core.data import Split
from digitdesk.core.errors import ModelError, raise_if_stopped
from digitdesk.core.evaluate import Report, predict_proba, report
from digitdesk.core.litert import TFLITE_SUFFIX
from digitdesk.core.modelio import check_contract, load_model, now_iso, read_metadata, save_model
from digitdesk.core.preprocess import PREPROCESS_VERSION

if TYPE_CHECKING:
    from digitdesk.core.data import Dataset
    from digitdesk.core.modelstore import ModelInfo, ModelStore

MIN_MEMBERS = 2
Progress = Callable[[int, int, str], None]  # steps done, steps in all, what is being done


@dataclass
class Member:
    """One model of an ensemble, as loaded from its file."""

    path: Path
    model: object
    metadata: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.metadata.get("name") or self.path.stem)


@dataclass
class EnsembleResult:
    """A saved ensemble, and how it and each member did on the same test images."""

    path: Path
    members: list[Member]
    member_reports: list[Report | None]
    report: Report | None
    metadata: dict
    model_id: str | None = None  # set when the ensemble was added to a ModelStore
    test_source: str = ""  # the images it was tested on, in words


def load_members(paths: list[str | os.PathLike]) -> list[Member]:
    """Load and check the ``.keras`` models of an ensemble (ModelError naming the file if one
    cannot be a member)."""
    if len(paths) < MIN_MEMBERS:
        raise ModelError(f"an ensemble needs at least {MIN_MEMBERS} models, not {len(paths)}")
    members = []
    for p in map(Path, paths):
        if p.suffix.lower() == TFLITE_SUFFIX:
            raise ModelError(f"{p}: a LiteRT (.tflite) model cannot be part of an ensemble; use the .keras model "
                             "it was made from")
        if p.suffix.lower() != ".keras":
            raise ModelError(f"{p}: not a Keras model file (an ensemble is built from .keras models)")
        members.append(Member(p, load_model(p), read_metadata(p)))
    versions = {m.metadata.get("preprocessing_version") for m in members} - {None}
    if len(versions) > 1:
        listed = ", ".join(f"{m.path.name}: {m.metadata.get('preprocessing_version', '?')}" for m in members)
        raise ModelError(f"these models expect differently framed digits (preprocessing versions {listed}); "
                         "an ensemble needs models of one version")
    return members


def store_members_problem(models: "list[ModelInfo]") -> str | None:
    """Why these listed models cannot make an ensemble, in a sentence (None if they can)."""
    if len(models) < MIN_MEMBERS:
        return f"An ensemble needs at least {MIN_MEMBERS} models: select them with Ctrl+click."
    for m in models:
        if m.broken:
            return f"“{m.name}” cannot be part of an ensemble: {m.broken}"
        if m.reading_only:
            return (f"“{m.name}” is a LiteRT (.tflite) model: it reads digits but cannot be part of an ensemble, "
                    "which is built from .keras models.")
    return None


def _probe() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.concatenate([np.zeros((1, 28, 28, 1)), np.full((1, 28, 28, 1), 255.0),
                           rng.integers(0, 256, (2, 28, 28, 1))]).astype(np.float32)


def check_member(model, where: str) -> None:
    """Raise ModelError unless ``model`` meets the contract and outputs probabilities (averaging
    anything else, logits say, would not give probabilities)."""
    check_contract(model, where)
    p = np.asarray(model(_probe(), training=False))
    if not (np.isfinite(p).all() and (p >= -1e-6).all() and np.allclose(p.sum(axis=1), 1.0, atol=1e-3)):
        raise ModelError(f"{where}: its outputs are not probabilities (the model must end in a softmax), "
                         "so it cannot be averaged with the others")


def _renamed(model, name: str):
    """A copy of ``model`` named ``name`` (the members of one model need distinct names)."""
    copy = model.__class__.from_config({**model.get_config(), "name": name})
    copy.set_weights(model.get_weights())
    return copy


def build_ensemble(models: list, name: str = "ensemble"):
    """One model that averages the probabilities of ``models`` (Keras models meeting the contract)."""
    from digitdesk.core.tfimport import import_tensorflow

    import_tensorflow()
    import keras

    if len(models) < MIN_MEMBERS:
        raise ModelError(f"an ensemble needs at least {MIN_MEMBERS} models, not {len(models)}")
    for i, model in enumerate(models):
        if not hasattr(model, "get_config") or not hasattr(model, "inputs"):
            raise ModelError(f"member {i + 1}: not a Keras model ({type(model).__name__})")
        check_member(model, f"member {i + 1} ({getattr(model, 'name', '?')})")
    pixels = keras.Input((28, 28, 1), name="pixels")
    outputs = [_renamed(m, f"member_{i + 1}")(pixels) for i, m in enumerate(models)]
    return keras.Model(pixels, keras.layers.Average(name="average")(outputs), name=name)


def _test_reports(members: list[Member], ensemble, test: Split | None, should_stop=None,
                  step: Callable[[str], None] = lambda _text: None) -> tuple[list[Report | None], Report | None]:
    if test is None or test.labels is None or len(test) == 0:
        return [None] * len(members), None
    reports = []
    for m in members:
        step(f"testing {m.name}")
        raise_if_stopped(should_stop, "the ensemble")
        probs = predict_proba(m.model, test.images)
        reports.append(report(test.labels, probs.argmax(axis=1), probs))
    step("testing the ensemble")
    raise_if_stopped(should_stop, "the ensemble")
    probs = predict_proba(ensemble, test.images)
    return reports, report(test.labels, probs.argmax(axis=1), probs)


def _metadata(members: list[Member], ensemble, member_reports: list[Report | None], rep: Report | None,
              data_source: str, name: str) -> dict:
    meta = {
        "name": name,
        "architecture": f"ensemble of {len(members)} ({', '.join(str(m.metadata.get('architecture') or m.model.name) for m in members)})",
        "parameters": int(ensemble.count_params()),
        "members": [{"name": m.name, "file": str(m.path), "architecture": m.metadata.get("architecture"),
                     "test_accuracy": None if r is None else round(r.accuracy, 6)}
                    for m, r in zip(members, member_reports)],
        "data": data_source or None,
        "date": now_iso(),
        "digitdesk_version": __version__,
        "preprocessing_version": next(iter({m.metadata.get("preprocessing_version") for m in members} - {None}),
                                      PREPROCESS_VERSION),
        "input": "(N, 28, 28, 1) float32 pixels 0..255, white ink on black, MNIST framing",
    }
    if rep is not None:
        meta["test_accuracy"] = round(rep.accuracy, 6)
        meta["test_report"] = rep.to_dict()
    return meta


def make_ensemble(members: list[Member], out: str | os.PathLike, test: Split | None = None,
                  data_source: str = "", name: str | None = None) -> EnsembleResult:
    """Build the ensemble of ``members`` (from :func:`load_members`), test it and each member on
    ``test`` (if labelled), and save it to ``out`` with its metadata and LiteRT twin."""
    from digitdesk.core.twin import write_twin

    out = Path(out)
    ensemble = build_ensemble([m.model for m in members])
    member_reports, rep = _test_reports(members, ensemble, test)
    meta = _metadata(members, ensemble, member_reports, rep, data_source, name or out.stem)
    save_model(ensemble, out, meta)
    write_twin(out, ensemble)
    return EnsembleResult(out, members, member_reports, rep, meta)


def _mnist() -> "Dataset":
    """MNIST as the Train tab finds it (its DataError says what to do when it is nowhere)."""
    import dataclasses

    from digitdesk.core.trainrequest import load_mnist_default

    return dataclasses.replace(load_mnist_default(), source="MNIST")


def ensemble_into_store(store: "ModelStore", paths: list[str | os.PathLike], name: str,
                        load_test: "Callable[[], Dataset] | None" = None,
                        should_stop: Callable[[], bool] | None = None,
                        on_progress: Progress | None = None) -> EnsembleResult:
    """Load the models at ``paths``, test each and their ensemble on the test split of
    ``load_test()`` (default: MNIST, found as the Train tab finds it) and add the ensemble to
    ``store`` as ``name`` (its LiteRT twin is left to the caller). ``should_stop`` is checked
    between the steps (``Cancelled`` once true); ``on_progress(done, total, text)`` before each."""
    name = name.strip()
    if not name:
        raise ModelError("the ensemble needs a name")
    total, done = 2 * len(paths) + 3, 0

    def step(text: str) -> None:
        nonlocal done
        if on_progress is not None:
            on_progress(done, total, text)
        done += 1

    step("loading the models")
    raise_if_stopped(should_stop, "the ensemble")
    members = load_members(paths)
    for m in members:
        check_member(m.model, f"{m.name} ({m.path.name})")
    done += len(members) - 1  # loading them was one step per model
    step("loading the test images")
    raise_if_stopped(should_stop, "the ensemble")
    dataset = load_test() if load_test is not None else _mnist()
    ensemble = build_ensemble([m.model for m in members], name="ensemble")
    member_reports, rep = _test_reports(members, ensemble, dataset.test, should_stop, step)
    step("saving")
    raise_if_stopped(should_stop, "the ensemble")
    info = store.add(ensemble, _metadata(members, ensemble, member_reports, rep, dataset.source, name), name)
    if on_progress is not None:
        on_progress(total, total, "done")
    test_source = f"{len(dataset.test):,} test images of {dataset.source}" if dataset.test is not None else ""
    return EnsembleResult(info.path, members, member_reports, rep, info.metadata, info.id, test_source)
