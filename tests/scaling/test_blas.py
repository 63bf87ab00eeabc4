"""The fits run BLAS on one thread (scaling/blas.py): the same numbers, without OpenBLAS's threads waiting for one
another on a busy machine (issue 25: the analysis of 60 runs, docs/analysis.md "Time")."""

from __future__ import annotations

import contextlib

import numpy as np

from scaling import blas
from scaling.fit import fit_series


def _counts() -> list[int]:
    return [int(c[0]()) for c in map(blas._controls, blas._loaded_paths()) if c is not None]


def test_every_loaded_openblas_is_on_one_thread_inside_and_as_before_after():
    np.ones((2, 2)) @ np.ones((2, 2))  # numpy's OpenBLAS is loaded
    before = _counts()
    assert before, "numpy's OpenBLAS was not found in /proc/self/maps"
    with blas.one_thread():
        assert _counts() == [1] * len(before)
    assert _counts() == before


def test_a_fit_gives_the_same_numbers_on_one_thread_as_on_two(monkeypatch):
    rng = np.random.default_rng(1)
    x = np.arange(1, 121.0)
    y = 600 + 40 * x**0.5 + rng.normal(0, 25, x.size)
    one = fit_series(x, y, n_boot=30, extrapolate_to=500)
    controls = [c for c in map(blas._controls, blas._loaded_paths()) if c is not None]
    before = _counts()
    monkeypatch.setattr(blas, "one_thread", contextlib.nullcontext)  # the fit's own switch, bypassed
    try:
        for _, set_ in controls:
            set_(2)
        assert _counts() == [2] * len(controls)
        two = fit_series(x, y, n_boot=30, extrapolate_to=500)
    finally:
        for (_, set_), count in zip(controls, before):
            set_(count)
    e1, e2 = one.extrapolation, two.extrapolation
    assert one.chosen == two.chosen and one.shares == two.shares
    assert [e1.value, e1.ci_low, e1.ci_high, e1.pi_low, e1.pi_high] == [
        e2.value,
        e2.ci_low,
        e2.ci_high,
        e2.pi_low,
        e2.pi_high,
    ]
    for name in one.mixture.names:
        assert np.array_equal(one.mixture.params[name], two.mixture.params[name], equal_nan=True)
