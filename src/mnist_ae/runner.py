"""Run registered steps in order, reuse the ones that are up to date, and say where it is.

`python -m mnist_ae run all` (what `bash run.sh all` calls) prints `[k/N] step — what it does`
before each step, runs the steps in this one process (TensorFlow starts once), skips a step whose
outputs were made by the same code, settings and data (and says so), stops at the first failure
or Ctrl-C with one line and the summary so far, and ends with a summary table that is also
written to `<results>/pipeline.json`. A rerun continues where it stopped: finished steps are
reused and training resumes from its last checkpoint.

"Up to date" is decided by a stamp per step in `.cache/pipeline/<full|quick>/<step>.json`: a
fingerprint of the package's code, the step's script (and extra sources), its flags, the MNIST
hashes and the stamps of the steps it needs, plus the SHA-256 of every output it wrote. The
stamps are local (not committed), so a fresh clone runs everything once.

Example::

    python -m mnist_ae run all --quick        # smoke run into build/quick/
    python -m mnist_ae run exercise_3         # one step (reused if up to date)
    python -m mnist_ae run all --from exercise_4 --force
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import importlib.util
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from mnist_ae import data, paths, steps
from mnist_ae.atomic import atomic_write
from mnist_ae.errors import EXIT_ERROR, EXIT_INTERRUPTED


def sha256_file(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def code_digest(step: steps.Step) -> str:
    """Hash of the package's sources, the step's script and its extra sources."""
    files = sorted((paths.ROOT / "src" / "mnist_ae").glob("*.py"))
    files += [step.script_path, *(paths.ROOT / s for s in step.sources)]
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return digest.hexdigest()


@dataclasses.dataclass
class Outcome:
    name: str
    status: str  # ran | reused | failed | interrupted
    wall_time_s: float
    headline: str = ""
    last_run_wall_time_s: float | None = None  # for a reused step: what producing its outputs took


class Pipeline:
    """The state of one invocation: where outputs and stamps live, and what happened so far."""

    def __init__(self, quick: bool, force: bool = False, state_dir: Path | None = None,
                 figures: Path | None = None, results: Path | None = None, cache_dir: Path | None = None,
                 report: Path | None = None):
        self.quick, self.force = quick, force
        self.cache_dir = cache_dir or paths.MODEL_CACHE
        self.report = report or paths.report_pdf(quick)
        default_figures, default_results = paths.output_dirs(quick)
        self.figures, self.results = figures or default_figures, results or default_results
        self.state = (state_dir or paths.PIPELINE_STATE) / ("quick" if quick else "full")
        self.outcomes: list[Outcome] = []
        self.started = time.perf_counter()

    # --- up-to-date bookkeeping ------------------------------------------------------------

    def argv(self, step: steps.Step) -> list[str]:
        """The flags the step's `main` gets: where its outputs go, and quick mode."""
        flags = ["--quick"] if self.quick else []
        flags += ["--figures-dir", str(self.figures), "--results-dir", str(self.results)]
        if step.results:
            return flags + ["--cache-dir", str(self.cache_dir)]
        return flags + ["--output", str(self.report)]  # the report reads what the others wrote

    def stamp_path(self, step: steps.Step) -> Path:
        return self.state / f"{step.name}.json"

    def read_stamp(self, step: steps.Step) -> dict | None:
        try:
            return json.loads(self.stamp_path(step).read_text())
        except (OSError, ValueError):
            return None

    def outputs(self, step: steps.Step) -> list[Path]:
        return step.outputs(self.figures, self.results) if step.results else [self.report]

    def fingerprint(self, step: steps.Step) -> str:
        needs = {}
        for name in steps.needs_of(step):
            stamp = self.read_stamp(steps.get(name)) or {}
            needs[name] = [stamp.get("fingerprint"), stamp.get("outputs")]
        blob = json.dumps({"code": code_digest(step), "argv": self.argv(step), "data": data.SHA256,
                           "needs": needs}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def up_to_date(self, step: steps.Step) -> dict | None:
        """The step's stamp if its outputs are current, else None."""
        stamp = self.read_stamp(step)
        if self.force or not stamp or stamp.get("fingerprint") != self.fingerprint(step):
            return None
        for path in self.outputs(step):
            if not path.is_file() or stamp["outputs"].get(str(path)) != sha256_file(path):
                return None
        return stamp

    def write_stamp(self, step: steps.Step, wall_time_s: float, headline: str) -> None:
        stamp = {"fingerprint": self.fingerprint(step), "wall_time_s": round(wall_time_s, 2), "headline": headline,
                 "outputs": {str(p): sha256_file(p) for p in self.outputs(step)}}
        with atomic_write(self.stamp_path(step)) as tmp:
            tmp.write_text(json.dumps(stamp, indent=1))

    def headline(self, step: steps.Step) -> str:
        if not step.results:
            return str(self.report)
        try:
            return step.headline(json.loads((self.results / f"{step.name}.json").read_text()))
        except (OSError, ValueError, KeyError, TypeError, ZeroDivisionError):
            return ""

    # --- the summary ------------------------------------------------------------------------

    def total(self) -> float:
        return time.perf_counter() - self.started

    def summary(self) -> dict:
        return {"total_wall_time_s": round(self.total(), 2), "nproc": os.cpu_count(), "quick": self.quick,
                "steps": [dataclasses.asdict(o) for o in self.outcomes]}

    def write_summary(self) -> Path:
        path = self.results / "pipeline.json"
        with atomic_write(path) as tmp:
            tmp.write_text(json.dumps(self.summary(), indent=2) + "\n")
        return path

    def print_summary(self, out=None) -> None:
        out = out or sys.stdout
        width = max([len(o.name) for o in self.outcomes] + [4])
        print(f"\n{'step':<{width}}  {'status':<11}  {'wall time':>9}  headline", file=out)
        for o in self.outcomes:
            print(f"{o.name:<{width}}  {o.status:<11}  {o.wall_time_s:>7.1f} s  {o.headline}", file=out)
        print(f"{'total':<{width}}  {'':<11}  {self.total():>7.1f} s  ({os.cpu_count()} cores)", file=out)


def load_script(path: Path):
    """Import `scripts/<name>.py` as a module (scripts are not part of the package)."""
    spec = importlib.util.spec_from_file_location(f"mnist_ae_step_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def captured_stderr():
    """Send file descriptor 2 to a temporary file (C++ libraries write there, not to sys.stderr)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield sink
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def start_tensorflow() -> None:
    """Import TensorFlow once with its C++ start-up lines hidden; show them only if it fails."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with captured_stderr() as sink:
        try:
            import tensorflow as tf

            # Python-side advice (e.g. "triggered tf.function retracing" when figures predict on
            # batches of other sizes) is noise for a person following the steps.
            tf.get_logger().setLevel("ERROR")
            tf.config.list_physical_devices()
            tf.constant(0.0) + 1.0  # the first op prints the device lines
            import keras  # noqa: F401
        except Exception:
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise


def run_step(step: steps.Step, argv: list[str], log: Path) -> int:
    """Call the step's `main(argv)`; an unexpected exception becomes one line (traceback in `log`)."""
    if "keras" in sys.modules:  # a fresh Keras state per step: names, memory
        sys.modules["keras"].backend.clear_session()
    gc.collect()
    saved_argv = sys.argv
    sys.argv = [str(step.script_path), *argv]  # so argparse names the script, as when it runs alone
    try:
        code = load_script(step.script_path).main(argv)
    except SystemExit as e:  # argparse
        code = e.code if isinstance(e.code, int) else EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{step.name}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:  # a bug: one line here, the traceback in a file
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(traceback.format_exc())
        print(f"{step.name}: error: {type(e).__name__}: {e} (traceback in {log})".splitlines()[0], file=sys.stderr)
        return EXIT_ERROR
    finally:
        sys.argv = saved_argv
    return code or 0


def select(names: list[str], start: str | None) -> list[steps.Step]:
    """The steps to run, in registry order: `all` or the named ones, from `start` on."""
    if "all" in names:
        chosen = list(steps.STEPS)
    else:
        wanted = {steps.get(n).name for n in names}
        chosen = [s for s in steps.STEPS if s.name in wanted]
    if start is not None:
        first = steps.NAMES.index(steps.get(start).name)
        chosen = [s for s in chosen if steps.NAMES.index(s.name) >= first]
    if not chosen:
        raise ValueError(f"nothing to run: --from {start} comes after every selected step")
    return chosen


def run(names: list[str], quick: bool = False, start: str | None = None, force: bool = False,
        pipeline: Pipeline | None = None) -> int:
    """Run the selected steps; return 0, `EXIT_ERROR` or `EXIT_INTERRUPTED`."""
    chosen = select(names, start)
    pipe = pipeline or Pipeline(quick)
    pipe.force = pipe.force or force
    total = len(chosen)
    mode = f" (quick smoke run: subset data, 1 epoch, outputs in {pipe.figures.parent}/)" if pipe.quick else ""
    print(f"mnist_ae: {total} step{'s' * (total != 1)}{mode}", flush=True)
    tensorflow_started = False
    code = 0
    try:
        for k, step in enumerate(chosen, start=1):
            stamp = pipe.up_to_date(step)
            if stamp is not None:
                headline = pipe.headline(step)
                pipe.outcomes.append(Outcome(step.name, "reused", 0.0, headline, stamp.get("wall_time_s")))
                print(f"[{k}/{total}] {step.name} — reused, up to date ({headline or 'no change'})", flush=True)
                pipe.write_summary()
                continue
            print(f"[{k}/{total}] {step.name} — {step.title}", flush=True)
            if not tensorflow_started and step.results:
                start_tensorflow()
                tensorflow_started = True
            began = time.perf_counter()
            code = run_step(step, pipe.argv(step), pipe.state / "last-error.log")
            took = time.perf_counter() - began
            if code != 0:
                status = "interrupted" if code == EXIT_INTERRUPTED else "failed"
                pipe.outcomes.append(Outcome(step.name, status, round(took, 2)))
                then = "rerun" if code == EXIT_INTERRUPTED else "fix what the line above says and rerun"
                print(f"[{k}/{total}] {step.name} {status} after {took:.1f} s; {then} the same command: finished "
                      f"steps are reused, training resumes from its checkpoint", file=sys.stderr, flush=True)
                break
            headline = pipe.headline(step)
            pipe.write_stamp(step, took, headline)
            pipe.outcomes.append(Outcome(step.name, "ran", round(took, 2), headline))
            print(f"[{k}/{total}] {step.name} done in {took:.1f} s{' — ' + headline if headline else ''}", flush=True)
            pipe.write_summary()
    except KeyboardInterrupt:
        print("mnist_ae: interrupted between steps; rerun the same command to go on", file=sys.stderr)
        code = EXIT_INTERRUPTED
    pipe.print_summary()
    pipe.write_summary()
    return code
