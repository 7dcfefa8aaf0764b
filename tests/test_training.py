"""Training plumbing: per-iteration loss, the NaN guard and the settings-keyed cache."""

import dataclasses
import itertools
import json
import threading

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
    assert record["iteration_step"] == [1, 2, 3, 4, 5, 6]


def test_iteration_loss_with_several_steps_per_execution_records_chunk_means():
    model, x, y = tiny_regression()
    model.compile(keras.optimizers.SGD(0.0), loss="mse", steps_per_execution=2)
    record = training.fit(model, x, y, epochs=2, batch_size=4, validation_data=(x, y))
    residual = ((model.predict(x, verbose=0) - y) ** 2).ravel()
    # Per epoch: one call runs batches 1-2 (8 images), the next batch 3 (2 images).
    assert record["iteration_step"] == [2, 3, 5, 6]
    losses = np.array(record["iteration_loss"])
    for epoch in range(2):
        first, second = losses[2 * epoch : 2 * epoch + 2]
        assert 8 * first + 2 * second == pytest.approx(residual.sum(), rel=1e-4)
        means = [residual[list(c)].mean() for c in itertools.combinations(range(10), 2)]
        assert np.min(np.abs(np.array(means) - second)) < 1e-4 * max(1.0, second)


def test_nan_loss_stops_training_with_a_clear_error():
    model, x, y = tiny_regression()
    model.compile(keras.optimizers.SGD(1e12), loss="mse")
    with pytest.raises(FloatingPointError, match="NaN"):
        training.fit(model, x, y * 1e6, epochs=50, batch_size=2, validation_data=(x, y))


def test_cache_trains_once_then_loads_the_same_weights(tmp_path):
    store = cache.ModelCache(tmp_path)
    model, x, y = tiny_regression()
    calls = []

    def train(checkpoint_dir):
        calls.append(1)
        model.compile("adam", "mse")
        return training.fit(model, x, y, epochs=1, batch_size=5, validation_data=(x, y),
                            checkpoint_dir=checkpoint_dir)

    record, cached = store.load_or_train(model, "reg", {"epochs": 1}, train, code="t")
    assert not cached and calls == [1]
    fresh, _, _ = tiny_regression(seed=1)
    again, cached = store.load_or_train(fresh, "reg", {"epochs": 1}, train, code="t")
    assert cached and calls == [1] and again == json.loads(json.dumps(record))
    np.testing.assert_array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))
    _, cached = store.load_or_train(fresh, "reg", {"epochs": 2}, train, code="t")  # other settings: retrain
    assert not cached and calls == [1, 1]
    assert not list(tmp_path.glob("*.partial"))  # checkpoints are gone once a run is finished
    _, cached = cache.ModelCache(tmp_path, retrain=True).load_or_train(fresh, "reg", {"epochs": 1}, train, code="t")
    assert not cached and calls == [1, 1, 1]


def test_a_model_wanted_by_two_steps_at_once_is_trained_once(tmp_path, capsys):
    """Two callers of one key (as two steps side by side): the second waits, then loads."""
    store = cache.ModelCache(tmp_path)
    first, x, y = tiny_regression()
    second, _, _ = tiny_regression(seed=1)
    training_started, may_finish, calls = threading.Event(), threading.Event(), []

    def train(checkpoint_dir):
        calls.append(1)
        training_started.set()
        assert may_finish.wait(10)
        return {"trained": True}

    results = {}
    worker = threading.Thread(target=lambda: results.update(first=store.load_or_train(first, "reg", {}, train, code="t")))
    worker.start()
    assert training_started.wait(10)
    waiter = threading.Thread(target=lambda: results.update(second=store.load_or_train(second, "reg", {}, train, code="t")))
    waiter.start()
    waiter.join(0.5)
    assert waiter.is_alive()  # blocked on the lock while the first trains
    may_finish.set()
    worker.join(10)
    waiter.join(10)
    assert calls == [1]
    assert results["first"][1] is False and results["second"][1] is True
    np.testing.assert_array_equal(second.predict(x, verbose=0), first.predict(x, verbose=0))
    assert "waiting for another process that is training reg-" in capsys.readouterr().err


def test_corrupt_or_foreign_cached_weights_give_a_clear_error(tmp_path):
    store = cache.ModelCache(tmp_path)
    model, x, y = tiny_regression()
    store.load_or_train(model, "reg", {"epochs": 1}, lambda d: {"ok": 1}, code="t")
    weights, meta = store.paths("reg", {"epochs": 1}, code="t")
    inputs = keras.Input((3,))
    other = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Dense(4)(inputs)))
    with pytest.raises(cache.CacheError, match="from another architecture.*--retrain"):
        store.load_or_train(other, "reg", {"epochs": 1}, lambda d: {}, code="t")
    # Same first layer, one layer more: Keras alone would load the first and only warn.
    deeper = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Dense(1)(inputs)))
    with pytest.raises(cache.CacheError, match="--retrain"):
        store.load_or_train(deeper, "reg", {"epochs": 1}, lambda d: {}, code="t")
    weights.write_bytes(b"not hdf5")
    with pytest.raises(cache.CacheError, match="unreadable.*--retrain"):
        store.load_or_train(model, "reg", {"epochs": 1}, lambda d: {}, code="t")


class StopAfter(keras.callbacks.Callback):
    """Simulates a kill: raises after epoch `n` has been checkpointed."""

    def __init__(self, n):
        super().__init__()
        self.n = n

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.n:
            raise KeyboardInterrupt


def test_interrupted_training_resumes_from_the_last_finished_epoch(tmp_path, monkeypatch):
    model, x, y = tiny_regression()
    model.compile(keras.optimizers.Adam(0.01), "mse")
    real_fit = keras.Model.fit

    def fit_then_die(self, *args, **kwargs):
        kwargs["callbacks"] = kwargs["callbacks"] + [StopAfter(2)]
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", fit_then_die)
    with pytest.raises(training.Interrupted, match="^interrupted after epoch 2 of 4; rerun the same command"):
        training.fit(model, x, y, epochs=4, batch_size=5, validation_data=(x, y), checkpoint_dir=tmp_path)
    monkeypatch.setattr(keras.Model, "fit", real_fit)
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["epoch"] == 2 and len(state["record"]["loss"]) == 2
    saved = keras.Model.from_config(model.get_config())
    saved.load_weights(tmp_path / state["weights"])

    fresh, _, _ = tiny_regression(seed=5)
    fresh.compile(keras.optimizers.Adam(0.01), "mse")
    record = training.fit(fresh, x, y, epochs=4, batch_size=5, validation_data=(x, y), checkpoint_dir=tmp_path)
    assert record["resumed_from_epoch"] == 2
    assert len(record["loss"]) == len(record["val_loss"]) == 4
    assert len(record["iteration_loss"]) == 4 * 2
    assert record["loss"][:2] == state["record"]["loss"]
    assert int(fresh.optimizer.iterations) == 8  # the optimizer state came back too


class InterruptAt(keras.callbacks.Callback):
    """Presses Ctrl-C at the start of epoch `epoch` (0-based)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def test_ctrl_c_says_how_many_epochs_are_checkpointed_and_a_rerun_resumes(tmp_path):
    model, x, y = tiny_regression()
    model.compile(keras.optimizers.SGD(0.01), loss="mse")
    with pytest.raises(training.Interrupted, match=r"^interrupted after epoch 2 of 4; rerun the same command"):
        training.fit(model, x, y, epochs=4, batch_size=4, checkpoint_dir=tmp_path, callbacks=[InterruptAt(2)],
                     verbose=0)
    assert json.loads((tmp_path / training.STATE_FILE).read_text())["epoch"] == 2
    fresh, _, _ = tiny_regression()
    fresh.compile(keras.optimizers.SGD(0.01), loss="mse")
    record = training.fit(fresh, x, y, epochs=4, batch_size=4, checkpoint_dir=tmp_path, verbose=0)
    assert record["resumed_from_epoch"] == 2 and len(record["loss"]) == 4


def overshooting_run(tmp_path, extra=()):
    """A real early-stopped training: full-batch SGD at a rate that overshoots more every step, so
    the first epoch is the best and patience 2 stops it after epoch 3, restoring epoch 1's weights.
    Returns (model, record, stopping record)."""
    model, x, y = tiny_regression()
    model.compile(keras.optimizers.SGD(1.5), loss="mse")
    rule = training.Stopping(patience=2, cap=10)
    record = training.fit(model, x, y, epochs=10, batch_size=10, validation_data=(x, y), checkpoint_dir=tmp_path,
                          callbacks=(rule.callback(), *extra), verbose=0)
    return model, record, rule.record(record["val_loss"])


def comparable(record):
    return {k: v for k, v in record.items() if k != "resumed_from_epoch"}


@pytest.mark.parametrize("interrupt_before_epoch", [2, 3])
def test_a_resumed_early_stopped_training_ends_as_an_uninterrupted_one(tmp_path, interrupt_before_epoch):
    whole, whole_record, whole_stop = overshooting_run(tmp_path / "whole")
    assert whole_stop["epochs_trained"] == 3 and whole_stop["best_epoch"] == 1
    # Ctrl-C after epoch 2 (past the best epoch, one epoch of patience used) or after epoch 3 (the
    # epoch early stopping ended the run at: a rerun must train no further).
    with pytest.raises(training.Interrupted, match=f"after epoch {interrupt_before_epoch} of 10"):
        if interrupt_before_epoch < 3:
            overshooting_run(tmp_path / "cut", extra=(InterruptAt(interrupt_before_epoch),))
        else:
            overshooting_run(tmp_path / "cut", extra=(InterruptAtTheEnd(),))
    resumed, record, stop = overshooting_run(tmp_path / "cut")
    assert record["resumed_from_epoch"] == interrupt_before_epoch
    assert comparable(record) == comparable(whole_record) and stop == whole_stop
    for a, b in zip(resumed.get_weights(), whole.get_weights()):
        np.testing.assert_array_equal(a, b)  # epoch 1's weights, bit for bit, in both runs


def test_a_checkpoint_keeps_only_its_newest_files(tmp_path):
    with pytest.raises(training.Interrupted):
        overshooting_run(tmp_path, extra=(InterruptAt(2),))
    state = json.loads((tmp_path / training.STATE_FILE).read_text())
    assert state["early_stopping"][0]["wait"] == 1 and state["early_stopping"][0]["best_epoch"] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [training.STATE_FILE, state["weights"], state["early_stopping"][0]["best_weights"]])


class InterruptAtTheEnd(keras.callbacks.Callback):
    """Presses Ctrl-C as training ends: after the last epoch's checkpoint, before the model is saved."""

    def on_train_end(self, logs=None):
        raise KeyboardInterrupt


def test_a_checkpoint_without_the_runs_early_stopping_is_refused(tmp_path):
    with pytest.raises(training.Interrupted):
        overshooting_run(tmp_path, extra=(InterruptAt(2),))
    model, x, y = tiny_regression()
    model.compile(keras.optimizers.SGD(1.5), loss="mse")
    with pytest.raises(ValueError, match="holds 1 early stopping state\\(s\\) where this run has 0"):
        training.fit(model, x, y, epochs=10, batch_size=10, validation_data=(x, y), checkpoint_dir=tmp_path,
                     verbose=0)


def test_ctrl_c_without_checkpoints_says_a_rerun_starts_again():
    model, x, y = tiny_regression()
    model.compile(keras.optimizers.SGD(0.01), loss="mse")
    with pytest.raises(training.Interrupted, match=r"after epoch 1 of 3 \(not checkpointed"):
        training.fit(model, x, y, epochs=3, batch_size=4, callbacks=[InterruptAt(1)], verbose=0)


def test_extra_callbacks_run_and_early_stopping_is_not_an_error():
    model, x, y = tiny_regression()
    model.compile(keras.optimizers.SGD(0.0), loss="mse")  # rate 0: the validation loss never improves
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=1)
    record = training.fit(model, x, y, epochs=10, batch_size=4, validation_data=(x, y), callbacks=[stop], verbose=0)
    assert len(record["loss"]) == 2 and stop.stopped_epoch == 1


def test_a_classifier_from_a_given_encoder_is_cached_under_its_parent(tmp_path):
    from mnist_ae.models import constrained

    x = np.random.default_rng(0).random((64, 32, 32, 1)).astype("float32")
    y = np.arange(64) % 10
    config = training.ClassifierConfig(epochs=1, batch_size=32, shift=0)
    store = cache.ModelCache(tmp_path)
    with pytest.raises(ValueError, match="needs its cache key"):
        training.train_classifier(x, y, x, y, config, store, encoder=constrained.build_encoder())
    child = training.train_classifier(x, y, x, y, config, store, encoder=constrained.build_encoder(), parent="autoencoder-aaa")
    fresh = training.train_classifier(x, y, x, y, config, store)
    stored = sorted(json.loads(p.read_text())["parent"] or "" for p in tmp_path.glob("classifier-*.json"))
    assert stored == ["", "autoencoder-aaa"]
    # One return type for every train_*: the model, its record, where it came from, its cache key.
    assert isinstance(child, training.Trained) and child.key != fresh.key and not fresh.cached
    assert (tmp_path / f"{fresh.key}.weights.h5").is_file() and len(fresh.history["val_loss"]) == 1
    again = training.train_classifier(x, y, x, y, config, store)
    assert again.cached and again.key == fresh.key


def test_train_vae_returns_the_vae_with_its_parts_and_key(tmp_path):
    x = np.random.default_rng(0).random((64, 32, 32, 1)).astype("float32")
    config = dataclasses.replace(training.vae_recipe(2), epochs=1, filters=4, hidden=8)
    trained = training.train_vae(x, x, config, cache.ModelCache(tmp_path))
    assert isinstance(trained, training.Trained) and not trained.cached
    assert trained.encoder is trained.model.encoder and trained.decoder is trained.model.decoder
    assert trained.key.startswith("vae2-gaussian-") and (tmp_path / f"{trained.key}.weights.h5").is_file()
    # Exercise 6's loss through compile: the total is the squared error plus the KL, per image.
    h = trained.history
    assert h["val_loss"][0] == pytest.approx(h["val_reconstruction_loss"][0] + h["val_kl_loss"][0])
    assert h["val_kl_loss"][0] > 0


def test_training_needs_no_cache_and_then_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    x = np.random.default_rng(0).random((64, 32, 32, 1)).astype("float32")
    config = training.AEConfig(epochs=2, batch_size=32)
    first, second = (training.train_autoencoder(x, x, config) for _ in range(2))
    assert not first.cached and not second.cached
    assert len(first.history["val_loss"]) == 2 and first.history["train_seconds"] >= 0
    # Same seed, same data, no cache: the same model, trained twice.
    assert first.key == second.key
    np.testing.assert_allclose(first.history["val_loss"], second.history["val_loss"], rtol=1e-5)
    assert list(tmp_path.iterdir()) == []


def test_decode_reshapes_flat_codes_to_the_decoder_input():
    from mnist_ae.models import constrained

    decoder = constrained.build_decoder()
    out = training.decode(decoder, np.zeros((3, 2)))
    assert out.shape == (3, 32, 32, 1)
    with pytest.raises(ValueError, match="codes have 3 numbers, the decoder takes \\(1, 2, 1\\)"):
        training.decode(decoder, np.zeros((3, 3)))


def test_stopping_restores_the_best_epoch_and_says_why_it_stopped():
    model, x, y = tiny_regression()
    # Plain SGD at a rate that overshoots more every step: the first epoch is the best.
    model.compile(keras.optimizers.SGD(1.5), loss="mse")
    rule = training.Stopping(patience=2, cap=10)
    first = [w.copy() for w in model.get_weights()]
    record = training.fit(model, x, y, epochs=10, batch_size=10, validation_data=(x, y),
                          callbacks=(rule.callback(),), verbose=0)
    stop = rule.record(record["val_loss"])
    assert stop["epochs_trained"] == 3 and stop["best_epoch"] == 1 and stop["converged"]
    assert stop["stopped"].startswith("early stopping: no better val_loss for 2 epochs after epoch 1")
    # The weights are the first epoch's: one SGD step from the start (full batch).
    assert not np.allclose(model.get_weights()[0], first[0])
    assert model.evaluate(x, y, verbose=0) == pytest.approx(record["val_loss"][0], rel=1e-5)


def test_stopping_at_the_cap_is_converged_only_on_a_flat_curve():
    rule = training.Stopping(patience=3, cap=5, window=2, flat=0.01)
    # Best before the last two epochs 0.100, best overall 0.0985: 1.5 % better, 0.75 % an epoch: flat.
    assert rule.record([0.3, 0.2, 0.1, 0.099, 0.0985])["converged"]
    still = rule.record([0.3, 0.2, 0.1, 0.098, 0.097])  # 3 % better, 1.5 % an epoch: still improving
    assert not still["converged"] and still["last_epochs_gain"] == pytest.approx(0.03)
    # An accuracy is judged on its error rate: 98 % -> 98.5 % is a quarter less error.
    acc = training.Stopping(patience=3, cap=4, monitor="val_accuracy", mode="max").record([0.9, 0.98, 0.982, 0.985])
    assert acc["best_epoch"] == 4 and acc["best"] == 0.985 and acc["last_epochs_gain"] == pytest.approx(0.25)


@pytest.mark.parametrize("field, value", [("start", "pretrained"), ("patience", -1), ("cap", 2.5), ("start", True)])
def test_stopping_rejects_a_setting_that_is_not_a_count(field, value):
    with pytest.raises(ValueError, match=f"Stopping: {field} must be a non-negative whole number"):
        training.Stopping(**{"patience": 2, "cap": 10, field: value})


def test_stopping_accepts_numpy_counts_and_rejects_an_unknown_mode():
    assert training.Stopping(patience=np.int64(2), cap=np.int64(5)).record([0.3, 0.2])["best_epoch"] == 2
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        training.Stopping(patience=2, cap=10, mode="maximum")
