"""The four growth laws, y(x) for x > 0 (training step or cumulative generated tokens):
log_linear y = a + b·ln x; power y = c + a·x^b (b -> 0 is log_linear); saturating y = y_inf - (y_inf - y0)·exp(-x/tau);
sigmoid y = R0 + (A - R0) / (1 + (C_mid / x)^B), the bounded sigmoid of ScaleRL (arXiv 2510.13786).

Each is "constant + coefficient·v_g(x)" with its nonlinear parameters g (none; b; tau; C_mid and B), so a fit is an
exact linear solve profiled over g on a grid of any dimension, refined around each row's best, vectorised over
bootstrap replicates: no starting values and no optimiser that can fail silently. The grid ends bound g (see
`Law.grid`). The same fitter serves the analysis and the paper-in-miniature report (scaling/sigmoid.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Law:
    name: str
    formula: str
    params: tuple[str, ...]
    basis: Callable[[np.ndarray, np.ndarray], np.ndarray]  # (x / x_scale [n], g [G, d]) -> v [G, n]
    grid: Callable[[np.ndarray], tuple[np.ndarray, ...]] | None  # x / x_scale -> one axis per nonlinear parameter
    to_params: Callable[[np.ndarray, np.ndarray, np.ndarray, float], np.ndarray]  # (const, coef, g [R, d], scale)
    predict: Callable[[np.ndarray, np.ndarray], np.ndarray]  # (x [m], params [R, P]) -> [R, m]
    ends: Callable[[np.ndarray], np.ndarray]  # params [R, P] -> [R, 2]: y as x -> 0 and as x -> inf (+-inf: unbounded)
    # params [R, P] -> [R]: x from 10 % to 90 % of the rise of a law that levels off; None: the law has no rise that
    # completes (log_linear, power)
    width: Callable[[np.ndarray], np.ndarray] | None = None
    points: int = 21  # refinement: points per axis, spanning the best candidate's neighbours
    levels: int = 2  # refinements; each divides the spacing by (points - 1) / 2


def _log_basis(xn, g):
    return np.log(xn)[None, :]


def _power_basis(xn, g):
    return xn[None, :] ** g[:, 0:1]


def _sat_basis(xn, g):
    return np.exp(-xn[None, :] / g[:, 0:1])


def _sigmoid_basis(xn, g):
    """v = 1 / (1 + (c / x)^b) = (1 - tanh(b·ln(c / x) / 2)) / 2 for g = (ln c, ln b): no power that can overflow, and
    in place, since the refinement evaluates it for every candidate of every replicate (4x faster than with copies)."""
    v = g[:, 0:1] - np.log(xn)[None, :]
    v *= 0.5 * np.exp(g[:, 1:2])
    np.tanh(v, out=v)
    v *= -0.5
    v += 0.5
    return v


def sigmoid_grid(xn, n_c: int = 41, n_b: int = 21):
    """ln C_mid from a quarter of the first x to four times the last, ln B in [ln 0.25, ln 30]: a midpoint before the
    data or after it, a rise slower than a quarter power or as sharp as a jump, all reachable."""
    return np.linspace(math.log(xn.min() / 4), math.log(4.0), n_c), np.linspace(math.log(0.25), math.log(30.0), n_b)


def _sigmoid_width(p):
    """x from 10 % to 90 % of the rise: C_mid·(9^(1/B) - 9^(-1/B))."""
    return p[:, 2] * (9.0 ** (1.0 / p[:, 3]) - 9.0 ** (-1.0 / p[:, 3]))


def _power_ends(p):
    a, b, c = p[:, 0], p[:, 1], p[:, 2]
    with np.errstate(invalid="ignore"):
        grows = np.sign(a) * np.inf
        return np.stack([np.where(b > 0, c, -grows), np.where(b > 0, grows, c)], axis=1)


def _sigmoid_predict(x, p):
    with np.errstate(invalid="ignore", divide="ignore"):  # NaN rows (no fit) stay NaN
        v = _sigmoid_basis(x, np.stack([np.log(p[:, 2]), np.log(p[:, 3])], axis=1))
    return p[:, 1:2] + (p[:, 0:1] - p[:, 1:2]) * v


POWER_B = np.concatenate([-np.geomspace(3.0, 0.01, 60), np.geomspace(0.01, 3.0, 60)])
SATURATING_TAU = np.geomspace(1e-3, 30.0, 121)  # in x_scale units

LOG_LINEAR = Law(
    "log_linear",
    "y = a + b·ln(x)",
    ("a", "b"),
    _log_basis,
    None,
    lambda c, k, g, s: np.stack([c - k * np.log(s), k], axis=1),
    lambda x, p: p[:, :1] + p[:, 1:2] * np.log(x)[None, :],
    lambda p: np.stack([-np.sign(p[:, 1]) * np.inf, np.sign(p[:, 1]) * np.inf], axis=1),
)
POWER = Law(
    "power",
    "y = c + a·x^b",
    ("a", "b", "c"),
    _power_basis,
    lambda xn: (POWER_B,),
    lambda c, k, g, s: np.stack([k * s ** (-g[:, 0]), g[:, 0], c], axis=1),
    lambda x, p: p[:, 2:3] + p[:, 0:1] * x[None, :] ** p[:, 1:2],
    _power_ends,
)
SATURATING = Law(
    "saturating",
    "y = y_inf - (y_inf - y0)·exp(-x/tau)",
    ("y_inf", "y0", "tau"),
    _sat_basis,
    lambda xn: (SATURATING_TAU,),
    lambda c, k, g, s: np.stack([c, c + k, g[:, 0] * s], axis=1),
    lambda x, p: p[:, 0:1] - (p[:, 0:1] - p[:, 1:2]) * np.exp(-x[None, :] / p[:, 2:3]),
    lambda p: p[:, [1, 0]],
    width=lambda p: p[:, 2] * math.log(9.0),  # exp(-x/tau) from 0.9 to 0.1
)
SIGMOID = Law(
    "sigmoid",
    "y = R0 + (A - R0) / (1 + (C_mid/x)^B)",
    ("A", "R0", "C_mid", "B"),
    _sigmoid_basis,
    sigmoid_grid,
    lambda c, k, g, s: np.stack([c + k, c, np.exp(g[:, 0]) * s, np.exp(g[:, 1])], axis=1),
    _sigmoid_predict,
    lambda p: p[:, [1, 0]],
    width=_sigmoid_width,
    # The bootstrap fits it some 20 x 300 times per series, so the search is lean: 41 x 21 grid points, then 5 x 5
    # around each row's best six times (the spacing halves each time: 1/64 of the grid's, C_mid and B to about
    # 0.3 %; at 1/32, B's replicates fell on so few values that its interval held the truth in 17 of 20 runs).
    # scaling/sigmoid.py searches the same law more finely for the paper-in-miniature report.
    points=5,
    levels=6,
)
LAWS = {law.name: law for law in (LOG_LINEAR, POWER, SATURATING, SIGMOID)}


def _solve(v: np.ndarray, ys: np.ndarray):
    """Least squares of each row of ys [R, n] on (1, v_g) for every g in v [G, n]: (score, const, coef) [G, R]."""
    vc = v - v.mean(axis=1, keepdims=True)
    yc = ys - ys.mean(axis=1, keepdims=True)
    cvv = np.einsum("gn,gn->g", vc, vc)
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = np.isfinite(cvv) & (cvv > 1e-12 * np.maximum(1.0, np.abs(v).max(axis=1)) ** 2)
        cvy = vc @ yc.T
        coef = np.where(ok[:, None], cvy / cvv[:, None], np.nan)
        score = np.where(ok[:, None] & np.isfinite(cvy), cvy * coef, -np.inf)  # = RSS reduction
    const = ys.mean(axis=1)[None, :] - coef * v.mean(axis=1)[:, None]
    return score, const, coef


def _refine(law: Law, xn: np.ndarray, fine: np.ndarray, ys: np.ndarray):
    """(score, const, coef) [F, R] for per-row candidates fine [F, R, d]: all candidates at once, in row chunks."""
    f, r, d = fine.shape
    score, const, coef = (np.full((f, r), -np.inf) for _ in range(3))
    # each [F, chunk, n] array near 2 MB, so the products stay in cache: 22 % less CPU than 32 MB, same numbers
    chunk = max(1, 250_000 // (f * len(xn)))
    for start in range(0, r, chunk):
        sl = slice(start, start + chunk)
        v = law.basis(xn, fine[:, sl].reshape(-1, d)).reshape(f, -1, len(xn))  # [F, c, n]
        vm = v.mean(axis=2)
        vc = v - vm[..., None]
        yc = ys[sl] - ys[sl].mean(axis=1, keepdims=True)
        cvv = np.einsum("fcn,fcn->fc", vc, vc)
        cvy = np.einsum("fcn,cn->fc", vc, yc)
        with np.errstate(divide="ignore", invalid="ignore"):
            k = cvy / cvv
            good = np.isfinite(k) & (cvv > 1e-12)
            score[:, sl] = np.where(good, k * cvy, -np.inf)
        coef[:, sl] = k
        const[:, sl] = ys[sl].mean(axis=1)[None, :] - k * vm
    return score, const, coef


def _narrow(law: Law, g: np.ndarray, scale: float, min_width: float) -> np.ndarray:
    """[...] True where candidates g [..., d] rise faster than min_width (x units): they are not searched."""
    if min_width <= 0 or law.width is None:
        return np.zeros(g.shape[:-1], bool)
    flat = g.reshape(-1, g.shape[-1])
    params = law.to_params(np.zeros(len(flat)), np.zeros(len(flat)), flat, scale)  # the width needs no level
    return law.width(params).reshape(g.shape[:-1]) < min_width


def fit(law: Law, x: np.ndarray, ys: np.ndarray, min_width: float = 0.0) -> np.ndarray:
    """Least-squares parameters [R, P] of `law` for each row of ys [R, n] (NaN rows where it cannot fit).

    x must be > 0. The nonlinear parameters are found on the grid (every combination of the axes), then refined
    `law.levels` times on `law.points` per axis spanning each row's neighbouring grid values, so a 1-D parameter is
    exact to about 1 % of the grid spacing. `min_width` > 0 leaves out rises narrower than that (x units; laws with
    a `width`): the smoothest fit the data allow, which scaling/kind.py weighs against the free one.
    """
    x = np.asarray(x, float)
    ys = np.atleast_2d(np.asarray(ys, float))
    scale = float(x.max())
    xn = x / scale
    rows = np.arange(ys.shape[0])
    if law.grid is None:
        score, const, coef = _solve(law.basis(xn, np.zeros((1, 0))), ys)
        return law.to_params(const[0], coef[0], np.zeros((len(ys), 0)), scale)
    axes = law.grid(xn)
    mesh = np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], axis=1)  # [G, d]
    score, const, coef = _solve(law.basis(xn, mesh), ys)
    score[_narrow(law, mesh, scale, min_width)] = -np.inf
    best = np.unravel_index(np.argmax(score, axis=0), tuple(len(a) for a in axes))  # d arrays [R]
    lo = np.stack([a[np.clip(i - 1, 0, len(a) - 1)] for a, i in zip(axes, best)], axis=1)  # [R, d]
    hi = np.stack([a[np.clip(i + 1, 0, len(a) - 1)] for a, i in zip(axes, best)], axis=1)
    g = np.stack([a[i] for a, i in zip(axes, best)], axis=1)
    for _ in range(law.levels):
        per_axis = np.linspace(lo, hi, law.points)  # [p, R, d]: each replicate refines around its own optimum
        fine = np.stack([m.reshape(-1, len(rows)) for m in _product(per_axis)], axis=2)  # [p^d, R, d]
        f_score, f_const, f_coef = _refine(law, xn, fine, ys)
        f_score[_narrow(law, fine, scale, min_width)] = -np.inf
        pick = np.argmax(f_score, axis=0)
        g = fine[pick, rows]
        step = (hi - lo) / (law.points - 1)
        lo, hi = g - step, g + step
        const, coef = f_const[pick, rows], f_coef[pick, rows]
        if law is POWER:  # b = 0 makes the basis constant: stay off it
            lo = np.where((lo < 0) & (g > 0), 1e-4, lo)
            hi = np.where((hi > 0) & (g < 0), -1e-4, hi)
    bad = ~np.isfinite(f_score[pick, rows])
    params = law.to_params(const, coef, g, scale)
    params[bad] = np.nan
    return params


def _product(per_axis: np.ndarray) -> list[np.ndarray]:
    """per_axis [p, R, d] -> d arrays [p, ..., p, R]: every combination of the axes' points, for every row."""
    p, r, d = per_axis.shape
    out = []
    for k in range(d):
        shape = [1] * d + [r]
        shape[k] = p
        out.append(np.broadcast_to(per_axis[:, :, k].reshape(shape), (p,) * d + (r,)))
    return out
