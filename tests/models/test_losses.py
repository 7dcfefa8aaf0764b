"""The VAE loss terms against hand-computed values."""

import math

import numpy as np
import pytest
from keras import ops

from mnist_ae.models import losses


def values(t):
    return ops.convert_to_numpy(t).astype(np.float64)


def test_kl_is_zero_for_the_prior_and_half_mean_squared_per_dimension():
    zeros = np.zeros((2, 3), np.float32)
    np.testing.assert_allclose(values(losses.kl_divergence(zeros, zeros)), [0.0, 0.0], atol=1e-7)
    # mu = 1, sigma = 1: 0.5 * mu^2 = 0.5 per dimension, 1.5 for three
    np.testing.assert_allclose(values(losses.kl_divergence(np.ones((2, 3), np.float32), zeros)), [1.5, 1.5], rtol=1e-6)


def test_kl_uses_the_log_standard_deviation():
    log_sigma = np.full((1, 2), math.log(2.0), np.float32)  # sigma = 2, variance 4
    per_dim = 0.5 * (4 - 1 - 2 * math.log(2.0))
    np.testing.assert_allclose(values(losses.kl_divergence(np.zeros((1, 2), np.float32), log_sigma)), [2 * per_dim],
                               rtol=1e-6)


def test_kl_sums_over_every_non_batch_axis_per_example():
    mean = np.zeros((2, 2, 3), np.float32)
    mean[1] = 2.0  # 6 dims * 0.5 * 4
    np.testing.assert_allclose(values(losses.kl_divergence(mean, np.zeros_like(mean))), [0.0, 12.0], rtol=1e-6)


def test_sum_squared_error_is_a_per_image_sum_that_scales_with_the_pixels():
    x = np.zeros((3, 4, 4, 1), np.float32)
    x_hat = np.full_like(x, 0.5)
    x_hat[2] = 0.0
    small = values(losses.sum_squared_error(x, x_hat))
    np.testing.assert_allclose(small, [16 * 0.25, 16 * 0.25, 0.0])
    # Twice the pixels, twice the term (a per-pixel mean would stay put and be drowned by the KL).
    big = values(losses.sum_squared_error(np.concatenate([x, x], axis=1), np.concatenate([x_hat, x_hat], axis=1)))
    np.testing.assert_allclose(big, 2 * small)


def test_bernoulli_nll_hand_value():
    # p(x1=1) = sigmoid(0) = 1/2, p(x2=0) = 1 - sigmoid(ln 3) = 1/4
    nll = values(losses.bernoulli_nll(np.array([[1.0, 0.0]], np.float32), np.array([[0.0, math.log(3)]], np.float32)))
    np.testing.assert_allclose(nll, [math.log(2) + math.log(4)], rtol=1e-6)


def test_bernoulli_nll_matches_the_naive_formula_and_is_stable_for_large_logits():
    rng = np.random.default_rng(0)
    x = (rng.random((4, 3, 3, 1)) < 0.5).astype(np.float32)
    logits = rng.normal(scale=3.0, size=x.shape).astype(np.float32)
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    naive = -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(values(losses.bernoulli_nll(x, logits)), naive, rtol=1e-5)
    # sigmoid(200) rounds to 1 in float32, so log(1 - p) would be -inf; the logit form is exact.
    extreme = values(losses.bernoulli_nll(np.array([[1.0, 0.0, 0.0]], np.float32),
                                          np.array([[200.0, 200.0, -200.0]], np.float32)))
    assert extreme[0] == pytest.approx(200.0, rel=1e-6)
