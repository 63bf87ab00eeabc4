"""Pearson and Spearman correlations between the paper's three series, with two kinds of interval.

Per-step series are autocorrelated, so an i.i.d. interval is too narrow: the main interval is a seeded
circular moving-block bootstrap (block ~ n^(1/3)); the Fisher-z interval (independent pairs) sits beside it.
Trending series correlate because they move together over training, which is the paper's claim, not causation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass
class Correlation:
    x: str
    y: str
    method: str  # "pearson" | "spearman"
    r: float
    n: int
    ci_low: float  # block bootstrap
    ci_high: float
    fisher_low: float  # Fisher z, independent pairs
    fisher_high: float
    note: str = ""


def _r(method: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise correlation of a, b [B, n]; NaN for a row that is constant.

    Each centred row is divided by its largest absolute deviation before any product, so 1e-300 cannot
    underflow to a zero variance (which gave r = -inf) and 1e300 cannot overflow; the result is clipped to
    [-1, 1], which only removes rounding (Cauchy-Schwarz bounds the exact value).
    """
    if method == "spearman":
        a, b = stats.rankdata(a, axis=1), stats.rankdata(b, axis=1)
    a, b = _unit_centred(a), _unit_centred(b)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.sum(a * b, axis=1) / np.sqrt(np.sum(a * a, axis=1) * np.sum(b * b, axis=1))
    return np.clip(r, -1.0, 1.0)  # NaN stays NaN


def _unit_centred(x: np.ndarray) -> np.ndarray:
    """Rows centred on their mean and scaled into [-1, 1] (a constant row becomes NaN)."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        x = x / np.max(np.abs(x), axis=1, keepdims=True)  # |x| <= 1: the mean cannot overflow
        x = x - x.mean(axis=1, keepdims=True)
        return x / np.max(np.abs(x), axis=1, keepdims=True)


def numerically_constant(x: np.ndarray) -> bool:
    """True when the spread is at the level of rounding: centring would leave noise, not a signal.

    The mean of n values carries a relative error up to about n * eps; a spread below that cannot be told
    from a constant series, and its correlation would be an artefact of rounding.
    """
    scale = float(np.max(np.abs(x)))
    with np.errstate(over="ignore"):
        return bool(np.ptp(x) <= max(len(x), 16) * np.finfo(float).eps * scale)


def fisher_interval(r: float, n: int, level: float, method: str) -> tuple[float, float]:
    if n <= 3 or not math.isfinite(r) or abs(r) >= 1:
        return (math.nan, math.nan) if not math.isfinite(r) or n <= 3 else (r, r)
    se = math.sqrt((1 + r * r / 2) / (n - 3)) if method == "spearman" else 1 / math.sqrt(n - 3)  # Bonett-Wright
    z, half = math.atanh(r), stats.norm.ppf(0.5 + level / 2) * se
    return math.tanh(z - half), math.tanh(z + half)


def block_indices(n: int, n_boot: int, rng: np.random.Generator, block: int | None = None) -> np.ndarray:
    """[n_boot, n] indices of a circular moving-block bootstrap."""
    block = block or max(1, round(n ** (1 / 3)))
    starts = rng.integers(0, n, size=(n_boot, math.ceil(n / block)))
    return ((starts[:, :, None] + np.arange(block)[None, None, :]) % n).reshape(n_boot, -1)[:, :n]


def correlate(
    x_name: str, y_name: str, a, b, *, method: str = "pearson", n_boot: int = 500, level: float = 0.95, seed: int = 0
) -> Correlation:
    """Correlation of two aligned series (same steps, in step order); NaN with a note when undefined.

    For every finite input r and both intervals lie in [-1, 1] or are NaN; a NaN r always has a note.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    n = len(a)
    nan = math.nan
    if n < 4:
        return Correlation(x_name, y_name, method, nan, n, nan, nan, nan, nan, f"too few shared points ({n} < 4)")
    for name, x in ((x_name, a), (y_name, b)):
        with np.errstate(over="ignore"):  # the spread of +-1e308 is inf, which is still not constant
            spread = np.ptp(x)
        if spread == 0:
            return Correlation(x_name, y_name, method, nan, n, nan, nan, nan, nan, f"{name} is constant here")
        if numerically_constant(x):
            note = f"{name} is numerically constant here (spread {spread:.3g} is rounding-level for its scale)"
            return Correlation(x_name, y_name, method, nan, n, nan, nan, nan, nan, note)
    r = float(_r(method, a[None], b[None])[0])
    if not math.isfinite(r):  # a guard: the checks above should leave none, but no non-finite r may leave here
        return Correlation(x_name, y_name, method, nan, n, nan, nan, nan, nan, "correlation undefined (NaN)")
    idx = block_indices(n, n_boot, np.random.default_rng(seed))
    boot = _r(method, a[idx], b[idx])
    boot = boot[np.isfinite(boot)]
    q = 50 * (1 - level)
    lo, hi = np.percentile(boot, [q, 100 - q]) if len(boot) else (nan, nan)
    f_lo, f_hi = fisher_interval(r, n, level, method)
    note = "" if len(boot) else "every bootstrap resample was constant: no block-bootstrap interval"
    return Correlation(x_name, y_name, method, r, n, float(lo), float(hi), f_lo, f_hi, note)
