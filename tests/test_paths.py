"""Where outputs go: a quick run never writes where the full run's results live."""

from pathlib import Path

from mnist_ae import paths


def test_quick_outputs_live_apart_from_the_full_results():
    assert paths.output_dirs(quick=False) == (Path("figures"), Path("report/results"))
    assert paths.output_dirs(quick=True) == (Path("build/quick/figures"), Path("build/quick/results"))
    assert paths.report_pdf(False) == Path("report/report.pdf") and paths.report_pdf(True) == Path("build/quick/report.pdf")


def test_the_shipped_sources_are_found_from_the_package():
    assert (paths.ROOT / "src" / "mnist_ae" / "paths.py").is_file()
    assert paths.REPORT_SOURCE.is_file() and (paths.SCRIPTS / "exercise_1.py").is_file()
