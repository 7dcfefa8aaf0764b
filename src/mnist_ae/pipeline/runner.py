"""Run registered steps in order, reuse the ones that are up to date, and say where it is.

`python -m mnist_ae run all` (what `bash run.sh all` calls) prints `[k/N] step — what it does`
before each step, skips a step whose outputs were made by the same code, settings and data (and
says so), stops at the first failure or Ctrl-C with one line and the summary so far, and ends
with a summary table that is also written to `<results>/pipeline.json`. A rerun continues where
it stopped: finished steps are reused and training resumes from its last checkpoint.

With `--jobs J` (default 2 on a machine with 2 or more cores, see `default_jobs`) up to J steps
whose needs are done run side by side in J lanes, worker processes (`mnist_ae.pipeline.worker`) that
hold TensorFlow to their share of the cores and run one step after another (TensorFlow starts once
per lane), and every line they print is prefixed with `[k/N step]`.
The longest remaining chain of steps starts first (durations from the committed run's
`pipeline.json`). A step marked `alone` (the benchmark, which times the machine) runs with
nothing beside it and all the cores. With
`--jobs 1` the steps run one after the other in this process (TensorFlow starts once).

"Up to date" is decided by a stamp per step in `.cache/pipeline/<full|quick>/<step>.json`: a
fingerprint of the package's code, the step's script (and extra sources), its flags, the MNIST
hashes and the stamps of the steps it needs, plus the SHA-256 of every output it wrote. The
stamps are local (not committed), so a fresh clone runs everything once.

Example::

    python -m mnist_ae run all --quick        # smoke run into build/quick/
    python -m mnist_ae run exercise_3         # one step (reused if up to date)
    python -m mnist_ae run all --from exercise_4 --force
    python -m mnist_ae run all --jobs 1       # one step at a time, in this process
"""
from __future__ import annotations


from mnist_ae.pipeline.lanes import SideBySide
from mnist_ae.pipeline.loading import run_step  # noqa: F401  (the runner's API: one step in this process)
from mnist_ae.pipeline.scheduling import InOrder, critical_path, default_jobs, select  # noqa: F401
from mnist_ae.pipeline.stamps import Pipeline


def run(names: list[str], quick: bool = False, start: str | None = None, force: bool = False,
        pipeline: Pipeline | None = None, jobs: int | None = None) -> int:
    """Run the selected steps; return 0, `EXIT_ERROR` or `EXIT_INTERRUPTED`."""
    chosen = select(names, start)
    pipe = pipeline or Pipeline(quick)
    pipe.whole_job = "all" in names
    pipe.force = pipe.force or force
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise ValueError(f"--jobs must be at least 1, not {jobs}")
    total = len(chosen)
    jobs = min(jobs, total)  # one step alone runs in this process with every core
    mode = f" (quick smoke run: subset data, 1 epoch, outputs in {pipe.figures.parent}/)" if pipe.quick else ""
    side = f", up to {jobs} side by side" if jobs > 1 and total > 1 else ""
    print(f"mnist_ae: {total} step{'s' * (total != 1)}{side}{mode}", flush=True)
    code = (InOrder(pipe, chosen) if jobs == 1 else SideBySide(pipe, chosen, jobs)).run()
    pipe.print_summary()
    pipe.write_summary()
    return code
