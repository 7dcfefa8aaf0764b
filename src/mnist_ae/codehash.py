"""Digests of the code a model or a step reaches: what makes the cache and the runner content-addressed.

A module reaches the package modules it imports (anywhere in it, in a function too) and, in
turn, what those import, with each package's `__init__.py` on the way (importing
`mnist_ae.models.vae` runs `mnist_ae/__init__.py`, which sets TensorFlow's kernels). The digest
hashes each reached file's syntax tree without its docstrings, so a reworded docstring or
comment changes nothing while any changed statement, constant or default does. Third-party
libraries are not hashed: their versions are pinned by the project's requirements.

Example:
    >>> "mnist_ae/models/constrained.py" in [str(p) for p in reached(["mnist_ae.training"])]
    True
    >>> "mnist_ae/plots/charts.py" in [str(p) for p in reached(["mnist_ae.training"])]
    False
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path
from typing import Iterable

PACKAGE = "mnist_ae"
SOURCE = Path(__file__).resolve().parent.parent  # the folder holding the package (src/)
OWN = Path(PACKAGE) / "codehash.py"  # this module: reached by every model's code, never hashed


def _file(module: str) -> Path | None:
    """The source file of package module `module` (a package's `__init__.py`), None if it is none."""
    base = SOURCE.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path) -> set[str]:
    """The package modules `path` imports, `from mnist_ae.x import y` counting `mnist_ae.x.y` when
    that is a module (else `mnist_ae.x`)."""
    found = set()
    for module, names in _import_statements(Path(path).read_bytes(), str(path)):
        found.add(module)
        found.update(f"{module}.{name}" for name in names if _file(f"{module}.{name}"))
    return found


@functools.lru_cache(maxsize=None)
def _import_statements(source: bytes, name: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(module, names imported from it) of every package import in `source`, parsed once per content."""
    out = []
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, ast.Import):
            out += [(a.name, ()) for a in node.names if a.name.split(".")[0] == PACKAGE]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == PACKAGE:
            out.append((node.module, tuple(a.name for a in node.names)))
    return tuple(out)


def _with_parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def reached(modules: Iterable[str], files: Iterable[Path] = ()) -> list[Path]:
    """Package files (relative to `SOURCE`) that `modules` and the scripts `files` reach, sorted."""
    todo = {m for module in modules for m in _with_parents(module)}
    for f in files:
        todo |= {m for module in _imports(Path(f)) for m in _with_parents(module)}
    seen: set[str] = set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = _file(module)
        if path is None:
            raise ValueError(f"{module} is not a module of the package")
        todo |= {m for imported in _imports(path) for m in _with_parents(imported)} - seen
    return sorted(_file(m).relative_to(SOURCE) for m in seen)


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def source_digest(path: Path) -> str:
    """SHA-256 of a Python file's syntax tree without docstrings (comments are not in the tree).
    Read afresh on every call (a file edited while the process runs gets its new digest); the
    parse is remembered by the file's bytes."""
    return _tree_digest(Path(path).read_bytes(), str(path))


@functools.lru_cache(maxsize=None)
def _tree_digest(source: bytes, name: str) -> str:
    tree = _strip_docstrings(ast.parse(source, name))
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()


def digest(modules: Iterable[str], files: Iterable[Path] = ()) -> str:
    """12 hex digits naming the code `modules` and the scripts `files` reach (the files themselves too).

    Example:
        >>> digest(["mnist_ae.training"]) == digest(["mnist_ae.training"])
        True
        >>> digest(["mnist_ae.training"]) == digest(["mnist_ae.models.code_models"])
        False
    """
    files = [Path(f) for f in files]
    h = hashlib.sha256()
    for rel in reached(modules, files):
        if rel == OWN:
            continue  # how digests are computed is not what a model or a step does
        h.update(f"{rel}\0{source_digest(SOURCE / rel)}\0".encode())
    for f in files:
        h.update(f"{f.name}\0{source_digest(f.resolve())}\0".encode())
    return h.hexdigest()[:12]
