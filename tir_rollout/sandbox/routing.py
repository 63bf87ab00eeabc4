"""Which warm worker of a slot runs a snippet: the full one (numpy, sympy, matplotlib warm) or the light one.

Why two: every call forks a warm worker and the child exits, and both cost more the bigger the worker is (its
~440 mappings, the pages the child touches). The full worker is ~115 MB; a worker that imported only the
standard library is ~15 MB, and there a fork plus `print(1)` costs 1.3 ms of CPU against 3.1 ms (docs/sandbox.md
"Light worker"). Most snippets of a math rollout import nothing beyond the standard library.

The choice changes speed, never the result: both are the same fork server with the same containment, and a
snippet sent to the light one that imports numpy after all imports it cold (time, not a different answer).
That is why the rule is conservative in one direction only: anything that imports a module outside the standard
library, or could import one by name (`__import__`, `importlib`, `exec`, `eval`), goes to the full worker, where
matplotlib's font list is warm (cold, it costs seconds and prints a Fontconfig warning the model would read).
"""

from __future__ import annotations

import ast
import sys

STDLIB = frozenset(sys.stdlib_module_names)
# Names through which a snippet can import a module the static scan does not see.
DYNAMIC = frozenset({"__import__", "importlib", "import_module", "exec", "eval"})


def needs_full(code: str) -> bool:
    """True when `code` may import a module outside the standard library (then the full worker runs it)."""
    if "import" not in code and "exec" not in code and "eval" not in code:
        return False  # nothing to import with: no parse (most snippets that print a computation)
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False  # it cannot run anywhere: compiling it fails the same way in both workers
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] if node.level == 0 else []  # relative: fails in __main__ either way
        elif isinstance(node, ast.Name):
            if node.id in DYNAMIC:
                return True
            continue
        elif isinstance(node, ast.Attribute):
            if node.attr in DYNAMIC:
                return True
            continue
        else:
            continue
        if any(name.partition(".")[0] not in STDLIB for name in names):
            return True
    return False
