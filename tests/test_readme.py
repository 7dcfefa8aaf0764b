"""The README: short, its links resolve, its step map covers every registered step, and its headline
table and job time are exactly what `scripts/readme_table.py` makes from the committed results."""

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

from mnist_ae.pipeline import registry

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
RESULTS = ROOT / "report" / "results"
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


@pytest.fixture(scope="module")
def table():
    """scripts/readme_table.py as a module (registered, as its dataclass needs)."""
    path = ROOT / "scripts" / "readme_table.py"
    spec = importlib.util.spec_from_file_location("readme_table_script", path)
    module = sys.modules["readme_table_script"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    del sys.modules["readme_table_script"]


def readme() -> str:
    return README.read_text(encoding="utf-8")


def test_the_readme_is_at_most_200_lines():
    assert len(readme().splitlines()) <= 200


def test_the_headline_table_is_the_one_the_results_give(table):
    expected = table.markdown(table.rows(RESULTS))
    assert table.block(readme(), table.HEADLINE_START, table.HEADLINE_END) == expected, (
        "README's headline table is out of date: run `python scripts/readme_table.py --write README.md`")


def test_the_job_time_is_the_committed_runs(table):
    assert table.block(readme(), table.JOBTIME_START, table.JOBTIME_END) == table.job_time(RESULTS), (
        "README's job time is out of date: run `python scripts/readme_table.py --write README.md`")


@pytest.mark.parametrize("doc", [README, *sorted((ROOT / "docs").glob("*.md"))], ids=lambda p: p.name)
def test_every_relative_link_points_to_an_existing_file(doc):
    links = [t for t in LINK.findall(doc.read_text(encoding="utf-8")) if not re.match(r"[a-z]+:|#", t)]
    missing = [t for t in links if not (doc.parent / t.split("#")[0]).exists()]
    assert links and not missing


def test_the_map_is_the_one_the_registry_gives(table):
    assert table.block(readme(), table.MAP_START, table.MAP_END) == table.step_map(RESULTS), (
        "README's step map is out of date: run `python scripts/readme_table.py --write README.md`")


def test_every_step_names_a_report_heading_or_says_why_not():
    titles = [(level, re.sub(r"\s*<[\w-]+>$", "", t))  # without a trailing label (<q2a>)
              for level, t in re.findall(r"^(=+) (.+)$", (ROOT / "report" / "report.typ").read_text(encoding="utf-8"),
                                         flags=re.M)]
    sections = {t for level, t in titles if level == "="}
    subsections = {t for level, t in titles if level == "=="}
    for step in registry.STEPS:
        assert bool(step.section) != bool(step.section_note), step.name  # one or the other
        if step.section:
            top, _, sub = step.section.partition(" › ")
            assert top in sections and (not sub or sub in subsections), (step.name, step.section)


def test_the_map_links_a_result_file_that_exists_and_names_one_not_run_yet(table, tmp_path):
    write(tmp_path, "exercise_1.json", {})
    rows = table.step_map(tmp_path).splitlines()
    ex1, ex2 = (next(r for r in rows if r.startswith(f"| `bash run.sh run {n}` |")) for n in ("exercise_1", "exercise_2"))
    assert "`exercise_2.json` (not run yet)" in ex2 and "](" not in ex2.split(" | ")[3]
    assert ex1.split(" | ")[3].startswith("[`exercise_1.json`](") and ex1.split(" | ")[3].endswith("/exercise_1.json)")
    assert "`ex1_loss_epochs.{png,pdf}`" in ex1 and "`ex1_reconstructions.png`" in ex1


def write(folder: Path, name: str, data: dict) -> None:
    (folder / name).write_text(json.dumps(data))


def test_rows_format_the_numbers_and_name_the_better_side(table, tmp_path):
    write(tmp_path, "code_size.json", {"test_mse": {"8": 0.0125, "32": 0.0040},
                                       "references": {"reference_ae8": 0.01055, "reference_ae32": 0.0044}})
    write(tmp_path, "finetune.json", {"test_accuracy": 0.9931, "references": {"reference_best_test": 0.991}})
    chosen = tuple(h for h in table.HEADLINES if h.file in ("code_size.json", "finetune.json"))
    assert table.rows(tmp_path, chosen) == [
        ("Code sizes: AE8 test MSE", "0.01250", "0.01055", "reference"),  # lower is better
        ("Code sizes: AE32 test MSE", "0.00400", "0.00440", "ours"),
        ("Fine-tuning: best variant's test accuracy", "99.31 %", "99.10 %", "ours"),  # higher is better
    ]
    assert table.markdown(table.rows(tmp_path, chosen[:1])) == (
        "| quantity | ours | reference | better |\n| --- | --- | --- | --- |\n"
        "| Code sizes: AE8 test MSE | 0.01250 | 0.01055 | reference |")


def test_a_missing_result_file_is_one_line_naming_it(table, tmp_path):
    write(tmp_path, "exercise_1.json", {"test_mse": 0.04})
    with pytest.raises(FileNotFoundError) as error:
        table.rows(tmp_path)
    assert "exercise_3.json" in str(error.value) and "\n" not in str(error.value)


def test_the_script_writes_its_blocks_and_fails_in_one_line(table, tmp_path, capsys):
    doc = tmp_path / "README.md"
    doc.write_text(f"a\n{table.HEADLINE_START}\nold\n{table.HEADLINE_END}\n"
                   f"took {table.JOBTIME_START}old{table.JOBTIME_END} here\n{table.MAP_START}\nold\n{table.MAP_END}\n")
    assert table.main(["--write", str(doc)]) == 0
    text = doc.read_text()
    assert table.block(text, table.MAP_START, table.MAP_END) == table.step_map(RESULTS)
    assert table.block(text, table.HEADLINE_START, table.HEADLINE_END) == table.markdown(table.rows(RESULTS))
    assert f"took {table.JOBTIME_START}{table.job_time(RESULTS)}{table.JOBTIME_END} here" in text
    capsys.readouterr()
    assert table.main(["--results-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("readme_table: error: ") and "exercise_1.json" in err and err.count("\n") == 1


@pytest.mark.slow
def test_the_python_example_runs_and_loads_from_the_cache_the_second_time(tmp_path, capsys):
    code = re.search(r"```python\n(.*?)```", readme(), flags=re.S).group(1)
    assert 'recipes.configure("ex1_ae"' in code and "ModelCache(" in code
    small = code.replace("(x, y), (xt, yt) = data.load_mnist()",
                         "(x, y), (xt, yt) = data.load_mnist()\nx, xt = x[:1024], xt[:256]")
    small = small.replace('{"epochs": 5}', '{"epochs": 1}').replace('".cache/models"', repr(str(tmp_path)))
    for cached in (False, True):
        scope = {}
        exec(compile(small, "README.md", "exec"), scope)  # noqa: S102  (the README's own example)
        assert scope["ae"].cached is cached
        assert 0 < float(capsys.readouterr().out.strip().splitlines()[-1]) < 1
