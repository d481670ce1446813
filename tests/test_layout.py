"""The package's three layers, checked by reading every import of every module of bnlib.

- core (bnlib/*.py and bnlib/exercises/) imports neither bnlib.experiments nor bnlib.figures;
- figures import the core only, never the experiments;
- no import cycles between bnlib's modules, counting imports inside functions too.
bnlib/__init__.py (the facade, whose experiment names are looked up lazily) and
bnlib/reproduce.py (the command line) sit on top and are left out of the rules.
"""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "bnlib"
TOP = {"bnlib", "bnlib.reproduce"}


def module_name(path):
    """bnlib/experiments/fig1.py -> "bnlib.experiments.fig1"; a package's __init__ -> the package."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(name):
    """Every bnlib module that module `name` imports anywhere in its file (any depth)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([node.module] if node.module else []))
            # `from .x import y` may import the submodule x.y or the name y of x
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                       for alias in node.names]
        else:
            continue
        found |= {t for t in targets if t in MODULES and t != name}
    return found


GRAPH = {name: imported_modules(name) for name in MODULES}


def layer(name):
    if name in TOP:
        return "top"
    if name.startswith("bnlib.experiments"):
        return "experiments"
    if name.startswith("bnlib.figures"):
        return "figures"
    return "core"


def test_the_graph_sees_function_level_imports():
    """The reader itself must find the lazy imports of matplotlib-using code in experiments."""
    assert "bnlib.figures.training" in GRAPH["bnlib.experiments.fig1"]
    assert "bnlib.batchnorm" in GRAPH["bnlib.layernorm"]


@pytest.mark.parametrize("name", sorted(n for n in MODULES if layer(n) == "core"))
def test_core_imports_neither_experiments_nor_figures(name):
    above = sorted(m for m in GRAPH[name] if layer(m) in ("experiments", "figures", "top"))
    assert not above, f"{name} (core) imports {above}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if layer(n) == "figures"))
def test_figures_import_only_the_core(name):
    above = sorted(m for m in GRAPH[name] if layer(m) in ("experiments", "top"))
    assert not above, f"{name} (figures) imports {above}"


def test_no_import_cycles():
    below = {name: deps for name, deps in GRAPH.items() if name not in TOP}
    state, path = {}, []

    def visit(name):
        state[name] = "open"
        path.append(name)
        for dep in sorted(below.get(name, ())):
            if dep in TOP:
                continue
            if state.get(dep) == "open":
                cycle = path[path.index(dep):] + [dep]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        path.pop()
        state[name] = "done"

    for name in sorted(below):
        if name not in state:
            visit(name)
