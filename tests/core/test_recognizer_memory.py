"""No Qt needed. Reading many different images must not make the process hold more and more:
no retracing per batch size (a new graph per number of digits), no caches of readings.
The timed version is benchmarks/bench_load.py."""

import gc

import numpy as np

from digitdesk.core import synth


def _live_objects() -> int:
    gc.collect()
    return len(gc.get_objects())


def test_reading_many_images_keeps_no_objects(recognizer):
    rng = np.random.default_rng(3)
    images = []
    for n in range(1, 10):  # 1..9 digits: every batch size the model sees is a new one
        text = "".join(str(d) for d in rng.integers(0, 10, n))
        size = (300 + 20 * n, 200 + 90 * n)
        images.append(synth.make_number_sample(text, "drawn", rng, canvas=size).image)
    recognizer.read(images[0])  # warm: one batch size only
    before = _live_objects()
    for _ in range(3):
        for img in images:
            reading = recognizer.read(img, keep_stages=True)
            assert reading.digits
    del reading
    grown = _live_objects() - before
    # A retrace keeps thousands of objects (a graph per batch size); a leaked Reading holds dozens.
    assert grown < 50, f"{grown} more live Python objects after 27 reads"
