"""The code-size study's autoencoders: every architecture of the reference's space that fits in
28x28 builds and gives back 28x28, the impossible ones say why, and the regularizer is one of two."""

import dataclasses
import itertools

import numpy as np
import pytest

from mnist_ae.models import code_models

BASE = dict(code_models.EXAMPLE_PARAMS, channels=8, hidden=32)


def test_conv_sizes_follow_pytorch_arithmetic():
    # floor((n + 2p - k) / s) + 1
    assert code_models.conv_sizes(28, [(5, 1, 0), (3, 2, 1)]) == [28, 24, 12]
    assert code_models.conv_sizes(28, [(3, 2, 0)] * 3) == [28, 13, 6, 2]
    with pytest.raises(code_models.InvalidArchitecture, match="3x3 conv would get a 2x2 input"):
        code_models.conv_sizes(28, [(3, 2, 0)] * 4)


@pytest.mark.parametrize("layers,kernel,stride,padding",
                         [c for c in itertools.product([2, 3, 4], [3, 5], [2], [0, 1])])
def test_every_fitting_architecture_reconstructs_28x28(layers, kernel, stride, padding):
    params = dict(BASE, conv_layers=layers, kernel=kernel, stride=stride, padding=padding)
    try:
        sizes = code_models.conv_sizes(28, [(kernel, stride, padding)] * layers)
    except code_models.InvalidArchitecture:
        with pytest.raises(code_models.InvalidArchitecture):
            code_models.build(params, 4)
        return
    encoder, decoder, autoencoder = code_models.build(params, 4)
    assert encoder.output.shape[1:] == (4,)
    assert decoder.get_layer("dec_reshape").output.shape[1:] == (sizes[-1], sizes[-1], min(8 * 2 ** (layers - 1), 128))
    out = autoencoder.predict(np.zeros((2, 28, 28, 1), np.float32), verbose=0)
    assert out.shape == (2, 28, 28, 1) and np.all((out >= 0) & (out <= 1))  # sigmoid pixels


def test_batch_norm_or_weight_decay_never_both():
    bn = dict(BASE, regularization="batchnorm", weight_decay=1e-4)
    _, _, with_bn = code_models.build(bn, 2)
    assert any("bn" in layer.name for layer in with_bn.get_layer("encoder").layers)
    assert code_models.optimizer(bn).weight_decay is None  # batch norm: no weight decay, whatever the value
    wd = dict(BASE, regularization="weight_decay", weight_decay=1e-4)
    _, _, without = code_models.build(wd, 2)
    assert not any("bn" in layer.name for layer in without.get_layer("encoder").layers)
    assert code_models.optimizer(wd).weight_decay == pytest.approx(1e-4)


def test_channels_double_up_to_128_and_dense_widths_halve():
    params = dict(BASE, conv_layers=4, channels=64, dense_layers=3, hidden=512, padding=1, kernel=3)
    encoder, _, _ = code_models.build(params, 16)
    convs = [layer.filters for layer in encoder.layers if layer.__class__.__name__ == "Conv2D"]
    dense = [layer.units for layer in encoder.layers if layer.__class__.__name__ == "Dense"][:-1]  # not the code
    assert convs == [64, 128, 128, 128] and dense == [512, 256]


def test_params_round_trip_as_the_plain_dict_the_results_store_and_name_a_wrong_key():
    params = code_models.CodeParams.of(code_models.EXAMPLE_PARAMS)
    assert dataclasses.asdict(params) == code_models.EXAMPLE_PARAMS  # cache keys and JSON unchanged
    assert code_models.CodeParams.of(params) is params
    with pytest.raises(ValueError, match=r"^code-size params: unknown hiden$"):
        code_models.build({**code_models.EXAMPLE_PARAMS, "hiden": 3}, 8)
    with pytest.raises(ValueError, match=r"^code-size params: missing hidden; unknown hiden$"):
        code_models.optimizer({**{k: v for k, v in code_models.EXAMPLE_PARAMS.items() if k != "hidden"}, "hiden": 3})
