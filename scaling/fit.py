"""Fit the three laws to one series, choose one by held-out error, and put intervals on everything.

Choice: lowest RMSE on the last `holdout` of the points when fitted on the rest ("does it predict later
training"), a law with fewer parameters winning within 5 %; parameters come from a refit on all points.
Intervals: seeded wild bootstrap (residuals times random signs), robust to noise that changes with x;
extrapolation gives the mean-curve interval and a prediction interval for one future logged value.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import asdict, dataclass, field

import numpy as np

from scaling.laws import LAWS, POWER, SATURATING, Law, fit

AUTOCORRELATION_NOTE = 0.5  # [ours] lag-1 r of the residuals above this gets a note (i.i.d. noise gives ~0)
PARSIMONY = 0.05  # [ours] 5 %: log_linear is power's b -> 0 limit; on log-like data both score alike


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
    heldout_rmse: float  # fitted on the first part, scored on the held-out tail
    r2: float
    boot_ok: int  # bootstrap replicates that fitted
    at_bound: bool = False  # the nonlinear parameter sits on its grid end: the law does not really fit
    boot: np.ndarray = field(default=None, repr=False)  # [B, P] bootstrap parameters (not serialised)

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)

    def predict(self, x) -> np.ndarray:
        return LAWS[self.law].predict(np.asarray(x, float), np.array([[p.value for p in self.params]]))[0]

    def band(self, x, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Pointwise interval of the mean curve at x, from the bootstrap replicates."""
        curves = LAWS[self.law].predict(np.asarray(x, float), self.boot)
        q = 50 * (1 - level)
        return np.nanpercentile(curves, q, axis=0), np.nanpercentile(curves, 100 - q, axis=0)


@dataclass
class Extrapolation:
    x: float
    value: float
    ci_low: float  # the mean curve
    ci_high: float
    pi_low: float  # one future logged value (curve + noise)
    pi_high: float


@dataclass
class SeriesFit:
    run: str
    series: str
    key: str
    axis: str  # "step" or "tokens"
    n_points: int
    x_min: float
    x_max: float
    chosen: str | None
    fits: dict[str, LawFit]
    extrapolation: Extrapolation | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def best(self) -> LawFit | None:
        return self.fits.get(self.chosen) if self.chosen else None

    def to_dict(self) -> dict:
        out = asdict(self)
        for law_fit in out["fits"].values():
            law_fit.pop("boot")
        return _finite(out)


def _finite(obj):
    """JSON has no NaN/inf: write them as null."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


def _at_bound(law: Law, theta: np.ndarray, scale: float) -> bool:
    if law is POWER:
        return bool(abs(theta[1]) >= 2.999 or abs(theta[1]) <= 2e-4)
    if law is SATURATING:
        g = theta[2] / scale
        return bool(g <= SATURATING.grid[0] * 1.001 or g >= SATURATING.grid[-1] * 0.999)
    return False


def series_seed(seed: int, *parts: str) -> int:
    """A stable per-series seed, so adding a run does not change another run's intervals."""
    return zlib.crc32("|".join([str(seed), *parts]).encode())


def fit_series(
    x,
    y,
    *,
    run: str = "",
    series: str = "",
    key: str = "",
    axis: str = "step",
    holdout: float = 0.2,
    n_boot: int = 200,
    level: float = 0.95,
    seed: int = 0,
    extrapolate_to: float | None = None,
    min_points: int = 6,
    bounds: tuple[float, float] | None = None,
) -> SeriesFit:
    """All three laws on (x, y); non-finite points and x <= 0 are dropped with a note, never fatal."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    notes = []
    keep = np.isfinite(x) & np.isfinite(y)
    if (~keep).any():
        notes.append(f"{int((~keep).sum())} non-finite point(s) dropped")
    if (keep & (x <= 0)).any():
        notes.append(f"{int((keep & (x <= 0)).sum())} point(s) at x <= 0 (before training) shown, not fitted")
    keep &= x > 0
    order = np.argsort(x[keep], kind="stable")
    x, y = x[keep][order], y[keep][order]
    x_min, x_max = (float(x.min()), float(x.max())) if len(x) else (math.nan, math.nan)
    result = SeriesFit(
        run, series, key, axis, n_points=len(x), x_min=x_min, x_max=x_max, chosen=None, fits={}, notes=notes
    )
    if len(x) < min_points:
        notes.append(f"too few points to fit ({len(x)} < {min_points})")
        return result
    if np.ptp(y) <= 1e-12 * max(1.0, abs(y).max()):
        notes.append(f"constant series (all {y[0]:.4g}): nothing to fit")
        return result
    if np.ptp(x) == 0:
        notes.append("all points at one x: nothing to fit")
        return result
    n_test = max(1, math.ceil(holdout * len(x)))
    n_train = len(x) - n_test
    rng = np.random.default_rng(series_seed(seed, run, key, axis))
    signs = rng.choice([-1.0, 1.0], size=(n_boot, len(x)))
    noise_pick = rng.integers(0, len(x), size=n_boot)
    noise_sign = rng.choice([-1.0, 1.0], size=n_boot)
    q = 50 * (1 - level)
    extrapolations: dict[str, Extrapolation] = {}
    for law in LAWS.values():
        p = len(law.params)
        heldout = math.nan
        if n_train >= p + 1:
            theta_train = fit(law, x[:n_train], y[:n_train])[0]
            if np.isfinite(theta_train).all():
                heldout = _rmse(law.predict(x[n_train:], theta_train[None])[0], y[n_train:])
        theta = fit(law, x, y)[0]
        if not np.isfinite(theta).all():
            notes.append(f"{law.name}: did not fit")
            continue
        yhat = law.predict(x, theta[None])[0]
        resid = y - yhat
        boot = fit(law, x, yhat[None, :] + resid[None, :] * signs)
        ok = np.isfinite(boot).all(axis=1)
        lo, hi = np.nanpercentile(boot[ok], [q, 100 - q], axis=0) if ok.any() else (theta * np.nan,) * 2
        params = [Param(n, float(v), float(a), float(b)) for n, v, a, b in zip(law.params, theta, lo, hi)]
        ss_tot = float(np.sum((y - y.mean()) ** 2))
        law_fit = LawFit(
            law=law.name,
            formula=law.formula,
            params=params,
            rmse=_rmse(yhat, y),
            heldout_rmse=heldout,
            r2=1 - float(np.sum(resid**2)) / ss_tot,
            boot_ok=int(ok.sum()),
            at_bound=_at_bound(law, theta, x.max()),
            boot=boot[ok],
        )
        if law_fit.at_bound:
            notes.append(f"{law.name}: its nonlinear parameter sits on the search bound; read it as 'no curvature'")
        result.fits[law.name] = law_fit
        if extrapolate_to is not None and axis == "step":
            extrapolations[law.name] = _extrapolate(
                law,
                theta,
                law_fit.boot,
                resid * math.sqrt(len(x) / (len(x) - p)),
                float(extrapolate_to),
                noise_pick[ok],
                noise_sign[ok],
                q,
            )
    scored = {n: f.heldout_rmse for n, f in result.fits.items() if math.isfinite(f.heldout_rmse)}
    if scored:
        best = min(scored.values())
        # parsimony: a law with fewer parameters within PARSIMONY of the best held-out error wins
        close = [n for n in scored if scored[n] <= best * (1 + PARSIMONY)]
        result.chosen = min(close, key=lambda n: (len(LAWS[n].params), scored[n]))
    elif result.fits:
        result.chosen = min(result.fits, key=lambda n: result.fits[n].rmse)
        notes.append(f"too few points to hold out {n_test}; chose by in-sample RMSE")
    if result.chosen and extrapolate_to is not None and axis == "step":
        result.extrapolation = extrapolations[result.chosen]
        if bounds is not None:
            result.extrapolation = _clip(result.extrapolation, bounds, notes)
    if result.chosen and len(x) >= 10:
        r = y - result.best.predict(x)
        lag1 = float(np.corrcoef(r[:-1], r[1:])[0, 1]) if np.ptp(r) > 0 else 0.0
        if lag1 > AUTOCORRELATION_NOTE:
            notes.append(
                f"residuals are autocorrelated (lag-1 r = {lag1:.2f}): the law misses structure and its "
                "intervals are likely too narrow"
            )
    return result


def _clip(e: Extrapolation, bounds: tuple[float, float], notes: list[str]) -> Extrapolation:
    """A share or an accuracy cannot leave its range, whatever an unbounded law says beyond the data."""
    lo, hi = bounds
    vals = [e.value, e.ci_low, e.ci_high, e.pi_low, e.pi_high]
    clipped = [min(max(v, lo), hi) if math.isfinite(v) else v for v in vals]
    if clipped != vals:
        notes.append(
            f"extrapolation to step {e.x:g} clipped to [{lo:g}, {hi:g}]: the law leaves the series' range there"
        )
    return Extrapolation(e.x, *clipped)


def _extrapolate(law, theta, boot, resid, x_star, pick, sign, q) -> Extrapolation:
    xs = np.array([x_star])
    value = float(law.predict(xs, theta[None])[0, 0])
    curves = law.predict(xs, boot)[:, 0]
    noisy = curves + resid[pick[: len(curves)]] * sign[: len(curves)]
    ci = np.nanpercentile(curves, [q, 100 - q]) if len(curves) else (math.nan, math.nan)
    pi = np.nanpercentile(noisy, [q, 100 - q]) if len(curves) else (math.nan, math.nan)
    return Extrapolation(x_star, value, float(ci[0]), float(ci[1]), float(pi[0]), float(pi[1]))
