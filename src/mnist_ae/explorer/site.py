"""The explorer's static site: the page, onnxruntime-web, the decoders and the test set's codes.

`build` writes everything into a fresh folder beside the target and swaps it in at the end, so
a failure leaves the previous site intact and never a half-written one; `manifest.json` (the
step's output) lists every file with its size and SHA-256.

Layout::

    index.html explorer.js explorer.css     the page (from mnist_ae/explorer/web/)
    ort/                                    onnxruntime-web's wasm bundle (pinned)
    data.json                               the panels: files, axes, view box, PCA map, code ranges
    images.u8 labels.u8                     the test images (N x 28 x 28 uint8) and digits
    <panel>.onnx <panel>.codes.f32 <panel>.plane.f32   per panel: decoder, codes (N x D), plane (N x 2)
    manifest.json                           written last
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np

from mnist_ae.explorer import export, ortweb
from mnist_ae.explorer.plane import plane

if TYPE_CHECKING:  # keras is heavy; serving a built site needs none of it
    from mnist_ae.explorer.panels import Panel

WEB = Path(__file__).with_name("web")
PAGE = ("index.html", "explorer.js", "explorer.css")
MANIFEST = "manifest.json"
VIEW_QUANTILES = (0.005, 0.995)  # the first view frames the points inside these, so outliers do not shrink it


def _view_box(points: np.ndarray) -> list[float]:
    lo, hi = np.quantile(points, VIEW_QUANTILES, axis=0)
    pad = 0.08 * (hi - lo) + 1e-6
    return [float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1])]


def _write_panel(folder: Path, panel: Panel, seed: int) -> dict:
    codes = np.asarray(panel.codes, dtype=np.float32)
    flat = plane(codes, seed)
    export.to_onnx(panel.decoder, folder / f"{panel.name}.onnx")
    (folder / f"{panel.name}.codes.f32").write_bytes(codes.astype("<f4").tobytes())
    (folder / f"{panel.name}.plane.f32").write_bytes(flat.points.astype("<f4").tobytes())
    spread = codes.max(axis=0) - codes.min(axis=0)
    ranges = np.stack([codes.min(axis=0) - 0.1 * spread, codes.max(axis=0) + 0.1 * spread], axis=1)
    pca = None if flat.explained is None else {
        "mean": flat.mean.tolist(), "components": flat.components.tolist(), "explained": list(flat.explained)}
    axes = list(panel.axes)
    if flat.explained is not None:
        axes = [f"{a} ({100 * r:.0f} % of variance)" for a, r in zip(axes, flat.explained)]
    return {"name": panel.name, "title": panel.title, "dim": int(codes.shape[1]), "axes": axes,
            "decoder": f"{panel.name}.onnx", "codes": f"{panel.name}.codes.f32", "plane": f"{panel.name}.plane.f32",
            "view": _view_box(flat.points), "ranges": ranges.tolist(), "pca": pca}


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def build(site: Path, panels: list[Panel], images: np.ndarray, labels: np.ndarray, *, seed: int = 0,
          notes: tuple[str, ...] = (), ort_cache: Path = ortweb.CACHE) -> dict:
    """Write the site for `panels` and the test `images` (N, 28, 28) uint8 with their `labels`
    into `site` (replacing it whole at the end); return its manifest."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.shape[1:] != (28, 28):
        raise ValueError(f"the explorer shows uint8 (N, 28, 28) test images, got {images.dtype} {images.shape}")
    if not panels:
        raise ValueError("the explorer needs at least one model to show")
    for panel in panels:
        if len(panel.codes) != len(images):
            raise ValueError(f"panel {panel.name} has {len(panel.codes)} codes for {len(images)} images")
    bundle = ortweb.bundle(ort_cache)  # first: no network or a bad download fails before any work
    site = Path(site)
    site.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=site.parent, prefix=f".{site.name}-new-"))
    try:
        for name in PAGE:
            shutil.copyfile(WEB / name, staging / name)
        (staging / "ort").mkdir()
        for name, blob in bundle.items():
            (staging / "ort" / name).write_bytes(blob)
        (staging / "images.u8").write_bytes(images.tobytes())
        (staging / "labels.u8").write_bytes(np.asarray(labels, dtype=np.uint8).tobytes())
        data = {"n": len(images), "image_shape": [28, 28], "images": "images.u8", "labels": "labels.u8",
                "ort": {"version": ortweb.VERSION, "path": "ort/"}, "notes": list(notes),
                "panels": [_write_panel(staging, panel, seed) for panel in panels]}
        (staging / "data.json").write_text(json.dumps(data))
        files = sorted(p for p in staging.rglob("*") if p.is_file())
        manifest = {"panels": [p.name for p in panels], "n_points": len(images), "ort_web": ortweb.VERSION,
                    "notes": list(notes),
                    "files": {str(p.relative_to(staging)): {"bytes": p.stat().st_size, "sha256": _sha256(p)}
                              for p in files}}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1))
        for p in [staging, *staging.rglob("*")]:
            os.chmod(p, 0o755 if p.is_dir() else 0o644)  # mkdtemp makes 0700
        _swap_in(staging, site)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _swap_in(staging: Path, site: Path) -> None:
    """Replace `site` by `staging` with two renames (the old folder is removed after)."""
    old = None
    if site.exists():
        old = Path(tempfile.mkdtemp(dir=site.parent, prefix=f".{site.name}-old-"))
        os.replace(site, old / "site")
    os.replace(staging, site)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def check(site: Path) -> dict:
    """The manifest of a complete site at `site`; ValueError saying what is missing otherwise."""
    site = Path(site)
    try:
        manifest = json.loads((site / MANIFEST).read_text())
    except (OSError, ValueError):
        raise ValueError(f"{site}/ has no explorer site: build it with `python -m mnist_ae run explorer` "
                         f"(or `bash run.sh explore`)") from None
    for name, info in manifest["files"].items():
        path = site / name
        if not path.is_file() or path.stat().st_size != info["bytes"]:
            raise ValueError(f"{site}/ is incomplete ({name} is missing or altered): rebuild it with "
                             f"`python -m mnist_ae run explorer --force`")
    return manifest
