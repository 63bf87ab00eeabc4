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
    """Row-wise correlation of a, b [B, n]."""
    if method == "spearman":
        a, b = stats.rankdata(a, axis=1), stats.rankdata(b, axis=1)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum(a * b, axis=1) / np.sqrt(np.sum(a * a, axis=1) * np.sum(b * b, axis=1))


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
    """Correlation of two aligned series (same steps, in step order); NaN with a note when undefined."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    n = len(a)
    nan = math.nan
    if n < 4:
        return Correlation(x_name, y_name, method, nan, n, nan, nan, nan, nan, f"too few shared points ({n} < 4)")
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        which = x_name if np.ptp(a) == 0 else y_name
        return Correlation(x_name, y_name, method, nan, n, nan, nan, nan, nan, f"{which} is constant here")
    r = float(_r(method, a[None], b[None])[0])
    idx = block_indices(n, n_boot, np.random.default_rng(seed))
    boot = _r(method, a[idx], b[idx])
    boot = boot[np.isfinite(boot)]
    q = 50 * (1 - level)
    lo, hi = np.percentile(boot, [q, 100 - q]) if len(boot) else (nan, nan)
    f_lo, f_hi = fisher_interval(r, n, level, method)
    return Correlation(x_name, y_name, method, r, n, float(lo), float(hi), f_lo, f_hi)
