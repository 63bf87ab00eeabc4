"""Which law to believe: rolling-origin cross-validation, with laws whose residuals show structure set aside.

Score: each law is fitted on the points before an origin and predicts every point after it, for origins at
50, 60, 70 and 80 % of the points; the score is the RMSE of those forecasts (mean of the per-origin mean
squared errors). A law is used to extrapolate, and the origin at 50 % is exactly a 2x extrapolation, so
the score measures what the law is used for; four origins average out the luck of a single held-out tail.

Structure flag: the lag-1 autocorrelation of a law's residuals (all points) above z/sqrt(n), z = 2.33 (the
one-sided 1 % point for independent noise; the von Neumann / Durbin-Watson lack-of-fit idea). A law that
misses the shape of the curve leaves long runs of same-sign residuals; its bootstrap, which treats
residuals as independent, would then be too narrow.

Rule: choose among the unflagged laws whose score is within COMPARABLE of the best score of all laws; a
flagged law wins only when it forecasts clearly better than every unflagged one (or all are flagged).
Among the candidates the lowest score wins, a law with fewer parameters winning within PARSIMONY.
Everything is vectorised over rows (bootstrap replicates), so the bootstrap repeats the choice.
"""

from __future__ import annotations

import math

import numpy as np

from scaling.laws import LAWS, Law, fit

ORIGINS = (0.5, 0.6, 0.7, 0.8)  # [ours] the 0.5 origin is a 2x extrapolation, the longest we report
FLAG_Z = 2.33  # [ours] one-sided 1 % for the lag-1 autocorrelation of independent residuals (sd ~ 1/sqrt(n))
MIN_FLAG_POINTS = 10  # fewer residuals say too little about their order
COMPARABLE = 1.5  # [ours] an unflagged law whose score is within 1.5x of the best counts as fitting comparably
PARSIMONY = 0.05  # [ours] 5 %: log_linear is power's b -> 0 limit; on log-like data both score alike
MAX_PARAMS = max(len(law.params) for law in LAWS.values())


def origins(n: int, fractions=ORIGINS) -> list[int]:
    """Fold sizes: every law needs at least MAX_PARAMS + 2 points to fit before an origin, one after."""
    ks = sorted({math.ceil(f * n) for f in fractions})
    return [k for k in ks if MAX_PARAMS + 2 <= k < n]


def cv_rmse(law: Law, x: np.ndarray, ys: np.ndarray, folds: list[int]) -> np.ndarray:
    """Rolling-origin forecast RMSE [R] of `law` for each row of ys [R, n] (NaN where a fold did not fit)."""
    ys = np.atleast_2d(ys)
    mse = np.zeros(ys.shape[0])
    for k in folds:
        theta = fit(law, x[:k], ys[:, :k])
        err = law.predict(x[k:], theta) - ys[:, k:]
        mse += np.mean(err**2, axis=1)  # NaN rows (no fit) stay NaN
    return np.sqrt(mse / len(folds)) if folds else np.full(ys.shape[0], np.nan)


def lag1(resid: np.ndarray) -> np.ndarray:
    """Lag-1 autocorrelation [R] of each row of residuals [R, n] (0 for a flat row)."""
    r = np.atleast_2d(resid)
    r = r - r.mean(axis=1, keepdims=True)
    den = np.sum(r**2, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.sum(r[:, 1:] * r[:, :-1], axis=1) / den
    return np.where(den > 0, out, 0.0)


def flag_threshold(n: int) -> float:
    return FLAG_Z / math.sqrt(n) if n >= MIN_FLAG_POINTS else math.inf


def choose(scores: np.ndarray, flagged: np.ndarray, n_params: np.ndarray) -> np.ndarray:
    """Index [R] of the chosen law per row: scores, flagged [L, R]; n_params [L]. -1 where no law scored."""
    ok = np.isfinite(scores)
    best = np.where(ok, scores, np.inf).min(axis=0)
    eligible = ok & ~flagged & (scores <= COMPARABLE * best)
    none = ~eligible.any(axis=0)
    eligible[:, none] = ok[:, none]  # every law flagged, or only flagged laws forecast well: all compete
    score = np.where(eligible, scores, np.inf)
    top = score.min(axis=0)
    close = score <= top * (1 + PARSIMONY)
    with np.errstate(invalid="ignore", divide="ignore"):
        key = np.where(close, n_params[:, None] * 10.0 + score / (top * (1 + PARSIMONY) + 1e-300), np.inf)
    pick = np.argmin(key, axis=0)
    return np.where(np.isfinite(top), pick, -1)
