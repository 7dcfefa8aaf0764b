"""Decoders as ONNX files, the format onnxruntime-web runs in the browser.

Keras exports them itself (`keras.Model.export(format="onnx")`, through tf2onnx with the
TensorFlow backend), so the page runs the very graph Python runs, not a re-implementation.

Example::

    to_onnx(panel.decoder, Path("build/explorer/vae2.onnx"))
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mnist_ae.atomic import atomic_write

if TYPE_CHECKING:  # keras is heavy; the model brings its own
    import keras


def to_onnx(model: keras.Model, path: Path) -> Path:
    """Export `model` (one float32 input, batch first) to the ONNX file `path`, atomically."""
    try:
        import tf2onnx  # noqa: F401  Keras's ONNX export needs it; say so before Keras's long message
    except ImportError:
        raise RuntimeError("exporting a decoder to ONNX needs tf2onnx and onnx: run `bash run.sh setup`") from None
    # Keras exports a model only after it has been called once (so its input signature is known).
    model(np.zeros((1, *model.input.shape[1:]), dtype=np.float32))
    with atomic_write(path) as tmp:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():  # tf2onnx's progress and
            warnings.simplefilter("ignore", FutureWarning)                        # NumPy deprecation chatter
            model.export(str(tmp), format="onnx", verbose=False)
        import onnx

        graph = onnx.load(str(tmp))
        if output_padding_as_attribute(graph):
            onnx.save(graph, str(tmp))
    return path


def output_padding_as_attribute(graph) -> int:
    """Rewrite tf2onnx's negative end pads of ConvTranspose as `output_padding`; return how many.

    Keras's Conv2DTranspose with `output_padding` (the code-size decoders) comes out of tf2onnx as
    a ConvTranspose whose end pads are negative, which ONNX's shape inference and onnxruntime
    refuse. A negative end pad -p and `output_padding` p both make the output p rows longer at
    the end, where the kernel adds nothing (only the bias): the same values, in valid ONNX.
    """
    import onnx

    fixed = 0
    for node in graph.graph.node:
        if node.op_type != "ConvTranspose":
            continue
        attrs = {a.name: a for a in node.attribute}
        if "pads" not in attrs or min(attrs["pads"].ints) >= 0:
            continue
        pads = list(attrs["pads"].ints)
        half = len(pads) // 2
        if min(pads[:half]) < 0:
            raise ValueError(f"{node.name}: negative begin pads {pads} have no ONNX equivalent")
        extra = list(attrs["output_padding"].ints) if "output_padding" in attrs else [0] * half
        extra = [e + max(0, -p) for e, p in zip(extra, pads[half:])]
        pads[half:] = [max(0, p) for p in pads[half:]]
        for name in ("pads", "output_padding"):
            if name in attrs:
                node.attribute.remove(attrs[name])
        node.attribute.extend([onnx.helper.make_attribute("pads", pads),
                               onnx.helper.make_attribute("output_padding", extra)])
        fixed += 1
    return fixed


def run_onnx(path: Path, codes: np.ndarray) -> np.ndarray:
    """Decode `codes` with the ONNX file `path` in Python's onnxruntime (to check an export)."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: np.asarray(codes, dtype=np.float32)})[0]
