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

import dataclasses
import gc
import hashlib
import importlib.util
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

from mnist_ae import data, paths, process
from mnist_ae.pipeline import registry
from mnist_ae.atomic import atomic_write
from mnist_ae.errors import EXIT_ERROR, EXIT_INTERRUPTED


def duration(seconds: float) -> str:
    """A time left as a person reads it: seconds under a minute and a half, minutes above.

    Example:
        >>> duration(4.2), duration(89), duration(95), duration(1500)
        ('4 s', '89 s', '2 min', '25 min')
    """
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def sha256_file(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def code_digest(step: registry.Step) -> str:
    """Hash of the library's sources (every module of the package and its subpackages but the
    explorer, which only its own step lists in `sources`), the step's script and its extra sources."""
    package = paths.ROOT / "src" / "mnist_ae"
    files = sorted(f for f in package.rglob("*.py") if "explorer" not in f.relative_to(package).parts)
    files += [step.script_path, *(paths.ROOT / s for s in step.sources)]
    digest = hashlib.sha256()
    for f in files:
        name = f.relative_to(paths.ROOT) if f.is_relative_to(paths.ROOT) else f
        digest.update(str(name).encode() + b"\0" + f.read_bytes() + b"\0")
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
                 report: Path | None = None, tensorflow: bool = True, sites: Path | None = None,
                 estimates: Path | None = None):
        self.quick, self.force = quick, force
        # Step durations to plan a side-by-side run with: the committed full run's `pipeline.json`.
        self.estimates = estimates or paths.output_dirs(False)[1] / "pipeline.json"
        self.tensorflow = tensorflow  # False: the steps are not this project's (the runner's tests)
        self.cache_dir = cache_dir or paths.MODEL_CACHE
        self.report = report or paths.report_pdf(quick)
        default_figures, default_results = paths.output_dirs(quick)
        self.figures, self.results = figures or default_figures, results or default_results
        self.state = (state_dir or paths.PIPELINE_STATE) / ("quick" if quick else "full")
        self.sites = sites  # where `site` steps build (None: each step's own `site_dir`)
        self.outcomes: list[Outcome] = []
        self.whole_job = True  # `run` says whether these are all of `run all`'s steps
        self.started = time.perf_counter()

    # --- up-to-date bookkeeping ------------------------------------------------------------

    def argv(self, step: registry.Step) -> list[str]:
        """The flags the step's `main` gets: where its outputs go, and quick mode."""
        flags = [*step.args, *(["--quick"] if self.quick else [])]
        flags += ["--figures-dir", str(self.figures), "--results-dir", str(self.results)]
        if step.site:
            return flags + ["--cache-dir", str(self.cache_dir), "--site-dir", str(self.site_dir(step))]
        if step.results:
            return flags + ["--cache-dir", str(self.cache_dir)]
        return flags + ["--output", str(self.report)]  # the report reads what the others wrote

    def error_log(self, step: registry.Step) -> Path:
        return self.state / f"{step.name}.error.log"

    def stamp_path(self, step: registry.Step) -> Path:
        return self.state / f"{step.name}.json"

    def read_stamp(self, step: registry.Step) -> dict | None:
        try:
            return json.loads(self.stamp_path(step).read_text())
        except (OSError, ValueError):
            return None

    def uses_tensorflow(self, step: registry.Step) -> bool:
        """Whether `step` needs TensorFlow started (every step of this project but the report)."""
        return self.tensorflow and bool(step.results or step.site)

    def site_dir(self, step: registry.Step) -> Path:
        return self.sites / step.site if self.sites else step.site_dir(self.quick)

    def outputs(self, step: registry.Step) -> list[Path]:
        if step.site:  # its manifest, written last, lists (and hashes) the folder's files
            return [self.site_dir(step) / registry.SITE_MANIFEST]
        return step.outputs(self.figures, self.results) if step.results else [self.report]

    def fingerprint(self, step: registry.Step) -> str:
        needs = {}
        for name in registry.needs_of(step):
            stamp = self.read_stamp(registry.get(name)) or {}
            needs[name] = [stamp.get("fingerprint"), stamp.get("outputs")]
        blob = json.dumps({"code": code_digest(step), "argv": self.argv(step), "data": data.SHA256,
                           "needs": needs}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def up_to_date(self, step: registry.Step) -> dict | None:
        """The step's stamp if its outputs are current, else None."""
        stamp = self.read_stamp(step)
        if self.force or not stamp or stamp.get("fingerprint") != self.fingerprint(step):
            return None
        for path in self.outputs(step):
            if not path.is_file() or stamp["outputs"].get(str(path)) != sha256_file(path):
                return None
        return stamp

    def write_stamp(self, step: registry.Step, wall_time_s: float, headline: str) -> None:
        stamp = {"fingerprint": self.fingerprint(step), "wall_time_s": round(wall_time_s, 2), "headline": headline,
                 "outputs": {str(p): sha256_file(p) for p in self.outputs(step)}}
        with atomic_write(self.stamp_path(step)) as tmp:
            tmp.write_text(json.dumps(stamp, indent=1))

    def headline(self, step: registry.Step) -> str:
        if not step.results and not step.site:
            return str(self.report)
        source = self.site_dir(step) / registry.SITE_MANIFEST if step.site else self.results / f"{step.name}.json"
        try:
            return step.headline(json.loads(source.read_text()))
        except (OSError, ValueError, KeyError, TypeError, ZeroDivisionError):
            return ""

    # --- the summary ------------------------------------------------------------------------

    def total(self) -> float:
        return time.perf_counter() - self.started

    def summary(self) -> dict:
        return {"total_wall_time_s": round(self.total(), 2), "nproc": os.cpu_count(), "quick": self.quick,
                "steps": [dataclasses.asdict(o) for o in self.outcomes]}

    def write_summary(self) -> Path:
        # Only the whole job's summary is the committed `pipeline.json` the report quotes; a run of
        # some steps (e.g. `run seeds`, `explore`) keeps its own beside the stamps.
        path = self.results / "pipeline.json" if self.whole_job else self.state / "last_run.json"
        with atomic_write(path) as tmp:
            tmp.write_text(json.dumps(self.summary(), indent=2) + "\n")
        return path

    def expected_seconds(self) -> dict[str, float]:
        """Each step's wall time in the run recorded in `estimates` ({} when there is none): what it
        took there, or for a step that run reused, what producing its outputs took."""
        try:
            recorded = json.loads(self.estimates.read_text())["steps"]
            took = {s["name"]: s["wall_time_s"] if s["status"] == "ran" else s.get("last_run_wall_time_s")
                    for s in recorded}
            return {name: float(t) for name, t in took.items() if t is not None}
        except (OSError, ValueError, KeyError, TypeError):
            return {}

    def print_summary(self, out=None) -> None:
        out = out or sys.stdout
        self.outcomes.sort(key=lambda o: registry.NAMES.index(o.name))  # side by side, steps end in any order
        width = max([len(o.name) for o in self.outcomes] + [4])
        print(f"\n{'step':<{width}}  {'status':<11}  {'wall time':>9}  headline", file=out)
        for o in self.outcomes:
            print(f"{o.name:<{width}}  {o.status:<11}  {o.wall_time_s:>7.1f} s  {o.headline}", file=out)
        print(f"{'total':<{width}}  {'':<11}  {self.total():>7.1f} s  ({os.cpu_count()} cores)", file=out)


def load_script(path: Path):
    """Import `scripts/<name>.py` as a module (scripts are not part of the package)."""
    spec = importlib.util.spec_from_file_location(f"mnist_ae_step_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses (and pickling) look a class's module up there
    spec.loader.exec_module(module)
    return module


def run_step(name: str, script: Path, argv: list[str], log: Path) -> int:
    """Call `main(argv)` of step `name`'s `script`; an unexpected exception becomes one line
    (traceback in `log`)."""
    if "keras" in sys.modules:  # a fresh Keras state per step: names, memory
        sys.modules["keras"].backend.clear_session()
    gc.collect()
    saved_argv = sys.argv
    sys.argv = [str(script), *argv]  # so argparse names the script, as when it runs alone
    try:
        code = load_script(script).main(argv)
    except SystemExit as e:  # argparse
        code = e.code if isinstance(e.code, int) else EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:  # a bug: one line here, the traceback in a file
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(traceback.format_exc())
        print(f"{name}: error: {type(e).__name__}: {e} (traceback in {log})".splitlines()[0], file=sys.stderr)
        return EXIT_ERROR
    finally:
        sys.argv = saved_argv
    return code or 0


def select(names: list[str], start: str | None) -> list[registry.Step]:
    """The steps to run, in registry order: `all` (the job: every step but the on-demand ones) or
    the named ones, from `start` on."""
    if "all" in names:
        chosen = list(registry.job_steps())
    else:
        wanted = {registry.get(n).name for n in names}
        chosen = [s for s in registry.STEPS if s.name in wanted]
    if start is not None:
        first = registry.NAMES.index(registry.get(start).name)
        chosen = [s for s in chosen if registry.NAMES.index(s.name) >= first]
    if not chosen:
        raise ValueError(f"nothing to run: --from {start} comes after every selected step")
    return chosen


def default_jobs() -> int:
    """Two steps side by side on a machine with at least 2 cores, else one at a time.

    Small convolutions do not use two cores well, so two steps on one core each finish sooner
    than the same steps in turn (docs/measurements.md); steps that do use every core themselves
    are marked `alone` and run with nothing beside them.
    """
    return min(2, os.cpu_count() or 1)


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


class InOrder:
    """Steps one after the other in this process; the base of `SideBySide`'s bookkeeping."""

    jobs = 1

    def __init__(self, pipe: Pipeline, chosen: list[registry.Step]):
        self.pipe, self.chosen = pipe, chosen
        self.number: dict[str, int] = {}  # steps are numbered in the order they start (or are reused)
        self.expected = pipe.expected_seconds()
        self.done: set[str] = set()  # steps that ran or were reused: what later steps may start after
        self.tensorflow_started = False

    def tag(self, step: registry.Step) -> str:
        if step.name not in self.number:
            self.number[step.name] = len(self.number) + 1
        return f"[{self.number[step.name]}/{len(self.chosen)}]"

    def running_for(self) -> dict[str, float]:
        """{step: seconds it has run} for the steps running now (none here: one at a time)."""
        return {}

    def job_line(self) -> str:
        """Where the whole job stands: steps done, time so far and, from the last full run's
        durations scaled by this machine's pace so far, an estimate of what is left."""
        left = [s.name for s in self.chosen if s.name not in self.done]
        line = f"[job] {len(self.done)}/{len(self.chosen)} steps done, {self.pipe.total():.0f} s so far"
        if not left:
            return line
        if not all(n in self.expected for n in left):
            return line + "; no estimate of what is left (a step has no duration in the last full run)"
        factor = pace(self.expected, {o.name: o.wall_time_s for o in self.pipe.outcomes if o.status == "ran"})
        scaled = {n: factor * v for n, v in self.expected.items()}
        seconds = time_left(scaled, left, self.running_for(), self.jobs)
        return line + f"; about {duration(seconds)} left (the last full run's step times x {factor:.2f}, this run's pace)"

    def reuse(self, step: registry.Step) -> bool:
        """Record and say so if `step` is up to date."""
        stamp = self.pipe.up_to_date(step)
        if stamp is None:
            return False
        headline = self.pipe.headline(step)
        self.pipe.outcomes.append(Outcome(step.name, "reused", 0.0, headline, stamp.get("wall_time_s")))
        self.done.add(step.name)
        print(f"{self.tag(step)} {step.name} — reused, up to date ({headline or 'no change'})", flush=True)
        self.pipe.write_summary()
        return True

    def finish(self, step: registry.Step, code: int, took: float) -> None:
        """Record how `step` ended: stamp it if it succeeded, else say how to go on."""
        if code != 0:
            status = "interrupted" if code == EXIT_INTERRUPTED else "failed"
            self.pipe.outcomes.append(Outcome(step.name, status, round(took, 2)))
            then = "rerun" if code == EXIT_INTERRUPTED else "fix what the line above says and rerun"
            print(f"{self.tag(step)} {step.name} {status} after {took:.1f} s; {then} the same command: finished "
                  f"steps are reused, training resumes from its checkpoint", file=sys.stderr, flush=True)
        else:
            headline = self.pipe.headline(step)
            self.pipe.write_stamp(step, took, headline)
            self.pipe.outcomes.append(Outcome(step.name, "ran", round(took, 2), headline))
            print(f"{self.tag(step)} {step.name} done in {took:.1f} s{' — ' + headline if headline else ''}",
                  flush=True)
            self.done.add(step.name)
            print(self.job_line(), flush=True)
        self.pipe.write_summary()

    def run(self) -> int:
        try:
            for step in self.chosen:
                if self.reuse(step):
                    continue
                print(f"{self.tag(step)} {step.name} — {step.title}", flush=True)
                if self.pipe.uses_tensorflow(step) and not self.tensorflow_started:
                    process.start_tensorflow()
                    self.tensorflow_started = True
                began = time.perf_counter()
                code = run_step(step.name, step.script_path, self.pipe.argv(step), self.pipe.error_log(step))
                self.finish(step, code, time.perf_counter() - began)
                if code != 0:
                    return code
        except KeyboardInterrupt:
            print("mnist_ae: interrupted between steps; rerun the same command to go on", file=sys.stderr)
            return EXIT_INTERRUPTED
        return 0


def pace(expected: dict[str, float], took: dict[str, float]) -> float:
    """How long this run's finished steps took against the last full run's times for them
    (`took` / `expected`, summed over the steps in both): machines differ several-fold, so the
    estimate of what is left scales by it. 1 before any step has finished.

    Example:
        >>> pace({"a": 100, "b": 300, "c": 50}, {"a": 40, "b": 80})
        0.3
        >>> pace({"a": 100}, {})
        1.0
    """
    both = [n for n in took if expected.get(n, 0) > 0]
    return sum(took[n] for n in both) / sum(expected[n] for n in both) if both else 1.0


def time_left(expected: dict[str, float], left: list[str], running_for: dict[str, float], jobs: int) -> float:
    """Seconds the steps `left` should still take on `jobs` lanes, from their `expected` durations,
    less what the running ones (`running_for`: seconds so far) have done: the remaining work
    shared by the lanes, or the longest single step's rest if that is longer. An estimate.

    Example:
        >>> time_left({"a": 100, "b": 300, "c": 50}, ["a", "b", "c"], {"b": 120}, jobs=2)
        180.0
        >>> time_left({"a": 100, "b": 300}, ["a", "b"], {}, jobs=2)
        300.0
    """
    rest = {n: max(float(expected[n]) - running_for.get(n, 0.0), 0.0) for n in left}
    return max(sum(rest.values()) / jobs, max(rest.values(), default=0.0))


@dataclasses.dataclass
class Lane:
    """A `mnist_ae.pipeline.worker --serve` process: the steps it is sent run in it one after
    another, TensorFlow started once with `threads`. `step` is the one running (None: idle); it
    has ended when both streams have printed the lane's end-of-step line (`ended` == 2)."""

    process: subprocess.Popen
    threads: int
    step: registry.Step | None = None
    began: float = 0.0
    ended: int = 0
    code: int = 0
    open_streams: int = 2
    closed: bool = False  # its input has ended: it runs nothing more

    def idle(self) -> bool:
        return self.step is None and not self.closed and self.open_streams == 2 and self.process.poll() is None


def critical_path(chosen: list[registry.Step], seconds: dict[str, float]) -> dict[str, float]:
    """For each step, the expected seconds from its start to the end of the longest chain of
    chosen steps that need it (itself included): what to start first so no lane waits at the end.

    Example:
        >>> a, b, c = registry.Step("a", ""), registry.Step("b", "", needs=("a",)), registry.Step("c", "")
        >>> critical_path([a, b, c], {"a": 10, "b": 50, "c": 40})
        {'a': 60.0, 'b': 50.0, 'c': 40.0}
    """
    users = {s.name: [u for u in chosen if s.name in registry.needs_of(u)] for s in chosen}
    length: dict[str, float] = {}

    def chain(step: registry.Step) -> float:
        if step.name not in length:
            length[step.name] = float(seconds.get(step.name, 0.0)) + max(map(chain, users[step.name]), default=0.0)
        return length[step.name]

    return {s.name: chain(s) for s in chosen}


class SideBySide(InOrder):
    """Up to `jobs` steps at once, each in a lane (a `mnist_ae.pipeline.worker` process that runs
    one step after another), started as soon as the steps they need are done, the longest
    remaining chain first (`critical_path` on the durations of the last recorded full run; registry
    order without one, and between equals); their lines are shown prefixed with `[k/N step]`. An
    `alone` step (in a lane of its own with every core) and the steps after it in the registry
    wait for the steps before it."""

    GRACE_S = 30  # after Ctrl-C, how long a step may take to save its checkpoint and stop

    def __init__(self, pipe: Pipeline, chosen: list[registry.Step], jobs: int):
        super().__init__(pipe, chosen)
        self.jobs = jobs
        self.pending: list[registry.Step] = list(chosen)
        self.lanes: list[Lane] = []
        self.running: dict[str, Lane] = {}  # step name -> the lane it runs in
        self.lines: queue.Queue = queue.Queue()
        self.token = f"\x1emnist_ae-step-ended-{os.getpid()}-{time.time_ns()}"  # no step prints it
        self.code = 0
        self.chain = critical_path(chosen, pipe.expected_seconds())

    def ready(self, step: registry.Step) -> bool:
        chosen = {s.name for s in self.chosen}
        return all(n in self.done for n in registry.needs_of(step) if n in chosen)

    def start_ready_steps(self) -> None:
        """Start (or reuse) pending steps whose needs are done, in order, while lanes are free."""
        for step in self.in_order_to_start():
            if self.code != 0 or len(self.running) >= self.jobs:
                return
            if any(lane.step.alone for lane in self.running.values()):
                return
            if not self.ready(step):
                continue
            if step.alone and self.running:
                return  # it waits for the others to end, and the steps after it wait for it
            self.pending.remove(step)
            if self.reuse(step):
                continue
            self.launch(step)

    def in_order_to_start(self) -> list[registry.Step]:
        """The pending steps before the first `alone` one, longest chain first (a stable sort keeps
        registry order between equals), then that step and the rest in registry order."""
        cut = next((i for i, s in enumerate(self.pending) if s.alone), len(self.pending))
        head = sorted(self.pending[:cut], key=lambda s: -self.chain[s.name])
        return head + self.pending[cut:]

    def running_for(self) -> dict[str, float]:
        now = time.perf_counter()
        return {name: now - lane.began for name, lane in self.running.items()}

    def threads(self, step: registry.Step) -> int:
        """TensorFlow's core share for `step` (operations at once; each runs on `process.OP_THREADS`
        threads whatever the share, so the share changes no number): every core alone, its share
        beside others, 0 without it."""
        if not self.pipe.uses_tensorflow(step):
            return 0
        cores = os.cpu_count() or 1
        return cores if step.alone else max(1, cores // self.jobs)

    def lane_for(self, threads: int) -> Lane:
        """An idle lane whose TensorFlow has `threads` (any idle lane for a step without it), else
        a new one; idle lanes of another thread count end, so no more than `jobs` processes live."""
        idle = [lane for lane in self.lanes if lane.idle()]
        for lane in idle:
            if lane.threads == threads or threads == 0:
                return lane
        for lane in idle:
            self.close(lane)
        command = [sys.executable, "-m", "mnist_ae.pipeline.worker", "--serve", str(threads), self.token]
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, bufsize=1, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        lane = Lane(process, threads)
        self.lanes.append(lane)
        for stream, out in ((process.stdout, sys.stdout), (process.stderr, sys.stderr)):
            threading.Thread(target=self.pump, args=(lane, stream, out), daemon=True).start()
        return lane

    def launch(self, step: registry.Step) -> None:
        others = ", ".join(self.running)
        print(f"{self.tag(step)} {step.name} — {step.title}{f' (beside {others})' if others else ''}", flush=True)
        request = {"name": step.name, "script": str(step.script_path), "log": str(self.pipe.error_log(step)),
                   "args": self.pipe.argv(step)}
        lane = self.lane_for(self.threads(step))
        lane.step, lane.began, lane.ended, lane.code = step, time.perf_counter(), 0, 0
        self.running[step.name] = lane
        try:
            lane.process.stdin.write(json.dumps(request) + "\n")
            lane.process.stdin.flush()
        except OSError:  # the lane died while idle: its end is reaped as the step's failure
            pass

    def pump(self, lane: Lane, stream, out) -> None:
        for line in stream:
            self.lines.put((lane, line.rstrip("\n"), out))
        self.lines.put((lane, None, out))

    def show_output(self, timeout: float) -> None:
        """Print what the steps said (waiting up to `timeout` for a line); reap the ones that ended."""
        try:
            lane, line, out = self.lines.get(timeout=timeout)
            while True:
                if line is None:
                    lane.open_streams -= 1
                else:
                    said, marker, code = line.partition(self.token)
                    if said or not marker:
                        prefix = f"{self.tag(lane.step)[:-1]} {lane.step.name}] " if lane.step else ""
                        print(prefix + said, file=out, flush=True)
                    if marker:
                        lane.ended, lane.code = lane.ended + 1, int(code)
                lane, line, out = self.lines.get_nowait()
        except queue.Empty:
            pass
        for lane in self.lanes:
            if lane.step is not None and lane.ended == 2:
                self.step_ended(lane, lane.code)
            elif lane.step is not None and lane.open_streams == 0 and lane.process.poll() is not None:
                died = lane.process.returncode  # the worker ended inside the step (killed, or Ctrl-C)
                self.step_ended(lane, EXIT_INTERRUPTED if died in (EXIT_INTERRUPTED, -signal.SIGINT)
                                else died or EXIT_ERROR)

    def step_ended(self, lane: Lane, code: int) -> None:
        step, took = lane.step, time.perf_counter() - lane.began
        lane.step = None
        del self.running[step.name]
        self.finish(step, code, took)
        if code != 0 and (self.code == 0 or code == EXIT_INTERRUPTED):
            self.code = code
            if self.running:
                print(f"mnist_ae: starting no more steps; waiting for {', '.join(self.running)} to end",
                      file=sys.stderr, flush=True)

    def close(self, lane: Lane) -> None:
        """End an idle lane: its input ends, so its worker returns."""
        lane.closed = True
        try:
            lane.process.stdin.close()
        except OSError:
            pass

    def close_all(self) -> None:
        """End every lane and wait for its process (killed if it does not end in `GRACE_S`)."""
        for lane in self.lanes:
            self.close(lane)
        for lane in self.lanes:
            try:
                lane.process.wait(timeout=self.GRACE_S)
            except subprocess.TimeoutExpired:
                lane.process.kill()
                lane.process.wait()

    def stop_running(self) -> None:
        """Ctrl-C: let each running step save its checkpoint and stop, then collect them."""
        self.code = EXIT_INTERRUPTED
        began, forwarded = time.perf_counter(), False
        while self.running:
            waited = time.perf_counter() - began
            if not forwarded and waited > 1.0:
                # A terminal's Ctrl-C reaches every process of the job; a signal sent to the runner
                # alone does not: pass it on, once, to the steps still running.
                for lane in self.running.values():
                    if lane.process.poll() is None:
                        lane.process.send_signal(signal.SIGINT)
                forwarded = True
            if waited > self.GRACE_S:
                for lane in self.running.values():
                    lane.process.kill()
            try:
                self.show_output(0.2)
            except KeyboardInterrupt:
                began -= self.GRACE_S  # a second Ctrl-C: stop them now

    def run(self) -> int:
        try:
            while self.pending or self.running:
                self.start_ready_steps()
                if not self.running:
                    break  # nothing can start: a step failed, or what is left needs it
                self.show_output(0.5)
        except KeyboardInterrupt:
            print("mnist_ae: interrupted; stopping the running steps (rerun the same command to go on)",
                  file=sys.stderr, flush=True)
            self.stop_running()
        finally:
            self.close_all()
        return self.code
