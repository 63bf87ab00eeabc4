"""What every sandbox worker imports and exercises once, so that no call pays for it.

A fork inherits this warm state: modules imported, sympy's and numpy's lazy paths taken, matplotlib on Agg
with its font list loaded, the heap frozen for the garbage collector so that children keep sharing its pages,
and that heap backed by 2 MB pages where the kernel allows, so that a fork and an exit cost less.
A light worker (routing.py says which snippets it gets) imports only the standard-library modules that a full
worker holds once warm (`stdlib_loaded`, which the host passes on), so that what a snippet finds imported, and
how long its own standard-library imports take, are the same in both.
Stdlib-only at import time: the worker imports it as a sibling module; the benchmark imports it too.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys

WARM_MODULES = [
    "math",
    "cmath",
    "fractions",
    "decimal",
    "itertools",
    "collections",
    "functools",
    "operator",
    "random",
    "statistics",
    "re",
    "string",
    "heapq",
    "bisect",
    "json",
    "datetime",
    "copy",
    "typing",
    "numpy",
    "sympy",
    "matplotlib",
]


def warm(tmp_root: str, light_modules: list[str] | None = None) -> list[str]:
    """Import and exercise the math stack so children inherit it; returns the modules that are missing.
    With `light_modules` (a light worker): import those standard-library modules only."""
    os.environ.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg")
    os.environ["MPLCONFIGDIR"] = os.path.join(tmp_root, ".matplotlib")
    if light_modules is not None:
        for name in light_modules:
            with contextlib.suppress(Exception):  # one that loads only inside a package's own import: best effort
                importlib.import_module(name)
        _freeze()
        return []
    missing = []
    for name in WARM_MODULES:
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if "sympy" not in missing:
        import sympy as sp

        x, y = sp.symbols("x y")
        sp.solve([x + y - 3, x - y - 1], [x, y]), sp.solve(x**2 - 2, x), sp.factor(x**4 - 1), sp.expand((x + 1) ** 5)
        sp.simplify(sp.sin(x) ** 2 + sp.cos(x) ** 2), sp.integrate(x * sp.exp(x), x), sp.diff(sp.log(x), x)
        sp.limit(sp.sin(x) / x, x, 0), sp.series(sp.exp(x), x, 0, 4), sp.N(sp.pi, 30), sp.nsimplify(0.25)
        sp.Matrix([[1, 2], [3, 4]]).inv(), sp.factorint(360), sp.isprime(97), sp.divisors(36), sp.binomial(10, 3)
        sp.sympify("x**2 + 1/3"), sp.Rational(1, 3) + sp.sqrt(2), sp.summation(1 / x**2, (x, 1, sp.oo))
        sp.nroots(x**3 - x - 1), sp.Poly(x**3 - 1, x).all_coeffs(), sp.gcd(12, 18), sp.latex(x / y)
    if "numpy" not in missing:
        import numpy as np

        a = np.array([[3.0, 1.0], [1.0, 2.0]])
        np.linalg.solve(a, [9.0, 8.0]), np.linalg.eig(a), np.linalg.det(a), np.linalg.inv(a), np.linalg.svd(a)
        np.random.default_rng(0).random(3), np.polyfit([0, 1, 2], [1, 3, 5], 1), np.roots([1, -3, 2])
    if "matplotlib" not in missing:
        import io

        import matplotlib

        matplotlib.use("Agg")  # non-GUI backend: plt.show() is a no-op warning, savefig works
        import matplotlib.pyplot as plt

        plt.plot([0, 1], [0, 1])
        plt.savefig(io.BytesIO(), format="png")
        plt.close("all")
        # Its FT2Font objects are unusable across fork, and matplotlib's own fork hook empties this cache in
        # every child: empty it once here, so no child pays for freeing them and no font file stays open on
        # an fd number a child reuses for its own pipes. The font list (the slow part) stays warm.
        from matplotlib import font_manager

        font_manager._get_font.cache_clear()
    _freeze()
    return missing


def stdlib_loaded() -> list[str]:
    """The standard-library modules this process has imported (a full worker's, for its light sibling)."""
    return sorted(name for name in sys.modules if name.partition(".")[0] in sys.stdlib_module_names)


def _freeze() -> None:
    import gc

    gc.collect()
    gc.freeze()  # keep the warm heap out of the children's GC passes, so their pages stay shared
    huge_pages()


_HUGE = 2 << 20
_MADV_HUGEPAGE, _MADV_COLLAPSE = 14, 25


def huge_pages() -> int:
    """Back the warm heap with 2 MB pages where the kernel allows; returns the bytes collapsed (0: none).

    Every call forks this process and the child exits: both copy or drop one page-table entry per 4 KB page
    of the ~110 MB warm heap, which cost more CPU per call (about 2.5 ms in the fork, 5 ms in the child)
    than a typical snippet's own compute. A 2 MB page is one entry. A child that writes into one still
    copies only the 4 KB it touches (the kernel splits a shared huge page on a write fault), so nothing
    changes for the snippet. Best effort: MADV_COLLAPSE needs Linux 6.1 and transparent huge pages not
    "never"; anywhere else this does nothing.
    """
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        with open("/proc/self/maps") as f:
            maps = f.read().splitlines()
    except (OSError, AttributeError):
        return 0
    collapsed = 0
    for line in maps:
        fields = line.split()
        if not fields[1].startswith("rw") or (len(fields) > 5 and fields[5] != "[heap]"):
            continue  # private anonymous memory and the brk heap only
        lo, hi = (int(x, 16) for x in fields[0].split("-"))
        start, end = -(-lo // _HUGE) * _HUGE, hi // _HUGE * _HUGE
        if end > start and libc.madvise(start, end - start, _MADV_HUGEPAGE) == 0:
            for chunk in range(start, end, _HUGE):  # one at a time: a chunk that cannot collapse stops no other
                if libc.madvise(chunk, _HUGE, _MADV_COLLAPSE) == 0:
                    collapsed += _HUGE
    return collapsed
