"""The registry of steps: the one list of what the project runs, in order.

Each step is a script `scripts/<script>.py` with a `main(argv)` entry point. The runner
(`python -m mnist_ae run`), the report builder, `run.sh` and the end-to-end tests all read this
list; adding an exercise or a study is adding one `Step` here.

Example:
    >>> [s.name for s in STEPS][:3]
    ['exercise_1', 'exercise_2', 'exercise_3']
    >>> get("exercise_3").needs
    ('exercise_1',)
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

from mnist_ae import paths


def _both(*stems: str) -> tuple[str, ...]:
    """A line plot is saved as PNG (for people) and PDF (vectors for the report)."""
    return tuple(f"{stem}.{ext}" for stem in stems for ext in ("png", "pdf"))


@dataclasses.dataclass(frozen=True)
class Step:
    """One runnable step of the job.

    `figures`: the files it writes into the figures folder; `results`: whether it writes
    `<results>/<name>.json`; `needs`: steps whose models or outputs it uses (run before it, and
    a change to them makes it out of date); `headline`: the one metric shown in the runner's
    summary, from the step's result JSON; `in_report`: the report reads its outputs;
    `sources`: files besides the package and the script whose change makes it out of date;
    `alone`: when steps run side by side, it runs with no other step beside it and all the cores
    (it uses them well itself, or it times the machine) and the steps after it wait for it;
    `on_demand`: too long for the whole job, so not part of `run all` (run it by name, e.g.
    `bash run.sh run seeds`); the report quotes its results when they are present; `args`: flags
    its script gets besides the runner's (one script can serve several steps);
    `site`: instead of figures and a result file it builds a folder of that name under `build/`
    (`build/quick/` in quick mode, see `site_dir`), never committed, whose last file written is
    `SITE_MANIFEST` (its output, which its headline reads); `section`: the report section that
    answers it, a level-1 heading of `report/report.typ` or `Section › Subsection` (shown in the
    README's map, which `scripts/readme_table.py` writes from this list; "" for none) and
    `section_note`, what the map says instead when there is none.
    """

    name: str
    title: str
    figures: tuple[str, ...] = ()
    results: bool = True
    needs: tuple[str, ...] = ()
    headline: Callable[[dict], str] = lambda r: ""
    in_report: bool = True
    script: str = ""
    sources: tuple[str, ...] = ()
    alone: bool = False
    on_demand: bool = False
    args: tuple[str, ...] = ()
    site: str = ""
    section: str = ""
    section_note: str = ""

    @property
    def script_path(self) -> Path:
        return paths.SCRIPTS / f"{self.script or self.name}.py"

    def site_dir(self, quick: bool) -> Path:
        """The folder a `site` step builds: `build/<site>/`, or `build/quick/<site>/` in quick mode."""
        return (paths.QUICK_ROOT if quick else paths.QUICK_ROOT.parent) / self.site

    def outputs(self, figures: Path, results: Path) -> list[Path]:
        """Every file this step writes, given the run's figures and results folders."""
        files = [figures / f for f in self.figures]
        return files + ([results / f"{self.name}.json"] if self.results else [])


SITE_MANIFEST = "manifest.json"


def _files_under(folder: str) -> tuple[str, ...]:
    """Every file of a package folder (relative to the repository): a step's `sources` beyond the
    package's top-level modules, which the runner's code fingerprint already covers."""
    root = paths.ROOT / folder
    return tuple(str(p.relative_to(paths.ROOT)) for p in sorted(root.rglob("*"))
                 if p.is_file() and "__pycache__" not in p.parts)


def _pct(x: float) -> str:
    return f"{100 * x:.2f} %"


STEPS: tuple[Step, ...] = (
    Step("exercise_1", "constrained convolutional autoencoder, MSE (trains)",
         ("ex1_reconstructions.png", *_both("ex1_loss_epochs", "ex1_loss_iterations")),
         section="Exercise 1 — a constrained convolutional autoencoder",
         headline=lambda r: f"test MSE {r['test_mse']:.4f}"),
    Step("exercise_2", "2-D codes of all 70 000 images", ("ex2_latent_scatter.png",), needs=("exercise_1",),
         section="Exercise 2 — the 2-D code space",
         headline=lambda r: f"silhouette {r['silhouette']:.3f}"),
    Step("exercise_3", "1-nearest-neighbour classification in code space", _both("ex3_knn_accuracy"),
         needs=("exercise_1",), section="Exercise 3 — 1-nearest-neighbour classification in code space",
         headline=lambda r: f"1-NN accuracy {_pct(r['overall_accuracy'])}"),
    Step("exercise_4", "encoder as a classifier, cross-entropy (trains)",
         _both("ex4_loss", "ex4_accuracy", "ex4_confusion"),
         section="Exercise 4 — the encoder as a classifier",
         headline=lambda r: f"test accuracy {_pct(r['test_accuracy'])}"),
    Step("exercise_5", "15 x 15 grid decoded over the code box", ("ex5_latent_grid.png", "ex5_grid_over_scatter.png"),
         needs=("exercise_1", "exercise_4"), section="Exercise 5 — decoding a grid over the code space",
         headline=lambda r: f"{r['grid_size']}x{r['grid_size']} grid"),
    # One step per VAE, so they train beside exercises 1 and 4 (one core each) rather than after them.
    Step("vae_2d", "exercise 6's 2-D VAE: squared error + KL through compile, 30 epochs (trains)", in_report=False,
         script="vae_training", args=("--latent-dim", "2"),
         section_note="its model feeds exercise 6 and the generation study",
         headline=lambda r: f"test loss {r['test_loss']:.2f} per image"),
    Step("vae_16d", "the 16-D Bernoulli VAE of the likelihood study and exercise 6 (trains)", in_report=False,
         script="vae_training", args=("--latent-dim", "16"),
         section_note="its model feeds the likelihood study and exercise 6",
         headline=lambda r: f"test ELBO {r['test_elbo_nats']:.2f} nats"),
    Step("vae_likelihood", "Bernoulli VAE: test ELBO and NLL in nats by importance sampling",
         _both("ex6_likelihood_curves"), needs=("vae_16d",),
         section="Study — the VAE's likelihood in nats",
         headline=lambda r: f"NLL {r['latent_16']['full_test_set_nll_nats']:.1f} nats (16-D, whole test set)"),
    Step("exercise_6", "variational autoencoders: the 2-D MSE VAE, and the 16-D Bernoulli VAE beside it",
         ("ex6_latent_means.png", "ex6_latent_grid.png", "ex6_grid_over_means.png", "ex6_prior_grid.png",
          "ex6_grids_ae_vs_vae.png", "ex6_reconstructions.png", "ex6_high_latent_pca.png"),
         needs=("exercise_1", "exercise_4", "vae_2d", "vae_16d"),
         section="Exercise 6 — a variational autoencoder",
         headline=lambda r: f"2-D VAE test MSE {r['latent_2']['test_mse']:.4f}"),
    # Not `alone`: with one worker its search and finalists keep a second core only partly busy, so
    # it trains on one core beside the others (side by side the job is bound by core-seconds).
    Step("code_size", "autoencoders of code size 1-32: Optuna search, AE8 and AE32 tested (trains)",
         ("code_size_reconstructions.png",
          *_both("code_size_per_size", "code_size_history", "code_size_finalist_curves")),
         section="Study — code sizes 1 to 32, found by an Optuna search",
         headline=lambda r: f"test MSE AE8 {r['test_mse']['8']:.4f}, AE32 {r['test_mse']['32']:.4f}"),
    Step("latent_exploration", "AE8 and AE32 codes: PCA and t-SNE in 2-D and 3-D, PCA generation",
         ("latent_pca_tsne_2d.png", "latent_3d.png", "latent_pca_generation.png"), needs=("code_size",),
         section="Study — the latent spaces of AE8 and AE32",
         headline=lambda r: f"t-SNE 2-D 1-NN AE8 {_pct(r['8']['separation']['tsne_2d']['knn1_accuracy'])}"),
    Step("finetune", "AE32 encoder fine-tuned to classify; pretrained vs scratch with few labels (trains)",
         _both("finetune_confusion", "finetune_label_efficiency", "finetune_val_curves"), needs=("code_size",),
         section="Study — fine-tuning the AE32 encoder to classify, and what pretraining buys",
         headline=lambda r: f"test accuracy {_pct(r['test_accuracy'])} ({r['best_variant']})"),
    Step("denoising", "AE32 trained to undo Gaussian noise and random erasing; baselines, noise curve (trains)",
         ("denoising_examples.png", "denoising_worst_gaussian.png", "denoising_worst_erasing.png",
          *_both("denoising_noise_curve", "denoising_curves")), needs=("code_size",),
         section="Study — denoising autoencoders",
         headline=lambda r: f"test MSE Gaussian {r['gaussian']['test_mse']:.4f}, erasing {r['erasing']['test_mse']:.4f}"),
    Step("generation_quality", "generated images read by exercise 4's classifier: digits seen, Fréchet distance",
         ("generation_samples.png",), needs=("exercise_1", "exercise_4", "vae_2d", "vae_16d", "code_size"),
         section="Study — how good are the generated images?",
         headline=lambda r: f"Fréchet distance 2-D VAE prior {r['vae2_prior']['frechet_distance']:.1f} "
                            f"(real data {r['real_data_floor']:.1f})"),
    Step("seeds", "exercise 1's autoencoder retrained with more seeds: how much its numbers vary (on demand)",
         needs=("exercise_1",), on_demand=True,
         section="Appendix B — how much the numbers vary between seeds",
         headline=lambda r: f"test MSE {r['summary']['test_mse']['mean']:.4f} +- {r['summary']['test_mse']['std']:.4f} "
                            f"over {len(r['seeds'])} seeds"),
    Step("beta_sweep", "exercise 6's 2-D VAE at KL weight beta 0.5, 1, 2, 4: what beta does to the code space (on demand)",
         ("beta_sweep_grids.png",), needs=("vae_2d",), on_demand=True,
         section="Study — what β does to the 2-D VAE's code space",
         headline=lambda r: "test KL " + ", ".join(f"{b}: {r['per_beta'][b]['test_kl']:.1f}" for b in r["betas"])
                            + " nats by beta"),
    Step("explorer", "latent-space explorer: a static page that decodes any code in the browser (on demand)",
         results=False, needs=("exercise_1", "vae_2d", "vae_16d", "code_size"), in_report=False, on_demand=True,
         site="explorer", sources=_files_under("src/mnist_ae/explorer"),
         section="Appendix D — the latent-space explorer",
         headline=lambda m: f"{len(m['panels'])} panels ({', '.join(m['panels'])}), {m['n_points']} test codes each"),
    # On demand: it times the machine rather than producing a result of the coursework, and it
    # needs both cores to itself; the report quotes it when present.
    Step("benchmark", "training throughput and FLOPs (on demand)", in_report=False, alone=True, on_demand=True,
         section="Appendix C — training throughput",
         headline=lambda r: f"AE {r['ae_images_per_s']:.0f} img/s ({r['ae_images_per_s'] / r['baseline_images_per_s']:.2f}"
                            f"x plain fit)"),
    Step("report", "PDF report from the saved figures and results", results=False, in_report=False,
         script="build_report", section_note="the whole report", sources=(str(paths.REPORT_SOURCE.relative_to(paths.ROOT)),)),  # needs: every in_report step (see `needs_of`)
)

NAMES = tuple(s.name for s in STEPS)


def get(name: str) -> Step:
    """The step called `name`; ValueError naming the choices otherwise."""
    for step in STEPS:
        if step.name == name:
            return step
    raise ValueError(f"unknown step '{name}' (choose from {' '.join(NAMES)})")


def report_steps() -> tuple[Step, ...]:
    """The steps whose outputs the report needs, in order (on-demand steps are optional inputs)."""
    return tuple(s for s in STEPS if s.in_report and not s.on_demand)


def job_steps() -> tuple[Step, ...]:
    """The steps of the whole job (`run all`): every step but the on-demand ones."""
    return tuple(s for s in STEPS if not s.on_demand)


def needs_of(step: Step) -> tuple[str, ...]:
    """What `step` depends on; the report depends on every step it reads, the on-demand ones too
    (it quotes them when present): run together, it waits for them, and a rerun of one of them
    makes the report out of date. A need that is not part of a run is not waited for."""
    return tuple(s.name for s in STEPS if s.in_report) if step.name == "report" else step.needs
