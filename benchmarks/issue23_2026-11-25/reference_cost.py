"""What `scripts/code_size.py --budget reference` would cost on this CPU, from timed training steps.

    python benchmarks/issue23_2026-11-25/reference_cost.py [SAMPLES] [SEED]   # from the repository root, after run.sh setup

Draws SAMPLES trials (default 30) from the reference space with Optuna's random sampler (the
reference's method), builds each as an autoencoder (code sizes 1-32 in turn), and times training
steps of 128 images on one thread after two warm-up steps. A trial's cost is its step time x 391
steps (the 50 000-image split) x epochs; the reference budget runs 10 trials for each of 6 code
sizes, each up to its `max_epochs` (16, 32 or 50) with early stopping (patience 4-7), so the
estimate is given at the cap and at half of it. Invalid architectures (the sizes run out) cost nothing.

Printed on host4 by `30` (2026-11-25, 11:20-11:25 UTC, one fine-tuning probe on the other core): "30
sampled trials (7 invalid): mean epoch 309 s (median 52, max 1725); a trial at its cap 2.79 h on
average; 60 trials: 167.5 h at the caps, 83.8 h at half the caps, one thread". Per epoch from 9 s (3
stride-2 convs of 32) to 1725 s (4 stride-1 convs of 128, 98 M parameters). On this 2-core host, with
two workers: 42 to 84 hours.
"""
import sys, time
from mnist_ae import process
process.start_tensorflow(1)
import numpy as np
import optuna
from mnist_ae.models import code_models
from mnist_ae.studies import search

samples = int(sys.argv[1]) if len(sys.argv) > 1 else 30
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
x = np.random.default_rng(0).random((128, 28, 28, 1), dtype=np.float32)
epoch_costs, caps, invalid = [], [], 0
for i in range(samples):
    params = search.suggest(study.ask(), "reference")
    size = search.SIZES[i % len(search.SIZES)]
    try:
        _, _, model = code_models.build(params, size)
    except code_models.InvalidArchitecture:
        invalid += 1
        epoch_costs.append(0.0), caps.append(params.max_epochs)
        print(f"trial {i}: invalid", flush=True)
        continue
    model.compile(optimizer=code_models.optimizer(params), loss="mse")
    for _ in range(2):
        model.train_on_batch(x, x)
    started, steps = time.perf_counter(), 0
    while steps < 3 or (time.perf_counter() - started < 2 and steps < 20):
        model.train_on_batch(x, x)
        steps += 1
    step = (time.perf_counter() - started) / steps
    epoch_costs.append(step * 391), caps.append(params.max_epochs)
    print(f"trial {i}: {params.conv_layers} convs x {params.channels} ch, k{params.kernel} s{params.stride} "
          f"p{params.padding}, {model.count_params()} params: {1000 * step:.0f} ms a step, "
          f"{step * 391:.0f} s an epoch, cap {params.max_epochs}", flush=True)
epoch_costs, caps = np.array(epoch_costs), np.array(caps)
per_trial = epoch_costs * caps
total = 60 * per_trial.mean()
print(f"{samples} sampled trials ({invalid} invalid): mean epoch {epoch_costs.mean():.0f} s (median "
      f"{np.median(epoch_costs):.0f}, max {epoch_costs.max():.0f}); a trial at its cap {per_trial.mean() / 3600:.2f} h on average; "
      f"60 trials: {total / 3600:.1f} h at the caps, {total / 7200:.1f} h at half the caps, one thread", flush=True)
