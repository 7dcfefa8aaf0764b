"""One-off: move mnist_ae's flat modules into role folders and rewrite every reference."""
import re, subprocess, sys
from pathlib import Path

ROOT = Path("/work/main")
PKG = ROOT / "src/mnist_ae"
# old module -> (subpackage, new module name)
MOVES = {
    "models": ("models", "constrained"), "vae": ("models", "vae"), "code_models": ("models", "code_models"),
    "losses": ("models", "losses"), "corruption": ("models", "corruption"),
    "evaluation": ("analysis", "evaluation"), "embedding": ("analysis", "embedding"),
    "likelihood": ("analysis", "likelihood"), "flops": ("analysis", "flops"),
    "plotting": ("plots", "charts"), "latent_plots": ("plots", "latent_plots"),
    "search": ("studies", "search"), "finetune": ("studies", "finetune"),
    "steps": ("pipeline", "registry"), "runner": ("pipeline", "runner"), "worker": ("pipeline", "worker"),
    "cli": ("pipeline", "harness"), "results": ("pipeline", "results"),
}
TESTS = {"models": "constrained", "plotting": "charts", "steps": "registry", "cli": "harness"}
RENAMED = {old: new for old, (_, new) in MOVES.items() if old != new}  # local names that change

def git(*a): subprocess.run(["git", *a], cwd=ROOT, check=True)

if "--move" in sys.argv:
    for sub in sorted({s for s, _ in MOVES.values()}):
        (PKG / sub).mkdir(exist_ok=True)
    # models.py must leave before models/ can hold it: move it via a temporary name
    git("mv", "src/mnist_ae/models.py", "src/mnist_ae/_models_tmp.py")
    for old, (sub, new) in MOVES.items():
        src = "src/mnist_ae/_models_tmp.py" if old == "models" else f"src/mnist_ae/{old}.py"
        git("mv", src, f"src/mnist_ae/{sub}/{new}.py")
        t = ROOT / "tests" / f"test_{old}.py"
        if t.exists():
            (ROOT / "tests" / sub).mkdir(exist_ok=True)
            git("mv", f"tests/test_{old}.py", f"tests/{sub}/test_{new}.py")
    git("mv", "tests/test_explorer.py", "tests/explorer/test_explorer.py") if (ROOT / "tests/explorer").mkdir(exist_ok=True) is None else None

def newpath(old): sub, new = MOVES[old]; return f"mnist_ae.{sub}.{new}"

def rewrite_py(text: str) -> str:
    renamed_here = set()
    # from mnist_ae import a, b as c, d   (one line, possibly indented, possibly with a trailing comment)
    def split_import(m):
        indent, names, comment = m.group(1), m.group(2), m.group(3) or ""
        groups: dict[str, list[str]] = {}
        for item in [n.strip() for n in names.split(",") if n.strip()]:
            base = item.split(" as ")[0].strip()
            alias = item.split(" as ")[1].strip() if " as " in item else None
            if base in MOVES:
                sub, new = MOVES[base]
                if base in RENAMED and alias is None:
                    renamed_here.add(base)
                groups.setdefault(f"mnist_ae.{sub}", []).append(new + (f" as {alias}" if alias else ""))
            else:
                groups.setdefault("mnist_ae", []).append(item)
        lines = [f"{indent}from {mod} import {', '.join(sorted(ns))}" for mod, ns in sorted(groups.items())]
        lines[0] += comment
        return "\n".join(lines)
    text = re.sub(r"^([ \t]*)from mnist_ae import ([\w, ]+?)([ \t]*#.*)?$", split_import, text, flags=re.M)
    # from mnist_ae.old import x / import mnist_ae.old / "mnist_ae.old" strings
    def dotted(m):
        old = m.group(1)
        return newpath(old) if old in MOVES else m.group(0)
    text = re.sub(r"\bmnist_ae\.(\w+)\b(?!\.py)", dotted, text)
    for old in renamed_here:
        text = re.sub(rf"(?<![\w.]){old}\.(?=[A-Za-z_])", f"{RENAMED[old]}.", text)
    return text

def rewrite_paths(text: str) -> str:
    for old, (sub, new) in MOVES.items():
        text = re.sub(rf"src/mnist_ae/{old}\.py", f"src/mnist_ae/{sub}/{new}.py", text)
        text = re.sub(rf"(?<![/\w])mnist_ae/{old}\.py", f"mnist_ae/{sub}/{new}.py", text)
        text = re.sub(rf"tests/test_{old}\.py", f"tests/{sub}/test_{new}.py", text)
    text = text.replace("tests/test_explorer.py", "tests/explorer/test_explorer.py")
    return text

if "--rewrite" in sys.argv:
    files = [p for p in ROOT.rglob("*") if p.is_file() and ".venv" not in p.parts and ".git" not in p.parts
             and ".cache" not in p.parts and "node_modules" not in p.parts and p.suffix in {".py", ".md", ".typ", ".sh", ".toml", ".txt", ".yml", ".cfg"}]
    files += [ROOT / ".ci/run"] if (ROOT / ".ci/run").exists() else []
    for p in files:
        t = p.read_text()
        n = rewrite_paths(t)
        if p.suffix == ".py":
            n = rewrite_py(n)
        if n != t:
            p.write_text(n); print("rewrote", p.relative_to(ROOT))
