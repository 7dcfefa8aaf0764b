"""Corruptions: random erasing's statistics over thousands of draws, Gaussian noise, fixed test copies."""

import keras
import numpy as np
import pytest

from mnist_ae.models import corruption

N = 4000


@pytest.fixture(scope="module")
def erased_boxes():
    """Bounding boxes of what `random_erasing` set to 0 in N all-ones 28x28 images."""
    images = np.ones((N, 28, 28, 1), np.float32)
    out = keras.ops.convert_to_numpy(corruption.random_erasing(images, keras.random.SeedGenerator(3)))[..., 0]
    zero = out == 0
    rows, cols = zero.any(axis=2), zero.any(axis=1)
    h, w = rows.sum(axis=1), cols.sum(axis=1)
    return out, zero, h, w


def test_every_image_gets_one_rectangle_of_zeros(erased_boxes):
    out, zero, h, w = erased_boxes
    assert np.all(h > 0)  # probability 1: every image
    assert np.array_equal(zero.sum(axis=(1, 2)), h * w)  # the zeros fill their bounding box: one rectangle
    assert set(np.unique(out)) == {0.0, 1.0}  # value 0, the rest untouched


def test_erased_area_and_aspect_ratio_stay_in_bounds(erased_boxes):
    _, _, h, w = erased_boxes
    share = h * w / 784
    lo, hi = corruption.ERASE_SCALE
    # h and w are rounded from sqrt(area * ratio) and sqrt(area / ratio) (as torchvision does),
    # so the realised area and ratio may pass the bounds by at most that rounding.
    assert np.all((h - 0.5) * (w - 0.5) <= hi * 784) and np.all((h + 0.5) * (w + 0.5) >= lo * 784)
    assert share.mean() == pytest.approx((lo + hi) / 2, abs=0.004)  # area ~ U(scale)
    r_lo, r_hi = corruption.ERASE_RATIO
    assert np.all((h - 0.5) / (w + 0.5) <= r_hi) and np.all((h + 0.5) / (w - 0.5) >= r_lo)
    # log-uniform ratio: as many boxes above the geometric middle as below it (up to noise).
    middle = np.sqrt(r_lo * r_hi)
    assert np.mean(h / w > middle) == pytest.approx(0.5, abs=0.05)


def test_positions_cover_the_whole_image():
    images = np.ones((N, 28, 28, 1), np.float32)
    zero = keras.ops.convert_to_numpy(corruption.random_erasing(images, keras.random.SeedGenerator(4)))[..., 0] == 0
    hits = zero.mean(axis=0)
    assert hits[0, 0] > 0 and hits[27, 27] > 0 and hits[0, 27] > 0  # corners reachable
    assert hits[14, 14] > hits[0, 0]  # the centre is inside more boxes than a corner


def test_probability_erases_that_share_of_images():
    images = np.ones((N, 28, 28, 1), np.float32)
    out = keras.ops.convert_to_numpy(corruption.random_erasing(images, keras.random.SeedGenerator(5), probability=0.3))
    assert np.mean((out == 0).any(axis=(1, 2, 3))) == pytest.approx(0.3, abs=0.03)


def test_the_fixed_test_copies_repeat_for_a_seed_and_differ_across_seeds():
    images = np.random.default_rng(0).random((300, 28, 28, 1), dtype=np.float32)
    for kind in corruption.CORRUPTIONS:
        a = corruption.corrupt_once(images, kind, seed=7)
        assert a.shape == images.shape and a.dtype == np.float32
        assert np.array_equal(a, corruption.corrupt_once(images, kind, seed=7))
        assert not np.array_equal(a, corruption.corrupt_once(images, kind, seed=8))
    noise = corruption.corrupt_once(images, "gaussian", seed=7, sigma=0.1) - images
    assert noise.std() == pytest.approx(0.1, rel=0.02) and abs(noise.mean()) < 0.002
    with pytest.raises(ValueError, match="unknown corruption 'blur'"):
        corruption.corrupt_once(images, "blur", seed=0)


@pytest.mark.parametrize("kind", corruption.CORRUPTIONS)
def test_the_layers_corrupt_only_in_training(kind):
    layer = corruption.corruption_layer(kind, seed=0)
    x = np.full((8, 28, 28, 1), 0.5, np.float32)
    assert np.array_equal(keras.ops.convert_to_numpy(layer(x, training=False)), x)
    first = keras.ops.convert_to_numpy(layer(x, training=True))
    second = keras.ops.convert_to_numpy(layer(x, training=True))
    assert not np.array_equal(first, x) and not np.array_equal(first, second)  # fresh every call
