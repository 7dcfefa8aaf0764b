"""Figures of the latent exploration: 2-D and 3-D embeddings of codes, and a grid decoded over PCA.

One function per figure, as in `mnist_ae.plots.charts` (whose colours, scatter and saving they
share): each takes data and a path, saves a PNG and never calls `plt.show()`. A panel is a
`Panel(points, title, axis_labels)`; a figure takes its panels as rows (e.g. one row per
autoencoder, one column per method) and one label per point, shared by every panel.

Example::

    pc = Panel(pca_points, "AE8 PCA 2-D", ("PC 1 (23 % of variance)", "PC 2 (15 %)"))
    ts = Panel(tsne_points, "AE8 t-SNE 2-D", ("t-SNE 1", "t-SNE 2"))
    embedding_panels([[pc, ts]], labels, "figures/latent_pca_tsne_2d.png")
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from mnist_ae.plots import charts

# A fixed 3-D view (degrees) from above and to the side, so the clusters' depth order reads
# from the projection; the same view in every panel.
VIEW_3D = {"elev": 22, "azim": -58}


class Panel(NamedTuple):
    """One embedding to draw: `points` (N, 2 or 3), a title, and one label per axis."""

    points: np.ndarray
    title: str
    axis_labels: tuple[str, ...]


class GenerationRow(NamedTuple):
    """One autoencoder of the PCA-generation figure.

    `points`: the codes' first two principal components (N, 2) with `labels`; `mosaic`: the
    decoded grid as one image (`evaluation.mosaic`); `extent` and `box`: from
    `embedding.pca_grid`; `name`: e.g. "AE8"; `axis_labels`: ("PC 1 (…)", "PC 2 (…)").
    """

    name: str
    points: np.ndarray
    labels: np.ndarray
    mosaic: np.ndarray
    extent: tuple[float, float, float, float]
    box: tuple[float, float, float, float]
    axis_labels: tuple[str, str]


def digit_legend(fig, **kwargs):
    """One legend "digit" for the whole figure, opaque markers in the scatter colours."""
    handles = [Line2D([], [], ls="", marker="o", ms=6, color=charts.DIGIT_COLOURS(d), label=str(d))
               for d in range(10)]
    return fig.legend(handles=handles, title="digit", **{"loc": "center right", "frameon": False, **kwargs})


def _rows(panels, labels) -> list[list]:
    """The panels as rows, checked before any figure is opened: one label per point in each."""
    rows = [list(row) for row in panels]
    if not rows or not all(rows):
        raise ValueError("a figure needs at least one row with at least one panel")
    for row in rows:
        for panel in row:
            _check_labels(panel.points, labels)
    return rows


def _check_labels(points, labels):
    if len(points) != len(labels):
        raise ValueError(f"{len(points)} points but {len(labels)} labels: every panel shows the same labelled points")


def _label_digits(ax, points, labels):
    """Each digit written at its points' median: the clusters read without matching colours."""
    for digit in np.unique(labels):
        centre = np.median(points[labels == digit], axis=0)
        ax.text(*centre, str(digit), fontsize=10, weight="bold", ha="center", va="center", zorder=5,
                color=charts.DIGIT_COLOURS(int(digit)),
                bbox={"boxstyle": "circle,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75})


def embedding_panels(panels: Sequence[Sequence[Panel]], labels, path, point_size: float = 3.0):
    """2-D embeddings side by side (rows x columns of `Panel`s), coloured by digit, one legend.

    Every panel shows the same points (`labels`, one per point); each digit's label is written
    at its cluster's median.
    """
    labels = np.asarray(labels)
    rows = _rows(panels, labels)
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    side = (charts.FULL_WIDTH - 0.6) / n_cols  # the legend takes the last 0.6 inch
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(charts.FULL_WIDTH, side * 0.78 * n_rows), squeeze=False)
    for r, row in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r, c]
            if c >= len(row):
                ax.set_axis_off()
                continue
            panel = row[c]
            points = np.asarray(panel.points)[:, :2]
            charts.scatter_digits(ax, points, labels, size=point_size)
            _label_digits(ax, points, labels)
            ax.set_title(panel.title)
            ax.set_xlabel(panel.axis_labels[0]), ax.set_ylabel(panel.axis_labels[1])
            ax.tick_params(labelsize=charts.MIN_FONT_PT)
    fig.tight_layout(rect=(0, 0, 1 - 0.7 / fig.get_figwidth(), 1))
    digit_legend(fig)
    return charts.save(fig, path)


def embedding_3d(panels: Sequence[Sequence[Panel]], labels, path, point_size: float = 3.0, view=VIEW_3D):
    """3-D embeddings as static projections (rows x columns of `Panel`s), one fixed view, one legend.

    White panes and each digit written at its cluster's median keep the depth readable on paper.
    """
    labels = np.asarray(labels)
    rows = _rows(panels, labels)
    for panel in (p for row in rows for p in row):
        if np.ndim(panel.points) != 2 or np.shape(panel.points)[1] != 3:
            raise ValueError(f"panel '{panel.title}' needs points of shape (N, 3), got {np.shape(panel.points)}")
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    side = (charts.FULL_WIDTH - 0.6) / n_cols
    fig = plt.figure(figsize=(charts.FULL_WIDTH, side * 0.76 * n_rows))
    for r, row in enumerate(rows):
        for c, panel in enumerate(row):
            # Zorder by call order, not depth: the digit labels stay above the points. The points
            # are one collection, which mplot3d still draws back to front whatever their digit.
            ax = fig.add_subplot(n_rows, n_cols, r * n_cols + c + 1, projection="3d", computed_zorder=False)
            points = np.asarray(panel.points)
            ax.scatter(*points.T, s=point_size, c=charts.DIGIT_COLOURS(labels.astype(int)), alpha=0.6,
                       linewidths=0, depthshade=False, rasterized=True, zorder=1)
            _label_digits(ax, points, labels)
            ax.view_init(**view)
            ax.set_box_aspect(None, zoom=1.08)  # the default leaves a wide empty margin round the box
            for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
                axis.set_pane_color((1, 1, 1, 0))
                axis._axinfo["grid"].update(color=(0.85, 0.85, 0.85), linewidth=0.5)
            ax.set_title(panel.title, y=0.98)
            for setter, text in zip((ax.set_xlabel, ax.set_ylabel, ax.set_zlabel), panel.axis_labels):
                setter(text, fontsize=charts.MIN_FONT_PT, labelpad=-4)
            ax.tick_params(labelsize=charts.MIN_FONT_PT, pad=-3)
    fig.subplots_adjust(left=0.01, right=1 - 0.9 / fig.get_figwidth(), bottom=0.02, top=0.95, wspace=0.02, hspace=0.08)
    digit_legend(fig)
    return charts.save(fig, path)


def pca_generation(rows: Sequence[GenerationRow], path, point_size: float = 2.0):
    """Per autoencoder: its codes on PC 1 / PC 2 with the grid's box, and the grid decoded there.

    Left, the scatter of the first two principal components with the decoded region outlined;
    right, the decoded `n x n` mosaic drawn on the same PC coordinates (`imshow` with the grid's
    extent), so a tile sits where the codes it stands for would be.
    """
    rows = list(rows)
    if not rows:
        raise ValueError("a figure needs at least one autoencoder")
    for row in rows:
        _check_labels(row.points, row.labels)
    side = (charts.FULL_WIDTH - 0.6) / 2
    fig, axes = plt.subplots(len(rows), 2, figsize=(charts.FULL_WIDTH, side * len(rows)), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 1]})
    for (scatter_ax, mosaic_ax), row in zip(axes, rows):
        points, labels = np.asarray(row.points)[:, :2], np.asarray(row.labels)
        charts.scatter_digits(scatter_ax, points, labels, size=point_size)
        xmin, xmax, ymin, ymax = row.extent
        scatter_ax.add_patch(Rectangle((xmin, ymin), xmax - xmin, ymax - ymin, fill=False, ec="k", lw=1.2, ls="--",
                                       label="decoded region"))
        _label_digits(scatter_ax, points, labels)
        scatter_ax.legend(handles=[scatter_ax.patches[-1]], loc="upper left", framealpha=0.8)
        scatter_ax.set_title(f"{row.name}: {len(points):,} test codes".replace(",", " "))
        charts.draw_mosaic(mosaic_ax, row.mosaic, row.extent, row.extent,
                           title=f"{row.name}: the dashed box decoded",
                           xlabel=row.axis_labels[0], ylabel=row.axis_labels[1])
        scatter_ax.set_xlabel(row.axis_labels[0]), scatter_ax.set_ylabel(row.axis_labels[1])
        for ax in (scatter_ax, mosaic_ax):
            ax.tick_params(labelsize=charts.MIN_FONT_PT)
    fig.tight_layout(rect=(0, 0, 1 - 0.7 / fig.get_figwidth(), 1))
    digit_legend(fig)
    return charts.save(fig, path)
