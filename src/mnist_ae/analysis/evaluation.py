"""Metrics on codes and predictions: 1-NN accuracy, cluster quality, latent grids.

Example:
    >>> import numpy as np
    >>> per_class_accuracy(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), 2)
    array([0.5, 1. ])
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import sqrtm
from scipy.stats import binomtest
from sklearn.metrics import confusion_matrix, recall_score, silhouette_samples, silhouette_score
from sklearn.neighbors import KNeighborsClassifier, NearestCentroid


def nearest_neighbour_predict(train_codes, train_labels, query_codes) -> np.ndarray:
    """Label of each query's nearest training code (Euclidean), with scikit-learn's 1-NN."""
    return KNeighborsClassifier(n_neighbors=1).fit(train_codes, train_labels).predict(query_codes)


def per_class_accuracy(y_true, y_pred, num_classes: int = 10) -> np.ndarray:
    """Fraction correct within each true class, i.e. per-class recall (NaN for a class with no examples)."""
    return recall_score(y_true, y_pred, labels=np.arange(num_classes), average=None, zero_division=np.nan)


def nearest_centroid_accuracy(codes, labels) -> float:
    """How often a code is closer to its own class centroid than to any other (overlap measure)."""
    return float(NearestCentroid().fit(codes, labels).score(codes, labels))


def cluster_summary(codes, labels, num_classes: int = 10, sample: int = 10000, seed: int = 0) -> dict:
    """Spread and overlap of the classes in code space, and how many codes sit at exactly 0.

    The silhouette (in [-1, 1], higher = tighter, better separated) is computed on a seeded
    sample of `sample` codes because it costs O(n^2).
    """
    labels = np.asarray(labels)
    # The same seeded sample for the per-digit silhouettes (which digits form clear clusters).
    pick = np.random.default_rng(seed).choice(len(codes), size=min(sample, len(codes)), replace=False)
    per_sample = silhouette_samples(codes[pick], labels[pick])
    per_digit = {
        str(c): {"centroid": codes[labels == c].mean(axis=0).tolist(), "std": codes[labels == c].std(axis=0).tolist(),
                 "silhouette": float(per_sample[labels[pick] == c].mean())}
        for c in range(num_classes)
    }
    return {
        "silhouette": float(silhouette_score(codes, labels, sample_size=min(sample, len(codes)), random_state=seed)),
        "nearest_centroid_accuracy": nearest_centroid_accuracy(codes, labels),
        "zero_fraction_per_coordinate": (codes == 0).mean(axis=0).tolist(),
        "zero_fraction_both": float(np.all(codes == 0, axis=1).mean()),
        "box": list(bounding_box(codes)),
        "per_digit": per_digit,
    }


def accuracy_intervals(y_true, y_pred, num_classes: int = 10, level: float = 0.95) -> dict[str, dict]:
    """Per class: accuracy, its Wilson `level` interval (scipy's binomial test) and whether the
    interval lies above or below the overall accuracy ("significantly better/worse").

    Example:
        >>> r = accuracy_intervals(np.array([0] * 100 + [1] * 100), np.array([0] * 100 + [1] * 50 + [0] * 50), 2)
        >>> r["0"]["versus_overall"], r["1"]["versus_overall"], round(r["1"]["low"], 3)
        ('better', 'worse', 0.404)
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    overall = float(np.mean(y_true == y_pred))
    out = {}
    for c in range(num_classes):
        mine = y_true == c
        k, n = int(np.sum(y_pred[mine] == c)), int(mine.sum())
        if n == 0:
            continue
        ci = binomtest(k, n).proportion_ci(level, method="wilson")
        side = "better" if ci.low > overall else "worse" if ci.high < overall else "not significantly different"
        out[str(c)] = {"accuracy": k / n, "n": n, "low": float(ci.low), "high": float(ci.high), "versus_overall": side}
    return out


def confused_pairs(y_true, y_pred, num_classes: int = 10, top: int = 5) -> list[dict]:
    """The `top` most frequent confusions, both directions of a pair added: [{"pair", "count"}].

    Example:
        >>> confused_pairs([3, 3, 5, 8], [5, 5, 3, 3], top=2)
        [{'pair': [3, 5], 'count': 3}, {'pair': [3, 8], 'count': 1}]
    """
    m = confusion_matrix(y_true, y_pred, labels=range(num_classes))
    both = m + m.T
    pairs = [((a, b), int(both[a, b])) for a in range(num_classes) for b in range(a + 1, num_classes) if both[a, b]]
    pairs.sort(key=lambda p: (-p[1], p[0]))
    return [{"pair": list(p), "count": n} for p, n in pairs[:top]]


def per_class_mse(autoencoder, x, labels, num_classes: int = 10, batch_size: int = 1024) -> dict[str, float]:
    """Test MSE over the 28x28 MNIST pixels per class of `labels` (which digits come back well)."""
    from mnist_ae.preprocessing import to_mnist_view

    errors = np.concatenate([np.mean(to_mnist_view(squared), axis=(1, 2))
                             for squared in _squared_errors(autoencoder, x, batch_size)])
    labels = np.asarray(labels)
    return {str(c): float(errors[labels == c].mean()) for c in range(num_classes) if np.any(labels == c)}


def extremes_per_run(runs: list[dict[str, float]], k: int = 3) -> dict[str, dict[str, int]]:
    """In how many runs each class is among the `k` lowest and the `k` highest of a per-class measure.

    `runs` holds one {class: value} per run (e.g. per-digit test MSE for each seed); a claim such as
    "digit 1 is reconstructed best" holds across runs when its count is `len(runs)`.

    Example:
        >>> r = extremes_per_run([{"0": 1, "1": 2, "2": 3}, {"0": 1, "1": 3, "2": 2}], k=1)
        >>> r["lowest"], r["highest"]
        ({'0': 2, '1': 0, '2': 0}, {'0': 0, '1': 1, '2': 1})
    """
    classes = sorted(runs[0], key=int) if runs else []
    counts = {"lowest": dict.fromkeys(classes, 0), "highest": dict.fromkeys(classes, 0)}
    for values in runs:
        order = sorted(classes, key=lambda c: (values[c], int(c)))
        for c in order[:k]:
            counts["lowest"][c] += 1
        for c in order[-k:]:
            counts["highest"][c] += 1
    return counts


CONFIDENT = 0.9  # a generated image "is" a digit when the classifier gives it at least this probability


def classify_generated(classifier, images, confident: float = CONFIDENT) -> dict:
    """What a trained classifier makes of generated model-input images (N, 32, 32, 1).

    Returns per image the predicted digit and its probability, the share classified with
    probability >= `confident`, and how many confident images each digit got.
    """
    probabilities = classifier.predict(images, batch_size=1024, verbose=0)
    predicted, confidence = probabilities.argmax(axis=1), probabilities.max(axis=1)
    sure = confidence >= confident
    counts = np.bincount(predicted[sure], minlength=probabilities.shape[1])
    return {"predicted": predicted.tolist(), "confidence": confidence.tolist(), "confident_share": float(sure.mean()),
            "confident_per_digit": {str(d): int(c) for d, c in enumerate(counts)},
            "classes_seen": [d for d, c in enumerate(counts) if c > 0]}


def codes_per_tile(codes, box, n: int) -> np.ndarray:
    """How many `codes` fall in each tile of the `latent_grid(box, n)` mosaic: (n, n), row 0 at the top.

    Example:
        >>> codes_per_tile(np.array([[0.0, 0.0], [0.1, 0.0], [1.0, 1.0]]), (0.0, 1.0, 0.0, 1.0), 2).tolist()
        [[0, 1], [2, 0]]
    """
    _, extent = latent_grid(box, n)
    counts, _, _ = np.histogram2d(codes[:, 1], codes[:, 0], bins=n, range=[extent[2:], extent[:2]])
    return counts[::-1].astype(int)  # histogram rows go up in y; the mosaic's row 0 is the top


def _confident_path(predicted, sure) -> list[int]:
    """The digits met along a row or column of tiles, confident ones only, repeats merged."""
    path = []
    for digit, ok in zip(predicted, sure):
        if ok and (not path or path[-1] != digit):
            path.append(int(digit))
    return path


def read_grid(classifier, tiles, counts) -> dict:
    """What a decoded n x n grid shows, measured: `tiles` (n*n model inputs, row 0 at the top) read
    by `classifier`, and `counts` (n, n) the codes in each tile (`codes_per_tile`; None for a grid
    over a prior, where every tile is "on the data").

    Gives the share of tiles read as a digit with confidence >= CONFIDENT, the digits seen, that
    share on tiles with and without codes, and the digits met along the four edges: left to right
    along the bottom and top rows, bottom to top along the left and right columns.
    """
    reading = classify_generated(classifier, tiles)
    n = int(round(len(tiles) ** 0.5))
    predicted = np.array(reading.pop("predicted")).reshape(n, n)
    sure = np.array(reading.pop("confidence")).reshape(n, n) >= CONFIDENT
    empty = np.zeros((n, n), bool) if counts is None else np.asarray(counts) == 0
    share = lambda mask: float(sure[mask].mean()) if mask.any() else None  # noqa: E731
    return {**reading, "tiles": n * n, "empty_tiles": int(empty.sum()), "confident_share_empty": share(empty),
            "confident_share_occupied": share(~empty), "bottom_row": _confident_path(predicted[-1], sure[-1]),
            "left_column": _confident_path(predicted[::-1, 0], sure[::-1, 0]),
            "top_row": _confident_path(predicted[0], sure[0]),
            "right_column": _confident_path(predicted[::-1, -1], sure[::-1, -1]), "predicted": predicted.tolist()}


def penultimate(classifier, batch_size: int = 1024):
    """A function images -> the features `classifier`'s last (softmax) layer reads, (N, D)."""
    import keras

    last = classifier.layers[-1]
    features = keras.Model(classifier.input, last.input)
    return lambda x: features.predict(x, batch_size=batch_size, verbose=0)


def frechet_distance(a, b) -> float:
    """Fréchet distance between Gaussians fitted to feature sets `a` (N, D) and `b` (M, D):
    |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)), the measure behind FID.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(4000, 3))
        >>> round(frechet_distance(x, x + [2.0, 0.0, 0.0]), 2)   # a pure shift: |shift|^2
        4.0
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    # A small ridge keeps the product invertible when features are dead (a ReLU always at 0) or
    # there are fewer images than features, as the usual FID code does; its effect is ~1e-6 * D.
    ridge = 1e-6 * np.eye(a.shape[1])
    cov_a, cov_b = np.cov(a, rowvar=False) + ridge, np.cov(b, rowvar=False) + ridge
    root = sqrtm(cov_a @ cov_b).real  # tiny imaginary parts are numerical noise
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2 * root))


def _squared_errors(autoencoder, x, batch_size: int):
    """Per batch of `x` (N, 32, 32, 1): the squared error of each pixel of each image, (n, 32, 32)."""
    for start in range(0, len(x), batch_size):
        batch = x[start : start + batch_size]
        yield (autoencoder.predict(batch, verbose=0)[..., 0] - batch[..., 0]) ** 2


def mse(a, b) -> float:
    """Mean squared error between two arrays of the same shape (e.g. images and their reconstructions).

    Example:
        >>> mse(np.zeros((2, 2)), np.full((2, 2), 0.5))
        0.25
    """
    return float(np.mean((np.asarray(a) - np.asarray(b)) ** 2))


def reconstruction_mse(autoencoder, x, batch_size: int = 1024) -> dict[str, float]:
    """Mean squared error of `autoencoder` on model inputs `x` (N, 32, 32, 1).

    `mse` is over the 28x28 MNIST pixels (comparable with other MNIST autoencoders);
    `mse_padded` is over the 32x32 input the model is trained on, whose zero border dilutes it.
    """
    from mnist_ae.preprocessing import to_mnist_view

    squared = np.zeros(x.shape[1:3], dtype=np.float64)
    for batch in _squared_errors(autoencoder, x, batch_size):
        squared += np.sum(batch, axis=0)
    squared /= len(x)
    return {"mse": float(to_mnist_view(squared[None])[0].mean()), "mse_padded": float(squared.mean())}


def bounding_box(codes) -> tuple[float, float, float, float]:
    """`(xmin, xmax, ymin, ymax)` of (N, 2) codes (a box, grid or scatter needs a 2-D code)."""
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[1] != 2:
        raise ValueError(f"a 2-D code plane needs codes of shape (N, 2), got {codes.shape}")
    lo, hi = np.min(codes, axis=0), np.max(codes, axis=0)
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


def latent_grid(box, n: int = 15) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """`n x n` equidistant codes over `box = (xmin, xmax, ymin, ymax)`, and the imshow extent.

    Row 0 holds the largest y (the top of a plot), so the decoded mosaic drawn with
    `imshow(..., extent=extent)` puts each tile centred on the code it decodes.

    >>> codes, extent = latent_grid((0.0, 1.0, 0.0, 1.0), n=2)
    >>> codes.tolist(), extent
    ([[0.0, 1.0], [1.0, 1.0], [0.0, 0.0], [1.0, 0.0]], (-0.5, 1.5, -0.5, 1.5))
    """
    if n < 2:
        raise ValueError(f"grid size must be at least 2, got {n}")
    xmin, xmax, ymin, ymax = map(float, box)
    xs, ys = np.linspace(xmin, xmax, n), np.linspace(ymax, ymin, n)
    gx, gy = np.meshgrid(xs, ys)
    half_x, half_y = (xmax - xmin) / (n - 1) / 2, (ymax - ymin) / (n - 1) / 2
    extent = (xmin - half_x, xmax + half_x, ymin - half_y, ymax + half_y)
    return np.stack([gx.ravel(), gy.ravel()], axis=1), extent


def mosaic(tiles: np.ndarray, n: int) -> np.ndarray:
    """(n*n, h, w) tiles in row-major order -> one (n*h, n*w) image."""
    _, h, w = tiles.shape
    return tiles.reshape(n, n, h, w).transpose(0, 2, 1, 3).reshape(n * h, n * w)


def decoded_grid(decode, box, n: int) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float, float]]:
    """Exercises 5 and 6(c): decode the `latent_grid(box, n)` codes with `decode` (codes -> model
    outputs in [0, 1]) and tile them. Returns `(decoded, mosaic, extent)`: the decoded model
    outputs (e.g. for a classifier to read), the (n*28, n*28) mosaic of their MNIST views, and
    the extent that draws each tile centred on its code."""
    from mnist_ae.preprocessing import to_mnist_view

    codes, extent = latent_grid(box, n)
    decoded = np.asarray(decode(codes.astype(np.float32)))
    return decoded, mosaic(to_mnist_view(decoded), n), extent


def vae_test_terms(vae, x, batch_size: int = 500, seed: int = 0) -> dict[str, float]:
    """Per-image means of the VAE's loss terms on `x` (one posterior sample per image, drawn from `seed`).

    The batch size is `likelihood.elbo`'s, so that with the same seed both draw the same noise and a
    Bernoulli VAE's loss here is exactly minus the likelihood study's test ELBO: one number, not two.

    Returns `reconstruction` (per-image sum, as trained), `kl` (nats) and `loss`
    (`reconstruction + beta * kl`).
    """
    reconstruction, kl = vae.per_image_terms(x, batch_size, seed=seed)
    r, k = float(reconstruction.mean()), float(kl.mean())
    return {"reconstruction": r, "kl": k, "loss": r + vae.beta * k}

