"""No Qt needed. Shared pieces of the property-based (hypothesis) tests: a reproducible
settings profile, array strategies of every dtype and shape, and the "documented result or
documented error" check."""

from __future__ import annotations

import re

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from digitdesk.core.errors import DigitdeskError

# Text that must never reach a person: a traceback, a raw OpenCV error, a bare repr of an exception.
_UNHUMAN = re.compile(r"Traceback|cv2\.error|error: \(-\d+:|File \"[^\"]+\", line \d+|^\s*$")


def fuzz(max_examples: int, *, slow_data: bool = False) -> settings:
    """Reproducible hypothesis settings: derandomized, no example database, no deadline (2 shared
    cores make timings noisy). ``slow_data`` allows large generated arrays (1xN images, real
    files), which is what those tests are about."""
    checks = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example] if slow_data else []
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=True,
        suppress_health_check=checks,
    )


def assert_human(exc: DigitdeskError, *words: str) -> None:
    """A documented error whose message is for a person: non-empty, no traceback or raw library text."""
    assert isinstance(exc, DigitdeskError), type(exc)
    message = str(exc)
    assert message.strip(), f"{type(exc).__name__} with an empty message"
    assert not _UNHUMAN.search(message), f"message not meant for a person: {message!r}"
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


def outcome(fn, *args, **kwargs):
    """``fn``'s result, or the DigitdeskError it raised (checked to be human). Anything else propagates."""
    try:
        return fn(*args, **kwargs)
    except DigitdeskError as exc:
        assert_human(exc)
        return exc


# --------------------------------------------------------------------------- arrays

REAL_DTYPES = [
    np.dtype(t)
    for t in ("bool", "uint8", "int8", "uint16", "int16", "int32", "int64", "uint32", "uint64",
              "float16", "float32", "float64", ">u2", ">i4", ">f8")  # big-endian too, as IDX/TIFF data are
]
OTHER_DTYPES = [np.dtype(t) for t in ("complex64", "complex128")]


def _channel_shapes(max_side: int) -> st.SearchStrategy[tuple[int, ...]]:
    side = st.integers(0, max_side)
    return st.one_of(
        st.just(()),  # 0-d
        st.tuples(side),  # 1-d
        st.tuples(side, side),  # 2-d
        st.tuples(side, side, st.integers(0, 5)),  # 3-d, 0..5 channels
        st.tuples(st.integers(0, 3), side, side, st.sampled_from([1, 3])),  # 4-d: a batch
        st.tuples(st.just(1), st.integers(1, 6000)),  # huge aspect ratio, both ways
        st.tuples(st.integers(1, 6000), st.just(1)),
        st.tuples(st.just(2), st.integers(1, 3000), st.just(3)),
    )


def object_arrays(shapes) -> st.SearchStrategy[np.ndarray]:
    """Object arrays: numbers, None, strings, nested lists, as a careless caller might pass."""
    items = st.one_of(st.integers(-300, 300), st.floats(), st.none(), st.text(max_size=3), st.just([1, 2]))

    def build(shape, values):
        a = np.empty(shape, dtype=object)
        flat = a.reshape(-1)
        for i in range(flat.size):
            flat[i] = values[i % len(values)]
        return a

    return shapes.flatmap(lambda shape: st.lists(items, min_size=1, max_size=8).map(lambda v: build(shape, v)))


def any_arrays(max_side: int = 40) -> st.SearchStrategy[np.ndarray]:
    """Arrays of every dtype (NaN and inf included) and every shape an image-taking function might get."""
    shapes = _channel_shapes(max_side)
    numeric = st.sampled_from(REAL_DTYPES + OTHER_DTYPES).flatmap(
        lambda dt: hnp.arrays(dt, shapes, elements=hnp.from_dtype(dt), fill=hnp.from_dtype(dt))
    )
    return st.one_of(numeric, numeric, numeric, object_arrays(shapes))


def image_like(max_side: int = 64) -> st.SearchStrategy[np.ndarray]:
    """2-d or 3-d (1/3/4 channels) arrays of real dtypes, often with structure: constant, noisy, striped."""
    dtype = st.sampled_from(REAL_DTYPES)
    shape = st.tuples(st.integers(1, max_side), st.integers(1, max_side)).flatmap(
        lambda hw: st.sampled_from([hw, (*hw, 1), (*hw, 3), (*hw, 4)])
    )
    return st.tuples(dtype, shape).flatmap(lambda ds: hnp.arrays(ds[0], ds[1], elements=hnp.from_dtype(ds[0]), fill=hnp.from_dtype(ds[0])))
