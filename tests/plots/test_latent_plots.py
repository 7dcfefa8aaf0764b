"""Each latent-exploration figure is written as a non-empty PNG from tiny data."""

import numpy as np
import pytest

from mnist_ae.analysis import evaluation
from mnist_ae.plots import latent_plots
from mnist_ae.plots.latent_plots import GenerationRow, Panel

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def tiny():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 5)
    return rng.normal(size=(50, 3)) + labels[:, None], labels


def assert_png(path):
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 1000


def test_embedding_panels_draws_rows_of_2d_panels(tmp_path, tiny):
    points, labels = tiny
    row = [Panel(points[:, :2], "AE8 PCA 2-D\n1-NN 90.0 %", ("PC 1 (40 % of variance)", "PC 2 (20 %)")),
           Panel(points[:, 1:], "AE8 t-SNE 2-D", ("t-SNE 1", "t-SNE 2"))]
    latent_plots.embedding_panels([row, row[:1]], labels, tmp_path / "panels.png")  # a short row leaves a blank
    assert_png(tmp_path / "panels.png")


def test_embedding_panels_refuses_labels_of_other_points(tmp_path, tiny):
    points, labels = tiny
    with pytest.raises(ValueError, match="labels"):
        latent_plots.embedding_panels([[Panel(points, "x", ("a", "b"))]], labels[:10], tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_embedding_3d_draws_3d_panels(tmp_path, tiny):
    points, labels = tiny
    row = [Panel(points, "AE8 PCA 3-D", ("PC 1", "PC 2", "PC 3")), Panel(-points, "AE8 t-SNE 3-D", ("1", "2", "3"))]
    latent_plots.embedding_3d([row, row], labels, tmp_path / "3d.png")
    assert_png(tmp_path / "3d.png")
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        latent_plots.embedding_3d([[Panel(points[:, :2], "flat", ("a", "b"))]], labels, tmp_path / "flat.png")


def test_pca_generation_draws_scatter_and_mosaic_per_autoencoder(tmp_path, tiny):
    points, labels = tiny
    n = 3
    box = (-1.0, 1.0, -2.0, 2.0)
    _, extent = evaluation.latent_grid(box, n)
    mosaic = evaluation.mosaic(np.random.default_rng(1).random((n * n, 28, 28)), n)
    rows = [GenerationRow(f"AE{size}", points[:, :2], labels, mosaic, extent, box, ("PC 1 (30 %)", "PC 2 (10 %)"))
            for size in (8, 32)]
    latent_plots.pca_generation(rows, tmp_path / "generation.png")
    assert_png(tmp_path / "generation.png")
