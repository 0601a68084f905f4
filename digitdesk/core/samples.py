"""The user's own handwriting samples: corrected 28x28 crops ("this is a 4") kept for fine-tuning.

Each sample is one PNG, ``samples/<digit>/<time>-<uuid>.png`` in the per-user data folder, written
to a temporary file and renamed into place: a crash never leaves a half-written sample, and
two windows adding samples at once never collide. The temporary file of an add killed half-way
is removed by the next add of that digit (or by :meth:`SampleStore.clear`).
"""

from __future__ import annotations

import datetime as _dt
import os
import uuid
from pathlib import Path

import cv2
import numpy as np

from digitdesk.core.data import Split
from digitdesk.core.errors import DataError
from digitdesk.core.modelio import atomic_write_bytes, describe_os_error
from digitdesk.core.paths import user_data_dir

SUFFIX = ".png"


def _os_message(exc: OSError) -> str:
    return exc.strerror or str(exc)


class SampleStore:
    """Labelled 28x28 uint8 digits (MNIST framing, white ink on black) in ``root`` (default:
    ``user_data_dir()/samples``)."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else user_data_dir() / "samples"
        self.skipped: list[str] = []  # files the last load() could not read, with the reason

    def _folder(self, label: int) -> Path:
        return self.root / str(label)

    def add(self, image28: np.ndarray, label: int) -> Path:
        """Store one framed digit with its label; returns the new file's path."""
        image = np.asarray(image28)
        if image.shape != (28, 28):
            raise DataError(f"a sample must be a 28x28 image, not {image.shape}")
        if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= int(label) <= 9:
            raise DataError(f"a sample's label must be a digit 0..9, not {label!r}")
        if image.dtype != np.uint8:
            image = np.clip(np.nan_to_num(image.astype(np.float64)), 0, 255).round().astype(np.uint8)
        ok, png = cv2.imencode(SUFFIX, image)
        if not ok:  # pragma: no cover - OpenCV always encodes a 28x28 uint8 image
            raise DataError("cannot encode the sample as PNG")
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        path = self._folder(int(label)) / f"{stamp}-{uuid.uuid4().hex[:12]}{SUFFIX}"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, png.tobytes())  # also removes what killed adds left in the folder
        except OSError as exc:
            raise DataError(f"cannot save the sample in {self.root}: {describe_os_error(exc)}") from None
        return path

    def items(self) -> list[tuple[Path, int]]:
        """Every sample file with its label, by digit, then oldest first."""
        found = []
        for label in range(10):
            folder = self._folder(label)
            try:
                names = sorted(p for p in folder.iterdir()
                               if p.suffix == SUFFIX and not p.name.startswith(".") and p.is_file())
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise DataError(f"cannot read the samples in {folder}: {_os_message(exc)}") from None
            found.extend((p, label) for p in names)
        return found

    def counts(self) -> dict[int, int]:
        """Samples per digit; every digit 0..9 is a key."""
        counts = {d: 0 for d in range(10)}
        for _, label in self.items():
            counts[label] += 1
        return counts

    def __len__(self) -> int:
        return len(self.items())

    def load(self) -> Split:
        """All samples as a Split (images ``(N, 28, 28)`` uint8, labels ``(N,)``); files that cannot
        be read are left out and listed in ``self.skipped``."""
        images, labels, skipped = [], [], []
        for path, label in self.items():
            try:
                data = np.fromfile(path, np.uint8)
                image = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE) if data.size else None  # imdecode raises on b""
            except OSError as exc:
                skipped.append(f"{path}: {_os_message(exc)}")
                continue
            if image is None or image.shape != (28, 28):
                skipped.append(f"{path}: not a 28x28 image")
                continue
            images.append(image)
            labels.append(label)
        self.skipped = skipped
        if not images:
            return Split(np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64))
        return Split(np.stack(images), np.asarray(labels, np.int64))

    def _inside(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        try:
            path.resolve().relative_to(self.root.resolve())
        except ValueError:
            raise DataError(f"{path} is not one of your samples (they are in {self.root})") from None
        return path

    def remove(self, path: str | os.PathLike) -> None:
        """Delete one sample (a path from :meth:`add` or :meth:`items`); a missing one is ignored."""
        path = self._inside(path)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise DataError(f"cannot delete the sample {path}: {_os_message(exc)}") from None

    def clear(self) -> None:
        """Delete every sample (and any temporary file a crash left behind)."""
        for label in range(10):
            folder = self._folder(label)
            if not folder.is_dir():
                continue
            for path in folder.iterdir():
                if path.is_file() and (path.suffix == SUFFIX or path.name.startswith(".")):
                    self.remove(path)
