"""Every exercise script end to end in --quick mode (2048/512 images, 1 epoch), into a temp dir."""

import importlib.util
import json
import os
import re
import shutil
import sys
import math
from pathlib import Path

import numpy as np
import pytest

from mnist_ae.pipeline import registry, runner

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def script(name):
    """scripts/<name>.py as a module (registered, as a dataclass in it needs its module)."""
    spec = importlib.util.spec_from_file_location(f"script_{name}", ROOT / "scripts" / f"{name}.py")
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """Every registered step once in quick mode through the runner, into a temp dir."""
    out = tmp_path_factory.mktemp("quick")
    dirs = {"figures": out / "figures", "results": out / "results", "cache": out / "cache", "state": out / "state"}
    flags = ["--quick", "--figures-dir", str(dirs["figures"]), "--results-dir", str(dirs["results"]),
             "--cache-dir", str(dirs["cache"])]
    assert runner.run(["all"], pipeline=pipeline(dirs)) == 0
    return dirs, flags


def pipeline(dirs):
    return runner.Pipeline(quick=True, state_dir=dirs["state"], figures=dirs["figures"], results=dirs["results"],
                           cache_dir=dirs["cache"], report=dirs["figures"].parent / "report.pdf")


def all_finite(value):
    if isinstance(value, dict):
        return all(all_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(all_finite(v) for v in value)
    return not isinstance(value, float) or math.isfinite(value)


@pytest.mark.parametrize("step", [s for s in registry.job_steps() if s.results], ids=lambda s: s.name)
def test_quick_run_writes_the_registered_outputs_and_finite_json(quick_run, step):
    dirs, _ = quick_run
    for path in step.outputs(dirs["figures"], dirs["results"]):
        magic = {".png": b"\x89PNG\r\n\x1a\n", ".pdf": b"%PDF-", ".json": b"{"}[path.suffix]
        assert path.is_file() and path.read_bytes()[: len(magic)] == magic, path
    payload = json.loads((dirs["results"] / f"{step.name}.json").read_text())
    assert all_finite(payload)
    p = payload["provenance"]
    assert p["quick"] is True and p["train_size"] == 2048 and p["test_size"] == 512 and p["wall_time_s"] > 0


def test_every_figure_a_step_writes_is_registered(quick_run):
    dirs, _ = quick_run
    registered = {f for s in registry.job_steps() for f in s.figures}
    written = {p.name for p in dirs["figures"].iterdir() if not p.name.startswith(".")}
    assert written == registered


def test_the_quick_run_summary_and_a_second_run_that_reuses_everything(quick_run):
    dirs, _ = quick_run
    summary = json.loads((dirs["results"] / "pipeline.json").read_text())
    assert [s["name"] for s in summary["steps"]] == [s.name for s in registry.job_steps()]
    assert {s["status"] for s in summary["steps"]} == {"ran"} and summary["quick"] is True
    assert (dirs["figures"].parent / "report.pdf").read_bytes()[:5] == b"%PDF-"
    assert runner.run(["all"], pipeline=pipeline(dirs)) == 0
    again = json.loads((dirs["results"] / "pipeline.json").read_text())
    # Reused steps run nothing (each is recorded at 0 s); how long the check itself takes is the
    # host's, not the code's (a bound on it was a timed test).
    assert {s["status"] for s in again["steps"]} == {"reused"} and {s["wall_time_s"] for s in again["steps"]} == {0.0}


def test_quick_benchmark_counts_and_compares(quick_run):
    """On demand: not part of the job; run by name it times both training paths."""
    dirs, flags = quick_run
    assert "benchmark" not in [s["name"] for s in json.loads((dirs["results"] / "pipeline.json").read_text())["steps"]]
    assert script("benchmark").main(flags) == 0
    b = json.loads((dirs["results"] / "benchmark.json").read_text())
    for key in ("ae_images_per_s", "baseline_images_per_s", "vae_images_per_s", "vae_baseline_images_per_s",
                "peak_flops_per_s"):
        assert b[key] > 0, key
    assert b["flops_per_image"] == 3 * 2_329_124  # the hand count of test_flops, x3 for training
    assert b["ae_speedup_over_baseline"] == pytest.approx(b["ae_images_per_s"] / b["baseline_images_per_s"])
    assert b["nproc"] >= 1
    # The package turns oneDNN on before TensorFlow loads unless the environment says 0 (as the
    # suite's TF_ENABLE_ONEDNN_OPTS=0 run does); the result file says which ran.
    assert b["settings"]["onednn"] is (os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") != "0")


def test_quick_metrics_have_the_documented_keys_and_ranges(quick_run):
    dirs, _ = quick_run
    r = lambda n: json.loads((dirs["results"] / f"exercise_{n}.json").read_text())  # noqa: E731
    assert 0 < r(1)["test_mse"] < 0.2
    assert r(1)["test_mse_padded_32x32"] < r(1)["test_mse"]  # the zero border dilutes it
    ex3 = r(3)
    assert set(ex3["per_digit_accuracy"]) == {str(d) for d in range(10)}
    assert all(0 <= a <= 1 for a in ex3["per_digit_accuracy"].values())
    assert 0 <= ex3["overall_accuracy"] <= 1
    ex4 = r(4)
    assert 0 <= ex4["test_accuracy"] <= 1 and ex4["test_loss"] > 0
    assert sum(map(sum, ex4["confusion_matrix"])) == 512
    assert ex4["test_errors"] == round(512 * (1 - ex4["test_accuracy"]))
    assert len(ex4["history"]["val_loss"]) == 1 and ex4["shift"] == 0  # the assignment's data exactly
    for fixed in (r(1), ex4):  # a fixed budget's record: one epoch says nothing about convergence
        assert fixed["stopping"]["epochs_trained"] == fixed["stopping"]["epoch_cap"] == 1
        assert fixed["stopping"]["converged"] is False and fixed["stopping"]["monitor"] == "val_loss"
    assert r(5)["grid_size"] == 15
    ex6 = r(6)
    for latent in ("latent_2", "high_latent"):
        assert 0 < ex6[latent]["test_mse"] < 0.3 and ex6[latent]["test_kl"] >= 0
        assert ex6[latent]["test_loss"] == pytest.approx(ex6[latent]["test_reconstruction"] + ex6[latent]["test_kl"])
    # Exercise 6 as asked: the 2-D VAE's loss is the squared error plus the KL; the 16-D is Bernoulli.
    assert ex6["latent_2"]["likelihood"] == "gaussian" and ex6["high_latent"]["likelihood"] == "bernoulli"
    assert ex6["high_latent"]["latent_dim"] == 16
    # The squared error per image over 784 pixels is 784 x the per-pixel MSE (of a sampled code,
    # so above the posterior mean's MSE up to noise, and of the same order).
    assert ex6["latent_2"]["test_reconstruction"] == pytest.approx(784 * ex6["latent_2"]["test_mse"], rel=0.5)
    # 6(c): the grid spans the box of the means, on the axes of the (a) scatter.
    grid = ex6["grid"]
    assert grid["size"] == 15 and grid["extent"][0] < grid["box"][0] < grid["box"][1] < grid["extent"][1]
    assert grid["axes_limits"][0] <= grid["extent"][0] and grid["axes_limits"][1] >= grid["extent"][1]
    assert ex6["grid_reading"]["tiles"] == 225 and ex6["grid_reading"]["empty_tiles"] < 225
    prior = ex6["prior_grid"]
    assert prior["half_width"] == pytest.approx(1.6448536) and 0 <= prior["means_inside_share"] <= 1
    nats = json.loads((dirs["results"] / "vae_likelihood.json").read_text())
    assert "latent_2" not in nats  # the study's default: the 16-D Bernoulli VAE only
    n = nats["latent_16"]
    assert n["importance_samples"] == 50 and n["nll_test_images"] == 100 and n["elbo_test_images"] == 512
    # The importance-sampled bound is tighter than the ELBO (up to noise), so NLL <= -ELBO.
    assert n["test_nll_nats"] < -n["test_elbo_nats"] + 3 * n["test_nll_stderr"]
    assert 0 < n["test_nll_nats"] < 784 * np.log(2)
    # The whole test set's estimate: every image's ELBO, tightened by the subset's paired gain.
    assert n["full_test_set_nll_nats"] == pytest.approx(-n["test_elbo_nats"] - n["iwae_gain_over_elbo_nats"])
    assert n["full_test_set_nll_stderr"] == pytest.approx(np.hypot(n["test_elbo_stderr"], n["iwae_gain_stderr"]))
    # One VAE per latent size, trained once by its own step (vae_2d, vae_16d); exercise 6 and the
    # likelihood study load it.
    vae2, vae16 = (json.loads((dirs["results"] / f"vae_{d}d.json").read_text()) for d in (2, 16))
    for trained, dim in ((vae2, 2), (vae16, 16)):
        assert trained["latent_dim"] == dim and trained["model_from_cache"] is False and trained["epochs"] == 1
        assert trained["stopping"]["epochs_trained"] == trained["stopping"]["epoch_cap"] == 1
    assert vae2["likelihood"] == "gaussian" and "test_elbo_nats" not in vae2
    assert ex6["latent_2"]["model_from_cache"] is True and ex6["high_latent"]["model_from_cache"] is True
    assert nats["latent_16"]["model_from_cache"] is True
    # One test ELBO per model: the same seed-fixed sample wherever it is reported (the training step,
    # exercise 6, the likelihood study), so the numbers are equal, not merely close.
    assert vae16["test_elbo_nats"] == pytest.approx(nats["latent_16"]["test_elbo_nats"], rel=1e-9)
    assert ex6["high_latent"]["test_loss"] == pytest.approx(-nats["latent_16"]["test_elbo_nats"], rel=1e-9)
    assert ex6["latent_2"]["test_loss"] == pytest.approx(vae2["test_loss"], rel=1e-9)
    sizes = json.loads((dirs["results"] / "code_size.json").read_text())
    assert set(sizes["test_mse"]) == {"8", "32"} and all(0 < v < 0.3 for v in sizes["test_mse"].values())
    assert set(sizes["per_size"]) == {"1", "2", "4", "8", "16", "32"}
    assert sizes["budget"]["name"] == "quick" and sizes["budget"]["trials_per_size"] == 2
    assert all(sum(c.values()) == 2 and c["failed"] == 0 for c in sizes["n_trials"].values())
    for size, summary in sizes["per_size"].items():  # finished trials only, lowest first
        assert summary["n"] == sizes["n_trials"][size]["complete"] == len(summary["values"])
        assert summary["values"] == sorted(summary["values"]) and summary["best"] == summary["values"][0]
    bests = [sizes["per_size"][s]["best"] for s in ("1", "2", "4", "8", "16", "32")]
    assert sizes["best_strictly_decreasing"] == all(a > b for a, b in zip(bests, bests[1:]))
    for final in sizes["finalists"].values():  # one epoch in quick mode: the cap, a record of why it stopped
        assert final["stopping"]["epochs_trained"] == final["epochs_run"] == 1 and final["stopping"]["epoch_cap"] == 1
    assert sizes["split"] == {"train": 1707, "validation": 341, "test": 512, "seed": 0}
    latent = json.loads((dirs["results"] / "latent_exploration.json").read_text())
    for size in ("8", "32"):
        sep = latent[size]["separation"]
        assert set(sep) == {"raw", "pca_2d", "pca_3d", "tsne_2d", "tsne_3d"}
        assert all(0 <= m["knn1_accuracy"] <= 1 and -1 <= m["silhouette"] <= 1 for m in sep.values())
        assert len(latent[size]["pca_explained_variance_3d"]) == 3
    ft = json.loads((dirs["results"] / "finetune.json").read_text())
    assert list(ft["variants"]) == ["frozen + linear", "frozen + 2 dense", "frozen conv + 3 dense",
                                    "last 1 unfrozen + 2 dense", "last 2 unfrozen + 2 dense", "all fine-tuned + 3 dense"]
    assert ft["best_variant"] == max(ft["variants"], key=lambda n: ft["variants"][n]["val_accuracy"])
    assert sum(map(sum, ft["confusion_matrix"])) == 512
    # By default the chosen variant is tested as trained on the training split (finetune.refit trains it again).
    assert ft["final"] == {"train_images": 1707, "augmented": ft["best_variant"] == "all fine-tuned + 3 dense",
                           "retrained": False}
    assert ft["test_errors"] == round(512 * (1 - ft["test_accuracy"]))
    # Every reported model says how it stopped: the probe on lbfgs' tolerance, the rest one epoch in quick mode.
    assert ft["variants"]["frozen + linear"]["stopping"]["monitor"] == "lbfgs tolerance"
    for name, v in ft["variants"].items():
        if name != "frozen + linear":
            assert v["stopping"]["epochs_trained"] == len(v["history"]["val_accuracy"]) == 1
            assert v["val_accuracy"] == v["history"]["val_accuracy"][0]
    # 1707 training images in quick mode: 10 000 labels do not exist, "all" is the whole split.
    assert {k: v["labels"] for k, v in ft["label_efficiency"].items()} == {"100": 100, "1000": 1000, "all": 1707}
    assert all(0 <= v[s] <= 1 for v in ft["label_efficiency"].values() for s in ("pretrained", "scratch"))
    # "all labels, pretrained" is the full-network variant itself, not a second training of it.
    assert ft["label_efficiency"]["all"]["pretrained_runs"][0]["reused"] is True
    dn = json.loads((dirs["results"] / "denoising.json").read_text())
    # Added N(0, sigma^2) noise: the noisy input's MSE against the clean image is sigma^2.
    assert dn["baselines"]["gaussian"]["corrupted_input"] == pytest.approx(0.1**2, rel=0.02)
    assert dn["noise_curve"]["corrupted_input"] == pytest.approx([s**2 for s in dn["noise_curve"]["sigma"]], rel=0.02)
    # Erasing zeroes part of every image: some error, less than erasing everything (mean x^2 = 0.103).
    assert 0 < dn["baselines"]["erasing"]["corrupted_input"] < 0.103
    # Trained on the training split, stopped on the corrupted validation split (one epoch in quick mode).
    assert dn["split"] == {"train": 1707, "validation": 341, "test": 512, "seed": 0}
    for kind in ("gaussian", "erasing"):
        stop = dn[kind]["stopping"]
        assert stop["epochs_trained"] == stop["epoch_cap"] == len(dn[kind]["val_loss"]) == 1 and stop["best_epoch"] == 1
    gq = json.loads((dirs["results"] / "generation_quality.json").read_text())
    assert gq["sources"] == ["ae_grid", "vae_grid", "vae2_prior", "vae16_prior", "ae8_pca_grid"]
    assert [gq[k]["images"] for k in gq["sources"]] == [225, 225, 10000, 10000, 225]
    assert all(0 <= gq[k]["confident_share"] <= 1 and gq[k]["frechet_distance"] >= 0 for k in gq["sources"])
    assert gq["real_data_floor"] >= 0 and gq["feature_dimension"] == 64  # the classifier's 2 x 2 x 16 flatten
    for kind in ("gaussian", "erasing"):
        worst = [w["mse"] for w in dn[kind]["worst"]]
        assert len(worst) == 6 and worst == sorted(worst, reverse=True) and worst[-1] >= dn[kind]["test_mse"]


def test_the_on_demand_seed_study(quick_run):
    """Not part of the job; run by name it reuses exercise 1's model for seed 0 and trains the others."""
    dirs, flags = quick_run
    assert "seeds" not in [s["name"] for s in json.loads((dirs["results"] / "pipeline.json").read_text())["steps"]]
    assert script("seeds").main([*flags, "--seeds", "0", "5"]) == 0
    sd = json.loads((dirs["results"] / "seeds.json").read_text())
    assert sd["seeds"] == [0, 5]
    assert sd["per_seed"]["0"]["model_from_cache"] is True and sd["per_seed"]["5"]["model_from_cache"] is False
    ex1 = json.loads((dirs["results"] / "exercise_1.json").read_text())
    assert sd["per_seed"]["0"]["test_mse"] == pytest.approx(ex1["test_mse"], rel=1e-6)
    values = [sd["per_seed"][k]["test_mse"] for k in ("0", "5")]
    assert sd["summary"]["test_mse"]["mean"] == pytest.approx(np.mean(values))
    assert sd["summary"]["test_mse"]["std"] == pytest.approx(np.std(values, ddof=1))
    assert sd["per_seed"]["0"]["per_digit"]["test_mse"] == pytest.approx(ex1["per_digit_test_mse"], rel=1e-6)
    counts = sd["per_digit_counts"]
    for lowest, highest in (("best_reconstructed", "worst_reconstructed"), ("most_overlapped", "clearest_clusters")):
        assert sum(counts[lowest].values()) == sum(counts[highest].values()) == 3 * 2  # three digits per seed
    ranked = lambda seed: sorted(range(10), key=lambda d: sd["per_seed"][seed]["per_digit"]["test_mse"][str(d)])  # noqa: E731
    assert all(counts["best_reconstructed"][str(d)] == sum(d in ranked(s)[:3] for s in ("0", "5")) for d in range(10))
    pairs = [f"{c['pair'][0]}/{c['pair'][1]}" for s in ("0", "5") for c in sd["per_seed"][s]["confused_pairs"]]
    assert counts["confused_pairs"] == {p: pairs.count(p) for p in set(pairs)} and len(pairs) <= 6


def test_fine_tuning_with_refit_trains_the_chosen_variant_again_on_training_and_validation(quick_run, tmp_path):
    """`--set finetune.refit=true` (the reference's protocol): the chosen variant trained again on all 2048 images, for
    its best epochs, is the model tested; the report says so. Into copies, so the job's outputs stay."""
    dirs, _ = quick_run
    results, figures = tmp_path / "results", tmp_path / "figures"
    shutil.copytree(dirs["results"], results)
    shutil.copytree(dirs["figures"], figures)
    flags = ["--quick", "--figures-dir", str(figures), "--results-dir", str(results), "--cache-dir", str(dirs["cache"])]
    assert script("finetune").main([*flags, "--set", "finetune.refit=true"]) == 0
    ft = json.loads((results / "finetune.json").read_text())
    assert ft["final"]["retrained"] is True and ft["final"]["train_images"] == 1707 + 341
    if ft["best_variant"] != "frozen + linear":
        assert ft["final"]["epochs"] == ft["variants"][ft["best_variant"]]["stopping"]["best_epoch"] == 1
    out = tmp_path / "report.pdf"
    assert script("build_report").main(["--quick", "--figures-dir", str(figures), "--results-dir", str(results),
                                        "--output", str(out)]) == 0
    assert "training and validation images together (--set finetune.refit=true)" in pdf_text(out)


def test_second_run_reuses_the_cached_model(quick_run):
    dirs, flags = quick_run
    assert script("exercise_3").main(flags) == 0
    assert json.loads((dirs["results"] / "exercise_3.json").read_text())["model_from_cache"] is True


def test_quick_run_may_not_write_into_the_full_results(tmp_path, capsys):
    code = script("exercise_1").main(["--quick", "--results-dir", "report/results", "--cache-dir", str(tmp_path)])
    assert code == 2
    assert "--quick may not write into report/results" in capsys.readouterr().err


def test_report_builds_from_quick_outputs(quick_run, tmp_path):
    dirs, _ = quick_run
    build_report = script("build_report")
    out = tmp_path / "report.pdf"
    args = ["--quick", "--figures-dir", str(dirs["figures"]), "--results-dir", str(dirs["results"]), "--output", str(out)]
    assert build_report.main(args) == 0
    assert out.read_bytes()[:5] == b"%PDF-"


def test_every_figure_the_report_prints_has_text_of_7_pt_or_more(quick_run):
    """The report prints every figure at 100 % (its `fig` stops the build rather than shrink one), so
    the smallest font a figure was drawn with, which `charts.save` records in the PNG, is the
    smallest on paper."""
    from PIL import Image

    from mnist_ae.plots import charts

    dirs, _ = quick_run
    source = (ROOT / "report" / "report.typ").read_text(encoding="utf-8")
    names = set(re.findall(r'fig\("([\w.]+)"', source)) - {"explorer.png"}  # a browser screenshot, in an appendix
    # An on-demand study's figures are not in the quick job: its own test checks them.
    names -= {f for step in registry.STEPS if step.on_demand for f in step.figures}
    assert len(names) >= 30
    for name in sorted(names):
        smallest = float(Image.open((dirs["figures"] / name).with_suffix(".png")).text["min_font_pt"])
        assert smallest >= charts.MIN_FONT_PT == 7.0, name


def pdf_text(path) -> str:
    from pypdf import PdfReader

    # Each page's text ends with its footer's page number; dropped, so a sentence running on to the
    # next page reads as one.
    pages = (" ".join((page.extract_text() or "").split()) for page in PdfReader(path).pages)
    return " ".join(re.sub(r"\s*\d+$", "", text) for text in pages)


def test_report_shows_the_code_read_from_the_sources(quick_run, tmp_path):
    dirs, _ = quick_run
    out = tmp_path / "report.pdf"
    args = ["--quick", "--figures-dir", str(dirs["figures"]), "--results-dir", str(dirs["results"]), "--output", str(out)]
    assert script("build_report").main(args) == 0
    text = pdf_text(out)
    for name in ("build_encoder", "build_decoder", "train_autoencoder", "build_vae_encoder", "sample_gaussian",
                 "build_mse_vae", "kl_divergence", "squared_error_loss", "nearest_neighbour_predict",
                 "build_classifier", "decoded_grid", "random_erasing"):
        assert f"def {name}(" in text
    assert "class KLDivergence(" in text and "self.add_loss(" in text  # how the KL reaches the compiled loss
    assert "noise * ops.exp(log_sigma)" in text  # the body of the sampling function, as in vae.py
    assert '"""Reparametrised draw' not in text  # docstrings are left out


def test_report_numbers_follow_the_results(quick_run, tmp_path):
    """Altered results give an altered report: nothing in it is typed by hand."""
    dirs, _ = quick_run
    results = tmp_path / "results"
    shutil.copytree(dirs["results"], results)
    ex1 = json.loads((results / "exercise_1.json").read_text())
    ex1["test_mse"] = 0.0123456
    (results / "exercise_1.json").write_text(json.dumps(ex1))
    dn = json.loads((results / "denoising.json").read_text())
    dn["gaussian"]["test_mse"] = 0.0031415
    (results / "denoising.json").write_text(json.dumps(dn))
    out = tmp_path / "report.pdf"
    args = ["--quick", "--figures-dir", str(dirs["figures"]), "--results-dir", str(results), "--output", str(out)]
    assert script("build_report").main(args) == 0
    text = pdf_text(out)
    assert "Test MSE 0.01235" in text and "0.00314" in text


def test_report_names_the_step_to_run_for_a_missing_input(quick_run, tmp_path, capsys):
    dirs, _ = quick_run
    results = tmp_path / "results"
    results.mkdir()
    for n in (1, 2, 4, 5, 6):
        (results / f"exercise_{n}.json").write_bytes((dirs["results"] / f"exercise_{n}.json").read_bytes())
    args = ["--figures-dir", str(dirs["figures"]), "--results-dir", str(results), "--output", str(tmp_path / "r.pdf")]
    assert script("build_report").main(args) == 2
    err = capsys.readouterr().err
    assert "exercise_1.json is from a --quick run: run `python -m mnist_ae run exercise_1` for the full report" in err
    assert script("build_report").main(args + ["--quick"]) == 2
    assert "exercise_3.json is missing: run `python -m mnist_ae run exercise_3 --quick`" in capsys.readouterr().err
    assert not (tmp_path / "r.pdf").exists()


def test_report_shows_an_optional_long_budget_likelihood_run(quick_run, tmp_path):
    dirs, _ = quick_run
    results = tmp_path / "results"
    (results / "long_budget").mkdir(parents=True)
    for f in dirs["results"].glob("*.json"):
        (results / f.name).write_bytes(f.read_bytes())
    (results / "long_budget" / "vae_likelihood.json").write_bytes((dirs["results"] / "vae_likelihood.json").read_bytes())
    out = tmp_path / "r.pdf"
    args = ["--quick", "--figures-dir", str(dirs["figures"]), "--results-dir", str(results), "--output", str(out)]
    assert script("build_report").main(args) == 0
    with_long = out.stat().st_size
    (results / "long_budget" / "vae_likelihood.json").unlink()
    assert script("build_report").main(args) == 0
    assert with_long > out.stat().st_size  # the extra table is there only when the file is


def test_report_says_which_per_digit_claims_hold_across_seeds(quick_run, tmp_path):
    """With a seed study of the same recipe, each per-digit claim says in how many seeds its digits hold."""
    dirs, _ = quick_run
    results = tmp_path / "results"
    shutil.copytree(dirs["results"], results)
    ex1 = json.loads((results / "exercise_1.json").read_text())
    best = sorted(ex1["per_digit_test_mse"], key=ex1["per_digit_test_mse"].get)[:3]
    one = {"test_mse": 0.05, "knn1_accuracy": 0.5, "silhouette": 0.1, "clipped_share": 0.01}
    counts = {claim: dict.fromkeys(map(str, range(10)), 0) for claim in
              ("best_reconstructed", "worst_reconstructed", "clearest_clusters", "most_overlapped", "knn1_better",
               "knn1_worse")}
    ex3 = json.loads((results / "exercise_3.json").read_text())
    top = [f"{c['pair'][0]}/{c['pair'][1]}" for c in ex3["confused_pairs"][:3]]
    counts["confused_pairs"] = {top[0]: 2}
    counts["best_reconstructed"].update({best[0]: 2, best[1]: 2, best[2]: 1})
    seeds = {"seeds": [0, 7], "per_seed": {"0": one, "7": one}, "recipe": ex1["recipe"], "per_digit_counts": counts,
             "summary": {m: {"mean": v, "std": 0.0} for m, v in one.items()},
             "provenance": {"quick": True, "wall_time_s": 1.0}}
    (results / "seeds.json").write_text(json.dumps(seeds))
    out = tmp_path / "report.pdf"
    args = ["--quick", "--figures-dir", str(dirs["figures"]), "--results-dir", str(results), "--output", str(out)]
    assert script("build_report").main(args) == 0
    text = pdf_text(out)
    # Appendix B: each claim's digits, with the number of seeds that name them too.
    assert f"best reconstructed (1 (b)) {best[0]} (2), {best[1]} (2), {best[2]} (1)" in text
    assert f"most confused pairs (2 (b)) {', '.join([top[0] + ' (2)'] + [p + ' (0)' for p in top[1:]])}" in text
    # The study's seed 0 is not this report's model (another test MSE): labelled so.
    assert "0 (earlier run)" in text and "Its seed 0 is an earlier training of the same recipe" in text
