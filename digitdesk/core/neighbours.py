"""The nearest training digits: an index of the MNIST training digits by a model's penultimate
features (:meth:`digitdesk.core.explain.Explainer.embed`), and cosine look-ups in it.

The index is built on first use, in batches (each one a stop check: :class:`Cancelled`), and
kept in the per-user folder (``neighbours/``) under the model's content hash and the training
data's, as float16: a later session, or the command line, reads it instead of building it again.
It is written only when complete, to a temporary file renamed into place: a stopped or killed
build leaves no file behind, or the previous one.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from digitdesk.core.errors import DataError, raise_if_stopped
from digitdesk.core.modelio import atomic_write_bytes, describe_os_error
from digitdesk.core.paths import user_data_dir

if TYPE_CHECKING:
    from digitdesk.core.data import Split
    from digitdesk.core.explain import Explainer

INDEX_VERSION = 1
BATCH = 500  # digits embedded between two stop checks (about 0.1-0.2 s for the bundled model)
NEIGHBOURS = 5
Progress = Callable[[int, int], None]  # digits embedded, digits in all


@dataclass
class Neighbour:
    """One training digit near the input."""

    index: int  # row in the training split
    label: int
    similarity: float  # cosine similarity of the penultimate features (1: same direction)

    @property
    def distance(self) -> float:
        return 1.0 - self.similarity

    def to_dict(self) -> dict:
        return {"index": self.index, "label": self.label, "similarity": round(self.similarity, 6),
                "distance": round(self.distance, 6)}


@dataclass
class NeighbourIndex:
    """Unit-length features ``(N, D)`` of ``N`` training digits, with their labels (and images, to show)."""

    features: np.ndarray  # float32 (N, D), rows of length 1
    labels: np.ndarray  # (N,) int
    images: np.ndarray | None = None  # (N, 28, 28) uint8, the digits themselves
    from_cache: bool = False  # read from the per-user folder rather than built now
    seconds: float = 0.0  # time it took to build (or read)
    path: Path | None = None
    _by_class: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.features = np.ascontiguousarray(self.features, np.float32)
        self.labels = np.asarray(self.labels).astype(np.int64)
        for d in range(10):
            rows = np.flatnonzero(self.labels == d)
            self._by_class[d] = (rows, np.ascontiguousarray(self.features[rows]))

    def __len__(self) -> int:
        return len(self.labels)

    def nearest(self, query: np.ndarray, digit: int, k: int = NEIGHBOURS) -> list[Neighbour]:
        """The ``k`` training digits labelled ``digit`` whose features are closest (cosine) to
        ``query`` (one unit-length feature vector), nearest first."""
        rows, feats = self._by_class[int(digit)]
        if len(rows) == 0:
            return []
        sims = feats @ np.asarray(query, np.float32).ravel()
        k = min(k, len(rows))
        best = np.argpartition(-sims, k - 1)[:k]
        best = best[np.argsort(-sims[best], kind="stable")]
        return [Neighbour(int(rows[i]), int(digit), float(sims[i])) for i in best]


def data_key(images: np.ndarray, labels: np.ndarray) -> str:
    """A content hash of training digits and their labels."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(images, np.uint8).tobytes())
    digest.update(np.ascontiguousarray(labels, np.int64).tobytes())
    return digest.hexdigest()


def index_path(model_key: str, images_key: str, folder: Path | None = None) -> Path:
    """Where the index of a model (content hash) over some training digits (content hash) is kept."""
    return (folder or user_data_dir() / "neighbours") / f"{model_key[:32]}-{images_key[:16]}.npz"


def embed_batches(embed: Callable[[np.ndarray], np.ndarray], images: np.ndarray,
                  batch: int = BATCH) -> Iterator[tuple[int, np.ndarray]]:
    """The features of ``images``, one batch at a time: yields (digits done so far, the batch's features)."""
    for start in range(0, len(images), batch):
        chunk = images[start : start + batch]
        yield start + len(chunk), embed(chunk)


def _read(path: Path, n: int) -> np.ndarray | None:
    """The features stored at ``path`` for ``n`` digits, or None if there is no usable file."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["version"]) != INDEX_VERSION:
                return None
            feats = data["features"].astype(np.float32)
    except (OSError, ValueError, KeyError, EOFError):
        return None  # missing, or damaged: built again and replaced
    return feats if feats.ndim == 2 and len(feats) == n and np.isfinite(feats).all() else None


def _write(path: Path, feats: np.ndarray, labels: np.ndarray) -> None:
    buf = io.BytesIO()
    np.savez(buf, version=np.int64(INDEX_VERSION), features=feats.astype(np.float16), labels=labels.astype(np.uint8))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buf.getvalue())


_lock = threading.Lock()
_memory: dict[Path, NeighbourIndex] = {}  # the indexes built or read in this process


def build_index(explainer: "Explainer", images: np.ndarray, labels: np.ndarray,
                should_stop: Callable[[], bool] | None = None, on_progress: Progress | None = None,
                folder: Path | None = None, batch: int = BATCH) -> NeighbourIndex:
    """The index of ``images`` (training digits, ``(N, 28, 28)`` uint8) by ``explainer``'s
    features: from memory, else from the per-user folder (``folder`` overrides), else built in
    batches of ``batch`` (``should_stop`` checked before each: :class:`Cancelled`, nothing
    written) and saved. ModelError if the model has no penultimate layer."""
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) != len(labels) or len(images) == 0:
        raise DataError(f"the nearest digits need training digits (N, 28, 28) with N labels, "
                        f"not {images.shape} with {labels.shape}")
    explainer.embedding_model()  # its ModelError before any work
    t0 = time.perf_counter()
    path = index_path(explainer.key, data_key(images, labels), folder)
    with _lock:
        known = _memory.get(path)
    if known is not None:
        return known
    feats = _read(path, len(images))
    from_cache = feats is not None
    if feats is None:
        parts = []
        if on_progress is not None:
            on_progress(0, len(images))
        for done, part in embed_batches(explainer.embed, images, batch):
            raise_if_stopped(should_stop, "building the index of training digits")
            parts.append(part)
            if on_progress is not None:
                on_progress(done, len(images))
        feats = np.concatenate(parts)
        raise_if_stopped(should_stop, "building the index of training digits")
        try:
            _write(path, feats, labels)
        except OSError as exc:  # still usable now; built again next session
            import logging

            logging.getLogger(__name__).warning("%s: cannot keep the index (%s)", path, describe_os_error(exc))
        feats = feats.astype(np.float16).astype(np.float32)  # as it will be read next time
    index = NeighbourIndex(feats, labels, images, from_cache, time.perf_counter() - t0, path)
    with _lock:
        _memory.clear()  # one index at a time: 60,000 digits take about 30 MB
        _memory[path] = index
    return index


def forget_indexes() -> None:
    """Drop the indexes kept in memory (the files stay)."""
    with _lock:
        _memory.clear()


_training: dict[int | None, "Split"] = {}


def training_digits(limit: int | None = None) -> "Split":
    """The MNIST training split (its first ``limit`` digits), found as the Train tab finds it;
    DataError saying what to do when MNIST is nowhere. Kept in memory once read."""
    from digitdesk.core.data import Split
    from digitdesk.core.trainrequest import load_mnist_default

    with _lock:
        if None not in _training:
            _training.clear()
            _training[None] = load_mnist_default().train
        full = _training[None]
    if limit is None or limit >= len(full):
        return full
    return Split(full.images[:limit], None if full.labels is None else full.labels[:limit])


def neighbours_of(explainer: "Explainer", index: NeighbourIndex, input28: np.ndarray,
                  digits: tuple[int, ...], k: int = NEIGHBOURS) -> dict[int, list[Neighbour]]:
    """For each of ``digits``: the ``k`` training digits of that label nearest to ``input28``."""
    from digitdesk.core.explain import check_input

    query = explainer.embed(check_input(input28)[None])[0]
    return {int(d): index.nearest(query, d, k) for d in digits}
