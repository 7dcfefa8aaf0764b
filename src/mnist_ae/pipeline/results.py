"""Result files: metrics plus provenance, written atomically as strict JSON.

Example::

    write_results("report/results/exercise_1.json", {"test_mse": 0.03}, provenance(...))
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from mnist_ae import paths, process
from mnist_ae.atomic import atomic_write

LIBRARIES = ("tensorflow", "keras", "numpy", "scikit-learn", "matplotlib", "optuna")


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that shape the numbers."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


# The job's own outputs are committed beside the code; a run rewrites them as it goes, so they do
# not make the code "dirty" (git pathspecs, relative to the repository root).
OUTPUTS = (paths.FIGURES, paths.RESULTS, paths.REPORT_PDF)


def code_status_command() -> list[str]:
    """`git status` over the tracked code only: any line it prints is a local change to the code.

    Example:
        >>> code_status_command()[-3:]
        [':(exclude)figures', ':(exclude)report/results', ':(exclude)report/report.pdf']
    """
    return ["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
            *(f":(exclude){path.as_posix()}" for path in OUTPUTS)]


def machine() -> dict:
    """The CPU model and core count, and the git commit of the code (`+dirty` with local changes
    to the code; the job's outputs, which every run rewrites, do not count)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=10).stdout.strip()
        dirty = subprocess.run(code_status_command(), cwd=root, capture_output=True, text=True,
                               timeout=10).stdout.strip()
        commit = f"{commit}+dirty" if commit and dirty else commit
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {"cpu": cpu, "cores": os.cpu_count(), "commit": commit or "unknown"}


def provenance(args, *, n_train: int, n_test: int, wall_time_s: float) -> dict:
    """Everything needed to tell where a result came from and whether it is a quick run."""
    return {
        "quick": bool(args.quick),
        "seed": args.seed,
        "overrides": list(getattr(args, "overrides", None) or []),  # `--set RECIPE.FIELD=VALUE` (an experiment's)
        "variant": getattr(args, "name", None),
        "train_size": n_train,
        "test_size": n_test,
        "wall_time_s": round(wall_time_s, 2),
        "versions": library_versions(),
        "machine": machine(),
        # Threads per TensorFlow operation (part of every model's recipe; 0 would be TensorFlow's default).
        "op_threads": process.op_threads() if "tensorflow" in sys.modules else None,
    }


def _check_finite(value, where="results"):
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where} is {value}: refusing to write a non-finite metric")
    if isinstance(value, dict):
        for k, v in value.items():
            _check_finite(v, f"{where}.{k}")
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_finite(v, f"{where}[{i}]")


def write_results(path, metrics: dict, prov: dict) -> Path:
    """Write `{**metrics, "provenance": prov}` to `path` atomically; NaN/inf are refused."""
    payload = {**metrics, "provenance": prov}
    _check_finite(payload)
    path = Path(path)
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    return path


def read_results(path) -> dict:
    """Read a result file written by `write_results`."""
    return json.loads(Path(path).read_text())


def read_step_results(results_dir, step: str) -> dict:
    """The results of `step` (`<results_dir>/<step>.json`) that another step builds on; a
    ValueError naming the step to run when they are missing."""
    path = Path(results_dir) / f"{step}.json"
    if not path.is_file():
        raise ValueError(f"{path} is missing: run the {step} step first")
    return read_results(path)
