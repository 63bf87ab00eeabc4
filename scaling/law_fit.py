"""One law's fit to one series: its parameters with their intervals, its errors, and what the fit may be called.

Its own module, below both the fitting (scaling/fit.py, which makes LawFits and gathers them in a SeriesFit) and the
extrapolation's verdict (scaling/uncertainty.py, which reads them), so that neither of those imports the other back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scaling.laws import LAWS


@dataclass
class Param:
    name: str
    value: float
    ci_low: float
    ci_high: float


@dataclass
class LawFit:
    law: str
    formula: str
    params: list[Param]
    rmse: float  # in-sample, all points
    cv_rmse: float  # rolling-origin forecast RMSE (scaling/choice.py); the choice is made on it
    r2: float
    lag1: float  # lag-1 autocorrelation of the residuals, in step order
    structured: bool  # lag1 above choice.flag_threshold(n): the law misses structure in the curve
    boot_ok: int  # bootstrap replicates that fitted
    at_bound: bool = False  # the nonlinear parameter sits on its grid end: the law does not really fit
    kind: str = "law"  # or "step change", "out of range" (scaling/kind.py)
    kind_reason: str = ""
    boot: np.ndarray = field(default=None, repr=False)  # [B, P] bootstrap parameters (not serialised)

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)

    def predict(self, x) -> np.ndarray:
        return LAWS[self.law].predict(np.asarray(x, float), np.array([[p.value for p in self.params]]))[0]

    def band(self, x, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Pointwise interval of this law's mean curve at x, given the law (its own bootstrap)."""
        curves = LAWS[self.law].predict(np.asarray(x, float), self.boot)
        q = 50 * (1 - level)
        return np.nanpercentile(curves, q, axis=0), np.nanpercentile(curves, 100 - q, axis=0)
