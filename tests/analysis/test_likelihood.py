"""ELBO and importance-sampled log-likelihood, checked against a VAE whose p(x) is known exactly."""

import math

import keras
import numpy as np
import pytest
from keras import layers

from mnist_ae.analysis import likelihood
from mnist_ae.models import vae

# A 1-D latent, 2-pixel Bernoulli VAE set by hand: logits = z * W + B.
W, B = np.array([3.0, -2.0]), np.array([0.5, -0.3])
PATTERNS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)


def two_pixel_vae(mean_weights=(0.8, -0.6), mean_bias=0.1, log_sigma_bias=-0.3) -> vae.VAE:
    """The hand-set VAE with an approximate (deliberately imperfect) encoder q(z|x)."""
    keras.utils.set_random_seed(0)
    x = keras.Input((2,))
    z_mean = layers.Dense(1, name="z_mean")(x)
    z_log_sigma = layers.Dense(1, name="z_log_sigma")(x)
    z = layers.Lambda(vae.sample_gaussian, arguments={"seed": keras.random.SeedGenerator()}, name="sampling")(
        [z_mean, z_log_sigma])
    encoder = keras.Model(x, [z_mean, z_log_sigma, z])
    code = keras.Input((1,))
    decoder = keras.Model(code, layers.Dense(2, name="logits")(code))
    encoder.get_layer("z_mean").set_weights([np.reshape(mean_weights, (2, 1)), np.array([mean_bias])])
    encoder.get_layer("z_log_sigma").set_weights([np.zeros((2, 1)), np.array([log_sigma_bias])])
    decoder.get_layer("logits").set_weights([W.reshape(1, 2), B])
    return vae.VAE(encoder, decoder, likelihood="bernoulli")


def exact_log_likelihood(x) -> float:
    """log p(x) = log of the integral of N(z; 0, 1) p(x|z) dz, by quadrature on [-10, 10]."""
    z = np.linspace(-10, 10, 20001)
    logits = np.outer(z, W) + B
    log_px_z = np.where(np.asarray(x) == 1, -np.logaddexp(0, -logits), -np.logaddexp(0, logits)).sum(axis=1)
    return math.log(np.trapezoid(np.exp(log_px_z - 0.5 * z**2 - 0.5 * math.log(2 * math.pi)), z))


@pytest.fixture(scope="module")
def model():
    return two_pixel_vae()


@pytest.fixture(scope="module")
def exact():
    return np.array([exact_log_likelihood(p) for p in PATTERNS])


def test_the_exact_reference_is_a_distribution(exact):
    assert np.exp(exact).sum() == pytest.approx(1.0, abs=1e-9)  # the four patterns are all of x


def test_iwae_with_many_samples_matches_the_exact_log_likelihood(model, exact):
    estimate = likelihood.importance_sampled_log_likelihood(model, PATTERNS, k=20000, seed=0)
    np.testing.assert_allclose(estimate, exact, atol=0.02)
    assert (likelihood.elbo(model, np.repeat(PATTERNS, 200, axis=0)).mean() < exact.mean() - 0.1)  # the gap is real


def test_iwae_with_one_sample_is_the_elbo_on_average(model):
    x = np.repeat(PATTERNS, 500, axis=0)
    difference = likelihood.importance_sampled_log_likelihood(model, x, k=1, seed=1) - likelihood.elbo(model, x)
    summary = likelihood.summarize(difference)
    assert abs(summary["mean"]) < 4 * summary["stderr"]
    assert summary["stderr"] < 0.1  # the comparison has some power


def test_the_bound_tightens_with_k_towards_the_exact_value(model, exact):
    x = np.repeat(PATTERNS, 250, axis=0)
    means = [likelihood.importance_sampled_log_likelihood(model, x, k=k, seed=2).mean() for k in (1, 10, 100)]
    assert means[0] < means[1] < means[2] < exact.mean() + 0.01
    assert means[1] - means[0] > 0.05  # k = 1 -> 10 closes most of the gap ...
    assert exact.mean() - means[2] < 0.02  # ... and k = 100 is nearly exact


def test_iwae_is_reproducible_and_independent_of_the_decode_chunking(model):
    x = np.repeat(PATTERNS, 3, axis=0)
    big = likelihood.importance_sampled_log_likelihood(model, x, k=50, batch_size=5, seed=4)
    small = likelihood.importance_sampled_log_likelihood(model, x, k=50, batch_size=5, seed=4, decode_batch_size=7)
    np.testing.assert_allclose(big, small, rtol=1e-6)
    assert big.shape == (12,) and big.dtype == np.float64
    assert not np.allclose(big, likelihood.importance_sampled_log_likelihood(model, x, k=50, batch_size=5, seed=5))


def test_conv_vae_gives_finite_negative_per_image_values():
    keras.utils.set_random_seed(0)
    tiny = {"filters": 4, "blocks": 2, "hidden": 8}
    model = vae.VAE(vae.build_vae_encoder(**tiny), vae.build_vae_decoder(final_activation=None, **tiny),
                    likelihood="bernoulli")
    x = vae.binarize(np.random.default_rng(0).random((5, 32, 32, 1)), seed=0)
    for values in (likelihood.elbo(model, x, batch_size=2),
                   likelihood.importance_sampled_log_likelihood(model, x, k=3, batch_size=2)):
        assert values.shape == (5,)
        assert np.isfinite(values).all() and (values < 0).all()


def test_likelihoods_refuse_the_gaussian_vae_and_non_binary_images(model):
    gaussian = vae.VAE(vae.build_vae_encoder(filters=4, hidden=8), vae.build_vae_decoder(filters=4, hidden=8))
    with pytest.raises(ValueError, match="Bernoulli"):
        likelihood.elbo(gaussian, np.zeros((2, 32, 32, 1), np.float32))
    with pytest.raises(ValueError, match="binary"):
        likelihood.importance_sampled_log_likelihood(model, np.full((2, 2), 0.5, np.float32), k=2)
    with pytest.raises(ValueError, match="k must"):
        likelihood.importance_sampled_log_likelihood(model, PATTERNS, k=0)


def test_summarize_gives_the_mean_and_its_standard_error():
    summary = likelihood.summarize([1.0, 2.0, 3.0, 6.0])
    assert summary["mean"] == 3.0
    assert summary["std"] == pytest.approx(math.sqrt(14 / 3))
    assert summary["stderr"] == pytest.approx(math.sqrt(14 / 3) / 2)
    assert summary["n"] == 4
    with pytest.raises(ValueError):
        likelihood.summarize([1.0])


def test_whole_set_nll_adds_the_subsets_gain_to_every_images_elbo():
    elbo = np.array([-100.0, -102.0, -104.0, -106.0, -108.0])
    r = likelihood.whole_set_nll(elbo, [-99.0, -101.0, -104.0], [0, 2, 4])  # gains 1, 3, 4
    assert r["gain"] == pytest.approx(8 / 3)
    assert r["mean"] == pytest.approx(104.0 - 8 / 3)
    gain_se = np.std([1.0, 3.0, 4.0], ddof=1) / math.sqrt(3)
    assert r["gain_stderr"] == pytest.approx(gain_se)
    assert r["stderr"] == pytest.approx(math.hypot(np.std(elbo, ddof=1) / math.sqrt(5), gain_se))
    with pytest.raises(ValueError, match="3 log-likelihoods for a subset of 2"):
        likelihood.whole_set_nll(elbo, [-99.0, -101.0, -104.0], [0, 2])


def test_whole_set_nll_from_random_subsets_is_unbiased_with_the_error_it_reports(model, exact):
    # 400 images of the four patterns, 3:1:1:3; 300 seeded random subsets of 20 images each.
    counts = np.array([150, 50, 50, 150])
    x = np.repeat(PATTERNS, counts, axis=0)
    truth = -(counts * exact).sum() / counts.sum()
    per_image_elbo = likelihood.elbo(model, x, seed=0)
    log_px = likelihood.importance_sampled_log_likelihood(model, x, k=500, seed=0)
    rng = np.random.default_rng(0)
    estimates = [likelihood.whole_set_nll(per_image_elbo, log_px[pick], pick)
                 for pick in (np.sort(rng.choice(len(x), 20, replace=False)) for _ in range(300))]
    errors = np.array([e["mean"] for e in estimates]) - truth
    spread = np.sqrt(np.mean(errors**2))
    assert abs(errors.mean()) < 3 * spread / math.sqrt(len(errors))  # no bias beyond noise
    assert np.mean([e["stderr"] for e in estimates]) == pytest.approx(spread, rel=0.25)  # honest error bar
