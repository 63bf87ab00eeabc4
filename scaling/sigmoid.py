"""The bounded sigmoid for short runs, and intervals across seeds.

Why: the open-ended laws (scaling/laws.py) extrapolate; a rate such as code use or accuracy is bounded, and a short
run mostly shows where it levels off. ScaleRL (arXiv 2510.13786) fits R = R0 + (A - R0) / (1 + (C_mid / C)^B): a
ceiling A, a starting level R0, a midpoint C_mid (steps, or tokens) and a steepness B. Here it is fitted exactly as the
other laws are: R0 and A - R0 are a linear solve for each (C_mid, B) on a log grid, refined twice, so there is no
starting value and no optimiser to fail silently.

What a fit may be called (`SigmoidFit.kind`):
* "law": the fit stays in its physical range and the rise takes more than `STEP_CHANGE` of x (10 % to 90 % of it).
* "step change": the rise completes within two steps, and a rise wider than that fits clearly worse (a likelihood
  ratio test at 5 %): a jump, not a law.
* "out of range": a level leaves [lower, upper] (a negative rate, a ceiling above 1): not a law either.
A claim's interval is over seeds (`seed_interval`), never over the points of one run.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

STEP_CHANGE = 2.0  # a 10-90 % rise narrower than this (in x units: steps) is a step change
LR_95 = 3.841  # chi-square(1) 95 % point: the data must reject a smooth rise before a jump is called
_TOL = 0.02  # levels within this of the range count as inside it (sampling noise of a rate)


@dataclass(frozen=True)
class SigmoidFit:
    r0: float
    a: float  # the ceiling
    c_mid: float  # x at the midpoint between R0 and A
    b: float  # steepness
    rmse: float
    rise_width: float  # x from 10 % to 90 % of the rise
    kind: str  # "law", "step change", "out of range"

    def predict(self, x) -> np.ndarray:
        x = np.asarray(x, float)
        return self.r0 + (self.a - self.r0) / (1.0 + (self.c_mid / x) ** self.b)

    def to_dict(self) -> dict:
        return asdict(self)


def _basis(x: np.ndarray, c: np.ndarray, b: np.ndarray) -> np.ndarray:
    """v[k, n] = 1 / (1 + (c_k / x_n)^b_k), computed in logs so huge exponents neither overflow nor warn."""
    z = b[:, None] * (np.log(c)[:, None] - np.log(x)[None, :])
    return 0.5 * (1.0 - np.tanh(0.5 * np.clip(z, -700, 700)))


def _solve(x: np.ndarray, y: np.ndarray, c: np.ndarray, b: np.ndarray):
    """Least squares of y on (1, v) for every candidate: (rss, const, coef) per candidate."""
    v = _basis(x, c, b)
    vc = v - v.mean(axis=1, keepdims=True)
    yc = y - y.mean()
    cvv = np.einsum("kn,kn->k", vc, vc)
    with np.errstate(divide="ignore", invalid="ignore"):
        coef = np.where(cvv > 1e-12, (vc @ yc) / cvv, np.nan)
    const = y.mean() - coef * v.mean(axis=1)
    rss = np.where(np.isfinite(coef), ((y[None, :] - const[:, None] - coef[:, None] * v) ** 2).sum(axis=1), np.inf)
    return rss, const, coef


def _width(c: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x from 10 % to 90 % of the rise: c * (9^(1/b) - 9^(-1/b))."""
    return c * (9.0 ** (1.0 / b) - 9.0 ** (-1.0 / b))


def _search(x: np.ndarray, y: np.ndarray, min_width: float):
    """The least-squares (log c, log b) on a log grid refined three times, among rises at least `min_width` wide:
    (rss, r0, a, c, b), or None when no candidate fits."""
    lo_c, hi_c = math.log(x.min() / 4), math.log(x.max() * 4)
    lo_b, hi_b = math.log(0.25), math.log(30.0)
    cs, bs = np.meshgrid(np.linspace(lo_c, hi_c, 81), np.linspace(lo_b, hi_b, 41), indexing="ij")
    cand_c, cand_b = cs.ravel(), bs.ravel()
    step_c, step_b = (hi_c - lo_c) / 80, (hi_b - lo_b) / 40
    found = None
    for _ in range(3):
        ok = _width(np.exp(cand_c), np.exp(cand_b)) >= min_width
        if not ok.any():
            break
        cand_c, cand_b = cand_c[ok], cand_b[ok]
        rss, const, coef = _solve(x, y, np.exp(cand_c), np.exp(cand_b))
        best = int(np.argmin(rss))
        if not np.isfinite(rss[best]):
            break
        c0, b0 = cand_c[best], cand_b[best]
        found = (float(rss[best]), float(const[best]), float(const[best] + coef[best]), math.exp(c0), math.exp(b0))
        cs, bs = np.meshgrid(np.linspace(c0 - step_c, c0 + step_c, 21), np.linspace(b0 - step_b, b0 + step_b, 21))
        cand_c, cand_b = cs.ravel(), bs.ravel()
        step_c, step_b = step_c / 10, step_b / 10
    return found


def fit_sigmoid(x, y, lower: float = 0.0, upper: float = 1.0) -> SigmoidFit | None:
    """The least-squares bounded sigmoid of y against x (> 0); None with fewer than 5 finite points or a flat y.
    `lower`/`upper`: the physical range of the levels R0 and A (a rate: [0, 1]; a length: [0, inf]).

    A noisy short curve is often fitted best by a jump, so a step change is called only when the data reject a
    smooth rise: the best fit whose rise is at least STEP_CHANGE wide is kept unless its likelihood ratio against the
    free fit, n ln(RSS_smooth / RSS_free), exceeds the chi-square(1) 95 % point (3.84)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0)
    x, y = x[keep], y[keep]
    if len(x) < 5 or np.ptp(y) == 0:
        return None
    free = _search(x, y, 0.0)
    if free is None:
        return None
    smooth = _search(x, y, STEP_CHANGE)
    step = smooth is None or len(x) * math.log(max(smooth[0], 1e-300) / max(free[0], 1e-300)) > LR_95
    rss, r0, a, c_mid, b = free if step else smooth
    inside = all(lower - _TOL <= level <= upper + _TOL for level in (r0, a))
    kind = "out of range" if not inside else "step change" if step else "law"
    return SigmoidFit(r0, a, c_mid, b, math.sqrt(rss / len(x)), float(_width(c_mid, b)), kind)


@dataclass(frozen=True)
class SeedInterval:
    mean: float
    low: float
    high: float
    n: int  # seeds

    def to_dict(self) -> dict:
        return asdict(self)

    def cell(self, digits: int = 2) -> str:
        if self.n == 0:
            return "-"
        if self.n == 1:
            return f"{self.mean:.{digits}f} (1 seed)"
        return f"{self.mean:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def seed_interval(values, level: float = 0.95) -> SeedInterval:
    """Mean and Student-t interval of per-seed values (NaN dropped); one seed gives no interval (its value twice)."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], float)
    if len(v) == 0:
        return SeedInterval(math.nan, math.nan, math.nan, 0)
    mean = float(v.mean())
    if len(v) == 1:
        return SeedInterval(mean, mean, mean, 1)
    half = float(stats.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return SeedInterval(mean, mean - half, mean + half, len(v))


def difference_interval(a, b, level: float = 0.95) -> SeedInterval:
    """Mean of a minus mean of b with a Welch interval (independent seeds of two arms)."""
    a = np.asarray([x for x in a if np.isfinite(x)], float)
    b = np.asarray([x for x in b if np.isfinite(x)], float)
    if len(a) == 0 or len(b) == 0:
        return SeedInterval(math.nan, math.nan, math.nan, 0)
    diff = float(a.mean() - b.mean())
    if len(a) < 2 or len(b) < 2:
        return SeedInterval(diff, diff, diff, min(len(a), len(b)))
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return SeedInterval(diff, diff, diff, min(len(a), len(b)))
    dof = (va + vb) ** 2 / ((va**2 / (len(a) - 1) if va else 0) + (vb**2 / (len(b) - 1) if vb else 0) or 1e-300)
    half = float(stats.t.ppf(0.5 + level / 2, max(dof, 1.0)) * se)
    return SeedInterval(diff, diff - half, diff + half, min(len(a), len(b)))
