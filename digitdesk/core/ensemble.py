"""Ensembles: one Keras model that averages the probabilities of two or more saved models.

The members are nested, each under its own name (``member_1`` ...), on one shared input, and
``keras.layers.Average`` joins their outputs: no Lambda layer, so the ensemble loads in safe
mode, meets the model contract, and gets a LiteRT twin like any other model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from digitdesk import __version__
from digitdesk.core.data import Split
from digitdesk.core.errors import ModelError
from digitdesk.core.evaluate import Report, predict_proba, report
from digitdesk.core.litert import TFLITE_SUFFIX
from digitdesk.core.modelio import check_contract, load_model, now_iso, read_metadata, save_model
from digitdesk.core.preprocess import PREPROCESS_VERSION

MIN_MEMBERS = 2


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


def _test_reports(members: list[Member], ensemble, test: Split | None) -> tuple[list[Report | None], Report | None]:
    if test is None or test.labels is None or len(test) == 0:
        return [None] * len(members), None
    reports = []
    for m in members:
        probs = predict_proba(m.model, test.images)
        reports.append(report(test.labels, probs.argmax(axis=1), probs))
    probs = predict_proba(ensemble, test.images)
    return reports, report(test.labels, probs.argmax(axis=1), probs)


def make_ensemble(members: list[Member], out: str | os.PathLike, test: Split | None = None,
                  data_source: str = "", name: str | None = None) -> EnsembleResult:
    """Build the ensemble of ``members`` (from :func:`load_members`), test it and each member on
    ``test`` (if labelled), and save it to ``out`` with its metadata and LiteRT twin."""
    from digitdesk.core.twin import write_twin

    out = Path(out)
    ensemble = build_ensemble([m.model for m in members])
    member_reports, rep = _test_reports(members, ensemble, test)
    meta = {
        "name": name or out.stem,
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
    save_model(ensemble, out, meta)
    write_twin(out, ensemble)
    return EnsembleResult(out, members, member_reports, rep, meta)
