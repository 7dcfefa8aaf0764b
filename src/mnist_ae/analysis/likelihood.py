"""Exercise 6: log-likelihood of binary images under a Bernoulli VAE, in nats per image.

Two lower bounds on log p(x), both per image:

- `elbo`: the single-sample evidence lower bound `log p(x|z) - KL(q(z|x) || p(z))`, z ~ q(z|x),
  which is exactly minus the training loss of the Bernoulli VAE (beta = 1);
- `importance_sampled_log_likelihood`: the importance-weighted (IWAE) bound
  `log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x)`, z_i ~ q(z|x), which equals the ELBO on average
  for k = 1, never decreases on average as k grows, and tends to log p(x) as k -> infinity.

The negative log-likelihood usually reported for binarized MNIST is `-summarize(values)["mean"]`.
Only meaningful for binary images (binarize a test set once with `mnist_ae.models.vae.binarize`).

Example::

    x = binarize(x_test, seed=0)
    ll = importance_sampled_log_likelihood(vae, x, k=1000, seed=0)
    summarize(-ll)   # {"mean": NLL in nats, "stderr": ..., ...}
"""

from __future__ import annotations

import math

import numpy as np
from keras import ops
from scipy.special import logsumexp


LOG_2PI = math.log(2 * math.pi)
# The test set is binarized once with this seed, so every model is scored on the same images.
TEST_BINARIZATION_SEED = 12345


def binarized_test_set(x_test: np.ndarray) -> np.ndarray:
    """The fixed binarization of `x_test` every likelihood is measured on."""
    from mnist_ae.models.vae import binarize

    return binarize(x_test, seed=TEST_BINARIZATION_SEED)


def _binary_images(vae, x) -> np.ndarray:
    if vae.likelihood != "bernoulli":
        raise ValueError(f"a likelihood needs the Bernoulli VAE, this one is {vae.likelihood!r}")
    x = np.asarray(x, dtype=np.float32)
    if not np.isin(x, (0.0, 1.0)).all():
        raise ValueError("the Bernoulli likelihood is defined for binary images: binarize them first")
    return x


def _numpy64(t) -> np.ndarray:
    return ops.convert_to_numpy(t).astype(np.float64)


def elbo(vae, x, batch_size: int = 500, seed: int = 0) -> np.ndarray:
    """Single-sample ELBO of each binary image of `x` in nats -> float64 (N,).

    The reconstruction term uses one z ~ q(z|x) drawn by the encoder's sampling layer from
    `seed`; the KL is exact. Raises ValueError unless the VAE is Bernoulli and `x` is binary.
    """
    reconstruction, kl = vae.per_image_terms(_binary_images(vae, x), batch_size, seed=seed)
    return -(reconstruction + kl)


def importance_sampled_log_likelihood(vae, x, k: int, batch_size: int = 100, seed: int = 0,
                                      decode_batch_size: int = 4096) -> np.ndarray:
    """IWAE estimate of log p(x) for each binary image of `x`, with `k` samples -> float64 (N,).

    Images are encoded `batch_size` at a time; their k samples are decoded in chunks of at most
    `decode_batch_size` (image, sample) pairs and folded into a running log-sum-exp, so memory
    does not grow with k. The noise comes from `np.random.default_rng(seed)`: the same seed,
    batch sizes and model give the same numbers.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    x = _binary_images(vae, x)
    rng = np.random.default_rng(seed)
    out = np.empty(len(x))
    for start in range(0, len(x), batch_size):
        images = x[start : start + batch_size]
        n = len(images)
        z_mean, z_log_sigma = (_numpy64(t) for t in vae.encoder(images, training=False)[:2])
        sigma = np.exp(z_log_sigma)
        # log q(z|x) = sum over dims of log N(eps; 0, 1) - log sigma, with z = mean + sigma * eps
        log_q_const = -z_log_sigma.sum(axis=1)
        chunk = max(1, decode_batch_size // n)
        total = np.full(n, -np.inf)
        for done in range(0, k, chunk):
            m = min(chunk, k - done)
            eps = rng.standard_normal((m, n, z_mean.shape[1]))
            z = z_mean + sigma * eps  # (m, n, latent)
            logits = vae.decoder(z.reshape(m * n, -1).astype(np.float32), training=False)
            targets = np.broadcast_to(images, (m, *images.shape)).reshape(m * n, *images.shape[1:])
            log_px_z = -_numpy64(vae.reconstruction_term(targets, logits)).reshape(m, n)
            log_pz = -0.5 * np.sum(z**2 + LOG_2PI, axis=2)
            log_qz = -0.5 * np.sum(eps**2 + LOG_2PI, axis=2) + log_q_const
            total = np.logaddexp(total, logsumexp(log_px_z + log_pz - log_qz, axis=0))
        out[start : start + n] = total - math.log(k)
    return out


def summarize(values) -> dict:
    """Mean of per-image `values` with its standard error `std / sqrt(n)` (sample std, ddof=1).

    Example:
        >>> summarize([1.0, 2.0, 3.0])
        {'mean': 2.0, 'stderr': 0.5773502691896258, 'std': 1.0, 'n': 3}
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    if len(values) < 2:
        raise ValueError(f"a standard error needs at least 2 values, got {len(values)}")
    std = float(np.std(values, ddof=1))
    return {"mean": float(np.mean(values)), "stderr": std / math.sqrt(len(values)), "std": std, "n": len(values)}


def whole_set_nll(per_image_elbo, subset_log_px, subset) -> dict:
    """Negative log-likelihood of every image, from all their ELBOs and the IWAE bound on a subset.

    `per_image_elbo` holds the ELBO of all N images, `subset_log_px` the importance-sampled
    log p(x) of the images at indices `subset`. The estimate is `-(mean ELBO + mean gain)`, the
    gain being `log p(x) - ELBO` on the subset's own images. The gain varies far less from image
    to image than log p(x) does, so this is a sharper estimate of the whole set's NLL than the
    subset's own mean, and does not depend on how easy the picked images happen to be. The
    standard error adds the two means' errors in quadrature, as if independent.

    Example:
        >>> r = whole_set_nll([-100.0, -102.0, -104.0, -106.0], [-98.0, -103.0], [1, 3])
        >>> r["mean"], r["gain"]   # mean ELBO -103, mean gain (4 + 3) / 2
        (99.5, 3.5)
    """
    per_image_elbo = np.asarray(per_image_elbo, dtype=np.float64).ravel()
    subset = np.asarray(subset)
    if len(subset) != len(np.ravel(subset_log_px)):
        raise ValueError(f"{len(np.ravel(subset_log_px))} log-likelihoods for a subset of {len(subset)} images")
    elbo, gain = summarize(per_image_elbo), summarize(np.ravel(subset_log_px) - per_image_elbo[subset])
    return {"mean": -elbo["mean"] - gain["mean"], "stderr": math.hypot(elbo["stderr"], gain["stderr"]),
            "gain": gain["mean"], "gain_stderr": gain["stderr"]}
