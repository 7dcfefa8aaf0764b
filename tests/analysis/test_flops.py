"""FLOP counts checked against networks small enough to count by hand."""

import keras

from mnist_ae.analysis import flops
from mnist_ae.models import constrained


def test_conv_dense_and_transposed_conv_by_hand():
    net = keras.Sequential([
        keras.Input((4, 4, 1)),
        keras.layers.Conv2D(2, 3, padding="same"),  # 16 outputs x 2 filters: 2*9*1 each + bias -> 576 + 32
        keras.layers.ReLU(),  # not counted
        keras.layers.MaxPooling2D(2),  # not counted; 2x2x2 from here
        keras.layers.Conv2DTranspose(3, 3, padding="same"),  # 2*2*2 inputs x 9 x 3 filters x 2 -> 432 + 12 bias
        keras.layers.Flatten(),
        keras.layers.Dense(5, use_bias=False),  # 2*12*5 -> 120
    ])
    assert flops.forward_flops(net) == 608 + 444 + 120
    assert flops.training_flops(net) == 3 * (608 + 444 + 120)


def test_nested_models_are_walked():
    inner = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)], name="inner")  # 2*3*4 + 4 = 28
    x = keras.Input((3,))
    outer = keras.Model(x, keras.layers.Dense(1)(inner(x)))  # 2*4*1 + 1 = 9
    assert flops.forward_flops(outer) == 37


def test_exercise_1_autoencoder_count_matches_its_geometry():
    # encoder convs at 32x32, 16x16, 8x8, 4x4, 2x2 (the last with 1 filter), decoder convT at
    # 1x2, 2x2, 4x4, 8x8, 16x16 (the last with 1 filter); all 3x3, 16 filters, with bias.
    conv = lambda hw, c_in, c_out: 2 * hw * 9 * c_in * c_out + hw * c_out  # noqa: E731
    encoder = conv(1024, 1, 16) + conv(256, 16, 16) + conv(64, 16, 16) + conv(16, 16, 16) + conv(4, 16, 1)
    decoder = conv(2, 1, 16) + conv(4, 16, 16) + conv(16, 16, 16) + conv(64, 16, 16) + conv(256, 16, 1)
    assert flops.forward_flops(constrained.build_autoencoder()) == encoder + decoder == 2_329_124
