"""The README's headline table: our numbers beside the reference report's, read from the result files.

    python scripts/readme_table.py                  # print the Markdown table
    python scripts/readme_table.py --write README.md  # put it (and the full job's time) into the README

README.md holds exactly `markdown(rows(Path("report/results")))` between the lines
`<!-- headline:start -->` and `<!-- headline:end -->`, the map of every registered step
(`step_map()`, from `mnist_ae.pipeline.registry`: its title, figures, result file, report
section) between `<!-- map:start -->` and `<!-- map:end -->`, and the full job's time from
`report/results/pipeline.json` (`job_time`) between `<!-- jobtime:start -->` and
`<!-- jobtime:end -->`; `tests/test_readme.py` checks both, so the README cannot drift from the
committed results. The numbers in `report/results/*.json` are replaced by every full run
(`bash run.sh all`); after one, regenerate the README's blocks with `--write README.md` (the test
fails until then).

The reference is the reference report's number where the result file stores one
(`references` in `code_size.json` and `finetune.json`, `reference` per corruption in
`denoising.json`); the VAE rows compare with the published numbers `vae_likelihood.json` stores,
named in the cell; "–" where no reference is stored. Only the standard library and the
registry (itself standard library only): it runs without the project's virtual environment.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))  # the registry, without installing the package

from mnist_ae.pipeline import registry  # noqa: E402  (standard library only)

RESULTS = ROOT / "report" / "results"
HEADLINE_START, HEADLINE_END = "<!-- headline:start -->", "<!-- headline:end -->"
JOBTIME_START, JOBTIME_END = "<!-- jobtime:start -->", "<!-- jobtime:end -->"
MAP_START, MAP_END = "<!-- map:start -->", "<!-- map:end -->"
MAP_HEADER = ("command", "what", "figures", "result JSON", "report section")
NONE = "–"
HEADER = ("quantity", "ours", "reference", "better")


@dataclasses.dataclass(frozen=True)
class Headline:
    """One row: `ours` and `reference` are key paths into `file` (reference None: none stored);
    `kind` picks the format: "mse" (5 decimals), "pct" (a fraction as a percent, 2 decimals),
    "nats" (2 decimals) or "plain" (1 decimal); `source` names a reference that is not the
    reference report's."""

    file: str
    quantity: str
    ours: tuple[str, ...]
    reference: tuple[str, ...] | None = None
    kind: str = "mse"
    lower_is_better: bool = True
    source: str = ""


HEADLINES: tuple[Headline, ...] = (
    Headline("exercise_1.json", "Ex. 1: autoencoder test MSE (28×28 pixels)", ("test_mse",)),
    Headline("exercise_3.json", "Ex. 3: 1-NN test accuracy on the 2-D codes", ("overall_accuracy",),
             kind="pct", lower_is_better=False),
    Headline("exercise_4.json", "Ex. 4: encoder-as-classifier test accuracy", ("test_accuracy",),
             kind="pct", lower_is_better=False),
    Headline("exercise_6.json", "Ex. 6: 2-D VAE (squared error + KL) test MSE", ("latent_2", "test_mse")),
    Headline("vae_likelihood.json", "VAE likelihood: 16-D VAE test NLL (whole test set), nats",
             ("latent_16", "full_test_set_nll_nats"), ("references", "iwae_paper_vae_nll"), kind="nats",
             source="Burda et al. 2015, VAE, 50-D MLP, dynamic binarization"),
    Headline("code_size.json", "Code sizes: AE8 test MSE", ("test_mse", "8"), ("references", "reference_ae8")),
    Headline("code_size.json", "Code sizes: AE32 test MSE", ("test_mse", "32"), ("references", "reference_ae32")),
    Headline("latent_exploration.json", "Latent exploration: AE8 t-SNE 2-D 1-NN accuracy",
             ("8", "separation", "tsne_2d", "knn1_accuracy"), kind="pct", lower_is_better=False),
    Headline("finetune.json", "Fine-tuning: best variant's test accuracy", ("test_accuracy",),
             ("references", "reference_best_test"), kind="pct", lower_is_better=False),
    Headline("denoising.json", "Denoising: Gaussian noise σ = 0.1, test MSE", ("gaussian", "test_mse"),
             ("gaussian", "reference")),
    Headline("denoising.json", "Denoising: random erasing, test MSE", ("erasing", "test_mse"),
             ("erasing", "reference")),
    Headline("generation_quality.json", "Generation: 16-D VAE prior samples, Fréchet distance",
             ("vae16_prior", "frechet_distance"), kind="plain"),
)


def _fmt(value: float, kind: str) -> str:
    if kind == "mse":
        return f"{value:.5f}"
    if kind == "pct":
        return f"{100 * value:.2f} %"
    if kind == "nats":
        return f"{value:.2f}"
    if kind == "plain":
        return f"{value:.1f}"
    raise ValueError(f"unknown number kind {kind!r}")


def _load(results_dir: Path, name: str, cache: dict) -> dict:
    if name not in cache:
        path = results_dir / name
        if not path.is_file():
            raise FileNotFoundError(f"{path}: result file missing; run `bash run.sh all` "
                                    f"(or `bash run.sh run {Path(name).stem}`) to make it")
        cache[name] = json.loads(path.read_text())
    return cache[name]


def _get(data: dict, keys: tuple[str, ...], path: Path) -> float:
    value = data
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            raise KeyError(f"{path}: no {'.'.join(keys)} in it (an older or quick result file?)")
        value = value[key]
    return float(value)


def rows(results_dir: Path, headlines: tuple[Headline, ...] = HEADLINES) -> list[tuple[str, str, str, str]]:
    """(quantity, ours, reference, which is better) per headline, read from `results_dir`.

    "better" is "ours", "reference", "equal" (the same at the shown precision) or "–" (no reference).
    A missing result file is a FileNotFoundError naming it, a missing number a KeyError naming it.
    """
    results_dir = Path(results_dir)
    cache: dict = {}
    out = []
    for h in headlines:
        data = _load(results_dir, h.file, cache)
        ours = _get(data, h.ours, results_dir / h.file)
        ours_text = _fmt(ours, h.kind)
        if h.reference is None:
            out.append((h.quantity, ours_text, NONE, NONE))
            continue
        ref = _get(data, h.reference, results_dir / h.file)
        ref_text = _fmt(ref, h.kind)
        if ours_text == ref_text:
            better = "equal"
        else:
            better = "ours" if (ours < ref) == h.lower_is_better else "reference"
        out.append((h.quantity, ours_text, f"{ref_text} ({h.source})" if h.source else ref_text, better))
    return out


def markdown(table: list[tuple[str, str, str, str]]) -> str:
    """The rows as a Markdown table (no trailing newline)."""
    lines = ["| " + " | ".join(HEADER) + " |", "| " + " | ".join("---" for _ in HEADER) + " |"]
    lines += ["| " + " | ".join(cells) + " |" for cells in table]
    return "\n".join(lines)


def _figures(step: registry.Step) -> str:
    """`a.png`, `b.{png,pdf}`: the step's figures, a PNG + PDF pair as one entry."""
    names, seen = [], set(step.figures)
    for f in step.figures:
        stem, ext = f.rsplit(".", 1)
        if ext == "png" and f"{stem}.pdf" in seen:
            names.append(f"`{stem}.{{png,pdf}}`")
        elif not (ext == "pdf" and f"{stem}.png" in seen):
            names.append(f"`{f}`")
    return ", ".join(names) or NONE


def _result(step: registry.Step, results_dir: Path) -> str:
    """A link to the step's committed result file, or its name and "not run yet" when there is none."""
    if step.site:
        return f"{NONE} (the site is `build/{step.site}/`)"
    if not step.results:
        return f"{NONE} (writes [`report/report.pdf`](report/report.pdf))"
    name = f"{step.name}.json"
    path = Path(results_dir) / name
    if path.is_file():
        return f"[`{name}`]({Path(os.path.relpath(path.resolve(), ROOT)).as_posix()})"
    return f"`{name}` (not run yet)"


def step_map(results_dir: Path = RESULTS) -> str:
    """The README's map: one row per registered step, in the registry's order (no trailing newline)."""
    lines = ["| " + " | ".join(MAP_HEADER) + " |", "| " + " | ".join("---" for _ in MAP_HEADER) + " |"]
    for step in registry.STEPS:
        section = step.section or f"{NONE} ({step.section_note})" if step.section_note else step.section or NONE
        cells = (f"`bash run.sh run {step.name}`", step.title, _figures(step), _result(step, results_dir), section)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def job_time(results_dir: Path) -> str:
    """The full job's time in the committed run, from `pipeline.json`, as the README words it."""
    path = Path(results_dir) / "pipeline.json"
    data = _load(Path(results_dir), "pipeline.json", {})
    total = _get(data, ("total_wall_time_s",), path)
    nproc = int(_get(data, ("nproc",), path))
    return f"about {total / 60:.0f} minutes ({total:.0f} s on a {nproc}-core CPU)"


def block(text: str, start: str, end: str) -> str:
    """What `text` holds between the marker `start` and the marker `end` (ValueError if absent)."""
    match = re.search(re.escape(start) + r"\n?(.*?)\n?" + re.escape(end), text, flags=re.S)
    if match is None:
        raise ValueError(f"no {start} … {end} block")
    return match.group(1)


def _replace(text: str, start: str, end: str, new: str, newlines: bool) -> str:
    sep = "\n" if newlines else ""
    block(text, start, end)  # raises when the markers are absent
    pattern = re.escape(start) + r".*?" + re.escape(end)
    return re.sub(pattern, lambda _: f"{start}{sep}{new}{sep}{end}", text, count=1, flags=re.S)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results-dir", type=Path, default=RESULTS, help="where the result JSON files are")
    parser.add_argument("--write", type=Path, metavar="README",
                        help="replace the headline and job-time blocks of this file instead of printing")
    args = parser.parse_args(argv)
    try:
        table = markdown(rows(args.results_dir))
        if args.write is None:
            print(table)
            return 0
        text = args.write.read_text()
        text = _replace(text, HEADLINE_START, HEADLINE_END, table, newlines=True)
        text = _replace(text, JOBTIME_START, JOBTIME_END, job_time(args.results_dir), newlines=False)
        text = _replace(text, MAP_START, MAP_END, step_map(args.results_dir), newlines=True)
        args.write.write_text(text)
        print(f"readme_table: wrote the headline table, the step map and the job time into {args.write}")
        return 0
    except (OSError, KeyError, ValueError) as e:
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"readme_table: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
