"""Benchmark: training throughput of the project's training path against a plain `model.fit`.

For the exercise 1 autoencoder and the exercise 6 2-D VAE, the same network at the same batch
size is trained (1) through the project's path (`training.compile_for_training` + `training.fit`,
with its callbacks) and (2) by a plain `model.compile(Adam) ; model.fit(x, y)` on numpy arrays.
After a warm-up call of each (tracing, compiling), the two are timed interleaved on the same
fixed-size chunk of training images, `--repeats` times, and the median gives images/s. Also
the FLOPs of one training image (counted from the layer shapes, `mnist_ae.analysis.flops`) and the
machine's measured peak (the best of several 2048 x 2048 float32 matmuls in the same run).
Writes `benchmark.json`; speed claims live there, never in timed tests.
"""

from __future__ import annotations

import mnist_ae.pipeline.quiet_start  # noqa: F401  (first: TensorFlow starts quietly, with the package's defaults)

import mnist_ae  # before Keras: it sets TensorFlow's defaults (see mnist_ae/__init__.py)

import dataclasses
import os
import statistics
import time

import keras
from keras import ops

from mnist_ae import training
from mnist_ae.analysis import flops
from mnist_ae.models import constrained, vae
from mnist_ae.pipeline.harness import QUICK, exercise_parser, positive_int, run_script

MATMUL_SIZE = 2048
# Timed chunk per contender and repeat: whole calls of the compiled train function (ae: 4 calls of
# 25 batches of 32; vae: 2 calls of 25 batches of 128). Half of the 6400 / 12800 the step timed
# before, when it took 82 s of the full run with every core to itself.
FULL_CHUNKS = {"ae": 3200, "vae": 6400}  # quick: harness.QUICK.benchmark_images


def peak_flops_per_s(n: int = MATMUL_SIZE, repeats: int = 5) -> float:
    """Best observed float32 matmul rate (FLOP/s) of this machine through the Keras backend."""
    a = keras.random.normal((n, n), seed=0)
    b = keras.random.normal((n, n), seed=1)
    ops.convert_to_numpy(ops.sum(ops.matmul(a, b)))  # warm-up
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        ops.convert_to_numpy(ops.sum(ops.matmul(a, b)))
        best = min(best, time.perf_counter() - started)
    return 2 * n**3 / best


def interleaved_images_per_s(contenders: dict, images: int, repeats: int) -> dict[str, float]:
    """Warm each contender up once, then time them in turn `repeats` times; median images/s."""
    for train in contenders.values():
        train()
    seconds = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, train in contenders.items():
            started = time.perf_counter()
            train()
            seconds[name].append(time.perf_counter() - started)
    return {name: images / statistics.median(s) for name, s in seconds.items()}


def project_and_baseline(build, config, x, y, **compile_kwargs) -> dict:
    """Two fresh copies of one network: one on the project's path, one on a plain `fit`."""
    keras.utils.set_random_seed(config.seed)
    ours, plain = build(), build()
    training.compile_for_training(ours, config, len(x), **compile_kwargs)
    plain.compile(keras.optimizers.Adam(config.learning_rate), **compile_kwargs)
    return {
        "project": lambda: training.fit(ours, x, y, epochs=1, batch_size=config.batch_size, verbose=0),
        "baseline": lambda: plain.fit(x, y, epochs=1, batch_size=config.batch_size, verbose=0),
    }


def body(run) -> None:
    args = run.args
    if args.jit_compile != "default":
        training.JIT_COMPILE = args.jit_compile == "on"
    chunks = dict(zip(("ae", "vae"), QUICK.benchmark_images)) if args.quick else FULL_CHUNKS
    ae_config, vae_config = run.recipe("ex1_ae"), run.recipe("vae_2d")
    x_ae, x_vae = run.x_train[: chunks["ae"]], run.x_train[: chunks["vae"]]

    ae = interleaved_images_per_s(project_and_baseline(constrained.build_autoencoder, ae_config, x_ae, x_ae, loss="mse"),
                                  len(x_ae), args.repeats)
    print(f"benchmark: autoencoder {ae['project']:.0f} images/s (plain fit {ae['baseline']:.0f})")
    vae_speed = interleaved_images_per_s(project_and_baseline(lambda: vae.build(vae_config), vae_config, x_vae, None),
                                   len(x_vae), args.repeats)
    print(f"benchmark: 2-D VAE {vae_speed['project']:.0f} images/s (plain fit {vae_speed['baseline']:.0f})")
    peak = peak_flops_per_s()
    ae_flops = flops.training_flops(constrained.build_autoencoder())
    vae_flops = flops.training_flops(vae.build(vae_config))
    metrics = {
        "ae_images_per_s": ae["project"], "baseline_images_per_s": ae["baseline"],
        "vae_images_per_s": vae_speed["project"], "vae_baseline_images_per_s": vae_speed["baseline"],
        "ae_speedup_over_baseline": ae["project"] / ae["baseline"],
        "vae_speedup_over_baseline": vae_speed["project"] / vae_speed["baseline"],
        "flops_per_image": ae_flops, "vae_flops_per_image": vae_flops,
        "peak_flops_per_s": peak,
        "ae_share_of_peak": ae["project"] * ae_flops / peak, "vae_share_of_peak": vae_speed["project"] * vae_flops / peak,
        "nproc": os.cpu_count(),
        "settings": {"ae_batch_size": ae_config.batch_size, "vae_batch_size": vae_config.batch_size,
                     "ae_images_per_timing": len(x_ae), "vae_images_per_timing": len(x_vae),
                     "repeats": args.repeats, "steps_per_execution": training.STEPS_PER_EXECUTION,
                     "jit_compile": training.JIT_COMPILE, "matmul_size": MATMUL_SIZE,
                     "onednn": mnist_ae.onednn_enabled()},
        "configs": {"autoencoder": dataclasses.asdict(ae_config), "vae": dataclasses.asdict(vae_config)},
    }
    run.save_results("benchmark", metrics)
    print(f"benchmark: {ae_flops / 1e6:.1f} MFLOP per AE training image, peak {peak / 1e9:.1f} GFLOP/s, "
          f"AE at {100 * metrics['ae_share_of_peak']:.1f} % of peak ({run.wall_time():.1f} s)")


def main(argv=None) -> int:
    parser = exercise_parser(__doc__, recipes=("ex1_ae", "vae_2d"))
    parser.add_argument("--repeats", type=positive_int, default=3, help="timed calls per contender (median)")
    parser.add_argument("--jit-compile", choices=["default", "on", "off"], default="default",
                        help="XLA for the project's path: the project's setting (training.JIT_COMPILE), or force it")
    return run_script(parser, argv, body)


if __name__ == "__main__":
    raise SystemExit(main())
