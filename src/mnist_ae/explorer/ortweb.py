"""onnxruntime-web, the browser runtime that runs the exported decoders: pinned, verified, cached.

The npm tarball is fetched once with Python (no npm needed), checked against the registry's
pinned SHA-512 integrity and kept in `.cache/ortweb/`; a site build copies just the files the
page loads out of it. `bash run.sh setup` fetches it; nothing is fetched when the page runs.

`python -m mnist_ae.explorer.ortweb` fetches it (what set-up calls) and says where it is.

Example::

    files = bundle()            # {"ort.wasm.min.js": b"...", ...}, fetched on first use
"""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

from mnist_ae import paths
from mnist_ae.atomic import atomic_write

VERSION = "1.30.0"
TARBALL = f"onnxruntime-web-{VERSION}.tgz"
URL = f"https://registry.npmjs.org/onnxruntime-web/-/{TARBALL}"
# `npm view onnxruntime-web@1.30.0 dist.integrity`
INTEGRITY = "sha512-q0y+JrrtukXSzsBWEMccVfqX25LRmosXHF+CaRJmg8pZClzcV7svNc4rKY3jL02Vb7QmRMDs1SigqR4CXAfKYQ=="
# The wasm-only bundle needs only the plain (non-JSEP) wasm build beside it.
FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
CACHE = paths.CACHE / "ortweb"


def integrity(blob: bytes) -> str:
    """npm's integrity string of `blob`: `sha512-` and the base64 digest."""
    return "sha512-" + base64.b64encode(hashlib.sha512(blob).digest()).decode()


def _verified(path: Path) -> bytes | None:
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    return blob if integrity(blob) == INTEGRITY else None


def fetch(cache: Path = CACHE, url: str = URL, timeout: float = 120) -> Path:
    """The verified tarball in `cache`, downloaded first if absent or altered; OSError if it cannot be."""
    path = Path(cache) / TARBALL
    if _verified(path) is not None:
        return path
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            blob = response.read()
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", None) or e
        raise OSError(f"onnxruntime-web {VERSION} is not in {cache}/ and could not be fetched ({reason}); run "
                      f"`bash run.sh setup` with network, or put `npm pack onnxruntime-web@{VERSION}`'s "
                      f"{TARBALL} there") from None
    if integrity(blob) != INTEGRITY:
        raise OSError(f"{url} does not match its pinned integrity (got {integrity(blob)[:24]}...): not used")
    with atomic_write(path) as tmp:
        tmp.write_bytes(blob)
    return path


def bundle(cache: Path = CACHE) -> dict[str, bytes]:
    """The files the page loads (`FILES`), read from the verified tarball (fetched if needed)."""
    path = fetch(cache)
    with tarfile.open(fileobj=io.BytesIO(path.read_bytes()), mode="r:gz") as tar:
        return {name: tar.extractfile(f"package/dist/{name}").read() for name in FILES}


def main() -> int:
    if _verified(CACHE / TARBALL) is not None:
        return 0  # set-up runs often: silent when there is nothing to do
    try:
        print(f"onnxruntime-web {VERSION}: fetched {fetch()}")
    except OSError as e:
        # Set-up goes on without it: only the explorer needs it, and it says so when built.
        print(f"warning: {e}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
