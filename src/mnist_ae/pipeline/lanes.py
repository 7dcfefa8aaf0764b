"""Steps side by side: lanes (worker processes, `mnist_ae.pipeline.worker`) that each run the steps
they are sent one after another, their output shown prefixed, Ctrl-C passed on."""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

from mnist_ae.pipeline import registry
from mnist_ae.errors import EXIT_ERROR, EXIT_INTERRUPTED
from mnist_ae.pipeline.scheduling import InOrder, critical_path
from mnist_ae.pipeline.stamps import Pipeline


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
        self.chain = critical_path(chosen, self.expected)  # `InOrder` read the last full run's times

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
