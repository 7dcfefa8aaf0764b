"""Steps in a process of their own, with TensorFlow held to a share of the cores.

When the runner runs steps side by side (`python -m mnist_ae run all --jobs 2`), each lane is one
`python -m mnist_ae.pipeline.worker --serve THREADS TOKEN` process that starts TensorFlow once and
then runs the steps the runner sends it, one JSON line each on its standard input
(`{"name", "script", "log", "args"}`), one after the other; after each it prints
`TOKEN <exit code>` on both its output streams, so the runner knows where the step's lines end.
Starting Python, TensorFlow and the plotting and learning libraries takes a few seconds, once per
lane instead of once per step (docs/measurements.md). The small networks here keep two cores only
partly busy; two trainings on one core each get more done than two in turn on both (benchmark:
~1.2-1.6x on a 2-core machine). `THREADS` caps the operations run at once; every operation runs
on `process.OP_THREADS` threads in every process, so a lane trains the same weights as a direct run.
`THREADS` 0 leaves TensorFlow alone (steps that do not train, and the runner's tests).

`python -m mnist_ae.pipeline.worker NAME SCRIPT THREADS LOG [ARGS...]` runs one step that way and
exits: how one step is timed alone on one thread.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mnist_ae import process
from mnist_ae.errors import EXIT_INTERRUPTED
from mnist_ae.pipeline import runner


def serve(token: str, requests=None) -> int:
    """Run the steps requested on `requests` (standard input) until it ends; 0, or
    `EXIT_INTERRUPTED` if Ctrl-C comes while no step runs."""
    try:
        for line in sys.stdin if requests is None else requests:
            step = json.loads(line)
            code = runner.run_step(step["name"], Path(step["script"]), step["args"], Path(step["log"]))
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
                print(f"{token} {code}", file=stream, flush=True)
    except KeyboardInterrupt:  # a terminal's Ctrl-C reaches the idle lanes too
        return EXIT_INTERRUPTED
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    process.end_with_parent()
    serving = argv[0] == "--serve"
    threads = int(argv[1] if serving else argv[2])
    if threads:
        process.start_tensorflow(threads)
    if serving:
        return serve(token=argv[2])
    name, script, _, log, *args = argv
    return runner.run_step(name, Path(script), args, Path(log))


if __name__ == "__main__":
    raise SystemExit(main())
