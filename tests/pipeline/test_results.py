"""Result files: strict JSON and provenance, never half-written."""

import argparse
import json
import subprocess

import pytest

from mnist_ae.pipeline import results


def args(**kw):
    return argparse.Namespace(quick=False, seed=3, overrides=["ex1_ae.epochs=2"], name="short", **kw)


def test_results_hold_metrics_and_provenance(tmp_path):
    path = results.write_results(tmp_path / "r.json", {"test_mse": 0.5},
                                 results.provenance(args(), n_train=10, n_test=5, wall_time_s=1.234))
    payload = json.loads(path.read_text())
    assert payload["test_mse"] == 0.5
    p = payload["provenance"]
    assert (p["quick"], p["seed"], p["train_size"], p["wall_time_s"]) == (False, 3, 10, 1.23)
    assert (p["overrides"], p["variant"]) == (["ex1_ae.epochs=2"], "short")
    assert p["versions"]["keras"].startswith("3.")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), [1.0, float("nan")], {"a": float("-inf")}])
def test_non_finite_metrics_are_refused_and_the_old_file_kept(tmp_path, bad):
    path = tmp_path / "r.json"
    path.write_text('{"old": 1}')
    with pytest.raises(ValueError, match="non-finite"):
        results.write_results(path, {"metric": bad}, {})
    assert json.loads(path.read_text()) == {"old": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_the_commit_is_dirty_for_a_code_change_but_not_for_rewritten_outputs(tmp_path):
    def git(*argv):
        subprocess.run(["git", *argv], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    for name in ("src/code.py", "figures/a.png", "report/results/r.json", "report/report.pdf", "README.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("v1")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")

    def status():
        return subprocess.run(results.code_status_command(), cwd=tmp_path, capture_output=True, text=True,
                              check=True).stdout.split()

    for name in ("figures/a.png", "report/results/r.json", "report/report.pdf"):
        (tmp_path / name).write_text("v2")  # what a run does to the committed outputs
    (tmp_path / "report/results/new.json").write_text("{}")  # untracked: never counts
    assert status() == []
    (tmp_path / "src/code.py").write_text("v2")
    assert status() == ["M", "src/code.py"]
