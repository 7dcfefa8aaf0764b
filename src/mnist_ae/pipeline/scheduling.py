"""Which steps run and in what order, one after another (`InOrder`), and the estimates that say
how long is left and which step to start first (`pace`, `time_left`, `critical_path`)."""

from __future__ import annotations

import os
import sys
import time

from mnist_ae import process
from mnist_ae.pipeline import registry
from mnist_ae.errors import EXIT_INTERRUPTED
from mnist_ae.pipeline.loading import run_step
from mnist_ae.pipeline.stamps import Outcome, Pipeline


def duration(seconds: float) -> str:
    """A time left as a person reads it: seconds under a minute and a half, minutes above.

    Example:
        >>> duration(4.2), duration(89), duration(95), duration(1500)
        ('4 s', '89 s', '2 min', '25 min')
    """
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


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
