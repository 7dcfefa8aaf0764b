"""`python -m mnist_ae run all|STEP... [--quick] [--from STEP] [--force] [--jobs J] [--set R.F=V --name NAME]`.

See `mnist_ae.pipeline.runner` for what it prints, reuses and writes.
"""

from __future__ import annotations

import argparse
import sys

from mnist_ae import paths, recipes
from mnist_ae.pipeline import registry, runner
from mnist_ae.pipeline.harness import variant_name
from mnist_ae.errors import EXIT_ERROR


def step_name(text: str) -> str:
    if text != "all" and text not in registry.NAMES:
        raise argparse.ArgumentTypeError(f"unknown step '{text}' (choose from all {' '.join(registry.NAMES)})")
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mnist_ae", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run steps in order, reusing those that are up to date",
                              description="Steps, in order: " + ", ".join(
                                  f"{s.name} ({s.title})" for s in registry.STEPS))
    run.add_argument("steps", nargs="+", type=step_name, metavar="STEP", help="`all` or step names")
    run.add_argument("--quick", action="store_true", help=f"smoke run on a subset, outputs in {paths.QUICK_ROOT}/")
    run.add_argument("--from", dest="start", type=step_name, metavar="STEP", help="start at this step")
    run.add_argument("--force", action="store_true", help="rerun steps even when up to date")
    run.add_argument("--jobs", type=int, default=runner.default_jobs(), metavar="J",
                     help="steps side by side, in J worker processes with a share of the cores each "
                          "(default %(default)s; 1: in order, in this process; see docs/speed.md)")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="RECIPE.FIELD=VALUE",
                     help="an experiment: change a recipe of mnist_ae.recipes (e.g. ex1_ae.batch_size=64) for "
                          "every step that uses it; needs --name")
    run.add_argument("--name", type=variant_name, help=f"the experiment's name: every output in {paths.VARIANTS}/NAME/")
    args = parser.parse_args(argv)
    try:
        if args.overrides and not args.name:
            raise ValueError("--set changes a recipe: name the experiment with --name NAME, so its outputs go to "
                             f"{paths.VARIANTS}/NAME/ and never over the full run's")
        recipes.parse_overrides(args.overrides)  # a typo fails here, before any step starts
        pipe = runner.Pipeline(args.quick, overrides=args.overrides, name=args.name)
        return runner.run(args.steps, quick=args.quick, start=args.start, force=args.force, jobs=args.jobs,
                          pipeline=pipe)
    except ValueError as e:
        print(f"mnist_ae: error: {e}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    raise SystemExit(main())
