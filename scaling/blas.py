"""One BLAS thread while a series is fitted (`one_thread()`), whatever the machine's core count.

Why: a fit is thousands of small matrix products (the grid search of `scaling.laws`, [~120 x n] @ [n x R] for each
law, fold and bootstrap world), and OpenBLAS splits every one of them over all cores. On a machine whose cores are
busy with other work its threads wait for one another at every product: on the shared 2-core machine at load ~7, a
300-replicate power-law fit took 410 ms of wall time on OpenBLAS's default threads and 40 ms on one, and the whole
analysis of one 160-step run 16.5 s against 4.1 s (benchmarks/analysis_time.py; docs/analysis.md "Time"). The
numbers are bit for bit the same (every fit of the bundled examples at the default settings, compared; and
tests/scaling/test_blas.py): OpenBLAS splits a product by blocks of its result, each summed in the same order.

How: every OpenBLAS library the process has loaded (numpy's and scipy's each bundle one) is found in
/proc/self/maps and set through its own `*_set_num_threads` entry point, then set back; elsewhere (no procfs, another
BLAS) nothing changes. This is what threadpoolctl does, which is not a dependency of this project.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

_PREFIXES = ("openblas", "scipy_openblas")  # <prefix>_set_num_threads<suffix>: the reference build, numpy's and
_SUFFIXES = ("", "64_")  # scipy's wheels; 64_ for the builds with 64-bit integers


def _loaded_paths() -> tuple[str, ...]:
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return ()
    paths = {line.split()[-1] for line in maps.splitlines() if "/" in line and "openblas" in line.lower()}
    return tuple(sorted(p for p in paths if ".so" in Path(p).name))


@cache
def _controls(path: str) -> tuple[object, object] | None:
    """(get, set) of one loaded OpenBLAS library, or None when it exports neither name we know."""
    try:
        lib = ctypes.CDLL(path, mode=os.RTLD_NOLOAD)  # the copy already loaded, never a new one
    except OSError:
        return None
    for prefix in _PREFIXES:
        for suffix in _SUFFIXES:
            get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
            set_ = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
            if get is not None and set_ is not None:
                get.restype, set_.restype = ctypes.c_int, None
                set_.argtypes = [ctypes.c_int]
                return get, set_
    return None


@contextmanager
def one_thread() -> Iterator[None]:
    """Every loaded OpenBLAS on one thread inside the block; each back to its own count afterwards."""
    changed = []
    for path in _loaded_paths():
        controls = _controls(path)
        if controls is None:
            continue
        get, set_ = controls
        before = int(get())
        if before != 1:
            set_(1)
            changed.append((set_, before))
    try:
        yield
    finally:
        for set_, before in changed:
            set_(before)
