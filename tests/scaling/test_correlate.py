"""Correlations: intervals cover known values (i.i.d. and trending series); undefined cases are notes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaling.correlate import block_indices, correlate


@pytest.mark.parametrize("rho", [0.3, 0.8, -0.5])
def test_interval_covers_the_true_correlation_of_independent_pairs(rho):
    rng = np.random.default_rng(int(abs(rho) * 100) + 7)
    a, b = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=300).T
    pearson = correlate("a", "b", a, b, n_boot=300)
    spearman = correlate("a", "b", a, b, method="spearman", n_boot=300)
    rho_s = 6 / math.pi * math.asin(rho / 2)  # Spearman's rho of a bivariate normal
    assert pearson.ci_low < rho < pearson.ci_high and pearson.fisher_low < rho < pearson.fisher_high
    assert spearman.ci_low < rho_s < spearman.ci_high


def test_interval_covers_the_correlation_implied_by_two_known_laws():
    """Trend + noise: the population Pearson r over the step grid is cov(f, g) / sqrt((var f + s1²)(var g + s2²))."""
    steps = np.arange(1, 301, dtype=float)
    f, g = 0.9 - 0.85 * np.exp(-steps / 60), 600 + 40 * np.sqrt(steps)
    s1, s2 = 0.05, 40.0
    truth = np.cov(f, g, bias=True)[0, 1] / math.sqrt((f.var() + s1**2) * (g.var() + s2**2))
    rng = np.random.default_rng(3)
    c = correlate("code", "length", f + rng.normal(0, s1, 300), g + rng.normal(0, s2, 300), n_boot=400)
    assert c.ci_low < truth < c.ci_high
    assert c.ci_high - c.ci_low < 0.15


UNDEFINED = [
    ("constant-x", np.zeros(20), np.arange(20.0), "a is constant"),
    ("constant-y", np.arange(20.0), np.ones(20), "b is constant"),
    ("too-few", np.arange(3.0), np.arange(3.0), "too few shared points (3 < 4)"),
    ("nan-leaves-too-few", np.array([1, np.nan, 3, np.nan, 5.0]), np.arange(5.0), "too few shared points"),
]


@pytest.mark.parametrize("a,b,note", [r[1:] for r in UNDEFINED], ids=[r[0] for r in UNDEFINED])
def test_undefined_correlation_is_nan_with_a_note(a, b, note):
    c = correlate("a", "b", a, b, n_boot=20)
    assert math.isnan(c.r) and note in c.note


# Adversarial magnitudes: tiny and subnormal, huge, mixed, and few distinct values so that series repeat.
MAGNITUDES = st.sampled_from([0.0, -0.0, 5e-324, 1e-300, -1e-300, 1e-30, 1.0, 725.0, 725.2487684226151, 1e30, 1e300])
VALUES = st.one_of(
    st.floats(-1e3, 1e3),
    st.floats(allow_nan=False, allow_infinity=False),
    st.builds(lambda m, sign: m * sign, MAGNITUDES, st.sampled_from([1.0, -1.0])),
)


@st.composite
def series_pairs(draw):
    """Aligned pairs; half the time drawn from a pool of at most three values, so repeats dominate."""
    n = draw(st.integers(5, 40))
    if draw(st.booleans()):
        pool = draw(st.lists(st.tuples(VALUES, VALUES), min_size=1, max_size=3))
        return [draw(st.sampled_from(pool)) for _ in range(n)]
    return draw(st.lists(st.tuples(VALUES, VALUES), min_size=n, max_size=n))


def _in_unit(x: float) -> bool:
    return math.isnan(x) or -1.0 <= x <= 1.0


@settings(max_examples=60, deadline=None)
@given(series_pairs(), st.integers(0, 99))
def test_r_is_a_correlation_and_symmetric(pairs, seed):
    a, b = np.array(pairs).T
    for method in ("pearson", "spearman"):
        ab = correlate("a", "b", a, b, method=method, n_boot=30, seed=seed)
        ba = correlate("b", "a", b, a, method=method, n_boot=30, seed=seed)
        for c in (ab, ba):
            assert all(_in_unit(v) for v in (c.r, c.ci_low, c.ci_high, c.fisher_low, c.fisher_high)), c
            assert not math.isnan(c.r) or c.note, c  # NaN always comes with its reason
        if math.isnan(ab.r):
            assert math.isnan(ba.r)
            continue
        assert ab.r == pytest.approx(ba.r, abs=1e-9)
        assert math.isnan(ab.ci_low) or ab.ci_low <= ab.ci_high


def test_a_nearly_constant_tiny_series_gives_a_correlation_not_minus_inf():
    """The report's case: 1e-300 squared underflowed to a zero variance and r came out as -inf."""
    a, b = [0.0] * 8 + [1e-300], [725.25] * 8 + [725.0]
    c = correlate("a", "b", a, b, n_boot=50)
    assert c.r == pytest.approx(-1.0) and -1 <= c.r
    assert -1 <= c.ci_low <= c.ci_high <= 1


@pytest.mark.parametrize("scale", [1e-300, 1.0, 1e300])
def test_rounding_level_spread_is_numerically_constant(scale):
    a = np.full(12, scale)
    a[-1] = np.nextafter(scale, np.inf)  # one ulp apart: centring would correlate rounding noise
    c = correlate("a", "b", a, np.arange(12.0), n_boot=20)
    assert math.isnan(c.r) and "a is numerically constant" in c.note


def test_huge_values_correlate_like_their_scaled_copies():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=50), rng.normal(size=50)
    small = correlate("a", "b", a, b, n_boot=50)
    huge = correlate("a", "b", a * 1e300, b * 1e300, n_boot=50)
    tiny = correlate("a", "b", a * 1e-300, b * 1e-300, n_boot=50)
    assert huge.r == pytest.approx(small.r, abs=1e-12) and tiny.r == pytest.approx(small.r, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 200), st.integers(1, 50), st.integers(0, 99))
def test_block_bootstrap_indices_are_in_range(n, n_boot, seed):
    idx = block_indices(n, n_boot, np.random.default_rng(seed))
    assert idx.shape == (n_boot, n) and idx.min() >= 0 and idx.max() < n
