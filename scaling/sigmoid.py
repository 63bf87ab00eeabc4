"""The bounded sigmoid for short runs, and intervals across seeds.

Why: the open-ended laws extrapolate; a rate such as code use or accuracy is bounded, and a short run mostly shows
where it levels off. ScaleRL (arXiv 2510.13786) fits R = R0 + (A - R0) / (1 + (C_mid / C)^B): a ceiling A, a starting
level R0, a midpoint C_mid (steps, or tokens) and a steepness B. It is one of the analysis' laws (scaling/laws.py
`SIGMOID`), and this report fits it with the same fitter: R0 and A - R0 are a linear solve for each (C_mid, B) on a
log grid, refined around the best, so there is no starting value and no optimiser to fail silently.

What a fit may be called (`SigmoidFit.kind`) is the analysis' rule too (scaling/kind.py): "law"; "step change" (the
rise completes within two steps and a wider rise fits clearly worse); "out of range" (a level leaves [lower, upper]:
a negative rate, a ceiling above 1). A claim's interval is over seeds (`seed_interval`), never over one run's points.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np
from scipy import stats

from scaling.kind import judge
from scaling.laws import SIGMOID, fit, sigmoid_grid

# The same law, searched finely: 81 x 41 grid points, then 21 x 21 around the best twice (1/100 of the grid's
# spacing), with neither the analysis' Newton steps nor its faster basis: the search, to the last digit, that this
# report's committed numbers were made with. It fits one curve per seed, so the cost is nothing; the analysis'
# bootstrap fits the sigmoid some 20 x 300 times per series and searches leaner (scaling/laws.py SIGMOID). The two
# agree to their searches' resolution, not to the last digit.
REPORT_SIGMOID = replace(
    SIGMOID, grid=lambda xn: sigmoid_grid(xn, 81, 41), points=21, levels=2, vertex=False, product_basis=None
)


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
        return SIGMOID.predict(np.asarray(x, float), np.array([[self.a, self.r0, self.c_mid, self.b]]))[0]

    def to_dict(self) -> dict:
        return asdict(self)


def fit_sigmoid(x, y, lower: float = 0.0, upper: float = 1.0) -> SigmoidFit | None:
    """The least-squares bounded sigmoid of y against x (steps, > 0) and its kind; None with fewer than 5 finite
    points or a flat y. `lower`/`upper`: the physical range of its levels (a rate: [0, 1]; a length: [0, inf])."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0)
    x, y = x[keep], y[keep]
    if len(x) < 5 or np.ptp(y) == 0:
        return None
    free = fit(REPORT_SIGMOID, x, y[None])[0]
    if not np.isfinite(free).all():
        return None
    kind = judge(REPORT_SIGMOID, x, y, free, (lower, upper), steps=True)
    a, r0, c_mid, b = kind.theta
    rmse = math.sqrt(float(np.mean((SIGMOID.predict(x, kind.theta[None])[0] - y) ** 2)))
    return SigmoidFit(r0, a, c_mid, b, rmse, float(SIGMOID.width(kind.theta[None])[0]), kind.kind)


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
