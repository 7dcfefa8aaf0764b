"""Low-dimensional views of codes larger than 2-D: PCA, t-SNE, how well they keep digits apart,
and a grid over the first two principal components to decode.

Analysis only (scikit-learn and NumPy): the figures are in `mnist_ae.plots.latent_plots`, the models
in the scripts.

Example:
    >>> import numpy as np
    >>> codes = np.random.default_rng(0).normal(size=(200, 8)) * [5, 1, 1, 1, 1, 1, 1, 1]
    >>> embedded, ratios, fitted = pca(codes, 2, seed=0)
    >>> embedded.shape, ratios[0] > 0.5
    ((200, 2), True)
    >>> seeded_subsample(10, 4, seed=0).tolist()
    [2, 4, 5, 7]
"""

from __future__ import annotations

import numpy as np

from mnist_ae.analysis import evaluation

# Silhouette costs O(n^2) time and memory: above this many codes it is taken on a seeded sample.
SILHOUETTE_SAMPLE = 5000

# t-SNE iterations and Barnes-Hut angle per output dimension, set by the step's time budget
# (the runner may give a step one core): half scikit-learn's iterations and a coarser angle cost
# about a point of 1-NN accuracy for a third of the time (docs/measurements.md). A 3-D octree cell has 8 children where a 2-D quadtree cell has 4, so 3-D costs more at any angle.
TSNE_SETTINGS = {2: {"max_iter": 500, "angle": 0.8}, 3: {"max_iter": 500, "angle": 1.0}}


def pca(codes, dims: int, seed: int = 0):
    """Project `codes` (N, D) onto their first `dims` principal components.

    Returns `(embedded (N, dims), explained_variance_ratio as a list, the fitted PCA)`; the PCA's
    `inverse_transform` maps points of the projection back to codes (see `pca_grid`).

    >>> import numpy as np
    >>> line = np.outer(np.arange(10.0), [1.0, 2.0, 3.0])   # every point on one line
    >>> round(pca(line, 2)[1][0], 6)
    1.0
    """
    from sklearn.decomposition import PCA

    codes = np.asarray(codes, dtype=np.float64)
    if not 1 <= dims <= min(codes.shape):
        raise ValueError(f"PCA to {dims} dimensions needs at least {dims} codes of at least {dims} numbers, "
                         f"got codes of shape {codes.shape}")
    fitted = PCA(n_components=dims, random_state=seed).fit(codes)
    return fitted.transform(codes), fitted.explained_variance_ratio_.tolist(), fitted


def tsne(codes, dims: int, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """t-SNE embedding of `codes` (N, D) into `dims` = 2 or 3 dimensions, seeded.

    Barnes-Hut t-SNE (scikit-learn's default, O(N log N)) handles fewer than 4 dimensions,
    so both cases use it, with the iterations and angle of `TSNE_SETTINGS[dims]`; it starts
    from the PCA projection (`init="pca"`), which keeps the global layout more stable than a
    random start, with scikit-learn's learning rate "auto" (N / 48, at least 50). It still
    takes seconds per thousand codes: give it a subsample (`seeded_subsample`). `perplexity`
    must be below N.
    """
    from sklearn.manifold import TSNE

    if dims not in (2, 3):
        raise ValueError(f"t-SNE here embeds into 2 or 3 dimensions, got {dims}")
    codes = np.asarray(codes, dtype=np.float32)
    if perplexity >= len(codes):
        raise ValueError(f"t-SNE perplexity {perplexity} must be below the number of codes ({len(codes)})")
    model = TSNE(n_components=dims, perplexity=perplexity, init="pca", learning_rate="auto", random_state=seed,
                 **TSNE_SETTINGS[dims])
    return model.fit_transform(codes)


def seeded_subsample(n_total: int, n: int, seed: int = 0) -> np.ndarray:
    """`min(n, n_total)` distinct indices into `range(n_total)`, drawn from `seed`, sorted.

    >>> seeded_subsample(5, 10, seed=3).tolist()   # asking for more than there is gives all
    [0, 1, 2, 3, 4]
    """
    n = min(n, n_total)
    return np.sort(np.random.default_rng(seed).choice(n_total, size=n, replace=False))


def separation(embedded, labels, seed: int = 0) -> dict[str, float]:
    """How well the digits stay apart in `embedded` (N, d): leave-one-out 1-NN accuracy and silhouette.

    `knn1_accuracy`: each point takes the label of its nearest *other* point (leave-one-out
    over all N, scikit-learn's `KNeighborsClassifier` with the query left out of its own
    neighbours), so no split is drawn and every point is scored. It grows with the density of
    points, so compare embeddings of the same N points. `silhouette` (in [-1, 1], higher =
    tighter, better separated classes) is scikit-learn's `silhouette_score`, on a seeded sample
    of `SILHOUETTE_SAMPLE` points when N is larger.

    >>> import numpy as np
    >>> points, labels = np.array([[0.0], [0.1], [5.0], [5.1]]), np.array([0, 0, 1, 1])
    >>> {k: round(v, 2) for k, v in separation(points, labels).items()}
    {'knn1_accuracy': 1.0, 'silhouette': 0.98}
    """
    from sklearn.metrics import silhouette_score
    from sklearn.neighbors import KNeighborsClassifier

    embedded, labels = np.asarray(embedded), np.asarray(labels)
    if len(embedded) != len(labels) or len(embedded) < 2:
        raise ValueError(f"need at least 2 points with one label each, got {len(embedded)} points and "
                         f"{len(labels)} labels")
    # kneighbors() without X leaves each fitted point out of its own neighbours.
    nearest = KNeighborsClassifier(n_neighbors=1).fit(embedded, labels).kneighbors(return_distance=False)[:, 0]
    sample = SILHOUETTE_SAMPLE if len(embedded) > SILHOUETTE_SAMPLE else None
    return {
        "knn1_accuracy": float(np.mean(labels[nearest] == labels)),
        "silhouette": float(silhouette_score(embedded, labels, sample_size=sample, random_state=seed)),
    }


def central_box(points_2d, central: float = 0.9) -> tuple[float, float, float, float]:
    """`(xmin, xmax, ymin, ymax)` holding the central fraction `central` of the points along each axis.

    >>> points = np.stack([np.arange(21.0), 10 * np.arange(21.0)], axis=1)
    >>> central_box(points, central=0.5)   # the 25th to 75th percentile
    (5.0, 15.0, 50.0, 150.0)
    """
    if not 0 < central <= 1:
        raise ValueError(f"the central fraction must be in (0, 1], got {central}")
    points_2d = np.asarray(points_2d)[:, :2]
    tail = 100 * (1 - central) / 2
    lo, hi = np.percentile(points_2d, [tail, 100 - tail], axis=0)
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


def pca_grid(fitted_pca, embedded_2d, n: int = 15, central: float = 0.9):
    """Codes of an `n x n` grid over the first two principal components, to decode.

    The grid spans the central fraction `central` of `embedded_2d` (the projected codes; only
    their first two columns are read) along PC 1 and PC 2 (the 5th to 95th percentile by
    default, so a few outliers do not stretch it over empty space); every further component is
    0, i.e. at the codes' mean. The points are mapped back with `fitted_pca.inverse_transform`,
    which needs a PCA of at least 2 components. The order is `evaluation.latent_grid`'s (row 0
    at the top, largest PC 2), so `evaluation.mosaic` of the decoded tiles drawn with
    `imshow(..., extent=extent)` puts each tile on the PC coordinates it decodes.

    Returns `(codes (n*n, code size), extent, box)`, `box = (xmin, xmax, ymin, ymax)` in PC units.
    """
    components = fitted_pca.n_components_
    if components < 2:
        raise ValueError(f"a grid over two principal components needs a PCA of at least 2, got {components}")
    box = central_box(embedded_2d, central)
    plane, extent = evaluation.latent_grid(box, n)
    coords = np.zeros((len(plane), components))
    coords[:, :2] = plane
    return fitted_pca.inverse_transform(coords).astype(np.float32), extent, box
