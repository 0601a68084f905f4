"""No Qt needed. "Why this digit?": integrated gradients with real Keras models (a hand-made one
where only one region of the input can matter, and the bundled model on what it read), and the
index of training digits by penultimate features: built, stopped, cached, looked up."""

import keras
import numpy as np
import pytest

from digitdesk.core.errors import Cancelled, ImageError, ModelError
from digitdesk.core.explain import Explainer, explainer_for, feature_model, render_heatmap
from digitdesk.core.neighbours import build_index, forget_indexes, neighbours_of

TOP_LEFT = (slice(2, 13), slice(2, 13))
BOTTOM_RIGHT = (slice(16, 26), slice(16, 26))


def _region_model(seed: int = 0):
    """Dense 16 -> 10 on the pixels, whose first layer sees only the top-left quarter: ink
    anywhere else cannot change its output."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Rescaling(1 / 255), keras.layers.Flatten(),
                              keras.layers.Dense(16, activation="relu"), keras.layers.Dense(10, activation="softmax")])
    kernel, bias = model.layers[2].get_weights()
    mask = np.zeros((28, 28), bool)
    mask[:14, :14] = True
    kernel[~mask.ravel()] = 0
    model.layers[2].set_weights([kernel * 4, bias])
    k2, b2 = model.layers[3].get_weights()
    model.layers[3].set_weights([k2 * 6, b2])
    return model


def _two_blobs() -> np.ndarray:
    x = np.zeros((28, 28), np.uint8)
    x[TOP_LEFT] = 200
    x[BOTTOM_RIGHT] = 255
    return x


@pytest.fixture(scope="module")
def region():
    return Explainer(_region_model())


@pytest.fixture(scope="module")
def bundled(bundled_model_path):
    return explainer_for(bundled_model_path)


def test_attribution_lies_where_the_input_has_ink_that_the_model_can_see(region):
    x = _two_blobs()
    e = region.explain(x)
    for a in (e.top, e.runner_up):
        assert np.abs(a.pixels[BOTTOM_RIGHT]).max() < 1e-9  # ink the model does not look at
        assert np.abs(a.pixels[x == 0]).max() == 0  # no ink, no share (the blank baseline)
        assert np.abs(a.pixels[TOP_LEFT]).sum() > 1e-3


def test_the_runner_up_is_the_second_likeliest_and_differs_from_the_top(region):
    e = region.explain(_two_blobs())
    order = np.argsort(region.probabilities(_two_blobs()))[::-1]
    assert (e.top.digit, e.runner_up.digit) == (order[0], order[1])
    assert e.top.digit != e.runner_up.digit
    assert not np.allclose(e.top.pixels, e.runner_up.pixels)


@pytest.mark.parametrize("which", ["region", "bundled"])
def test_the_attributions_add_up_to_the_change_in_probability(which, region, bundled, recognizer):
    from tests.conftest import number_image

    if which == "region":
        explainer, x, digits = region, _two_blobs(), None
    else:  # what the recognizer read (through LiteRT), explained with its .keras file
        d = recognizer.read(number_image("7")).digits[0]
        explainer, x, digits = bundled, d.input28, (d.top[0][0], d.top[1][0])
        assert np.allclose(bundled.probabilities(x), recognizer.classify(x)[0], atol=1e-3)
    e = explainer.explain(x, digits)
    for a in (e.top, e.runner_up):
        change = a.probability - a.baseline_probability
        assert abs(a.pixels.sum() - change) < 0.03 + 0.03 * abs(change), (a.digit, a.pixels.sum(), change)
    if which == "bundled":
        assert e.top.digit == 7 and e.top.probability - e.top.baseline_probability > 0.9  # a saturated softmax


def test_explaining_nothing_or_the_wrong_thing_says_why(region, tmp_path):
    with pytest.raises(ImageError, match="no ink"):
        region.explain(np.zeros((28, 28), np.uint8))
    with pytest.raises(ImageError, match="28x28"):
        region.explain(np.zeros((10, 10), np.uint8))
    lite = tmp_path / "m.tflite"
    lite.write_bytes(b"x")
    with pytest.raises(ModelError, match="LiteRT"):
        explainer_for(lite)


def test_heatmap_is_red_over_ink_for_and_grey_elsewhere(region):
    e = region.explain(_two_blobs())
    rgb = render_heatmap(e.input28, e.top.pixels)
    assert rgb.shape == (280, 280, 3) and rgb.dtype == np.uint8
    assert np.ptp(rgb[250:270, 5:25], axis=-1).max() == 0  # no ink: grey
    assert np.ptp(rgb[200:240, 200:240], axis=-1).max() == 0  # ink the model ignores: grey too
    top, second = e.heatmaps()
    assert top.shape == second.shape == rgb.shape and not np.array_equal(top, second)


def test_a_model_without_a_penultimate_dense_layer_is_refused_clearly(tmp_path):
    conv = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(10, 3),
                             keras.layers.GlobalAveragePooling2D(), keras.layers.Activation("softmax")])
    explainer = Explainer(conv)
    assert explainer.explain(_two_blobs()).top.digit in range(10)  # the heatmaps still work
    with pytest.raises(ModelError, match="no penultimate layer"):
        build_index(explainer, np.zeros((4, 28, 28), np.uint8), np.arange(4), folder=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_an_ensemble_compares_by_each_members_features():
    from digitdesk.core.ensemble import build_ensemble
    from digitdesk.core.models import build

    ens = build_ensemble([_region_model(1), build("tiny")])
    feats = Explainer(ens).embed(_two_blobs())
    assert feats.shape == (1, 16 + 576) and abs(np.linalg.norm(feats) - 1) < 1e-5
    assert feature_model(build("tiny")).output.shape[-1] == 576
    pixels = keras.Input((28, 28, 1))
    wrapped = keras.Model(pixels, build("tiny")(pixels))  # a model wrapped whole in another
    assert Explainer(wrapped).embed(_two_blobs()).shape == (1, 576)


def test_stopping_the_index_build_leaves_no_file(region, mnist, tmp_path):
    images, labels = mnist.train.images[:1200], mnist.train.labels[:1200]
    calls = []

    def stop_after_two() -> bool:
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(Cancelled):
        build_index(region, images, labels, should_stop=stop_after_two, folder=tmp_path, batch=200)
    assert len(calls) == 3 and list(tmp_path.iterdir()) == []  # no index, no temporary file


def test_the_index_is_kept_and_read_again_without_recomputing(region, mnist, tmp_path, monkeypatch):
    images, labels = mnist.train.images[:1000], mnist.train.labels[:1000]
    progress = []
    first = build_index(region, images, labels, on_progress=lambda done, total: progress.append(done),
                        folder=tmp_path, batch=300)
    assert progress == [0, 300, 600, 900, 1000] and not first.from_cache
    assert list(tmp_path.iterdir()) == [first.path] and first.path.name.startswith(region.key[:32])
    forget_indexes()  # as in a new session
    monkeypatch.setattr(region, "embed", lambda _x: pytest.fail("the index was computed again"))
    again = build_index(region, images, labels, folder=tmp_path)
    assert again.from_cache and np.array_equal(again.features, first.features)
    assert build_index(region, images, labels, folder=tmp_path) is again  # and kept in memory


def test_the_nearest_digits_are_of_the_class_asked_for(bundled, mnist, tmp_path):
    images, labels = mnist.train.images[:2000], mnist.train.labels[:2000]
    index = build_index(bundled, images, labels, folder=tmp_path)
    for i in (0, 7, 42):  # a training digit's nearest is itself
        got = neighbours_of(bundled, index, images[i], (int(labels[i]), (int(labels[i]) + 1) % 10))
        same, other = got.values()
        assert same[0].index == i and same[0].similarity > 0.999
        assert [n.label for n in same] == [labels[i]] * 5 and [labels[n.index] for n in same] == [labels[i]] * 5
        assert all(labels[n.index] == (labels[i] + 1) % 10 for n in other) and len(other) == 5
        sims = [n.similarity for n in same]
        assert sims == sorted(sims, reverse=True)
