"""The runner on fake steps: skip when up to date, rerun on change, stop and continue on failure.

Every test runs twice: steps in order in this process (`jobs=1`), and side by side in worker
processes (`jobs=2`), where `third` (it needs nothing) runs beside `first`."""

import dataclasses
import json
import re
import os
import sys
import textwrap

import pytest

from mnist_ae import paths
from mnist_ae.pipeline import registry, runner
from mnist_ae.errors import EXIT_ERROR, EXIT_INTERRUPTED

# A fake step: counts its runs, writes its figure and results, and fails or is interrupted on demand.
SCRIPT = textwrap.dedent('''
    import json, os, sys, time
    from pathlib import Path

    def main(argv=None):
        flags = [a for a in argv if a != "--quick"]
        args = dict(zip(flags[::2], flags[1::2]))
        figures, results = Path(args["--figures-dir"]), Path(args["--results-dir"])
        with open(os.environ["FAKE_RUNS"], "a") as runs:  # steps side by side append at once
            runs.write("NAME\\n")
        with open(os.environ["FAKE_TIMES"], "a") as times:
            times.write(f"NAME pid {os.getpid()}\\n")
            times.write(f"NAME start {time.time()}\\n")
            time.sleep(float(os.environ.get("FAKE_SLEEP", "0")))
            times.write(f"NAME end {time.time()}\\n")
        mode = os.environ.get("FAKE_FAIL_NAME", "")
        if mode == "error":
            print("NAME.py: error: something the user can fix", file=sys.stderr)
            return 2
        if mode == "interrupt":
            raise KeyboardInterrupt
        if mode == "bug":
            raise ZeroDivisionError("division by zero")
        if mode == "die":  # the process ends inside the step, as when the kernel kills it
            print("NAME was half way", end="", flush=True)
            os._exit(9)
        print("NAME says no newline at the end", end="")
        figures.mkdir(parents=True, exist_ok=True)
        results.mkdir(parents=True, exist_ok=True)
        (figures / "NAME.png").write_text("figure of NAME")
        (results / "NAME.json").write_text(json.dumps({"value": VALUE, "provenance": {"quick": False}}))
        return 0
''')


@pytest.fixture(params=[1, 2], ids=["in-order", "side-by-side"])
def fake(tmp_path, monkeypatch, request):
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    for name, value in (("first", 1), ("second", 2), ("third", 3)):
        (scripts / f"{name}.py").write_text(SCRIPT.replace("NAME", name).replace("VALUE", str(value)))
    fake_steps = (
        registry.Step("first", "makes a model", ("first.png",), headline=lambda r: f"value {r['value']}"),
        registry.Step("second", "uses it", ("second.png",), needs=("first",), headline=lambda r: f"value {r['value']}"),
        registry.Step("third", "stands alone", ("third.png",)),
    )
    monkeypatch.setattr(registry, "STEPS", fake_steps)
    monkeypatch.setattr(registry, "NAMES", tuple(s.name for s in fake_steps))
    monkeypatch.setattr(paths, "SCRIPTS", scripts)
    monkeypatch.setenv("FAKE_RUNS", str(tmp_path / "runs.txt"))
    monkeypatch.setenv("FAKE_TIMES", str(tmp_path / "times.txt"))

    class Fake:
        dir = tmp_path
        jobs = request.param

        def pipeline(self):
            return runner.Pipeline(quick=False, state_dir=tmp_path / "state", figures=tmp_path / "fig",
                                   results=tmp_path / "res", cache_dir=tmp_path / "cache",
                                   tensorflow=False)  # the fake steps need none

        def run(self, names=("all",), **kwargs):
            return runner.run(list(names), pipeline=self.pipeline(), jobs=self.jobs, **kwargs)

        def runs(self):
            """The steps that ran since the last call, in the order they started."""
            path = tmp_path / "runs.txt"
            runs = path.read_text().split() if path.exists() else []
            path.unlink(missing_ok=True)
            return runs

        def times(self):
            """{(step, "start" | "end"): time, (step, "pid"): the process it ran in}"""
            rows = [line.split() for line in (tmp_path / "times.txt").read_text().splitlines()]
            return {(name, event): float(t) for name, event, t in rows}

        def summary(self):
            return json.loads((tmp_path / "res" / "pipeline.json").read_text())

    return Fake()


def statuses(summary):
    return {s["name"]: s["status"] for s in summary["steps"]}


def test_first_run_runs_all_and_writes_the_summary(fake, capsys):
    assert fake.run() == 0
    assert sorted(fake.runs()) == ["first", "second", "third"]
    out = capsys.readouterr().out
    started = re.findall(r"^\[(\d)/3\] (\w+) — ", out, flags=re.MULTILINE)
    assert [k for k, _ in started] == ["1", "2", "3"]  # numbered in the order they start
    assert started[0][1] == "first" and {n for _, n in started} == {"first", "second", "third"}
    number = {name: k for k, name in started}
    assert f"[{number['second']}/3] second done in" in out and "value 2" in out
    assert "[job] 1/3 steps done" in out and "[job] 3/3 steps done" in out
    summary = fake.summary()
    assert set(summary) == {"total_wall_time_s", "nproc", "quick", "steps"}
    assert statuses(summary) == {"first": "ran", "second": "ran", "third": "ran"}
    assert summary["steps"][0]["headline"] == "value 1" and summary["steps"][0]["wall_time_s"] >= 0
    assert summary["nproc"] >= 1 and summary["total_wall_time_s"] > 0


def test_second_run_reuses_every_step_without_running_it(fake, capsys):
    fake.run()
    fake.runs()
    assert fake.run() == 0
    assert fake.runs() == []
    assert "[2/3] second — reused, up to date (value 2)" in capsys.readouterr().out
    summary = fake.summary()
    assert statuses(summary) == {"first": "reused", "second": "reused", "third": "reused"}
    assert all(s["last_run_wall_time_s"] is not None for s in summary["steps"])


def test_a_changed_script_reruns_it_and_the_steps_that_need_it(fake):
    fake.run()
    fake.runs()
    script = fake.dir / "scripts" / "first.py"
    script.write_text(script.read_text().replace('"value": 1', '"value": 10'))
    assert fake.run() == 0
    assert fake.runs() == ["first", "second"]  # third does not need first
    assert statuses(fake.summary()) == {"first": "ran", "second": "ran", "third": "reused"}


def test_a_changed_or_missing_output_reruns_its_step(fake):
    fake.run()
    fake.runs()
    (fake.dir / "fig" / "third.png").write_text("edited by hand")
    assert fake.run() == 0
    assert fake.runs() == ["third"]
    (fake.dir / "res" / "second.json").unlink()
    assert fake.run() == 0
    assert fake.runs() == ["second"]


def test_force_reruns_and_from_starts_at_a_step(fake):
    fake.run()
    fake.runs()
    assert fake.run(force=True, start="second") == 0
    assert sorted(fake.runs()) == ["second", "third"]


def test_a_failure_stops_with_one_line_and_a_rerun_continues_from_there(fake, capsys, monkeypatch):
    monkeypatch.setenv("FAKE_FAIL_second", "error")
    assert fake.run() == EXIT_ERROR
    # In order, third never starts; side by side it ran beside first, before second failed.
    beside = ["third"] if fake.jobs > 1 else []
    assert sorted(fake.runs()) == ["first", "second", *beside]
    captured = capsys.readouterr()
    assert "second.py: error: something the user can fix" in captured.err
    number = 3 if beside else 2  # side by side, third started second
    assert f"[{number}/3] second failed after" in captured.err and "Traceback" not in captured.err
    assert "first" in captured.out and "failed" in captured.out  # the summary so far
    assert statuses(fake.summary()) == {"first": "ran", "second": "failed", **{n: "ran" for n in beside}}
    monkeypatch.delenv("FAKE_FAIL_second")
    assert fake.run() == 0
    assert sorted(fake.runs()) == ["second", *(["third"] if not beside else [])]  # the rest is reused
    assert statuses(fake.summary()) == {"first": "reused", "second": "ran", "third": "reused" if beside else "ran"}


def test_ctrl_c_in_a_step_stops_with_status_interrupted(fake, capsys, monkeypatch):
    monkeypatch.setenv("FAKE_FAIL_first", "interrupt")
    assert fake.run() == EXIT_INTERRUPTED
    beside = {"third": "ran"} if fake.jobs > 1 else {}  # side by side, the step beside it finishes
    assert statuses(fake.summary()) == {"first": "interrupted", **beside}
    err = capsys.readouterr().err
    assert "Traceback" not in err and "[1/3] first interrupted after" in err and "; rerun the same command" in err


def test_a_step_sees_its_own_script_as_argv0(fake, monkeypatch):
    script = fake.dir / "scripts" / "third.py"
    script.write_text(script.read_text().replace("return 0", "return 0 if sys.argv[0].endswith('third.py') else 3"))
    before = list(sys.argv)
    assert fake.run(["third"]) == 0
    assert sys.argv == before  # restored


def test_only_the_whole_job_writes_pipeline_json(fake):
    assert fake.run(["all"]) == 0
    whole = fake.summary()
    assert fake.run(["third"], force=True) == 0
    assert fake.summary() == whole  # untouched by a run of one step
    last = json.loads((fake.dir / "state" / "full" / "last_run.json").read_text())
    assert statuses(last) == {"third": "ran"}


def test_a_steps_own_args_reach_its_script_before_the_runners_flags(fake, monkeypatch):
    script = fake.dir / "scripts" / "third.py"
    script.write_text(script.read_text().replace("return 0", "return 0 if args.get('--latent-dim') == '16' else 3"))
    monkeypatch.setattr(registry, "STEPS", tuple(dataclasses.replace(s, args=("--latent-dim", "16")) if s.name == "third"
                                              else s for s in registry.STEPS))
    assert fake.run(["third"]) == 0
    assert fake.runs() == ["third"]


def test_a_bug_is_one_line_with_the_traceback_in_a_file(fake, capsys, monkeypatch):
    monkeypatch.setenv("FAKE_FAIL_third", "bug")
    assert fake.run() == EXIT_ERROR
    err = capsys.readouterr().err
    assert "third: error: ZeroDivisionError: division by zero (traceback in" in err and "Traceback" not in err
    assert "ZeroDivisionError" in (fake.dir / "state" / "full" / "third.error.log").read_text()


def test_the_banner_follows_the_pipeline_mode(fake, capsys):
    quick = runner.Pipeline(quick=True, state_dir=fake.dir / "state", figures=fake.dir / "q" / "fig",
                            results=fake.dir / "q" / "res", cache_dir=fake.dir / "cache")
    assert runner.run(["third"], pipeline=quick) == 0
    assert f"mnist_ae: 1 step (quick smoke run: subset data, 1 epoch, outputs in {fake.dir / 'q'}/)" in \
        capsys.readouterr().out
    fake.run(["third"])
    assert "quick" not in capsys.readouterr().out


def test_quick_and_full_runs_keep_separate_stamps(fake):
    pipe = fake.pipeline()
    quick = runner.Pipeline(quick=True, state_dir=fake.dir / "state")
    assert pipe.stamp_path(registry.get("first")) != quick.stamp_path(registry.get("first"))
    assert quick.figures == paths.QUICK_ROOT / "figures"


def test_from_after_every_selected_step_is_an_error(fake):
    with pytest.raises(ValueError, match="nothing to run"):
        runner.select(["first"], "third")


@pytest.mark.parametrize("fake", [2], indirect=True, ids=["side-by-side"])
def test_side_by_side_a_step_starts_only_after_what_it_needs(fake, monkeypatch, capsys):
    monkeypatch.setenv("FAKE_SLEEP", "1.5")
    assert fake.run() == 0
    t = fake.times()
    assert t["third", "start"] < t["first", "end"]  # needs nothing: beside first
    assert t["second", "start"] >= t["first", "end"]  # needs first
    out = capsys.readouterr().out
    assert "[2/3] third — stands alone (beside first)" in out and "[3/3] second — uses it" in out
    assert "mnist_ae: 3 steps, up to 2 side by side" in out


@pytest.mark.parametrize("fake", [2], indirect=True, ids=["side-by-side"])
def test_an_alone_step_runs_with_nothing_beside_it(fake, monkeypatch):
    monkeypatch.setattr(registry, "STEPS", tuple(dataclasses.replace(s, alone=s.name == "second") for s in registry.STEPS))
    monkeypatch.setenv("FAKE_SLEEP", "1")
    assert fake.run() == 0
    t = fake.times()
    assert t["second", "start"] >= max(t["first", "end"], t["third", "end"])  # third, beside first, ended
    assert statuses(fake.summary()) == {"first": "ran", "second": "ran", "third": "ran"}


@pytest.mark.parametrize("fake", [2], indirect=True, ids=["side-by-side"])
def test_side_by_side_lanes_run_one_step_after_another_in_the_same_process(fake, monkeypatch, capsys):
    monkeypatch.setenv("FAKE_SLEEP", "0.5")
    assert fake.run() == 0
    pids = {name: fake.times()[(name, "pid")] for name in ("first", "second", "third")}
    assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()  # two lanes for three steps
    assert pids["second"] in (pids["first"], pids["third"])
    out = capsys.readouterr().out
    for n, name in ((1, "first"), (2, "third"), (3, "second")):
        assert f"[{n}/3 {name}] {name} says no newline at the end\n" in out  # its last line, tagged as its own
    assert "mnist_ae-step-ended" not in out


@pytest.mark.parametrize("fake", [2], indirect=True, ids=["side-by-side"])
def test_a_lane_that_dies_inside_a_step_fails_that_step_and_the_job_stops(fake, monkeypatch, capsys):
    monkeypatch.setenv("FAKE_FAIL_first", "die")
    assert fake.run() == 9
    captured = capsys.readouterr()
    assert "[1/3 first] first was half way" in captured.out
    assert "[1/3] first failed after" in captured.err
    assert statuses(fake.summary()) == {"first": "failed", "third": "ran"}  # second needs first: never started


def test_one_step_runs_in_this_process_with_every_core_whatever_the_jobs(fake):
    assert fake.run(["third"]) == 0
    assert fake.times()[("third", "pid")] == os.getpid()


def test_jobs_below_one_is_an_error(fake):
    with pytest.raises(ValueError, match="--jobs must be at least 1"):
        runner.run(["all"], pipeline=fake.pipeline(), jobs=0)


SITE_SCRIPT = textwrap.dedent('''
    import json, os
    from pathlib import Path

    def main(argv=None):
        args = dict(zip(argv[::2], argv[1::2]))
        with open(os.environ["FAKE_RUNS"], "a") as runs:
            runs.write("site\\n")
        folder = Path(args["--site-dir"])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "index.html").write_text("<p>page</p>")
        (folder / "manifest.json").write_text(json.dumps({"panels": ["ae", "vae2"], "files": ["index.html"]}))
        return 0
''')


def test_a_site_step_builds_its_folder_and_is_reused_while_its_manifest_is_intact(fake, monkeypatch, capsys):
    (fake.dir / "scripts" / "site.py").write_text(SITE_SCRIPT)
    site = registry.Step("site", "builds a page", results=False, site="page", needs=("first",), on_demand=True,
                      headline=lambda m: f"{len(m['panels'])} panels")
    monkeypatch.setattr(registry, "STEPS", (*registry.STEPS, site))
    monkeypatch.setattr(registry, "NAMES", (*registry.NAMES, "site"))
    pipe = lambda: runner.Pipeline(quick=False, state_dir=fake.dir / "state", figures=fake.dir / "fig",  # noqa: E731
                                   results=fake.dir / "res", cache_dir=fake.dir / "cache", tensorflow=False,
                                   sites=fake.dir / "build")
    assert pipe().argv(site) == ["--figures-dir", str(fake.dir / "fig"), "--results-dir", str(fake.dir / "res"),
                                 "--cache-dir", str(fake.dir / "cache"), "--site-dir", str(fake.dir / "build" / "page")]
    assert pipe().outputs(site) == [fake.dir / "build" / "page" / registry.SITE_MANIFEST]
    assert runner.run(["all"], pipeline=pipe(), jobs=fake.jobs) == 0
    assert "site" not in fake.runs()  # on demand: not part of `all`
    assert runner.run(["site"], pipeline=pipe(), jobs=fake.jobs) == 0
    assert fake.runs() == ["site"] and "site done in" in capsys.readouterr().out
    assert runner.run(["site"], pipeline=pipe(), jobs=fake.jobs) == 0
    assert fake.runs() == [] and "site — reused, up to date (2 panels)" in capsys.readouterr().out
    (fake.dir / "build" / "page" / registry.SITE_MANIFEST).unlink()
    assert runner.run(["site"], pipeline=pipe(), jobs=fake.jobs) == 0
    assert fake.runs() == ["site"]
    assert registry.get("site").site_dir(quick=True) == paths.QUICK_ROOT / "page"


def test_critical_path_adds_the_longest_chain_of_steps_that_need_it():
    a, b, c, d = (registry.Step(n, "", needs=needs) for n, needs in (("a", ()), ("b", ("a",)), ("c", ()), ("d", ("a", "c"))))
    chain = runner.critical_path([a, b, c, d], {"a": 10, "b": 50, "c": 40, "d": 5})
    assert chain == {"a": 60.0, "b": 50.0, "c": 45.0, "d": 5.0}
    assert runner.critical_path([a, b], {}) == {"a": 0.0, "b": 0.0}  # no record: registry order


@pytest.mark.parametrize("fake", [2], indirect=True, ids=["side-by-side"])
def test_side_by_side_starts_the_longest_chain_first(fake, monkeypatch):
    # The recorded run says third is long and first + second short: third and first start, third before first.
    record = fake.dir / "recorded.json"
    record.write_text(json.dumps({"steps": [{"name": "first", "status": "ran", "wall_time_s": 1.0},
                                            {"name": "second", "status": "reused", "wall_time_s": 0.1,
                                             "last_run_wall_time_s": 1.0},
                                            {"name": "third", "status": "ran", "wall_time_s": 9.0}]}))
    pipe = fake.pipeline()
    pipe.estimates = record
    assert pipe.expected_seconds() == {"first": 1.0, "second": 1.0, "third": 9.0}
    side = runner.SideBySide(pipe, list(registry.STEPS), 2)
    assert [s.name for s in side.in_order_to_start()] == ["third", "first", "second"]
    monkeypatch.setattr(registry, "STEPS", tuple(dataclasses.replace(s, alone=s.name == "second") for s in registry.STEPS))
    side = runner.SideBySide(pipe, list(registry.STEPS), 2)
    assert [s.name for s in side.in_order_to_start()] == ["first", "second", "third"]  # third waits for alone second


@pytest.mark.parametrize("fake", [2], indirect=True, ids=["side-by-side"])
def test_side_by_side_without_a_recorded_run_starts_in_registry_order(fake):
    pipe = fake.pipeline()
    pipe.estimates = fake.dir / "missing.json"
    assert pipe.expected_seconds() == {}
    assert [s.name for s in runner.SideBySide(pipe, list(registry.STEPS), 2).in_order_to_start()] == \
        ["first", "second", "third"]


def test_the_report_waits_for_an_on_demand_step_it_quotes_when_both_run(tmp_path):
    """`run seeds report` side by side: the report reads seeds.json, so it starts after seeds."""
    pipe = runner.Pipeline(quick=True, state_dir=tmp_path, figures=tmp_path, results=tmp_path, tensorflow=False)
    side = runner.SideBySide(pipe, [registry.get("seeds"), registry.get("report")], 2)
    assert not side.ready(registry.get("report"))
    side.done.add("seeds")
    assert side.ready(registry.get("report"))
    alone = runner.SideBySide(pipe, [registry.get("report")], 2)
    assert alone.ready(registry.get("report"))  # what the run does not include is not waited for


def test_the_job_line_estimates_what_is_left_from_the_last_full_run(fake, capsys):
    estimates = fake.dir / "last.json"
    estimates.write_text(json.dumps({"steps": [{"name": "first", "status": "ran", "wall_time_s": 600.0},
                                               {"name": "second", "status": "ran", "wall_time_s": 300.0},
                                               {"name": "third", "status": "reused", "wall_time_s": 0.0,
                                                "last_run_wall_time_s": 120.0}]}))
    pipe = fake.pipeline()
    pipe.estimates = estimates
    assert runner.run(["first", "second"], pipeline=pipe, jobs=1) == 0
    out = capsys.readouterr().out
    # In order: after first, second's 300 s are left, scaled by first's pace (it took a fraction of
    # its 600 s: a few seconds); after second, nothing.
    line = re.search(r"^\[job\] 1/2 steps done, \d+ s so far; about \d s left "
                     r"\(the last full run's step times x (\d+\.\d+), this run's pace\)$", out, flags=re.MULTILINE)
    assert line and float(line.group(1)) < 0.01
    assert re.search(r"^\[job\] 2/2 steps done, \d+ s so far$", out, flags=re.MULTILINE)
    estimates.write_text(json.dumps({"steps": [{"name": "first", "status": "ran", "wall_time_s": 1.0}]}))
    assert runner.run(["first", "second"], pipeline=pipe, jobs=1, force=True) == 0
    assert "[job] 1/2 steps done" in (out := capsys.readouterr().out) and "no estimate of what is left" in out
