"""Training plumbing: per-iteration loss, the NaN guard and the settings-keyed cache."""

import itertools
import json

import keras
import numpy as np
import pytest

from mnist_ae import cache, training


def tiny_regression(seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    x = np.random.default_rng(seed).normal(size=(10, 3)).astype("float32")
    return model, x, x.sum(axis=1, keepdims=True)


def test_iteration_loss_recovers_each_batch_loss():
    model, x, y = tiny_regression()
    model.compile(keras.optimizers.SGD(0.0), loss="mse")  # rate 0: every batch loss is computable by hand
    record = training.fit(model, x, y, epochs=2, batch_size=4, validation_data=(x, y))
    residual = ((model.predict(x, verbose=0) - y) ** 2).ravel()
    losses = np.array(record["iteration_loss"])
    assert losses.shape == (6,)  # 3 batches (4, 4, 2) x 2 epochs
    sizes = np.array([4, 4, 2])
    for epoch in range(2):
        batch_losses = losses[3 * epoch : 3 * epoch + 3]
        # fit shuffles, so each batch loss must be the mean of *some* set of that many residuals...
        for loss, size in zip(batch_losses, sizes):
            means = [residual[list(c)].mean() for c in itertools.combinations(range(10), size)]
            assert np.min(np.abs(np.array(means) - loss)) < 1e-4 * max(1.0, loss)
        # ...and together they cover the epoch.
        assert np.sum(batch_losses * sizes) == pytest.approx(residual.sum(), rel=1e-4)
    np.testing.assert_allclose(record["loss"], [residual.mean()] * 2, rtol=1e-4)
    assert len(record["val_loss"]) == 2


def test_nan_loss_stops_training_with_a_clear_error():
    model, x, y = tiny_regression()
    model.compile(keras.optimizers.SGD(1e12), loss="mse")
    with pytest.raises(FloatingPointError, match="NaN"):
        training.fit(model, x, y * 1e6, epochs=50, batch_size=2, validation_data=(x, y))


def test_cache_trains_once_then_loads_the_same_weights(tmp_path):
    store = cache.ModelCache(tmp_path)
    model, x, y = tiny_regression()
    calls = []

    def train():
        calls.append(1)
        model.compile("adam", "mse")
        return training.fit(model, x, y, epochs=1, batch_size=5, validation_data=(x, y))

    record, cached = store.load_or_train(model, "reg", {"epochs": 1}, train)
    assert not cached and calls == [1]
    fresh, _, _ = tiny_regression(seed=1)
    again, cached = store.load_or_train(fresh, "reg", {"epochs": 1}, train)
    assert cached and calls == [1] and again == json.loads(json.dumps(record))
    np.testing.assert_array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))
    _, cached = store.load_or_train(fresh, "reg", {"epochs": 2}, train)  # other settings: retrain
    assert not cached and calls == [1, 1]


def test_settings_key_depends_on_every_setting_and_the_code_version(monkeypatch):
    a = cache.settings_key("ae", {"epochs": 1, "seed": 0})
    assert a == cache.settings_key("ae", {"seed": 0, "epochs": 1})
    assert a != cache.settings_key("ae", {"epochs": 1, "seed": 1})
    monkeypatch.setattr(cache, "CODE_VERSION", cache.CODE_VERSION + 1)
    assert a != cache.settings_key("ae", {"epochs": 1, "seed": 0})
