"""Where every output goes: the one place that names the project's folders.

Paths are relative to the working directory (`run.sh` and the runner work from the repository
root); `ROOT` is the repository holding this package, for files that ship with the code.

Example::

    figures, results = output_dirs(quick=True)   # build/quick/figures, build/quick/results
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
REPORT_SOURCE = ROOT / "report" / "report.typ"

FIGURES = Path("figures")
RESULTS = Path("report/results")
REPORT_PDF = Path("report/report.pdf")
CACHE = Path(".cache")
MODEL_CACHE = CACHE / "models"
PIPELINE_STATE = CACHE / "pipeline"  # the runner's record of which step outputs are up to date
QUICK_ROOT = Path("build/quick")


def output_dirs(quick: bool) -> tuple[Path, Path]:
    """Default `(figures, results)` folders of a full or a quick run."""
    return (QUICK_ROOT / "figures", QUICK_ROOT / "results") if quick else (FIGURES, RESULTS)


def report_pdf(quick: bool) -> Path:
    """Default report path of a full or a quick run."""
    return QUICK_ROOT / "report.pdf" if quick else REPORT_PDF
