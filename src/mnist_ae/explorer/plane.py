"""The 2-D plane a panel draws: the code itself, or the first two principal components of the codes.

A point of a PCA plane maps back to a code through the PCA's inverse, `mean + point @ components`
(the other components at their mean); the page does the same sum before decoding.

Example:
    >>> import numpy as np
    >>> codes = np.random.default_rng(0).normal(size=(50, 4))
    >>> flat = plane(codes)
    >>> flat.points.shape, flat.components.shape
    ((50, 2), (2, 4))
    >>> bool(np.allclose(flat.to_code(flat.points[:1]), codes[:1], atol=3))  # near, not equal: 2 of 4 axes
    True
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Plane:
    """`points` (N, 2) and the affine map back to codes, `code = mean + point @ components`
    (identity for 2-D codes)."""

    points: np.ndarray
    mean: np.ndarray  # (D,)
    components: np.ndarray  # (2, D), orthonormal rows
    explained: tuple[float, float] | None  # PCA's share of variance per axis; None: no PCA

    def to_code(self, points) -> np.ndarray:
        """Codes (M, D) of plane points (M, 2): the PCA's inverse transform."""
        return self.mean + np.asarray(points, dtype=np.float64) @ self.components

    def project(self, codes) -> np.ndarray:
        """Plane points (M, 2) of codes (M, D): the PCA's transform."""
        return (np.asarray(codes, dtype=np.float64) - self.mean) @ self.components.T


def plane(codes: np.ndarray, seed: int = 0) -> Plane:
    """The code plane of 2-D `codes`, or their first two principal components (fitted on them)."""
    from mnist_ae.analysis import embedding  # scikit-learn: only when a plane is made

    codes = np.asarray(codes, dtype=np.float64)
    if codes.shape[1] == 2:
        return Plane(codes, np.zeros(2), np.eye(2), None)
    points, ratios, fitted = embedding.pca(codes, 2, seed)
    if fitted.whiten:  # a whitened PCA's inverse also rescales: not this map
        raise ValueError("the explorer's PCA inverse assumes an unwhitened PCA")
    return Plane(points, fitted.mean_, fitted.components_, (ratios[0], ratios[1]))
