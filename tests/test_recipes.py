"""The recipe table: every shared model named once, overrides checked, and an experiment that
reaches every step that uses the recipe and writes only under its own folder."""

import dataclasses

import pytest

from mnist_ae import __main__ as cli
from mnist_ae import paths, recipes
from mnist_ae.pipeline import registry
from mnist_ae.pipeline.stamps import Pipeline


def test_the_table_names_every_model_the_job_trains_and_shares():
    assert set(recipes.RECIPES) == {"ex1_ae", "ex4_classifier", "vae_2d", "vae_16d", "code_size_finalists",
                                    "denoisers", "finetune"}
    for recipe in recipes.RECIPES.values():
        assert dataclasses.is_dataclass(recipe.config) and recipe.what and recipe.code
        assert recipe.start is None or recipe.start in recipes.RECIPES
        assert set(recipe.quick) <= {f.name for f in dataclasses.fields(recipe.config)}, recipe.name
    assert recipes.RECIPES["vae_2d"].config.likelihood == "gaussian"
    assert recipes.RECIPES["vae_16d"].config.latent_dim == 16


def test_overrides_become_typed_values_and_leave_the_defaults_alone():
    config = recipes.configure("ex1_ae", {"batch_size": "64", "learning_rate": "1e-3"})
    assert (config.batch_size, config.learning_rate, config.epochs) == (64, 1e-3, 15)
    assert recipes.RECIPES["ex1_ae"].config.batch_size == 32  # the table is not edited
    assert recipes.configure("finetune", {"refit": "true"}).refit is True
    assert recipes.configure("finetune", {"shift": "0"}).shift == 0
    assert recipes.configure("vae_2d", {"beta": "2"}).beta == 2.0
    quick = recipes.configure("finetune", quick={"epochs": 1, "conv_epochs": 1})
    assert (quick.epochs, quick.conv_epochs) == (1, 1)
    assert recipes.configure("ex1_ae", quick={"epochs": 1, "conv_epochs": 1}).epochs == 1
    with pytest.raises(recipes.RecipeError, match="expected bool like its default False"):
        recipes.configure("finetune", {"refit": "maybe"})


def test_an_experiment_reaches_every_step_and_writes_under_its_own_folder(tmp_path):
    pipe = Pipeline(quick=False, overrides=["ex1_ae.batch_size=64"], name="bs64", state_dir=tmp_path)
    assert pipe.figures == paths.VARIANTS / "bs64" / "figures"
    assert pipe.results == paths.VARIANTS / "bs64" / "results"
    assert pipe.report == paths.VARIANTS / "bs64" / "report.pdf"
    assert pipe.state == tmp_path / "full" / "variants" / "bs64"
    for step in registry.STEPS:
        argv = pipe.argv(step)
        if step.results or step.site:
            assert "--set=ex1_ae.batch_size=64" in argv and argv[argv.index("--name") + 1] == "bs64", step.name
        assert str(paths.FIGURES) not in argv and str(paths.RESULTS) not in argv, step.name
    plain = Pipeline(quick=False, state_dir=tmp_path)
    assert pipe.fingerprint(registry.get("exercise_1")) != plain.fingerprint(registry.get("exercise_1"))


def test_the_runner_refuses_an_unnamed_experiment_and_a_typo_before_any_step(capsys):
    assert cli.main(["run", "exercise_1", "--set", "ex1_ae.batch_size=64"]) == 2
    assert "--set changes a recipe: name the experiment with --name NAME" in capsys.readouterr().err
    assert cli.main(["run", "exercise_1", "--set", "ex1_ae.batchsize=64", "--name", "x"]) == 2
    assert capsys.readouterr().err.strip() == ("mnist_ae: error: recipe ex1_ae has no field 'batchsize' "
                                                "(fields: epochs, batch_size, learning_rate, seed, output_bias)")


def test_a_config_s_own_check_is_part_of_parsing_an_override():
    with pytest.raises(recipes.RecipeError, match="code_size_finalists.sampler must be tpe or random, not 'grid'"):
        recipes.parse_overrides(["code_size_finalists.sampler=grid"])
    assert recipes.parse_overrides(["code_size_finalists.budget=reference"]) == {
        "code_size_finalists": {"budget": "reference"}}


def test_each_recipe_s_digest_is_the_one_its_models_are_keyed_by():
    """The table's `code` and the training functions name the same code: a test of one is a test of the other."""
    from mnist_ae import codehash, training
    from mnist_ae.models import code_models
    from mnist_ae.studies import denoising, finetune

    used = {"ex1_ae": training.model_code(), "ex4_classifier": training.model_code(),
            "vae_2d": training.model_code(), "vae_16d": training.model_code(),
            "code_size_finalists": code_models.finalist_code(),
            "denoisers": codehash.digest([denoising.__name__]), "finetune": codehash.digest([finetune.__name__])}
    assert {name: r.digest() for name, r in recipes.RECIPES.items()} == used
    assert len(set(used.values())) == 4  # the studies' code differs from the exercises'
