"""No module of the product imports at run time, directly or through others, a module that imports it back (issue
#16 found one: the sandbox's executor factory and the backends it builds), and no package does either (issue #27
found one made of acyclic modules: data_prep/templates.py imported the stop machine while tir_rollout/rollout_config.py
imported the templates). Function-level imports count too, and so do imports under `if TYPE_CHECKING:`: they run
nothing, but the dependency is the design's all the same (issue #27 found two circles made only by them: the sandbox's
config, backend table and executor; scaling's fit and uncertainty). The product's packages are the repository's
top-level folders with an __init__.py, tests aside, so a new package is checked without a list to update.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

REPO = Path(__file__).resolve().parents[1]


def product_packages() -> tuple[str, ...]:
    return tuple(sorted(p.parent.name for p in REPO.glob("*/__init__.py") if p.parent.name != "tests"))


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, known: set[str]) -> set[str]:
    """The product modules `path` imports."""
    name = module_name(path)
    return imports_of(path.read_text(), name, path.name == "__init__.py", known, str(path))


def imports_of(source: str, name: str, is_package: bool, known: set[str], filename: str = "<source>") -> set[str]:
    """The product modules that module `name`'s source imports, anywhere in it (`from pkg import name` counts pkg.name
    when that is a module)."""
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            target = ".".join(p for p in (base, node.module or "") if p)
            for alias in node.names:  # `from pkg import mod` imports pkg.mod; `from mod import name`, mod
                found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in known else target)
    return {m for m in found if m in known and m != name}


def product_files() -> list[Path]:
    return [p for pkg in product_packages() for p in (REPO / pkg).rglob("*.py")]


def module_graph() -> nx.DiGraph:
    files = product_files()
    known = {module_name(p) for p in files}
    graph = nx.DiGraph()
    for path in files:
        graph.add_edges_from((module_name(path), target) for target in imported(path, known))
    return graph


def package_graph(modules: nx.DiGraph, package_of) -> nx.DiGraph:
    """Packages as nodes, an edge where a module of one imports a module of another; each edge keeps the module
    imports behind it (`why`), so a failure names the files to change."""
    graph = nx.DiGraph()
    for src, dst in modules.edges:
        a, b = package_of(src), package_of(dst)
        if a != b:
            graph.add_edge(a, b)
            graph.edges[a, b].setdefault("why", []).append(f"{src} -> {dst}")
    return graph


def top_level(module: str) -> str:
    return module.split(".")[0]


def folder(module: str) -> str:
    """The package folder that holds the module (a package's __init__ belongs to its own folder)."""
    return module if (REPO / module.replace(".", "/") / "__init__.py").is_file() else module.rpartition(".")[0]


def explain(graph: nx.DiGraph) -> list[str]:
    return [
        " -> ".join([*cycle, cycle[0]])
        + ": "
        + "; ".join(w for a, b in zip(cycle, [*cycle[1:], cycle[0]]) for w in graph.edges[a, b]["why"])
        for cycle in nx.simple_cycles(graph)
    ]


def test_the_product_packages_are_found():
    assert {"tir_rollout", "data_prep", "recipes", "evaluation"} <= set(product_packages())


def test_the_product_has_no_import_cycle():
    assert list(nx.simple_cycles(module_graph())) == []


@pytest.mark.parametrize("package_of", [top_level, folder], ids=["top-level packages", "every package folder"])
def test_no_package_imports_a_package_that_imports_it_back(package_of):
    assert explain(package_graph(module_graph(), package_of)) == []


def test_a_package_cycle_of_acyclic_modules_is_found():
    """The shape issue #27 removed: two modules, neither importing the other, whose packages import each other."""
    modules = nx.DiGraph([("data_prep.templates", "tir_rollout.stop_machine"), ("tir_rollout.config", "data_prep.x")])
    assert list(nx.simple_cycles(modules)) == []
    [cycle] = explain(package_graph(modules, top_level))
    assert cycle.partition(":")[0] in (
        "data_prep -> tir_rollout -> data_prep",
        "tir_rollout -> data_prep -> tir_rollout",
    )
    assert "data_prep.templates -> tir_rollout.stop_machine" in cycle and "tir_rollout.config -> data_prep.x" in cycle


def test_imports_for_the_type_checker_and_inside_functions_count():
    """The shape 47d1610 left in the sandbox: a runtime import one way, a type-only import back."""
    source = """
from typing import TYPE_CHECKING
from .config import SandboxConfig
if TYPE_CHECKING:
    from .executor import Executor
def build():
    from . import local
"""
    known = {"pkg.config", "pkg.executor", "pkg.local", "pkg.factory"}
    assert imports_of(source, "pkg.factory", False, known) == {"pkg.config", "pkg.executor", "pkg.local"}
