"""Fine-tuning: what each variant freezes and trains, the class-balanced label subsets, and the study's
script pieces (its epoch caps, a Keras variant's stopping record, the spread over label subsets)."""

import argparse
import importlib.util
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from mnist_ae.models import code_models
from mnist_ae.studies import finetune

PARAMS = {**code_models.EXAMPLE_PARAMS, "channels": 4, "hidden": 16}


@pytest.fixture(scope="module")
def encoder():
    keras.utils.set_random_seed(0)
    return code_models.build(PARAMS, code_size=8)[0]


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((6, 28, 28, 1), dtype=np.float32)


def dense_units(model):
    return [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def test_the_variants_freeze_from_most_to_least(encoder):
    v = finetune.variants(encoder)
    assert list(v) == ["frozen + linear", "frozen + 2 dense", "frozen conv + 3 dense", "last 1 unfrozen + 2 dense",
                       "last 2 unfrozen + 2 dense", "all fine-tuned + 3 dense"]
    # EXAMPLE_PARAMS has two dense layers: one hidden (enc_dense1) and the code.
    assert [v[n].cut for n in v] == ["code", "code", "flatten", "enc_dense1_act", "flatten", "image"]
    assert [n for n in v if v[n].augment] == ["all fine-tuned + 3 dense"]


@pytest.mark.parametrize("name, frozen_shape, units", [
    ("frozen + linear", (8,), [10]),
    ("frozen + 2 dense", (8,), [256, 10]),
    ("frozen conv + 3 dense", (7 * 7 * 8,), [256, 128, 10]),  # two stride-2 convs: 28 -> 14 -> 7, 4 -> 8 channels
    ("last 1 unfrozen + 2 dense", (16,), [8, 256, 10]),  # the code layer, then the "2 dense" head
    ("last 2 unfrozen + 2 dense", (7 * 7 * 8,), [16, 8, 256, 10]),
    ("all fine-tuned + 3 dense", None, [256, 128, 10]),  # the convs, then a new head
])
def test_each_variant_trains_exactly_its_part(encoder, images, name, frozen_shape, units):
    variant = finetune.variants(encoder)[name]
    frozen, trainable = finetune.build(encoder, variant)
    assert dense_units(trainable) == units
    if frozen_shape is None:
        assert frozen is None and tuple(trainable.input.shape[1:]) == (28, 28, 1)
        features = images
    else:
        assert tuple(frozen.output.shape[1:]) == frozen_shape
        features = frozen.predict(images, verbose=0)
    assert trainable.predict(features, verbose=0).shape == (6, 10)
    np.testing.assert_allclose(trainable.predict(features, verbose=0).sum(axis=1), 1.0, rtol=1e-5)


def test_reused_layers_start_from_the_pretrained_weights_and_leave_them_alone(encoder, images):
    _, trainable = finetune.split_at(encoder, finetune.IMAGE, head=())
    before = [w.copy() for w in encoder.get_weights()]
    # The reused part computes exactly the encoder: its code, then the new softmax.
    codes = keras.Model(trainable.input, trainable.get_layer("code").output).predict(images, verbose=0)
    np.testing.assert_allclose(codes, encoder.predict(images, verbose=0), rtol=1e-5, atol=1e-6)
    trainable.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
    trainable.fit(images, np.arange(6), epochs=2, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, encoder.get_weights()))
    assert not np.array_equal(trainable.get_layer("code").get_weights()[0], encoder.get_layer("code").get_weights()[0])


def test_shifts_need_the_images_and_the_cut_must_exist(encoder):
    with pytest.raises(ValueError, match="only a variant with nothing frozen"):
        finetune.split_at(encoder, "code", (), shift=2)
    with pytest.raises(ValueError, match="no layer 'conv9'"):
        finetune.split_at(encoder, "conv9", ())
    _, shifted = finetune.split_at(encoder, "image", (), shift=2)
    assert shifted.get_layer("shift").height_factor == pytest.approx(2 / 28)


def test_balanced_subsets_have_as_many_of_each_class_as_possible():
    labels = np.random.default_rng(1).permutation(np.repeat(np.arange(10), 50))
    pick = finetune.balanced_subset(labels, 25, seed=0)
    assert len(pick) == len(np.unique(pick)) == 25 and np.all(np.diff(pick) > 0)
    assert np.bincount(labels[pick], minlength=10).tolist() == [3] * 5 + [2] * 5
    assert np.array_equal(pick, finetune.balanced_subset(labels, 25, seed=0))
    assert not np.array_equal(pick, finetune.balanced_subset(labels, 25, seed=1))
    assert np.bincount(labels[finetune.balanced_subset(labels, 500, seed=0)]).tolist() == [50] * 10


def test_balanced_subsets_refuse_more_than_there_is():
    labels = np.repeat(np.arange(10), 5)
    with pytest.raises(ValueError, match="asked for 51 labelled examples, only 50 exist"):
        finetune.balanced_subset(labels, 51, seed=0)
    with pytest.raises(ValueError, match="class 0 has 1 examples, 10 asked"):
        finetune.balanced_subset(np.array([0, *[1] * 30]), 20, seed=0, num_classes=2)


def test_the_full_network_keeps_the_convolutions_and_drops_out_before_its_head(encoder, images):
    _, trainable = finetune.build(encoder, finetune.variants(encoder)["all fine-tuned + 3 dense"], shift=2)
    names = [layer.name for layer in trainable.layers]
    assert names[:2] == ["features", "shift"] and "enc_conv2_act" in names and "enc_dense1" not in names
    assert [layer.rate for layer in trainable.layers if isinstance(layer, keras.layers.Dropout)] == [0.1, 0.1, 0.1]
    conv = keras.Model(trainable.input, trainable.get_layer("flatten").output)
    np.testing.assert_allclose(conv.predict(images, verbose=0),
                               keras.Model(encoder.input, encoder.get_layer("flatten").output).predict(images, verbose=0),
                               rtol=1e-5, atol=1e-6)  # outside training the shift and dropout do nothing
    with pytest.raises(ValueError, match="'enc_conv1' does not come after 'flatten'"):
        finetune.split_at(encoder, "flatten", (), keep="enc_conv1")


def test_the_linear_probe_separates_separable_codes_and_says_it_converged():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    x = rng.normal(size=(60, 4)) * 0.1 + np.eye(4)[y] * 3  # three well-separated clusters
    probe = finetune.linear_probe(x, y)
    assert np.mean(probe.predict(x) == y) == 1.0
    record = finetune.probe_stopping(probe)
    assert record["converged"] and 0 < record["epochs_trained"] < 1000 and record["epoch_cap"] == 1000
    assert record["stopped"] == f"lbfgs converged after {record['epochs_trained']} iterations"
    capped = finetune.probe_stopping(finetune.linear_probe(x, y, max_iter=1))
    assert not capped["converged"] and capped["stopped"] == "lbfgs reached its cap after 1 iterations"


def test_the_probe_record_has_the_stopping_record_shape():
    y = np.repeat(np.arange(2), 10)
    x = np.eye(2)[y] * 3 + np.random.default_rng(0).normal(size=(20, 2)) * 0.1
    record = finetune.probe_stopping(finetune.linear_probe(x, y))
    assert set(record) == {"epochs_trained", "epoch_cap", "best_epoch", "monitor", "best", "converged", "stopped"}
    assert record["best_epoch"] == record["epochs_trained"] and record["best"] is None


def test_tiled_epochs_repeat_every_index_equally_and_in_order():
    pick = np.array([3, 8, 11, 20])
    epoch = finetune.tiled(pick, 10)
    assert epoch.tolist() == [3, 8, 11, 20] * 3  # 12 >= 10: whole copies only, never a partial one
    assert np.bincount(epoch).tolist() == np.bincount(np.repeat(pick, 3)).tolist()
    assert finetune.tiled(pick, 4).tolist() == pick.tolist()  # already long enough: unchanged


NO_CACHE = argparse.Namespace(cache=None)  # a run without a model cache: fit_keras trains every time


@pytest.fixture(scope="module")
def script():
    """scripts/finetune.py as a module (registered, as its dataclass needs)."""
    path = Path(__file__).resolve().parents[2] / "scripts" / "finetune.py"
    spec = importlib.util.spec_from_file_location("finetune_script", path)
    module = sys.modules["finetune_script"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    del sys.modules["finetune_script"]


def test_the_recipe_caps_heads_and_conv_networks_apart(script):
    from mnist_ae import recipes

    config = recipes.configure("finetune")
    assert (config.epochs, config.conv_epochs, config.conv_patience, config.patience) == (30, 30, 3, 5)
    assert script.conv_watch_start(config.conv_epochs) == 15
    assert recipes.configure("finetune", {"conv_epochs": "7"}).epochs == 30  # the heads' cap stays
    with pytest.raises(recipes.RecipeError, match="finetune.shift=-1: must be more than 0 \\(or 0\\)"):
        recipes.configure("finetune", {"shift": "-1"})


def test_early_stopping_watches_only_from_its_start_epoch(script):
    # Labels that cannot be learned: the validation accuracy never rises for long, so without a
    # start the run would stop after `patience` epochs; with start 4 it trains at least 4 + 1.
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(200, 10)).astype("float32"), rng.integers(0, 10, 200)
    config = script.training.ClassifierConfig(epochs=12, batch_size=50, learning_rate=1e-2, seed=0, shift=0)
    runs = {}
    for start in (0, 4):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(10, activation="softmax")])
        runs[start] = script.fit_keras(NO_CACHE, model, "probe", {}, x[:150], y[:150], x[150:], y[150:], config,
                                       patience=1, start=start)[0]
    late = runs[4]["stopping"]
    assert late["epochs_trained"] >= 4 + 1 and late["best_epoch"] >= 4 + 1 and late["watched_from_epoch"] == 5
    assert late["best"] == max(runs[4]["history"]["val_accuracy"][4:])
    assert runs[0]["stopping"]["epochs_trained"] < late["epochs_trained"]


def test_a_keras_variant_reports_its_best_epoch_and_its_stopping_record(script):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 200)
    x = (np.eye(10)[y] + rng.normal(size=(200, 10)) * 0.3).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(10, activation="softmax")])
    config = script.training.ClassifierConfig(epochs=4, batch_size=32, learning_rate=1e-2, seed=0, shift=0)
    result, predict = script.fit_keras(NO_CACHE, model, "probe", {}, x[:150], y[:150], x[150:], y[150:], config,
                                       patience=1)
    curve = result["history"]["val_accuracy"]
    assert result["stopping"] == script.training.Stopping(1, 4, "val_accuracy", "max").record(curve)
    assert result["val_accuracy"] == max(curve) == result["stopping"]["best"]
    assert 1 <= len(curve) == result["stopping"]["epochs_trained"] <= 4
    # The best epoch's weights are restored: predicting again gives the reported accuracy.
    assert np.mean(predict(x[150:]) == y[150:]) == pytest.approx(result["val_accuracy"])
    assert result["trainable_params"] == 10 * 10 + 10 and result["seconds_per_epoch"] > 0


def test_a_fine_tuned_network_is_cached_under_its_variant_settings_and_parent(script, tmp_path):
    from mnist_ae.cache import ModelCache

    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 200)
    x = (np.eye(10)[y] + rng.normal(size=(200, 10)) * 0.3).astype("float32")
    config = script.training.ClassifierConfig(epochs=3, batch_size=32, learning_rate=1e-2, seed=0, shift=0)
    run = argparse.Namespace(cache=ModelCache(tmp_path))

    def fit(settings, parent):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(10, activation="softmax")])
        result, predict = script.fit_keras(run, model, "frozen + linear", settings, x[:150], y[:150], x[150:], y[150:],
                                           config, patience=1, parent=parent)
        return result, np.asarray(model.get_weights()[0])

    first, w1 = fit({"variant": {"head": (1,)}}, "code-ae32-aaa")
    again, w2 = fit({"variant": {"head": (1,)}}, "code-ae32-aaa")
    assert again == first and np.array_equal(w1, w2)  # loaded, the same record (tuples stored as lists)
    assert len(list(tmp_path.glob("finetune-frozen-linear-*.weights.h5"))) == 1
    fit({"variant": {"head": (1,)}}, "code-ae32-bbb")  # another pretrained encoder: another model
    fit({"variant": {"head": (2,)}}, "code-ae32-aaa")  # another variant: another model
    assert len(list(tmp_path.glob("finetune-frozen-linear-*.weights.h5"))) == 3


def test_spread_is_the_mean_and_sample_std_of_the_runs(script):
    row = script.spread("pretrained", [{"test_accuracy": a} for a in (0.90, 0.92, 0.94)])
    assert row["pretrained"] == pytest.approx(0.92) and row["pretrained_std"] == pytest.approx(0.02)
    assert script.spread("scratch", [{"test_accuracy": 0.5}])["scratch_std"] == 0.0


def test_the_chosen_variant_is_trained_again_for_its_best_epochs_on_everything_it_is_given(script, encoder):
    # Codes that say the label (8 classes, the code size): a head that trains 3 epochs fits them.
    rng = np.random.default_rng(0)
    y = rng.integers(0, 8, 64)
    codes = (3 * np.eye(8)[y] + rng.normal(size=(64, 8)) * 0.1).astype("float32")
    variants = finetune.variants(encoder)
    before = [w.copy() for w in encoder.get_weights()]
    config = script.training.ClassifierConfig(epochs=30, batch_size=8, learning_rate=1e-2, seed=0, shift=0)
    args = argparse.Namespace(seed=0, shift=0)
    record, predict = script.retrain(args, "frozen + 2 dense", variants["frozen + 2 dense"],
                                     {"stopping": {"best_epoch": 3}}, lambda: encoder, codes, y, config)
    assert record["train_images"] == 64 and record["epochs"] == 3 and record["fit_seconds"] > 0
    assert np.mean(predict(codes) == y) >= 0.9
    assert all(np.array_equal(a, b) for a, b in zip(before, encoder.get_weights()))
    # The linear probe has no epochs to count: it is refitted until lbfgs converges.
    record, predict = script.retrain(args, script.PROBE, variants[script.PROBE], {}, lambda: encoder, codes, y, config)
    assert record["train_images"] == 64 and record["stopping"]["monitor"] == "lbfgs tolerance"
    assert record["stopping"]["converged"] and np.mean(predict(codes) == y) == 1.0
