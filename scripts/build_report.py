"""Build report/report.pdf from the saved figures and result files with Typst.

Refuses, naming the step to run, when a figure or result is missing, and refuses to put
quick-run results into the full report.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import typst

from mnist_ae.atomic import atomic_write
from mnist_ae.cli import FULL_FIGURES, FULL_RESULTS, QUICK_ROOT

ROOT = Path(__file__).resolve().parent.parent
LONG_BUDGET = "long_budget/vae_likelihood.json"
SOURCE = ROOT / "report" / "report.typ"
# What each script writes (results/<script>.json and these figures); the report needs all of it.
OUTPUTS = {
    "exercise_1": ["ex1_reconstructions.png", "ex1_loss_epochs.pdf", "ex1_loss_iterations.pdf"],
    "exercise_2": ["ex2_latent_scatter.png"],
    "exercise_3": ["ex3_knn_accuracy.pdf"],
    "exercise_4": ["ex4_loss.pdf", "ex4_accuracy.pdf", "ex4_confusion.pdf"],
    "exercise_5": ["ex5_latent_grid.png", "ex5_grid_over_scatter.png"],
    "exercise_6": ["ex6_latent_means.png", "ex6_latent_grid.png", "ex6_grid_over_means.png",
                   "ex6_grids_ae_vs_vae.png", "ex6_reconstructions.png", "ex6_vae16_pca.png"],
    "vae_likelihood": ["ex6_likelihood_curves.pdf"],
}


def check_inputs(figures: Path, results: Path, quick: bool) -> None:
    """Raise FileNotFoundError/ValueError naming the script to run for any missing input."""
    for name, figures_needed in OUTPUTS.items():
        step = f"python scripts/{name}.py" + (" --quick" if quick else "")
        result = results / f"{name}.json"
        missing = [p for p in [result, *(figures / f for f in figures_needed)] if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"{missing[0]} is missing: run `{step}`")
        if json.loads(result.read_text())["provenance"]["quick"] and not quick:
            raise ValueError(f"{result} is from a --quick run: run `{step}` for the full report")


def build(figures: Path, results: Path, output: Path, quick: bool) -> Path:
    """Compile the report from `figures` and `results` (anywhere on disk) into `output`."""
    figures, results = figures.resolve(), results.resolve()
    check_inputs(figures, results, quick)
    # Typst reads only below its root: the deepest folder holding the source and both inputs.
    root = Path(os.path.commonpath([SOURCE.parent, figures, results]))
    inputs = {"figures": "/" + str(figures.relative_to(root)), "results": "/" + str(results.relative_to(root)),
              "quick": str(quick).lower()}
    long_budget = results / LONG_BUDGET
    if long_budget.is_file():  # optional: a longer likelihood run, shown beside the default one
        inputs["long_budget"] = "/" + str(long_budget.relative_to(root))
    with atomic_write(output) as tmp:
        typst.compile(str(SOURCE), output=str(tmp), root=str(root), sys_inputs=inputs)
    return output


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"build from the quick outputs under {QUICK_ROOT}/")
    parser.add_argument("--figures-dir", type=Path, help=f"default {FULL_FIGURES}/ (quick: {QUICK_ROOT}/figures/)")
    parser.add_argument("--results-dir", type=Path, help=f"default {FULL_RESULTS}/ (quick: {QUICK_ROOT}/results/)")
    parser.add_argument("--output", type=Path, help=f"default report/report.pdf (quick: {QUICK_ROOT}/report.pdf)")
    args = parser.parse_args(argv)
    base = ROOT / QUICK_ROOT if args.quick else ROOT
    figures = args.figures_dir or (base / "figures" if args.quick else ROOT / FULL_FIGURES)
    results = args.results_dir or (base / "results" if args.quick else ROOT / FULL_RESULTS)
    output = args.output or (base / "report.pdf" if args.quick else ROOT / "report" / "report.pdf")
    try:
        built = build(figures, results, output, args.quick)
    except (FileNotFoundError, ValueError, RuntimeError) as e:
        print(f"build_report: error: {e}", file=sys.stderr)
        return 2
    print(f"report written to {built}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
