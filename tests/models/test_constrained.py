"""The exercise 1 constraints, checked on the built layers."""

import keras
import numpy as np
import pytest
from keras import layers

from mnist_ae.models import constrained


def blocks(model, conv_type, resize_type):
    """Split a model's layers into (conv, activation, resize) triples; fail on anything else."""
    body = [l for l in model.layers if not isinstance(l, keras.layers.InputLayer)]
    assert len(body) % 3 == 0, [l.name for l in body]
    triples = [body[i : i + 3] for i in range(0, len(body), 3)]
    for conv, act, resize in triples:
        assert type(conv) is conv_type, conv
        assert isinstance(act, layers.ReLU), f"{conv.name} is not followed by a ReLU"
        assert type(resize) is resize_type, f"{conv.name} is not followed by ReLU + {resize_type.__name__}"
    return triples


@pytest.fixture(scope="module")
def encoder():
    return constrained.build_encoder()


@pytest.fixture(scope="module")
def decoder():
    return constrained.build_decoder()


def test_encoder_is_only_conv_relu_pool_with_the_required_code_shape(encoder):
    triples = blocks(encoder, layers.Conv2D, layers.MaxPooling2D)
    for i, (conv, _, pool) in enumerate(triples):
        last = i == len(triples) - 1
        assert conv.filters == (1 if last else 16)
        assert conv.kernel_size == (3, 3)
        assert conv.padding == "same"
        assert conv.activation is keras.activations.linear  # the ReLU is its own layer
        assert 2 in pool.pool_size and np.prod(pool.pool_size) in (2, 4)  # x2 along each pooled axis
    assert tuple(encoder.output.shape) == (None, 1, 2, 1)
    assert tuple(encoder.input.shape) == (None, 32, 32, 1)


def test_decoder_is_only_transposed_conv_relu_upsampling_back_to_the_input_shape(decoder):
    triples = blocks(decoder, layers.Conv2DTranspose, layers.UpSampling2D)
    for i, (conv, _, up) in enumerate(triples):
        last = i == len(triples) - 1
        assert conv.filters == (1 if last else 16)
        assert conv.kernel_size == (3, 3)
        assert conv.padding == "same"
        assert conv.activation is keras.activations.linear
        assert set(up.size) <= {1, 2} and 2 in up.size
    assert tuple(decoder.input.shape) == (None, 1, 2, 1)
    assert tuple(decoder.output.shape) == (None, 32, 32, 1)


def test_autoencoder_reconstructs_the_input_shape_and_codes_are_non_negative(encoder, decoder):
    ae = constrained.build_autoencoder(encoder, decoder)
    x = np.random.default_rng(0).random((3, 32, 32, 1), dtype=np.float32)
    assert ae.predict(x, verbose=0).shape == (3, 32, 32, 1)
    assert (encoder.predict(x, verbose=0) >= 0).all()  # ReLU + max-pooling


def test_classifier_replaces_the_last_conv_block_by_dense_softmax(encoder):
    clf = constrained.build_classifier(encoder)
    names = [l.name for l in clf.layers]
    assert "enc_conv5" not in names and "enc5_pool" not in names
    assert names[-2:] == ["flatten", "softmax"]
    assert clf.get_layer("enc_conv4") is encoder.get_layer("enc_conv4")  # shares the encoder's layers
    assert clf.get_layer("flatten").output.shape[-1] == 2 * 2 * 16
    p = clf.predict(np.zeros((2, 32, 32, 1), np.float32), verbose=0)
    assert p.shape == (2, 10)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("seed", [1, 9])  # the two of seeds 0-11 whose zero-bias decoders started (and stayed) dead
def test_decoder_output_starts_live_so_no_seed_trains_a_black_image(seed):
    keras.utils.set_random_seed(seed)
    ae = constrained.build_autoencoder(constrained.build_encoder(), constrained.build_decoder())
    images = np.random.default_rng(0).uniform(0, 1, (16, 32, 32, 1)).astype("float32")
    assert float(ae.get_layer("decoder").get_layer("dec_convT5").bias.numpy()[0]) == pytest.approx(constrained.OUTPUT_BIAS_INIT)
    live = float(np.mean(ae.predict(images, verbose=0) > 0))
    assert live > 0.9, f"only {live:.0%} of output pixels start above 0"
    keras.utils.set_random_seed(seed)
    dead = constrained.build_autoencoder(constrained.build_encoder(), constrained.build_decoder(output_bias=0.0))
    assert float(np.mean(dead.predict(images, verbose=0) > 0)) < 0.5  # what the bias fixes, at this seed
