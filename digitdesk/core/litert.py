"""Reading with LiteRT (``ai-edge-litert``): a ``.tflite`` digit model run without TensorFlow.

The file is checked before the interpreter sees it (size, the FlatBuffer identifier), the
interpreter's own verifier refuses malformed FlatBuffers, and the model contract is checked on
what it declares (one float input ``(N, 28, 28, 1)``, one output of 10) and on a probe batch.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from digitdesk.core.errors import ModelError

MAX_TFLITE_BYTES = 64 * 2**20  # a digit model is a few MB; a larger .tflite is refused unread
MAX_TENSOR_BYTES = 256 * 2**20  # everything the model allocates for one digit (a memory bomb is refused)
# The most digits run at once. Allocating the tensors for a new batch size holds Python's lock
# (running them does not), for a time that grows with the size: 136 ms for 2,000 digits, 20 ms
# for 256, measured here; a larger batch runs in slices of this many, so the window never waits
# long for an evaluation on a worker thread. Per digit, both sizes run alike.
MAX_BATCH = 256
TFLITE_IDENTIFIER = b"TFL3"  # bytes 4..8 of every TensorFlow Lite FlatBuffer
TFLITE_SUFFIX = ".tflite"
# XNNPACK threads per interpreter: two where there are two cores (one digit 0.22-0.27 ms against
# 0.36-0.39 ms on one: BENCHMARKS.md), one on a single core; $DIGITDESK_READ_THREADS sets it.


def _read_threads() -> int:
    """``$DIGITDESK_READ_THREADS`` if it is a whole number of at least 1, else two where there
    are two cores or more."""
    given = os.environ.get("DIGITDESK_READ_THREADS", "").strip()
    return int(given) if given.isdigit() and int(given) >= 1 else min(2, os.cpu_count() or 1)


READ_THREADS = _read_threads()


def _interpreter_class():
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter


def read_tflite(path: str | os.PathLike) -> bytes:
    """The bytes of a ``.tflite`` file, or ModelError if it cannot be a digit model (cheap)."""
    path = Path(path)
    if path.is_dir():
        raise ModelError(f"{path}: is a folder, not a model file")
    try:
        size = path.stat().st_size
        if size > MAX_TFLITE_BYTES:
            raise ModelError(f"{path}: refusing to read {size / 2**20:.0f} MB (larger than any digit model)")
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"{path}: no such model file") from None
    except OSError as exc:
        raise ModelError(f"{path}: cannot read ({exc.strerror or exc})") from None
    check_identifier(data, str(path))
    return data


def check_identifier(data: bytes, where: str) -> None:
    """Raise ModelError unless ``data`` starts like a TensorFlow Lite model."""
    if len(data) < 16 or data[4:8] != TFLITE_IDENTIFIER:
        raise ModelError(f"{where}: not a LiteRT model file (no TFL3 identifier: empty, truncated or another format)")


class LiteModel:
    """A checked LiteRT interpreter for one digit model; ``model(batch)`` gives probabilities.

    ``batch`` is float32 ``(N, 28, 28, 1)`` with raw pixel values 0..255. One interpreter serves
    every thread, one call at a time (a call on one digit takes a fraction of a millisecond), on
    READ_THREADS of XNNPACK's threads."""

    def __init__(self, data: bytes, where: str = "model"):
        check_identifier(data, where)
        self.where = where
        self.size_bytes = len(data)
        from digitdesk.core.tfimport import native_output_quieted

        with native_output_quieted():  # the XNNPACK delegate announces itself on stderr
            try:
                self._interp = _interpreter_class()(model_content=bytes(data), num_threads=READ_THREADS)
            except (ValueError, RuntimeError) as exc:  # "not a valid Flatbuffer buffer", unknown ops
                raise ModelError(f"{where}: not a usable LiteRT model ({_first_line(exc)})") from None
            self._lock = threading.Lock()
            self._check_contract()
            self._batch = -1
            self._resize(1)
            self._check_memory()

    @classmethod
    def load(cls, path: str | os.PathLike) -> "LiteModel":
        """Read and check a ``.tflite`` file."""
        return cls(read_tflite(path), str(path))

    def _check_contract(self) -> None:
        try:
            ins, outs = self._interp.get_input_details(), self._interp.get_output_details()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"{self.where}: not a usable LiteRT model ({_first_line(exc)})") from None
        if len(ins) != 1:
            raise ModelError(f"{self.where}: the model has {len(ins)} inputs; digitdesk models take one (None, 28, 28, 1) image")
        if len(outs) != 1:
            raise ModelError(f"{self.where}: the model has {len(outs)} outputs; digitdesk models give one (None, 10)")
        shape_in = tuple(int(v) for v in ins[0].get("shape_signature", ins[0]["shape"]))
        shape_out = tuple(int(v) for v in outs[0].get("shape_signature", outs[0]["shape"]))
        if len(shape_in) != 4 or shape_in[1:] != (28, 28, 1) or shape_in[0] not in (-1, 1):
            raise ModelError(f"{self.where}: input shape is {shape_in}, digitdesk models take (None, 28, 28, 1)")
        if len(shape_out) != 2 or shape_out[1] != 10 or shape_out[0] not in (-1, 1):
            raise ModelError(f"{self.where}: output shape is {shape_out}, digitdesk models give (None, 10)")
        if ins[0]["dtype"] != np.float32 or outs[0]["dtype"] != np.float32:
            raise ModelError(f"{self.where}: the model reads {np.dtype(ins[0]['dtype']).name} and gives "
                             f"{np.dtype(outs[0]['dtype']).name}; digitdesk models take and give float32 "
                             "(raw pixel values 0..255 in, probabilities out)")
        self._in, self._out = ins[0]["index"], outs[0]["index"]
        self._dynamic = shape_in[0] == -1

    def _check_memory(self) -> None:
        """Refuse a model whose tensors for one digit exceed MAX_TENSOR_BYTES. Checked once they
        are allocated (a shape can depend on the input), before anything runs or touches them."""
        total = 0
        for t in self._interp.get_tensor_details():
            total += int(np.prod([max(int(v), 0) for v in t["shape"]], dtype=np.int64)) * np.dtype(t["dtype"]).itemsize
        if total > MAX_TENSOR_BYTES:
            raise ModelError(f"{self.where}: refusing to run a model that needs {total / 2**20:.0f} MB for one "
                             "digit (no digit model needs that much)")

    def _resize(self, n: int) -> None:
        try:
            if n != self._batch and (self._dynamic or self._batch == -1):
                if self._dynamic:
                    self._interp.resize_tensor_input(self._in, [n, 28, 28, 1], strict=True)
                self._interp.allocate_tensors()
                self._batch = n if self._dynamic else 1
        except (ValueError, RuntimeError) as exc:
            self._batch = -1
            raise ModelError(f"{self.where}: the model cannot be run ({_first_line(exc)})") from None

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities ``(N, 10)`` float32 for ``batch`` float32 ``(N, 28, 28, 1)``."""
        batch = np.ascontiguousarray(batch, np.float32)
        with self._lock:
            step = MAX_BATCH if self._dynamic else 1  # 1: a model exported for one digit at a time
            if len(batch) <= step:
                return self._run(batch)
            return np.concatenate([self._run(batch[i:i + step]) for i in range(0, len(batch), step)])

    def _run(self, batch: np.ndarray) -> np.ndarray:
        self._resize(len(batch))
        try:
            self._interp.set_tensor(self._in, batch)
            self._interp.invoke()
            return self._interp.get_tensor(self._out)
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"{self.where}: the model failed to run ({_first_line(exc)})") from None

    # What the Models tab and the self-test show of a Keras model.
    @property
    def name(self) -> str:
        return Path(self.where).stem

    def count_params(self) -> int:
        """An estimate of the number of weights (float32 values in the file); the metadata beside
        a model has the exact count."""
        return self.size_bytes // 4


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
