"""The figures' print rule: text of at least 7 pt, recorded in the PNG, or no file at all."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from mnist_ae.plots import charts


def test_save_records_the_smallest_font_in_the_png(tmp_path):
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    ax.set_xlabel("x", fontsize=9), ax.tick_params(labelsize=7.5)
    (path,) = charts.save(fig, tmp_path / "a.png")
    assert Image.open(path).text["min_font_pt"] == "7.5"  # the tick labels, the smallest text


def test_save_refuses_text_too_small_to_print_and_writes_nothing(tmp_path):
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.text(0.5, 0.5, "tiny", fontsize=6)
    with pytest.raises(ValueError, match=r"a\.png: text of 6 pt, under the 7 pt"):
        charts.save(fig, tmp_path / "a.png", vector=True)
    assert list(tmp_path.iterdir()) == []


def test_every_figure_function_draws_within_the_report_width(tmp_path):
    """Drawn at most as wide as the report's text (it prints figures at 100 %)."""
    rng = np.random.default_rng(0)
    codes, labels = rng.normal(size=(200, 2)), rng.integers(0, 10, 200)
    tiles = rng.random((12, 28, 28))
    charts.latent_scatter(codes, labels, tmp_path / "s.png", (-3, 3, -3, 3), title="codes")
    charts.image_rows({"input": tiles, "reconstruction": tiles}, tmp_path / "r.png")
    charts.confusion(rng.integers(0, 1200, (10, 10)), tmp_path / "c.png", title="test accuracy 99.00 %")
    for name, most in (("s.png", charts.HALF_WIDTH), ("r.png", charts.FULL_WIDTH), ("c.png", charts.HALF_WIDTH)):
        width_in = Image.open(tmp_path / name).size[0] / charts.DPI
        assert width_in <= most + 0.05, name
