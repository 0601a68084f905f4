"""No Qt needed. Every zoo model honours the contract: raw 0..255 pixels in, 10 probabilities out;
the notebooks' classics have exactly their layers and parameter counts."""

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


def _layers(model) -> list[tuple]:
    """Each layer after the Rescaling as (kind, units or filters, kernel, activation)."""
    out = []
    for layer in model.layers[1:]:
        cfg = layer.get_config()
        size = cfg.get("units", cfg.get("filters"))
        out.append((type(layer).__name__, size, cfg.get("kernel_size"), cfg.get("activation")))
    return out


# The notebooks' models, layer by layer, and their parameter counts worked out by hand.
CLASSICS = {
    "fnn": ([("Flatten", None, None, None), ("Dense", 50, None, "relu"), ("Dense", 50, None, "relu"),
             ("Dense", 10, None, "softmax")],
            (784 * 50 + 50) + (50 * 50 + 50) + (50 * 10 + 10)),  # 42,310
    "mlp": ([("Flatten", None, None, None)] + [("Dense", 128, None, "relu")] * 3 + [("Dense", 10, None, "softmax")],
            (784 * 128 + 128) + 2 * (128 * 128 + 128) + (128 * 10 + 10)),  # 134,794
    "simple_cnn": ([("Conv2D", 32, (3, 3), "relu"), ("MaxPooling2D", None, None, None), ("Flatten", None, None, None),
                    ("Dense", 128, None, "relu"), ("Dense", 10, None, "softmax")],
                   (3 * 3 * 32 + 32) + (13 * 13 * 32 * 128 + 128) + (128 * 10 + 10)),  # 693,962
    "lenet5": ([("Conv2D", 6, (5, 5), "tanh"), ("AveragePooling2D", None, None, None), ("Conv2D", 16, (5, 5), "tanh"),
                ("AveragePooling2D", None, None, None), ("Flatten", None, None, None), ("Dense", 120, None, "tanh"),
                ("Dense", 84, None, "tanh"), ("Dense", 10, None, "softmax")],
               (5 * 5 * 6 + 6) + (5 * 5 * 6 * 16 + 16) + (5 * 5 * 16 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10)),
}


@pytest.mark.parametrize("name", sorted(CLASSICS))
def test_classic_layers_and_parameters(name):
    layers, params = CLASSICS[name]
    model = build(name)
    assert _layers(model) == layers
    assert model.count_params() == params


def test_fnn_has_the_notebook_count():
    assert build("fnn").count_params() == 42_310


def test_deep_cnn_is_the_notebook_one():
    model = build("deep_cnn")
    kinds = [k for k, *_ in _layers(model)]
    assert kinds == ["Conv2D", "BatchNormalization", "Conv2D", "BatchNormalization", "MaxPooling2D", "Dropout",
                     "Conv2D", "BatchNormalization", "Conv2D", "BatchNormalization", "MaxPooling2D", "Dropout",
                     "Flatten", "Dense", "BatchNormalization", "Dropout", "Dense"]
    assert [s for k, s, *_ in _layers(model) if k in ("Conv2D", "Dense")] == [32, 32, 64, 64, 256, 10]
    assert [layer.rate for layer in model.layers if type(layer).__name__ == "Dropout"] == [0.25, 0.25, 0.5]
    assert model.count_params() == 331_754  # "about 330k"


def test_dense_deep_keeps_the_old_dense_net_and_its_old_name_builds_it():
    assert build("dense_deep").count_params() == 143_014
    assert "dense" not in ZOO  # renamed: the notebooks' "dense" nets are fnn and mlp
    assert build("dense").name == "dense_deep"


def test_unknown_architecture():
    with pytest.raises(TrainingError, match="unknown architecture 'resnet9000'"):
        build("resnet9000")
