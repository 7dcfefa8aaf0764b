"""Whether a step is up to date: its stamp, the fingerprint of what made its outputs, and the
state and summary of one invocation of the runner (`Pipeline`).

A stamp per step lives in `.cache/pipeline/<full|quick>/<step>.json`: a fingerprint of the code
the step reaches (its script, the package modules it imports, its extra sources), its flags, the
MNIST hashes and the stamps of the steps it needs, plus the SHA-256 of every output it wrote.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
import time
from pathlib import Path

from mnist_ae import codehash, data, paths
from mnist_ae.pipeline import registry
from mnist_ae.atomic import atomic_write


def sha256_file(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def code_digest(step: registry.Step) -> str:
    """Hash of the code the step reaches: its script, the package modules it imports and what
    they import in turn (`codehash`: a chart module is in the digest of the steps that draw with
    it, not of one that only trains), and its extra `sources` (byte for byte)."""
    digest = hashlib.sha256(codehash.digest([], [step.script_path]).encode())
    for source in step.sources:
        digest.update(f"\0{source}\0".encode() + (paths.ROOT / source).read_bytes())
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
                 estimates: Path | None = None, overrides: list[str] | tuple[str, ...] = (), name: str | None = None):
        self.quick, self.force = quick, force
        # An experiment (`--set ... --name NAME`): every step gets the overrides, every output (and
        # the stamps) lives under the experiment's folder.
        self.overrides, self.name = list(overrides), name
        if name:
            sites = sites or paths.variant_root(name, quick)
        # Step durations to plan a side-by-side run with: the committed full run's `pipeline.json`.
        self.estimates = estimates or paths.output_dirs(False)[1] / "pipeline.json"
        self.tensorflow = tensorflow  # False: the steps are not this project's (the runner's tests)
        self.cache_dir = cache_dir or paths.MODEL_CACHE
        self.report = report or paths.report_pdf(quick, name)
        default_figures, default_results = paths.output_dirs(quick, name)
        self.figures, self.results = figures or default_figures, results or default_results
        self.state = (state_dir or paths.PIPELINE_STATE) / ("quick" if quick else "full")
        if name:
            self.state = self.state / "variants" / name
        self.sites = sites  # where `site` steps build (None: each step's own `site_dir`)
        self.outcomes: list[Outcome] = []
        self.whole_job = True  # `run` says whether these are all of `run all`'s steps
        self.started = time.perf_counter()

    # --- up-to-date bookkeeping ------------------------------------------------------------

    def argv(self, step: registry.Step) -> list[str]:
        """The flags the step's `main` gets: where its outputs go, and quick mode."""
        flags = [*step.args, *(["--quick"] if self.quick else [])]
        if self.name and (step.results or step.site):
            flags += [f"--set={o}" for o in self.overrides] + ["--name", self.name]
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
        except (OSError, ValueError, KeyError, TypeError, ZeroDivisionError) as e:
            # Said in one line, in the summary too: a headline that reads a key its results lack is a bug.
            return f"(no headline: {type(e).__name__} {e} reading {source})".splitlines()[0]

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
