"""One step in a process of its own, with TensorFlow held to a share of the cores.

When the runner runs steps side by side (`python -m mnist_ae run all --jobs 2`), it starts
`python -m mnist_ae.pipeline.worker NAME SCRIPT THREADS LOG [ARGS...]` for each step and shows its output
line by line. The small networks here keep two cores only partly busy; two trainings on one core
each get more done than two in turn on both (benchmark: ~1.2-1.6x on a 2-core machine).
`THREADS` 0 leaves TensorFlow alone (steps that do not train, and the runner's tests).
"""

from __future__ import annotations

import sys
from pathlib import Path

from mnist_ae import process
from mnist_ae.pipeline import runner

def main(argv=None) -> int:
    name, script, threads, log, *args = sys.argv[1:] if argv is None else argv
    process.end_with_parent()
    if int(threads):
        process.start_tensorflow(int(threads))
    return runner.run_step(name, Path(script), args, Path(log))


if __name__ == "__main__":
    raise SystemExit(main())
