"""Model inputs from MNIST's uint8 images and back, and the studies' train/validation split."""

import re

import numpy as np
import pytest

from mnist_ae import preprocessing


def test_model_input_is_the_image_in_0_1_inside_a_zero_border_of_2_pixels():
    images = np.arange(2 * 28 * 28, dtype=np.int64).reshape(2, 28, 28) % 256
    x = preprocessing.to_model_input(images.astype(np.uint8))
    assert x.shape == (2, 32, 32, 1) and x.dtype == np.float32
    assert x[0, 2, 2, 0] == 0.0 and x[0, 2, 3, 0] == pytest.approx(1 / 255) and x[0, 29, 29, 0] == pytest.approx(
        images[0, 27, 27] / 255)
    border = np.ones((32, 32), bool)
    border[2:30, 2:30] = False
    assert not x[:, border].any()  # the 2-pixel frame is zero
    np.testing.assert_array_equal(preprocessing.to_mnist_view(x), images.astype(np.float32) / 255)


def test_unpadded_input_is_the_28x28_crop_with_a_channel():
    x = preprocessing.to_model_input(np.full((3, 28, 28), 255, np.uint8))
    crop = preprocessing.to_unpadded_input(x)
    assert crop.shape == (3, 28, 28, 1) and crop.dtype == np.float32 and crop.flags["C_CONTIGUOUS"]
    assert crop.min() == crop.max() == 1.0  # the frame is gone, every MNIST pixel kept
    np.testing.assert_array_equal(preprocessing.pad_to_model_input(crop[..., 0]), x)


@pytest.mark.parametrize("shape", [(28, 28), (1, 32, 32), (1, 28, 28, 1)])
def test_images_of_another_shape_are_refused_naming_the_shape(shape):
    with pytest.raises(ValueError, match=r"expected images of shape \(N, 28, 28\), got " + re.escape(str(shape))):
        preprocessing.to_model_input(np.zeros(shape, np.uint8))


def test_the_split_is_the_same_for_every_call_disjoint_and_complete():
    train, val = preprocessing.train_validation_split(60)
    again_train, again_val = preprocessing.train_validation_split(60)
    np.testing.assert_array_equal(train, again_train)
    np.testing.assert_array_equal(val, again_val)
    assert (len(train), len(val)) == (50, 10)
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(60))
    assert not np.array_equal(np.sort(val), np.arange(50, 60))  # shuffled, not the last sixth
