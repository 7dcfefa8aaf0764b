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
VARIANTS = Path("build/variants")  # experiments (`--set ... --name NAME`): build/variants/NAME/


def variant_root(name: str, quick: bool = False) -> Path:
    """Where experiment `name` writes everything (`build/quick/variants/NAME` in quick mode)."""
    return (QUICK_ROOT / "variants" if quick else VARIANTS) / name


def output_dirs(quick: bool, name: str | None = None) -> tuple[Path, Path]:
    """Default `(figures, results)` folders of a full or a quick run, or of experiment `name`."""
    if name:
        root = variant_root(name, quick)
        return root / "figures", root / "results"
    return (QUICK_ROOT / "figures", QUICK_ROOT / "results") if quick else (FIGURES, RESULTS)


def report_pdf(quick: bool, name: str | None = None) -> Path:
    """Default report path of a full or a quick run, or of experiment `name`."""
    if name:
        return variant_root(name, quick) / "report.pdf"
    return QUICK_ROOT / "report.pdf" if quick else REPORT_PDF
