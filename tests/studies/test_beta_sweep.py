"""The beta sweep (scripts/beta_sweep.py): the scale conversion, its flags, and a quick run's outputs."""

import json

import pytest

from mnist_ae import paths
from mnist_ae.pipeline.loading import load_script


@pytest.fixture(scope="module")
def sweep():
    return load_script(paths.SCRIPTS / "beta_sweep.py")


def test_a_mean_per_pixel_weight_is_the_per_image_beta_times_the_pixels(sweep):
    # mean SE + w KL = (sum SE + 784 w KL) / 784: the same minimum as beta = 784 w.
    assert sweep.as_beta(0.01) == pytest.approx(7.84)
    assert sweep.as_beta(1 / 784) == pytest.approx(1.0)
    assert sweep.as_beta(0.5, pixels=4) == pytest.approx(2.0)


def test_betas_must_be_positive_numbers(sweep):
    assert sweep.betas("0.5,1,2") == (0.5, 1.0, 2.0)
    for bad in ("1,-2", "1,x", "0", "inf"):
        with pytest.raises(Exception, match="positive number|numbers separated"):
            sweep.betas(bad)


def test_a_sweep_without_beta_one_is_one_line(sweep, tmp_path, capsys):
    code = sweep.main(["--quick", "--betas", "2,4", "--figures-dir", str(tmp_path / "f"),
                       "--results-dir", str(tmp_path / "r"), "--cache-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and "--betas must include 1" in err


@pytest.mark.slow
def test_a_quick_sweep_trains_each_beta_and_reuses_the_job_s_model(sweep, tmp_path):
    from mnist_ae import data, preprocessing
    from mnist_ae.cache import ModelCache
    from mnist_ae.pipeline.harness import QUICK
    from mnist_ae.recipes import configure
    from mnist_ae.training import train_vae

    (x, _), (xt, _) = data.load_mnist()
    x, xt = (preprocessing.to_model_input(a) for a in (x[:QUICK.train_images], xt[:QUICK.test_images]))
    cache = ModelCache(tmp_path / "c")
    train_vae(x, xt, configure("vae_2d", quick=QUICK.recipe_fields()), cache)  # what the job's vae_2d step trains
    flags = ["--quick", "--betas", "0.5,1,4", "--figures-dir", str(tmp_path / "f"), "--results-dir",
             str(tmp_path / "r"), "--cache-dir", str(tmp_path / "c")]
    assert sweep.main(flags) == 0
    out = json.loads((tmp_path / "r" / "beta_sweep.json").read_text())
    assert out["betas"] == ["0.5", "1", "4"]
    from PIL import Image

    from mnist_ae.plots import charts
    assert float(Image.open(tmp_path / "f" / sweep.FIGURE).text["min_font_pt"]) >= charts.MIN_FONT_PT  # as printed
    per = out["per_beta"]
    assert [per[b]["model_from_cache"] for b in out["betas"]] == [False, True, False]
    for b in out["betas"]:  # the loss is what the model trains on: squared error + beta * KL
        assert per[b]["test_loss"] == pytest.approx(per[b]["test_squared_error"] + float(b) * per[b]["test_kl"])
        assert per[b]["test_kl"] > 0 and 0 < per[b]["test_mse"] < 1
