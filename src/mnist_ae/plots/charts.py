"""One function per figure: each takes data and a path, saves PNG (and a PDF for line plots).

Figures are drawn at the size the report prints them (it prints every figure at 100 %, so a
point in matplotlib is a point on paper): at most `FULL_WIDTH` inches wide, or `HALF_WIDTH`
for the figures the report sets side by side, with text of at least `MIN_FONT_PT` points;
`save` refuses a figure with smaller text. Figures never call `plt.show()`; every file is
written atomically.

Example::

    loss_curves({"loss": [0.05, 0.04], "val_loss": [0.045, 0.041]}, "figures/ex1_loss.png")
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from mnist_ae.atomic import atomic_write  # noqa: E402

DIGIT_COLOURS = plt.get_cmap("tab10")

# The report's text width (A4, 2 cm margins) and one column of a two-column grid, in inches.
FULL_WIDTH, HALF_WIDTH = 6.6, 3.2
MIN_FONT_PT = 7.0  # the smallest text a printed page may carry
DPI = 200
plt.rcParams.update({"font.size": 8, "axes.titlesize": 8.5, "axes.labelsize": 8, "xtick.labelsize": 7.5,
                     "ytick.labelsize": 7.5, "legend.fontsize": 7.5, "legend.title_fontsize": 7.5,
                     "figure.titlesize": 9})


def smallest_font(fig) -> float:
    """The smallest font size (points) of the visible, non-empty text of a drawn `fig`."""
    sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text().strip()]
    return float(min(sizes, default=MIN_FONT_PT))


def save(fig, path, vector: bool = False) -> list[Path]:
    """Save `fig` as PNG at `path` (and as PDF beside it if `vector`), then close it.

    The PNG records its smallest font size (`min_font_pt` in its text chunks). A figure with text
    under `MIN_FONT_PT` is a ValueError, and nothing is written.
    """
    path = Path(path)
    targets = [path] + ([path.with_suffix(".pdf")] if vector else [])
    try:
        fig.canvas.draw()  # tick labels get their text when drawn
        smallest = smallest_font(fig)
        if smallest < MIN_FONT_PT:
            raise ValueError(f"{path.name}: text of {smallest:g} pt, under the {MIN_FONT_PT:g} pt a printed page needs")
        for target in targets:
            metadata = {"min_font_pt": f"{smallest:g}"} if target.suffix == ".png" else None
            with atomic_write(target) as tmp:
                fig.savefig(tmp, dpi=DPI, bbox_inches="tight", metadata=metadata)
    finally:
        plt.close(fig)
    return targets


def image_rows(rows: dict[str, np.ndarray], path, title: str = "", width: float = FULL_WIDTH) -> list[Path]:
    """Rows of 28x28 images, one labelled row per entry (e.g. inputs and reconstructions), `width`
    inches wide with the labels."""
    n = max(len(v) for v in rows.values())
    label_room = 0.4 + 0.055 * max(len(label) for label in rows)  # inches for the row labels
    tile = (width - label_room) / n
    fig, axes = plt.subplots(len(rows), n, figsize=(width - label_room, tile * len(rows) + (0.25 if title else 0)),
                             squeeze=False, gridspec_kw={"wspace": 0.05, "hspace": 0.05})
    for r, (label, images) in enumerate(rows.items()):
        for c in range(n):
            ax = axes[r, c]
            ax.set_xticks([]), ax.set_yticks([])
            if c < len(images):
                ax.imshow(images[c], cmap="gray", vmin=0, vmax=1)
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title)
    return save(fig, path)


def loss_curves(history: dict, path, metric: str = "loss", ylabel: str = "loss", log: bool = False) -> list[Path]:
    """Train and test `metric` per epoch (`metric` and `val_<metric>` in a Keras history)."""
    epochs = np.arange(1, len(history[metric]) + 1)
    fig, ax = plt.subplots(figsize=(HALF_WIDTH - 0.4, 2.3))
    ax.plot(epochs, history[metric], "o-", label="train", ms=3)
    if f"val_{metric}" in history:
        ax.plot(epochs, history[f"val_{metric}"], "s-", label="test", ms=3)
    ax.set_xlabel("epoch"), ax.set_ylabel(ylabel), ax.grid(alpha=0.3), ax.legend()
    if log:
        ax.set_yscale("log")
    return save(fig, path, vector=True)


def iteration_loss(losses, steps, steps_per_epoch: int, path, ylabel: str = "training MSE") -> list[Path]:
    """Training loss along the iterations (`losses[i]` ends at iteration `steps[i]`), epoch lines."""
    losses, steps = np.asarray(losses), np.asarray(steps)
    chunk = int(steps[1] - steps[0]) if len(steps) > 1 else 1
    fig, ax = plt.subplots(figsize=(HALF_WIDTH - 0.4, 2.3))
    ax.plot(steps, losses, lw=0.6, label="batch" if chunk == 1 else f"mean of each {chunk} iterations")
    for e in range(steps_per_epoch, int(steps[-1]), steps_per_epoch):
        ax.axvline(e, color="grey", lw=0.3)
    ax.set_xlabel("iteration"), ax.set_ylabel(ylabel), ax.set_yscale("log"), ax.grid(alpha=0.3), ax.legend()
    return save(fig, path, vector=True)


def scatter_digits(ax, codes, labels, size=1.0):
    """Draw (N, 2) `codes` on `ax`, one colour per digit of `labels` (shared by every latent figure)."""
    for digit in range(10):
        sel = labels == digit
        ax.scatter(codes[sel, 0], codes[sel, 1], s=size, color=DIGIT_COLOURS(digit), label=str(digit),
                   alpha=0.5, linewidths=0, rasterized=True)


def latent_scatter(codes, labels, path, limits, title: str = "", xlabel="code 1", ylabel="code 2",
                   width: float = HALF_WIDTH) -> list[Path]:
    """Scatter of 2-D codes coloured by digit; `limits = (xmin, xmax, ymin, ymax)` fixes the axes.
    `width`: inches with the legend beside the axes."""
    fig, ax = plt.subplots(figsize=(width - 0.75, width - 0.65))
    scatter_digits(ax, codes, np.asarray(labels))
    ax.set_xlim(limits[:2]), ax.set_ylim(limits[2:])
    ax.set_xlabel(xlabel), ax.set_ylabel(ylabel), ax.set_title(title)
    _digit_legend(ax)
    return save(fig, path)


def _digit_legend(ax):
    ax.legend(markerscale=6, title="digit", loc="center left", bbox_to_anchor=(1, 0.5), handletextpad=0.1,
              borderpad=0.3, labelspacing=0.3)


def draw_mosaic(ax, image, extent, limits, title="", xlabel="code 1", ylabel="code 2"):
    """Draw a decoded grid `image` on `ax` at its codes (`extent`), on axes `limits`."""
    ax.imshow(image, cmap="gray", extent=extent, origin="upper", aspect="auto", vmin=0, vmax=1)
    ax.set_xlim(limits[:2]), ax.set_ylim(limits[2:])
    ax.set_xlabel(xlabel), ax.set_ylabel(ylabel), ax.set_title(title)


def latent_mosaic(image, extent, path, limits, title: str = "", overlay=None, xlabel="code 1",
                  ylabel="code 2") -> list[Path]:
    """A decoded grid drawn at its codes, `imshow(image, extent=extent)`, on axes `limits`.

    Pass the scatter's limits so both figures share their axes. With
    `overlay=(codes, labels)` the scatter is drawn on top.
    """
    side = HALF_WIDTH - 0.65
    fig, ax = plt.subplots(figsize=(side - 0.1, side) if overlay is not None else (side + 0.2, side + 0.2))
    draw_mosaic(ax, image, extent, limits, title, xlabel, ylabel)
    if overlay is not None:
        scatter_digits(ax, overlay[0], np.asarray(overlay[1]), size=0.4)
        _digit_legend(ax)
    return save(fig, path)


def per_digit_bars(series: dict[str, np.ndarray], path, chance: float, ylabel="accuracy (%)") -> list[Path]:
    """Grouped bars of per-digit accuracies (fractions, shown in %) with the chance level."""
    fig, ax = plt.subplots(figsize=(FULL_WIDTH - 1.5, 2.4))
    width = 0.8 / len(series)
    for i, (label, values) in enumerate(series.items()):
        ax.bar(np.arange(10) + (i - (len(series) - 1) / 2) * width, 100 * np.asarray(values), width, label=label)
    ax.axhline(100 * chance, color="k", ls="--", lw=1, label=f"chance ({100 * chance:.1f} %)")
    ax.set_xticks(range(10)), ax.set_xlabel("digit"), ax.set_ylabel(ylabel), ax.set_ylim(0, 100)
    # Beside the axes: inside, it covers some digit's bars whichever corner it takes.
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1)), ax.grid(axis="y", alpha=0.3)
    return save(fig, path, vector=True)


def confusion(matrix, path, title: str = "") -> list[Path]:
    """Confusion matrix (rows: true digit, columns: predicted) with counts in the cells."""
    from sklearn.metrics import ConfusionMatrixDisplay

    fig, ax = plt.subplots(figsize=(HALF_WIDTH - 0.1, HALF_WIDTH - 0.2))
    # Symmetric-log colours: the few errors off the diagonal stay visible next to ~1000 hits.
    ConfusionMatrixDisplay(np.asarray(matrix), display_labels=range(10)).plot(
        ax=ax, cmap="Blues", colorbar=False, text_kw={"fontsize": MIN_FONT_PT},
        im_kw={"norm": matplotlib.colors.SymLogNorm(linthresh=1)})
    ax.set_xlabel("predicted digit"), ax.set_ylabel("true digit"), ax.set_title(title)
    return save(fig, path, vector=True)


def padded_limits(box, margin: float = 0.05) -> tuple[float, float, float, float]:
    """Axis limits around `box = (xmin, xmax, ymin, ymax)`; shared by every plot of one latent space."""
    xmin, xmax, ymin, ymax = map(float, box)
    dx, dy = (xmax - xmin) * margin or 1.0, (ymax - ymin) * margin or 1.0
    return xmin - dx, xmax + dx, ymin - dy, ymax + dy


def mosaics_side_by_side(panels, path) -> list[Path]:
    """Decoded grids next to each other; `panels` = [(image, extent, limits, title, xlabel, ylabel)]."""
    side = (FULL_WIDTH - 0.4) / len(panels) - 0.45
    fig, axes = plt.subplots(1, len(panels), figsize=((side + 0.45) * len(panels), side + 0.3), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        draw_mosaic(ax, *panel)
    return save(fig, path)


def curves(series: dict[str, list[float]], path, ylabel: str, xlabel: str = "epoch", x=None) -> list[Path]:
    """Several curves on one axis, one labelled line each: per epoch (1, 2, ...) or over `x`."""
    fig, ax = plt.subplots(figsize=(HALF_WIDTH - 0.4, 2.4))
    for label, values in series.items():
        ax.plot(np.arange(1, len(values) + 1) if x is None else x, values, "o-", ms=3, label=label)
    ax.set_xlabel(xlabel), ax.set_ylabel(ylabel), ax.grid(alpha=0.3), ax.legend()
    return save(fig, path, vector=True)


def per_code_size_spread(per_size: dict[int, dict], path, ylabel: str, finalists: dict[int, float] = None,
                         references: dict[str, tuple] = None) -> list[Path]:
    """Per code size (log-log): every trial's value as a dot, the best as a line, the median dashed;
    `finalists` = {size: test MSE} of the models trained to convergence, `references` =
    {label: (size, value)} as labelled black stars. `per_size` maps a size to a
    `search.common_budget_summary`."""
    fig, ax = plt.subplots(figsize=(HALF_WIDTH - 0.4, 2.6))
    sizes = sorted(s for s, v in per_size.items() if v["n"])
    for s in sizes:
        ax.plot([s] * per_size[s]["n"], per_size[s]["values"], ".", color="0.55", ms=6)
    ax.plot(sizes, [per_size[s]["best"] for s in sizes], "o-", ms=5, label="best trial")
    ax.plot(sizes, [per_size[s]["median"] for s in sizes], "--", color="C0", alpha=0.6, label="median trial")
    if finalists:
        ax.plot(sorted(finalists), [finalists[s] for s in sorted(finalists)], "D", color="C3", ms=7,
                label="finalist, trained to convergence (test)")
    for label, (size, value) in (references or {}).items():
        ax.plot([size], [value], "k*", ms=10)
        ax.annotate(label, (size, value), textcoords="offset points", xytext=(-8, -13), ha="right",
                    fontsize=MIN_FONT_PT)
    ax.set_xscale("log", base=2), ax.set_yscale("log")
    ax.set_xticks(sizes, [str(s) for s in sizes]), ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_xlabel("code size"), ax.set_ylabel(ylabel), ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=MIN_FONT_PT, loc="upper right")  # the curves fall from the upper left
    return save(fig, path, vector=True)


def search_history(trials: dict[int, list[tuple[int, float]]], path) -> list[Path]:
    """Each code size's finished trials (number, validation MSE) as points and its best so far as a line."""
    fig, ax = plt.subplots(figsize=(HALF_WIDTH - 0.4, 2.6))
    for i, (size, points) in enumerate(sorted(trials.items())):
        if not points:
            continue
        numbers, values = zip(*sorted(points))
        colour = plt.get_cmap("viridis")(i / max(len(trials) - 1, 1))
        ax.plot(numbers, values, "o", ms=3, color=colour, alpha=0.6)
        ax.step(numbers, np.minimum.accumulate(values), where="post", color=colour, label=f"AE{size}")
    ax.set_yscale("log"), ax.set_xlabel("trial number (per code size)"), ax.set_ylabel("validation MSE")
    ax.grid(alpha=0.3, which="both"), ax.legend(fontsize=MIN_FONT_PT, ncol=2, title="best so far")
    return save(fig, path, vector=True)


def label_efficiency_spread(points: dict[str, dict], path) -> list[Path]:
    """Test accuracy against the number of labels (log axis), pretrained and from scratch: the
    mean over a point's label subsets with their standard deviation as error bars.

    `points` maps a key (e.g. "100", "all") to {"labels": n, "pretrained": mean, "pretrained_std":
    std, "scratch": ..., "scratch_std": ...}, accuracies in [0, 1].
    """
    fig, ax = plt.subplots(figsize=(HALF_WIDTH - 0.4, 2.4))
    keys = sorted(points, key=lambda k: points[k]["labels"])
    x = [points[k]["labels"] for k in keys]
    for start, label in (("pretrained", "pretrained (AE32 encoder)"), ("scratch", "from scratch")):
        ax.errorbar(x, [100 * points[k][start] for k in keys], yerr=[100 * points[k][f"{start}_std"] for k in keys],
                    fmt="o-", ms=4, capsize=3, label=label)
    ax.set_xscale("log"), ax.set_xticks(x, [f"{n:,}" for n in x])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_xlabel("labelled training images"), ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3, which="both"), ax.legend()
    return save(fig, path, vector=True)