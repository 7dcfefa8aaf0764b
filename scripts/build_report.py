"""Build report/report.pdf from the saved figures and result files with Typst.

Refuses, naming the step to run, when a figure or result is missing, and refuses to put
quick-run results into the full report.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import typst

from mnist_ae import paths
from mnist_ae.pipeline import registry
from mnist_ae.atomic import atomic_write
from mnist_ae.errors import guard

LONG_BUDGET = "long_budget/vae_likelihood.json"
OPTIONAL = {"long_budget": LONG_BUDGET, "pipeline": "pipeline.json", "benchmark": "benchmark.json",
            "explorer": "explorer.json"}  # the explorer's timings (`bash run.sh explore --measure`)
EXPLORER_SCREENSHOT = "explorer.png"  # shown with its timings, when both exist


def check_inputs(figures: Path, results: Path, quick: bool) -> None:
    """Raise FileNotFoundError/ValueError naming the step to run for any missing input.

    The inputs are the outputs of every registered step the report reads (`registry.report_steps`).
    """
    for step in registry.report_steps():
        command = f"python -m mnist_ae run {step.name}" + (" --quick" if quick else "")
        missing = [p for p in step.outputs(figures, results) if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"{missing[0]} is missing: run `{command}`")
        result = results / f"{step.name}.json"
        if json.loads(result.read_text())["provenance"]["quick"] and not quick:
            raise ValueError(f"{result} is from a --quick run: run `{command}` for the full report")


def build(figures: Path, results: Path, output: Path, quick: bool) -> Path:
    """Compile the report from `figures` and `results` (anywhere on disk) into `output`."""
    figures, results = figures.resolve(), results.resolve()
    check_inputs(figures, results, quick)
    # Typst reads only below its root: the deepest folder holding the code (the report shows
    # listings read from it) and both inputs.
    root = Path(os.path.commonpath([paths.ROOT, figures, results]))
    inputs = {"figures": "/" + str(figures.relative_to(root)), "results": "/" + str(results.relative_to(root)),
              "code": "" if root == paths.ROOT else "/" + str(paths.ROOT.relative_to(root)),
              "quick": str(quick).lower(), "steps": ",".join(s.name for s in registry.report_steps())}
    optional = {**OPTIONAL, **{s.name: f"{s.name}.json" for s in registry.STEPS if s.on_demand and s.in_report}}
    for name, relative in optional.items():  # shown when present (longer runs, the runner's timings)
        if (results / relative).is_file():
            inputs[name] = "/" + str((results / relative).relative_to(root))
    if "explorer" in inputs and not (figures / EXPLORER_SCREENSHOT).is_file():
        del inputs["explorer"]
    with atomic_write(output) as tmp:
        typst.compile(str(paths.REPORT_SOURCE), output=str(tmp), root=str(root), sys_inputs=inputs)
    return output


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    full, quick = paths.output_dirs(False), paths.output_dirs(True)
    parser.add_argument("--quick", action="store_true", help=f"build from the quick outputs under {paths.QUICK_ROOT}/")
    parser.add_argument("--figures-dir", type=Path, help=f"default {full[0]}/ (quick: {quick[0]}/)")
    parser.add_argument("--results-dir", type=Path, help=f"default {full[1]}/ (quick: {quick[1]}/)")
    parser.add_argument("--output", type=Path,
                        help=f"default {paths.report_pdf(False)} (quick: {paths.report_pdf(True)})")
    args = parser.parse_args(argv)
    figures, results = paths.output_dirs(args.quick)

    def body():
        built = build(args.figures_dir or figures, args.results_dir or results,
                      args.output or paths.report_pdf(args.quick), args.quick)
        print(f"report written to {built}")

    return guard("build_report", body)


if __name__ == "__main__":
    raise SystemExit(main())
