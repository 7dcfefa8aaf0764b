"""The VAE: sampling, the train/test steps, dynamic binarization and weights-only saving."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from mnist_ae.models import vae

TINY = {"filters": 4, "blocks": 2, "hidden": 8}  # a few hundred weights: tests stay fast


def tiny_vae(seed=0, likelihood="gaussian", **kwargs):
    keras.utils.set_random_seed(seed)
    encoder = vae.build_vae_encoder(latent_dim=2, **TINY)
    decoder = vae.build_vae_decoder(latent_dim=2, final_activation="sigmoid" if likelihood == "gaussian" else None,
                                    **TINY)
    return vae.VAE(encoder, decoder, likelihood=likelihood, **kwargs)


def squares(n=16, seed=0):
    """Images with one bright 8x8 square each: structure a tiny VAE can learn in a few steps."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 32, 32, 1), np.float32)
    for img, (r, c) in zip(x, rng.integers(2, 22, size=(n, 2))):
        img[r : r + 8, c : c + 8] = 1.0
    return x


def numpy(t):
    return ops.convert_to_numpy(t)


def sampling_state(encoder):
    return numpy(encoder.get_layer("sampling").arguments["seed"].state).copy()


# --- builders ----------------------------------------------------------------------------------


def test_default_builders_shapes_heads_and_final_activation():
    encoder, decoder = vae.build_vae_encoder(), vae.build_vae_decoder()
    assert tuple(encoder.input.shape) == (None, 32, 32, 1)
    assert [tuple(t.shape) for t in encoder.outputs] == [(None, 2)] * 3
    assert encoder.output_names == ["z_mean", "z_log_sigma", "sampling"]
    assert encoder.get_layer("sampling").function is vae.sample_gaussian
    assert tuple(decoder.input.shape) == (None, 2)
    assert tuple(decoder.output.shape) == (None, 32, 32, 1)
    assert decoder.layers[-1].activation is keras.activations.sigmoid
    logits = vae.build_vae_decoder(final_activation=None)
    assert logits.layers[-1].activation is keras.activations.linear
    with pytest.raises(ValueError, match="divisible"):
        vae.build_vae_encoder(input_shape=(28, 28, 1), blocks=3)


# --- sampling ------------------------------------------------------------------------------------


def test_sample_gaussian_has_the_requested_mean_and_standard_deviation():
    n = 20000
    mean = np.tile(np.array([[1.0, -2.0]], np.float32), (n, 1))
    log_sigma = np.tile(np.array([[0.0, math.log(0.5)]], np.float32), (n, 1))
    z = numpy(vae.sample_gaussian([ops.convert_to_tensor(mean), ops.convert_to_tensor(log_sigma)],
                                  seed=keras.random.SeedGenerator(0)))
    sigma = np.array([1.0, 0.5])
    np.testing.assert_allclose(z.mean(axis=0), [1.0, -2.0], atol=4 * sigma.max() / math.sqrt(n))
    np.testing.assert_allclose(z.std(axis=0), sigma, rtol=0.03)
    assert abs(np.corrcoef(z.T)[0, 1]) < 0.03  # independent dimensions


def test_the_sampling_layer_draws_fresh_noise_on_every_call_also_when_traced():
    encoder = tiny_vae().encoder
    x = squares(4)
    first, second = encoder(x), encoder(x)
    np.testing.assert_array_equal(numpy(first[0]), numpy(second[0]))  # z_mean is deterministic
    assert not np.allclose(numpy(first[2]), numpy(second[2]))
    traced = tf.function(lambda x: encoder(x)[2])
    assert not np.allclose(numpy(traced(x)), numpy(traced(x)))


def test_set_random_seed_then_rebuilding_gives_the_same_weights_and_draws():
    x = squares(4)
    draws = [numpy(tiny_vae(seed=7).encoder(x)[2]) for _ in range(2)]
    np.testing.assert_array_equal(draws[0], draws[1])
    assert not np.allclose(draws[0], numpy(tiny_vae(seed=8).encoder(x)[2]))


def test_gradients_reach_both_the_mean_and_the_log_sigma_head():
    encoder = tiny_vae().encoder
    heads = [encoder.get_layer("z_mean").kernel, encoder.get_layer("z_log_sigma").kernel]
    with tf.GradientTape() as tape:
        z = encoder(squares(4))[2]
        objective = ops.sum(ops.square(z - 3.0))
    for grad in tape.gradient(objective, heads):
        assert grad is not None and np.abs(numpy(grad)).max() > 0


# --- the model -----------------------------------------------------------------------------------


def test_constructor_rejects_unknown_likelihoods_and_binarizing_the_gaussian_vae():
    encoder, decoder = vae.build_vae_encoder(**TINY), vae.build_vae_decoder(**TINY)
    with pytest.raises(ValueError, match="likelihood"):
        vae.VAE(encoder, decoder, likelihood="poisson")
    with pytest.raises(ValueError, match="bernoulli"):
        vae.VAE(encoder, decoder, binarize=True)


def test_fit_on_images_alone_reduces_the_loss_and_advances_the_noise_every_step():
    model = tiny_vae()
    model.compile(keras.optimizers.Adam(3e-2))
    before = sampling_state(model.encoder)
    history = model.fit(squares(16), epochs=20, batch_size=16, verbose=0).history  # 20 steps
    assert set(history) == {"loss", "reconstruction_loss", "kl_loss"}
    assert history["loss"][-1] < 0.6 * history["loss"][0]
    # The seed state is a variable the traced step advances: one draw per step, 20 steps.
    assert sampling_state(model.encoder)[1] - before[1] == 20


def test_evaluate_reports_per_image_means_with_loss_equal_to_reconstruction_plus_beta_kl():
    model = tiny_vae(beta=0.5)
    # Make q(z|x) a point mass (sigma = e^-30), so z = z_mean and the losses are deterministic.
    head = model.encoder.get_layer("z_log_sigma")
    head.set_weights([np.zeros_like(head.kernel), np.full(head.bias.shape, -30.0, np.float32)])
    model.compile(keras.optimizers.Adam(1e-3))
    x = squares(7)
    result = model.evaluate(x, batch_size=3, verbose=0, return_dict=True)  # batches of 3, 3, 1
    assert all(math.isfinite(v) for v in result.values())
    assert result["loss"] == pytest.approx(result["reconstruction_loss"] + 0.5 * result["kl_loss"], rel=1e-5)
    reconstruction, kl = (numpy(t) for t in model.loss_terms(x))
    assert result["reconstruction_loss"] == pytest.approx(reconstruction.mean(), rel=1e-5)  # not a mean of batch means
    assert result["kl_loss"] == pytest.approx(kl.mean(), rel=1e-5)
    assert kl.mean() > 0


def test_bernoulli_vae_decodes_probabilities_from_the_posterior_mean():
    model = tiny_vae(likelihood="bernoulli")
    x = squares(3)
    z_mean = model.encode_mean(x)
    expected = 1 / (1 + np.exp(-numpy(model.decoder(z_mean)).astype(np.float64)))
    np.testing.assert_allclose(numpy(model(x)), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(numpy(model(x)), numpy(model(x)))  # call is deterministic


def test_dynamic_binarization_gives_fresh_binary_images_with_the_pixel_means():
    model = tiny_vae(likelihood="bernoulli", binarize=True)
    x = np.full((64, 32, 32, 1), 0.3, np.float32)
    x[:, :4] = 0.0
    x[:, -4:] = 1.0
    a, b = numpy(model.train_inputs(x)), numpy(model.train_inputs(x))
    assert set(np.unique(a)) == {0.0, 1.0}
    assert not np.array_equal(a, b)
    assert (a[:, :4] == 0).all() and (a[:, -4:] == 1).all()
    assert a[:, 4:-4].mean() == pytest.approx(0.3, abs=0.01)
    plain = tiny_vae(likelihood="bernoulli")
    assert plain.train_inputs(x) is x


def test_fit_binarizes_every_training_batch_but_evaluate_does_not():
    model = tiny_vae(likelihood="bernoulli", binarize=True)
    model.compile(keras.optimizers.Adam(1e-3))
    state = lambda: numpy(model.binarize_seed.state)[1]  # noqa: E731
    before = state()
    model.fit(squares(8), epochs=3, batch_size=4, verbose=0)
    assert state() - before == 6  # one fresh binarization per step
    model.evaluate(vae.binarize(squares(8), seed=0), verbose=0)
    assert state() - before == 6


def test_binarize_is_a_fixed_bernoulli_draw():
    x = np.full((100, 32, 32, 1), 0.4, np.float32)
    x[:, 0] = 0.0
    x[:, 1] = 1.0
    a = vae.binarize(x, seed=3)
    assert a.dtype == np.float32 and a.shape == x.shape
    np.testing.assert_array_equal(a, vae.binarize(x, seed=3))
    assert not np.array_equal(a, vae.binarize(x, seed=4))
    assert (a[:, 0] == 0).all() and (a[:, 1] == 1).all()
    assert a[:, 2:].mean() == pytest.approx(0.4, abs=0.01)


def test_weights_only_save_then_rebuild_and_load_gives_identical_outputs(tmp_path):
    model = tiny_vae(seed=1, likelihood="bernoulli", binarize=True)
    model.compile(keras.optimizers.Adam(1e-2))
    x = squares(8)
    model.fit(x, epochs=2, batch_size=4, verbose=0)  # weights differ from any fresh build
    path = tmp_path / "vae.weights.h5"
    model.save_weights(path)
    rebuilt = tiny_vae(seed=2, likelihood="bernoulli", binarize=True)
    assert not np.allclose(numpy(rebuilt.encode_mean(x)), numpy(model.encode_mean(x)))
    rebuilt.load_weights(path)
    np.testing.assert_array_equal(numpy(rebuilt.encode_mean(x)), numpy(model.encode_mean(x)))
    np.testing.assert_array_equal(numpy(rebuilt(x)), numpy(model(x)))
    z = np.array([[0.0, 0.0], [1.5, -1.0]], np.float32)
    np.testing.assert_array_equal(numpy(rebuilt.decode(z)), numpy(model.decode(z)))


def test_the_border_is_left_out_of_the_likelihood():
    """With border=2 the loss is that of the central 28x28 pixels: the padding cannot change it."""
    model = tiny_vae(likelihood="bernoulli", border=2)
    x = (squares(4) > 0.5).astype(np.float32)
    logits = np.zeros((4, 32, 32, 1), np.float32)
    inside = numpy(model.reconstruction_term(x, logits))
    np.testing.assert_allclose(inside, 28 * 28 * math.log(2), rtol=1e-5)  # p = 1/2 per pixel
    logits[:, :2] = 50.0  # confidently wrong about the (all-zero) border only
    np.testing.assert_allclose(numpy(model.reconstruction_term(x, logits)), inside, rtol=1e-6)
    whole = tiny_vae(likelihood="bernoulli")
    assert numpy(whole.reconstruction_term(x, logits)).min() > inside.max() + 1000


def test_evaluation_noise_is_seeded_and_leaves_the_training_stream_alone():
    model = tiny_vae()
    x = squares(6)
    before = sampling_state(model.encoder)
    first = model.per_image_terms(x, batch_size=4, seed=3)
    assert np.array_equal(sampling_state(model.encoder), before)  # restored after evaluating
    model.encoder(x)  # the training stream moves on...
    again = model.per_image_terms(x, batch_size=4, seed=3)
    for a, b in zip(first, again):  # ...and the same seed still gives the same numbers
        np.testing.assert_array_equal(a, b)
    other = model.per_image_terms(x, batch_size=4, seed=4)
    assert not np.allclose(first[0], other[0])  # the reconstruction term depends on the draw
    np.testing.assert_allclose(first[1], other[1])  # the KL is exact: no draw
