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
    vertex: bool = False  # after the refinements, step to the vertex of the score's quadratic (`_vertex`)
    # (xn [n], per_axis [p, R, d]) -> v [p^d, R, n]: the basis of every combination of each row's points per axis, in
    # `_product`'s order; for a law whose form separates, cheaper than `basis` on the combinations. None: `basis`
    product_basis: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None


def _log_basis(xn, g):
    return np.log(xn)[None, :]


def _power_basis(xn, g):
    return xn[None, :] ** g[:, 0:1]


def _sat_basis(xn, g):
    return np.exp(-xn[None, :] / g[:, 0:1])


def _sigmoid_basis(xn, g):
    """v = 1 / (1 + (c / x)^b) = (1 - tanh(b·ln(c / x) / 2)) / 2 for g = (ln c, ln b): no power that can overflow, and
    in place (4x faster than with copies). The grid, the Newton steps and the report's search use it; the analysis'
    refinement rounds use `_sigmoid_product_basis`."""
    v = g[:, 0:1] - np.log(xn)[None, :]
    v *= 0.5 * np.exp(g[:, 1:2])
    np.tanh(v, out=v)
    v *= -0.5
    v += 0.5
    return v


def _sigmoid_product_basis(xn, per_axis):
    """The sigmoid's basis for every (ln c_i, ln b_j) of each row, as 1 / (1 + E_ij·X_j(x)) with X_j = (m / x)^b_j
    and E_ij = (c_i / m)^b_j around the row's middle c, m: one exp per b and x instead of a tanh per candidate and x
    (the refinement's largest cost), the same value to rounding. X overflowing to inf gives v = 0, its limit; E stays
    finite (c_i within a grid spacing of m)."""
    p, r, _ = per_axis.shape
    ln_c, b = per_axis[:, :, 0], np.exp(per_axis[:, :, 1])  # [p, R]
    m = ln_c[(p - 1) // 2]  # [R]
    with np.errstate(over="ignore"):
        x_part = np.exp(b[:, :, None] * (m[None, :, None] - np.log(xn)[None, None, :]))  # [p(b), R, n]
        e_part = np.exp(b[None, :, :] * (ln_c[:, None, :] - m[None, None, :]))  # [p(c), p(b), R]
        v = e_part[..., None] * x_part[None]  # [p(c), p(b), R, n]
    v += 1.0
    np.reciprocal(v, out=v)
    return v.reshape(p * p, r, len(xn))


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
    # The bootstrap fits it some 20 x 300 times per series, so the search is lean: 41 x 21 grid points, 5 x 5 around
    # each row's best four times (the spacing halves each time, to 1/16 of the grid's), then two Newton steps
    # (`_vertex`). Against a search to 1/10^4 of the grid on 300 noisy replicates of sigmoid or saturating data, C_mid
    # and B came within 0.005 % of its optimum in 99 % of them, and the residual sum of squares was lower than with
    # the six halvings used before (to 1/64: 0.26 %, on so few values that B's interval held the truth in 17 of 20
    # runs at 1/32) in every replicate, for 36 % less CPU (docs/analysis.md "How the fit works").
    # scaling/sigmoid.py searches the same law more finely for the paper-in-miniature report.
    points=5,
    levels=4,
    vertex=True,
    product_basis=_sigmoid_product_basis,
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


def _refine(law: Law, xn: np.ndarray, fine: np.ndarray, ys: np.ndarray, per_axis: np.ndarray | None = None):
    """(score, const, coef) [F, R] for per-row candidates fine [F, R, d]: all candidates at once, in row chunks.
    `per_axis` [p, R, d]: the points fine combines (`_product`), for a law with a `product_basis`."""
    f, r, d = fine.shape
    score, const, coef = (np.full((f, r), -np.inf) for _ in range(3))
    # each [F, chunk, n] array near 2 MB, so the products stay in cache: 22 % less CPU than 32 MB, same numbers
    chunk = max(1, 250_000 // (f * len(xn)))
    for start in range(0, r, chunk):
        sl = slice(start, start + chunk)
        if per_axis is not None and law.product_basis is not None:
            v = law.product_basis(xn, per_axis[:, sl])  # [F, c, n]
        else:
            v = law.basis(xn, fine[:, sl].reshape(-1, d)).reshape(f, -1, len(xn))
        vm = v.mean(axis=2)
        vc = v
        vc -= vm[..., None]  # in place: the basis is a fresh array, so one [F, c, n] copy fewer
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
    exact to about 1 % of the grid spacing; a law with `vertex` then steps to its score's quadratic vertex.
    `min_width` > 0 leaves out rises narrower than that (x units; laws with a `width`): the smoothest fit the data
    allow, which scaling/kind.py weighs against the free one.
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
        fine, f_score, f_const, f_coef = _candidates(law, xn, ys, lo, hi, scale, min_width)
        pick = np.argmax(f_score, axis=0)
        g = fine[pick, rows]
        step = (hi - lo) / (law.points - 1)
        lo, hi = g - step, g + step
        const, coef = f_const[pick, rows], f_coef[pick, rows]
        if law is POWER:  # b = 0 makes the basis constant: stay off it
            lo = np.where((lo < 0) & (g > 0), 1e-4, lo)
            hi = np.where((hi > 0) & (g < 0), -1e-4, hi)
    bad = ~np.isfinite(f_score[pick, rows])
    if law.vertex:
        g, const, coef = _vertex(law, xn, ys, min_width, scale, axes, fine, f_score, f_const, f_coef, pick)
    params = law.to_params(const, coef, g, scale)
    params[bad] = np.nan
    return params


def _candidates(law: Law, xn, ys, lo, hi, scale: float, min_width: float, points: int | None = None):
    """`points` (default `law.points`) per axis from lo to hi [R, d], every combination, for each row: (fine [F, R, d],
    score, const, coef [F, R]), the candidates narrower than min_width scored -inf."""
    per_axis = np.linspace(lo, hi, points or law.points)  # [p, R, d]: each replicate refines around its own optimum
    fine = np.stack([m.reshape(-1, len(ys)) for m in _product(per_axis)], axis=2)  # [p^d, R, d]
    f_score, f_const, f_coef = _refine(law, xn, fine, ys, per_axis)
    f_score[_narrow(law, fine, scale, min_width)] = -np.inf
    return fine, f_score, f_const, f_coef


RECENTRE = 3  # at most this many extra rounds for rows whose best lies on the edge of their candidates
REACH = 2.0  # a vertex step goes at most this many spacings along each axis
NEWTON = 2  # vertex steps; the second from a fresh 3 x 3 around the first at half the spacing


def _vertex(law, xn, ys, min_width, scale, axes, fine, f_score, f_const, f_coef, pick):
    """From each row's best of the last refinement, Newton steps to the vertex of the quadratic through the best
    and its neighbours (central differences of the scores, in candidate spacings; at most REACH spacings), each kept
    only where it scores at least as well: never worse than the best candidate. The second step starts from a fresh
    3^d stencil at half the spacing around the first. A row whose best lies on the edge of its candidates (the
    optimum is further along a ridge) first gets up to RECENTRE more rounds at the same spacing around it, on that
    row alone, while it lies inside the grid (beyond it the law does not fit: `fit.AT_BOUND`).
    Returns (g [R, d], const, coef [R]).

    Why: each halving of the spacing costs a full round of candidates for every row, while near the optimum the
    score is a smooth quadratic in g, so two steps from a coarser spacing land closer to the least-squares optimum
    than more halvings do (docs/analysis.md "How the fit works"; tests/scaling/test_laws.py), for 3^d + 2 candidates
    per row instead of a round of points^d."""
    _, r, d = fine.shape
    p = law.points
    rows = np.arange(r)
    strides = np.array([p ** (d - 1 - k) for k in range(d)])
    spacing = np.stack([fine[strides[k], rows, k] - fine[0, rows, k] for k in range(d)], axis=1)  # [R, d]
    half = (p - 1) / 2
    low, high = np.array([a[0] for a in axes]), np.array([a[-1] for a in axes])
    for _ in range(RECENTRE):
        idx = np.stack(np.unravel_index(pick, (p,) * d), axis=1)  # [R, d] the best's place among its candidates
        g = fine[pick, rows]
        within = ((g > low) & (g < high)).all(axis=1) & np.isfinite(f_score[pick, rows])
        edge = np.flatnonzero(~((idx >= 1) & (idx <= p - 2)).all(axis=1) & within)
        if not len(edge):
            break
        centre = fine[pick[edge], edge]
        sub = _candidates(law, xn, ys[edge], centre - half * spacing[edge], centre + half * spacing[edge], scale,
                          min_width)  # fmt: skip
        fine[:, edge], f_score[:, edge], f_const[:, edge], f_coef[:, edge] = sub
        pick[edge] = np.argmax(sub[1], axis=0)
    g, s0 = fine[pick, rows], f_score[pick, rows]
    const, coef = f_const[pick, rows], f_coef[pick, rows]
    idx = np.stack(np.unravel_index(pick, (p,) * d), axis=1)
    inside = ((idx >= 1) & (idx <= p - 2)).all(axis=1)
    offsets = np.stack([m.ravel() for m in np.meshgrid(*[[-1, 0, 1]] * d, indexing="ij")], axis=1)  # [3^d, d]
    stencil = f_score[np.where(inside, pick[None, :] + (offsets @ strides)[:, None], pick[None, :]), rows]
    moved = inside
    for step_no in range(NEWTON):
        if step_no:  # a fresh stencil at half the spacing around the rows the last step moved
            spacing = spacing / 2
            moved = np.flatnonzero(moved)
            if not len(moved):
                break
            sub = _candidates(law, xn, ys[moved], g[moved] - spacing[moved], g[moved] + spacing[moved], scale,
                              min_width, points=3)  # fmt: skip
            stencil = np.full((len(offsets), r), -np.inf)
            stencil[:, moved] = sub[1]
            moved = np.isin(rows, moved)
        step, ok = _newton_step(stencil, offsets, moved)
        new = g + step * spacing
        n_score, n_const, n_coef = _refine(law, xn, new[None], ys)
        n_score[_narrow(law, new[None], scale, min_width)] = -np.inf
        moved = ok & (n_score[0] >= s0)
        g = np.where(moved[:, None], new, g)
        s0, const, coef = (np.where(moved, n, o) for n, o in ((n_score[0], s0), (n_const[0], const), (n_coef[0], coef)))
    return g, const, coef


def _newton_step(stencil: np.ndarray, offsets: np.ndarray, use: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(step [R, d] in spacings, ok [R]): the vertex of the quadratic through the scores `stencil` [3^d, R] at
    `offsets` [3^d, d] (-1, 0, 1 per axis) of each row in `use`, where it is a maximum; at most REACH spacings."""
    r, d = stencil.shape[1], offsets.shape[1]
    at = {tuple(o): stencil[i] for i, o in enumerate(offsets)}
    zero = (0,) * d
    unit = [tuple(int(k == j) for j in range(d)) for k in range(d)]
    neg = lambda o: tuple(-v for v in o)
    add = lambda a, b, sign=1: tuple(u + sign * v for u, v in zip(a, b))
    with np.errstate(invalid="ignore", over="ignore"):  # a -inf neighbour (narrower than min_width): no step
        grad = np.stack([(at[unit[k]] - at[neg(unit[k])]) / 2 for k in range(d)], axis=1)  # [R, d]
        hess = np.empty((r, d, d))
        for k in range(d):
            hess[:, k, k] = at[unit[k]] - 2 * at[zero] + at[neg(unit[k])]
            for m in range(k + 1, d):
                e, o = add(unit[k], unit[m]), add(unit[k], unit[m], -1)
                hess[:, k, m] = hess[:, m, k] = (at[e] - at[o] - at[neg(o)] + at[neg(e)]) / 4
        ok = use & np.isfinite(hess).all(axis=(1, 2)) & np.isfinite(grad).all(axis=1)
        hess = np.where(ok[:, None, None], hess, -np.eye(d))
        ok &= (np.linalg.eigvalsh(hess) < 0).all(axis=1)  # a maximum, not a saddle
        step = -np.linalg.solve(hess, np.where(ok[:, None], grad, 0.0)[..., None])[..., 0]
    step /= np.maximum(1.0, np.abs(step).max(axis=1, keepdims=True) / REACH)  # a far vertex: towards it, no further
    return np.where(ok[:, None], step, 0.0), ok


def _product(per_axis: np.ndarray) -> list[np.ndarray]:
    """per_axis [p, R, d] -> d arrays [p, ..., p, R]: every combination of the axes' points, for every row."""
    p, r, d = per_axis.shape
    out = []
    for k in range(d):
        shape = [1] * d + [r]
        shape[k] = p
        out.append(np.broadcast_to(per_axis[:, :, k].reshape(shape), (p,) * d + (r,)))
    return out
