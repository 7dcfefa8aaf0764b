"""The registry: one list of steps that the runner, the report and the tests all read."""

import re

from mnist_ae import paths
from mnist_ae.pipeline import registry


def test_names_are_unique_and_every_script_exists_with_a_main():
    assert len(set(registry.NAMES)) == len(registry.NAMES)
    for step in registry.STEPS:
        assert step.script_path.is_file(), step.script_path
        assert "def main(argv=None)" in step.script_path.read_text(), step.name


def test_needs_come_earlier_in_the_order():
    for k, step in enumerate(registry.STEPS):
        for need in registry.needs_of(step):
            assert registry.NAMES.index(need) < k, f"{step.name} needs {need}, which runs later"


def test_the_report_needs_every_step_it_reads_and_runs_last():
    report = registry.get("report")
    assert registry.needs_of(report) == tuple(s.name for s in registry.STEPS if s.in_report)
    quoted = {s.name for s in registry.STEPS if s.in_report and s.on_demand}  # shown when present
    assert quoted and set(registry.needs_of(report)) == {s.name for s in registry.report_steps()} | quoted
    assert registry.STEPS[-1] is report
    assert "benchmark" not in registry.needs_of(report)


def test_every_figure_the_report_shows_is_an_output_of_a_registered_step():
    source = paths.REPORT_SOURCE.read_text()
    # explorer.png is shown only when present: `bash run.sh explore --measure` writes it, no job step.
    shown = set(re.findall(r'fig\("([^"]+)"', source)) - {"explorer.png"}
    written = {f for s in registry.STEPS if s.in_report for f in s.figures}  # on-demand ones when present
    assert shown, "no figures found in the report source"
    assert shown <= written, f"the report shows figures no step writes: {shown - written}"
    for step in registry.report_steps():  # and every step the report reads shows up in it
        assert shown & set(step.figures), f"the report shows none of {step.name}'s figures"


def test_outputs_are_the_figures_and_the_result_file():
    step = registry.get("exercise_2")
    assert step.outputs(paths.FIGURES, paths.RESULTS) == [paths.FIGURES / "ex2_latent_scatter.png",
                                                          paths.RESULTS / "exercise_2.json"]


def test_a_headline_that_fails_says_so_in_one_line(tmp_path):
    from mnist_ae.pipeline.stamps import Pipeline

    (tmp_path / "exercise_1.json").write_text('{"test_loss": 1}')
    line = Pipeline(quick=True, results=tmp_path, state_dir=tmp_path).headline(registry.get("exercise_1"))
    assert line.startswith("(no headline: KeyError 'test_mse' reading ") and "\n" not in line


def test_headlines_read_the_result_json():
    assert registry.get("exercise_1").headline({"test_mse": 0.04211}) == "test MSE 0.0421"
    assert registry.get("exercise_4").headline({"test_accuracy": 0.99234}) == "test accuracy 99.23 %"


def test_unknown_step_names_the_choices():
    try:
        registry.get("astrology")
    except ValueError as e:
        assert str(e).startswith("unknown step 'astrology' (choose from exercise_1 exercise_2")
    else:
        raise AssertionError("no error")


def test_site_steps_are_on_demand_and_outside_the_report():
    sites = [s for s in registry.STEPS if s.site]
    assert [s.name for s in sites] == ["explorer"]
    for step in sites:
        assert step.on_demand and not step.in_report and not step.results and step not in registry.job_steps()
        assert step.name not in registry.needs_of(registry.get("report"))
