"""No module of the product imports at run time, directly or through others, a module that imports it back (issue
#16 found one: the sandbox's executor factory and the backends it builds). Function-level imports count too."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("tir_rollout", "reward", "evaluation", "recipes", "data_prep", "scaling")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_nodes(tree: ast.AST):
    """Every node except those under `if TYPE_CHECKING:` (type-checker-only imports run nothing)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
        else:
            stack.extend(ast.iter_child_nodes(node))


def imported(path: Path, known: set[str]) -> set[str]:
    """The product modules `path` imports (`from pkg import name` counts pkg.name when that is a module)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            target = ".".join(p for p in (base, node.module or "") if p)
            for alias in node.names:  # `from pkg import mod` imports pkg.mod; `from mod import name`, mod
                found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in known else target)
    return {m for m in found if m in known and m != name}


def test_the_product_has_no_import_cycle():
    files = [p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")]
    known = {module_name(p) for p in files}
    graph = nx.DiGraph()
    for path in files:
        graph.add_edges_from((module_name(path), target) for target in imported(path, known))
    assert list(nx.simple_cycles(graph)) == []
