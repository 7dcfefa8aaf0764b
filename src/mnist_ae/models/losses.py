"""The VAE loss terms, one value per example (summed over pixels or latent dimensions).

Each term is a per-image *sum*, so the reconstruction and the KL are on the same scale (nats,
or squared error per image); the VAE then takes the mean over the batch. A per-pixel *mean*
would shrink the reconstruction term by 1024 and let the KL drown it.

Example:
    >>> import numpy as np
    >>> ops.convert_to_numpy(kl_divergence(np.ones((1, 3)), np.zeros((1, 3)))).tolist()
    [1.5]
    >>> ops.convert_to_numpy(sum_squared_error(np.zeros((2, 4, 4, 1)), np.full((2, 4, 4, 1), 0.5))).tolist()
    [4.0, 4.0]
"""

from __future__ import annotations

from keras import ops


def _sum_per_example(values):
    """Sum over every axis but the first (batch) one."""
    return ops.sum(values, axis=tuple(range(1, len(values.shape))))


def kl_divergence(mean, log_sigma):
    """KL(N(mean, diag(exp(log_sigma))^2) || N(0, I)) per example, in nats -> shape (N,).

    Parametrised by the log *standard deviation*:
    `0.5 * sum(mean^2 + exp(2 log_sigma) - 1 - 2 log_sigma)`.
    """
    mean, log_sigma = ops.convert_to_tensor(mean), ops.convert_to_tensor(log_sigma)
    return 0.5 * _sum_per_example(ops.square(mean) + ops.exp(2.0 * log_sigma) - 1.0 - 2.0 * log_sigma)


def sum_squared_error(x, x_hat):
    """Per-example sum of squared errors over all pixels -> shape (N,)."""
    x, x_hat = ops.convert_to_tensor(x), ops.convert_to_tensor(x_hat)
    return _sum_per_example(ops.square(ops.cast(x, x_hat.dtype) - x_hat))


def inside_border(x, border: int):
    """`x` (N, H, W, ...) without a frame `border` pixels wide at each edge (all of it for 0).

    Example:
        >>> import numpy as np
        >>> inside_border(np.zeros((1, 6, 6, 1)), 2).shape
        (1, 2, 2, 1)
    """
    return x[:, border:-border, border:-border] if border else x


def squared_error_loss(border: int = 0):
    """Exercise 1's squared error as a Keras loss for `compile`: per image, summed over the pixels
    inside `border` (a zero-padded frame that is not part of the image).

    Summed, not averaged: the sum is the Gaussian log-likelihood up to constants, on the same
    per-image scale as the KL term it is added to (exercise 6's VAE). Keras averages the
    per-image values over the batch.

    Example:
        >>> import numpy as np
        >>> loss = squared_error_loss(border=1)
        >>> ops.convert_to_numpy(loss(np.zeros((1, 4, 4, 1)), np.full((1, 4, 4, 1), 0.5))).tolist()   # 4 inner pixels
        [1.0]
    """

    def squared_error(y_true, y_pred):
        return sum_squared_error(inside_border(y_true, border), inside_border(y_pred, border))

    return squared_error


def bernoulli_nll(x, logits):
    """Per-example -log p(x | logits) of independent Bernoulli pixels, in nats -> shape (N,).

    Binary cross-entropy with logits, summed over pixels; computed from the logits as
    `max(l, 0) - l*x + log(1 + exp(-|l|))`, which never overflows (no sigmoid then log).

    Example:
        >>> import numpy as np
        >>> nll = bernoulli_nll(np.array([[1.0, 0.0]]), np.array([[0.0, np.log(3)]]))
        >>> print(f"{float(nll[0]):.6f} = -log(1/2) - log(1/4) = {np.log(2) + np.log(4):.6f}")
        2.079442 = -log(1/2) - log(1/4) = 2.079442
    """
    x, logits = ops.convert_to_tensor(x), ops.convert_to_tensor(logits)
    x = ops.cast(x, logits.dtype)
    per_pixel = ops.relu(logits) - logits * x + ops.log1p(ops.exp(-ops.abs(logits)))
    return _sum_per_example(per_pixel)
