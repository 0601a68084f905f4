"""No Qt needed. Every zoo model honours the contract: raw 0..255 pixels in, 10 probabilities out."""

import numpy as np
import pytest

from digitdesk.core.errors import TrainingError
from digitdesk.core.models import ZOO, build


@pytest.mark.parametrize("name", sorted(ZOO))
def test_contract(name):
    model = build(name)
    assert tuple(model.inputs[0].shape) == (None, 28, 28, 1)
    assert tuple(model.outputs[0].shape) == (None, 10)
    x = np.random.default_rng(0).integers(0, 256, (3, 28, 28, 1)).astype(np.float32)
    p = np.asarray(model(x, training=False))
    assert p.shape == (3, 10)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-4)
    # scaling lives inside the model: its first layer rescales 0..255
    assert type(model.layers[0]).__name__ == "Rescaling"


def test_deep_cnn_size():
    assert 300_000 <= build("deep_cnn").count_params() <= 360_000


def test_unknown_architecture():
    with pytest.raises(TrainingError, match="unknown architecture 'resnet9000'"):
        build("resnet9000")
