"""Fit the four laws to one series, choose one, say what each fit may be called, and put intervals on everything.

Choice: scaling/choice.py (rolling-origin forecast error; a law with structured residuals is set aside while
an unflagged law fits comparably). Parameter intervals are conditional on their law: a seeded wild bootstrap
around that law's fit (residuals times random signs, robust to noise that changes with x). Curve bands and
extrapolations include the uncertainty of *which* law: every bootstrap replicate repeats the choice, and the
interval is taken over the replicate curves of whichever law each replicate chose (scaling/uncertainty.py).
Each law's fit on the data is judged by scaling/kind.py ("law", "step change", "out of range"); the judgement labels
it and can make an extrapolation unreliable, it does not enter the choice (which is about forecasts).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import asdict, dataclass, field

import numpy as np

from scaling import blas, choice
from scaling.kind import judge
from scaling.law_fit import LawFit, Param
from scaling.laws import LAWS, POWER, SATURATING, SATURATING_TAU, SIGMOID, Law, fit
from scaling.uncertainty import Extrapolation, ModelBootstrap, World, extrapolate

PARSIMONY = choice.PARSIMONY


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
    shares: dict[str, float] = field(default_factory=dict)  # share of bootstrap replicates choosing each law
    weights: dict[str, float] = field(default_factory=dict)  # weight of each law's bootstrap world
    extrapolation: Extrapolation | None = None
    notes: list[str] = field(default_factory=list)
    mixture: ModelBootstrap | None = field(default=None, repr=False)  # not serialised

    @property
    def best(self) -> LawFit | None:
        return self.fits.get(self.chosen) if self.chosen else None

    def band(self, x, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Pointwise interval of the mean curve at x, including the choice of law."""
        if self.mixture is None:
            return self.best.band(x, level)
        return self.mixture.band(np.asarray(x, float), level)

    def to_dict(self) -> dict:
        out = asdict(self)
        out.pop("mixture")
        for law_fit in out["fits"].values():
            law_fit.pop("boot")
        return _finite(out)


def _finite(obj):
    """JSON has no NaN/inf: write them as null."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


def _at_bound(law: Law, theta: np.ndarray, x: np.ndarray) -> bool:
    scale = x.max()
    if law is POWER:
        return bool(abs(theta[1]) >= 2.999 or abs(theta[1]) <= 2e-4)
    if law is SATURATING:
        g = theta[2] / scale
        return bool(g <= SATURATING_TAU[0] * 1.001 or g >= SATURATING_TAU[-1] * 0.999)
    if law is SIGMOID:
        ln_c, ln_b = SIGMOID.grid(x / scale)
        g = math.log(theta[2] / scale), math.log(theta[3])
        return any(
            v <= a[0] + 1e-3 * (a[-1] - a[0]) or v >= a[-1] - 1e-3 * (a[-1] - a[0]) for v, a in zip(g, (ln_c, ln_b))
        )
    return False


AT_BOUND = {  # what a nonlinear parameter on its search bound means, per law
    "sigmoid": "C_mid or B sits on its search bound: the data do not resolve the rise (its midpoint lies outside them, "
    "or it is a jump)",
}


def series_seed(seed: int, *parts: str) -> int:
    """A stable per-series seed, so adding a run does not change another run's intervals."""
    return zlib.crc32("|".join([str(seed), *parts]).encode())


def _scores(law: Law, x, ys, folds) -> np.ndarray:
    """Rolling-origin RMSE, or in-sample RMSE when the series is too short for any origin."""
    if folds:
        return choice.cv_rmse(law, x, ys, folds)
    theta = fit(law, x, ys)
    return np.sqrt(np.mean((law.predict(x, theta) - ys) ** 2, axis=1))


def _handicap(scores: np.ndarray, i: int) -> np.ndarray:
    """[R] log of law i's forecast error over its best rival's: > 0 where another law forecasts better."""
    rivals = np.delete(scores, i, axis=0)
    if not len(rivals):
        return np.zeros(scores.shape[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(scores[i]) - np.log(np.nanmin(rivals, axis=0))


def _select(x, ys, folds, names):
    """Fit every law in `names` to every row of ys and choose per row.

    Returns (pick index [R], params {law: [R, P]}, forecast scores [L, R], residual lag-1 r [L, R]).
    """
    n = len(x)
    scores, r1, params = [], [], {}
    for name in names:
        law = LAWS[name]
        theta = fit(law, x, ys)
        params[name] = theta
        scores.append(_scores(law, x, ys, folds))
        r1.append(choice.lag1(ys - law.predict(x, theta)))
    n_params = np.array([len(LAWS[name].params) for name in names])
    scores, r1 = np.array(scores), np.array(r1)
    return choice.choose(scores, r1 > choice.flag_threshold(n), n_params), params, scores, r1


def fit_series(
    x,
    y,
    *,
    run: str = "",
    series: str = "",
    key: str = "",
    axis: str = "step",
    origins: tuple[float, ...] = choice.ORIGINS,
    n_boot: int = 200,
    level: float = 0.95,
    seed: int = 0,
    extrapolate_to: float | None = None,
    min_points: int = 6,
    bounds: tuple[float, float] | None = None,
    notes: list[str] | tuple[str, ...] = (),
) -> SeriesFit:
    """Every law on (x, y); non-finite points and x <= 0 are dropped with a note, never fatal. `notes`: what
    was done to the series before (values dropped as out of range), kept first among the fit's notes. BLAS runs on
    one thread meanwhile (scaling/blas.py: the same numbers, several times faster on a busy machine)."""
    with blas.one_thread():
        return _fit_series(x, y, run, series, key, axis, origins, n_boot, level, seed, extrapolate_to, min_points,
                           bounds, notes)  # fmt: skip


def _fit_series(x, y, run, series, key, axis, origins, n_boot, level, seed, extrapolate_to, min_points, bounds, notes):
    x, y, point_notes = _fittable_points(np.asarray(x, float), np.asarray(y, float))
    notes = [*notes, *point_notes]
    n = len(x)
    x_min, x_max = (float(x.min()), float(x.max())) if n else (math.nan, math.nan)
    result = SeriesFit(run, series, key, axis, n_points=n, x_min=x_min, x_max=x_max, chosen=None, fits={}, notes=notes)
    why_not = _why_not_fitted(x, y, min_points)
    if why_not:
        notes.append(why_not)
        return result
    folds = choice.origins(n, origins)
    if not folds:
        notes.append(f"too few points ({n}) for rolling-origin forecasts; chose by in-sample RMSE")
    rng = np.random.default_rng(series_seed(seed, run, key, axis))
    signs = rng.choice([-1.0, 1.0], size=(n_boot, n))
    fitted = _fit_each_law(x, y, notes)
    if not fitted:
        return result
    names = list(fitted)
    pick, _, scores, r1_data = _select(x, y[None], folds, names)
    result.chosen = names[pick[0]] if pick[0] >= 0 else min(names, key=lambda m: _rmse(fitted[m][1], 0))
    worlds = _bootstrap_worlds(x, fitted, folds, scores, r1_data, signs, rng)
    mixture = ModelBootstrap.combine(names, worlds, names.index(result.chosen))
    result.mixture, result.shares, result.weights = mixture, mixture.shares(), mixture.world_weights
    for i, (name, (theta, resid)) in enumerate(fitted.items()):
        own = next(w for w in worlds if w.law == name).params[name]  # parameter intervals given this law
        result.fits[name] = _law_fit(name, theta, resid, x, y, own, float(scores[i][0]), level)
        kind = judge(LAWS[name], x, y, theta, bounds, steps=axis == "step")
        result.fits[name].kind, result.fits[name].kind_reason = kind.kind, kind.reason
        if result.fits[name].at_bound:
            why = AT_BOUND.get(name, "its nonlinear parameter sits on the search bound; read it as 'no curvature'")
            notes.append(f"{name}: {why}")
    if result.best.kind != "law":
        notes.append(f"{result.chosen}: {result.best.kind}, not a law ({result.best.kind_reason})")
    if result.best.structured:
        notes.append(_structure_note(result))
    if extrapolate_to is not None and axis == "step":
        if float(extrapolate_to) > x_max:
            result.extrapolation = extrapolate(
                result.fits, result.chosen, mixture, float(extrapolate_to), level, bounds, notes
            )
        else:
            notes.append(inside_note(float(extrapolate_to), x_max))
    return result


def inside_note(x_star: float, x_max: float) -> str:
    """Why a step inside the data gets no extrapolation: the fitted curve there is an interpolation, already in
    the table and the figure, and an interval 'beyond the data' would claim a forecast that is not one."""
    return f"extrapolate_to={x_star:g} is inside the data (last step {x_max:g}): not an extrapolation, none made"


def _fittable_points(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The finite points with x > 0, sorted by x (stable), and a note for each kind of point left out."""
    notes = []
    keep = np.isfinite(x) & np.isfinite(y)
    if (~keep).any():
        notes.append(f"{int((~keep).sum())} non-finite point(s) dropped")
    if (keep & (x <= 0)).any():
        notes.append(f"{int((keep & (x <= 0)).sum())} point(s) at x <= 0 (before training) shown, not fitted")
    keep &= x > 0
    order = np.argsort(x[keep], kind="stable")
    return x[keep][order], y[keep][order], notes


def _why_not_fitted(x: np.ndarray, y: np.ndarray, min_points: int) -> str | None:
    """Why these points cannot be fitted (too few, constant, all at one x), or None when they can."""
    if len(x) < min_points:
        return f"too few points to fit ({len(x)} < {min_points})"
    if np.ptp(y) <= 1e-12 * max(1.0, abs(y).max()):
        return f"constant series (all {y[0]:.4g}): nothing to fit"
    if np.ptp(x) == 0:
        return "all points at one x: nothing to fit"
    return None


def _fit_each_law(x: np.ndarray, y: np.ndarray, notes: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """law -> (parameters, residuals) for every law whose fit is finite; a note for each that is not."""
    fitted = {}
    for law in LAWS.values():
        theta = fit(law, x, y)[0]
        if np.isfinite(theta).all():
            fitted[law.name] = (theta, y - law.predict(x, theta[None])[0])
        else:
            notes.append(f"{law.name}: did not fit")
    return fitted


def _bootstrap_worlds(x, fitted, folds, scores, r1_data, signs, rng) -> list[World]:
    """One bootstrap world per law (its fit plus its residuals, times the wild bootstrap's `signs`); every
    replicate repeats the choice. A world is weighted by its p-value: how often it looks as bad for its own law
    as the data do."""
    n_boot, n = signs.shape
    names = list(fitted)
    worlds = []
    for i, (name, (theta, resid)) in enumerate(fitted.items()):
        inflate = math.sqrt(n / max(1, n - len(LAWS[name].params)))  # residuals underestimate the noise
        base = LAWS[name].predict(x, theta[None])
        picks, boots, world_scores, world_r1 = _select(x, base + resid * inflate * signs, folds, names)
        noise = resid[rng.integers(0, n, size=n_boot)] * inflate * rng.choice([-1.0, 1.0], size=n_boot)
        p = _world_p_value(i, scores, r1_data, world_scores, world_r1, n)
        worlds.append(World(name, picks, boots, noise, p))
    return worlds


def _world_p_value(i: int, scores, r1_data, world_scores, world_r1, n: int) -> float:
    """Two pieces of evidence against law i, as in the choice: it forecasts worse than a rival, and its
    residuals are autocorrelated; the share of law i's own world at least as bad, for the pair by Bonferroni."""
    p_forecast = np.mean(_handicap(world_scores, i) >= _handicap(scores, i)[0] - 1e-12)
    p_structure = np.mean(world_r1[i] >= r1_data[i, 0] - 1e-12) if n >= choice.MIN_FLAG_POINTS else 1.0
    return float(min(1.0, 2 * min(p_forecast, p_structure)))


def _law_fit(name, theta, resid, x, y, own, cv_rmse: float, level: float) -> LawFit:
    """One law's fit on all points, with the intervals of its own bootstrap world's parameters `own` [B, P]."""
    law = LAWS[name]
    q = 50 * (1 - level)
    ok = np.isfinite(own).all(axis=1)
    lo, hi = np.nanpercentile(own[ok], [q, 100 - q], axis=0) if ok.any() else (theta * np.nan,) * 2
    r1 = float(choice.lag1(resid)[0])
    return LawFit(
        law=name,
        formula=law.formula,
        params=[Param(p, float(v), float(a), float(b)) for p, v, a, b in zip(law.params, theta, lo, hi)],
        rmse=_rmse(resid, 0.0),
        cv_rmse=cv_rmse,
        r2=1 - float(np.sum(resid**2)) / float(np.sum((y - y.mean()) ** 2)),
        lag1=r1,
        structured=bool(r1 > choice.flag_threshold(len(x))),
        boot_ok=int(ok.sum()),
        at_bound=_at_bound(law, theta, x),
        boot=own[ok],
    )


def _structure_note(result: SeriesFit) -> str:
    """The note of a chosen law whose residuals are autocorrelated."""
    best, threshold = result.best, choice.flag_threshold(result.n_points)
    return (
        f"residuals are autocorrelated (lag-1 r = {best.lag1:.2f} > {threshold:.2f}): the law misses structure "
        "and its intervals are likely too narrow"
        + ("" if all(f.structured for f in result.fits.values()) else "; it forecasts clearly better than the others")
    )
