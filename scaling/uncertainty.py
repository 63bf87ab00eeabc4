"""Intervals that include the choice of law, and the verdict on an extrapolation.

Why: choosing a law once and bootstrapping only that law leaves out the uncertainty of which law holds, and
that uncertainty is what dominates far from the data (the laws agree where the points are and part ways
after). Each wild-bootstrap replicate therefore repeats the choice (scaling/choice.py), and a curve band or
an extrapolation interval is taken over every replicate's curve of the law *that replicate* chose
(bootstrap model selection, Buckland, Burnham & Augustin 1997). Where the laws disagree, the band widens.

Verdict: a law chosen in at least PLAUSIBLE of the replicates is one the data cannot rule out. When two such
laws predict values whose own intervals do not overlap at the extrapolated step, the data cannot settle the
extrapolation: it is marked `unreliable` with the reason, whatever the width of the combined interval. It is
also unreliable when every law leaves structured residuals, since then none describes the curve; when the chosen
fit is a step change or out of range (scaling/kind.py), since then it is no law; and, for a bounded metric (a rate),
when the chosen law grows without bound or a plausible law leaves the range at the step (clipping would hide it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from itertools import combinations

import numpy as np

from scaling.kind import TOL
from scaling.law_fit import LawFit
from scaling.laws import LAWS

PLAUSIBLE = 0.10  # [ours] chosen in >= 10 % of the replicates: the data do not rule the law out


@dataclass
class World:
    """Bootstrap replicates generated from one law's fit plus its residuals, with the choice repeated."""

    law: str
    picks: np.ndarray  # [B] index into the law names; -1 where no law could be scored
    params: dict[str, np.ndarray]  # every law's fit to every replicate: law -> [B, P]
    noise: np.ndarray  # [B] one resampled residual per replicate: a future logged value is curve + noise
    pvalue: float  # share of replicates in which this law forecasts at least as badly, relative to its best
    # rival, as it does on the data: small where the data reject the law


@dataclass
class ModelBootstrap:
    """All worlds' replicates, each weighted by its world's weight; the curve is the law it chose."""

    names: list[str]
    picks: np.ndarray  # [N]
    params: dict[str, np.ndarray]  # law -> [N, P]
    noise: np.ndarray  # [N]
    weights: np.ndarray  # [N], summing to 1 (0 for replicates that chose nothing)
    world_weights: dict[str, float]

    @classmethod
    def combine(cls, names: list[str], worlds: list[World], chosen: int) -> ModelBootstrap:
        """Weight each world by its p-value: laws the data do not reject share the interval."""
        like = {w.law: w.pvalue for w in worlds}
        total = sum(like.values())
        world_weights = {m: v / total for m, v in like.items()} if total > 0 else {names[chosen]: 1.0}
        used = [w for w in worlds if world_weights.get(w.law, 0.0) > 0]
        weights = []
        for w in used:
            valid = w.picks >= 0
            weights.append(np.where(valid, world_weights[w.law] / max(1, valid.sum()), 0.0))
        return cls(
            names,
            np.concatenate([w.picks for w in used]),
            {m: np.concatenate([w.params[m] for w in used]) for m in names},
            np.concatenate([w.noise for w in used]),
            np.concatenate(weights),
            {m: world_weights.get(m, 0.0) for m in names},
        )

    def curves(self, x: np.ndarray) -> np.ndarray:
        """[N, m]: each replicate's curve of the law it chose (NaN for replicates that chose none)."""
        out = np.full((len(self.picks), len(x)), np.nan)
        for i, name in enumerate(self.names):
            rows = self.picks == i
            if rows.any():
                out[rows] = LAWS[name].predict(x, self.params[name][rows])
        return out

    def shares(self) -> dict[str, float]:
        return {name: float(self.weights[self.picks == i].sum()) for i, name in enumerate(self.names)}

    def interval(self, x: float, level: float = 0.95) -> tuple[float, float, float, float]:
        """(mean-curve low, high, one-logged-value low, high) at x, including the choice of law."""
        curves = self.curves(np.array([x]))[:, 0]
        return (*_pct(curves, self.weights, level), *_pct(curves + self.noise, self.weights, level))

    def band(self, x: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        curves = self.curves(x)
        lo, hi = zip(*(_pct(curves[:, j], self.weights, level) for j in range(len(x))))
        return np.array(lo), np.array(hi)


@dataclass
class LawValue:
    """One law's own prediction at the extrapolated step, with its interval given that law."""

    value: float
    ci_low: float
    ci_high: float


@dataclass
class Extrapolation:
    x: float
    value: float  # the chosen law's prediction
    ci_low: float  # the mean curve, including the choice of law
    ci_high: float
    pi_low: float  # one future logged value (curve + noise)
    pi_high: float
    shares: dict[str, float] = field(default_factory=dict)  # share of replicates that chose each law
    by_law: dict[str, LawValue] = field(default_factory=dict)
    verdict: str = "reliable"  # or "unreliable"
    reason: str = ""


def _pct(values: np.ndarray, weights: np.ndarray | None, level: float) -> tuple[float, float]:
    """Weighted percentile interval (midpoint rule: equal weights give Hazen's plotting positions)."""
    weights = np.ones(len(values)) if weights is None else weights
    ok = np.isfinite(values) & (weights > 0)
    if not ok.any():
        return math.nan, math.nan
    order = np.argsort(values[ok])
    v, w = values[ok][order], weights[ok][order]
    cdf = (np.cumsum(w) - w / 2) / w.sum()
    q = (1 - level) / 2
    lo, hi = np.interp([q, 1 - q], cdf, v)
    return float(lo), float(hi)


def verdict(
    e: Extrapolation, fits: dict[str, LawFit], chosen: str, bounds: tuple[float, float] | None = None
) -> tuple[str, str]:
    """('unreliable', why) when the chosen fit is no law, a bounded metric meets an unbounded law (`bounds`: the
    metric's range), plausible laws disagree beyond their intervals, or no law fits; else ('reliable', '').
    `fits`: every law's fit to the series; `chosen`: the law chosen on the data."""
    reasons = [*_not_a_law(fits[chosen], chosen), *_bounded(e, fits[chosen], chosen, bounds)]
    plausible = sorted((m for m, s in e.shares.items() if s >= PLAUSIBLE and m in e.by_law), key=e.shares.get)
    if any(
        e.by_law[a].ci_high < e.by_law[b].ci_low or e.by_law[b].ci_high < e.by_law[a].ci_low
        for a, b in combinations(plausible, 2)
    ):
        said = [
            f"{m} ({e.shares[m]:.0%}) gives {e.by_law[m].value:.3g} [{e.by_law[m].ci_low:.3g}, "
            f"{e.by_law[m].ci_high:.3g}]"
            for m in reversed(plausible)
        ]
        reasons.append(
            f"by share of replicates, {', '.join(said)} at step {e.x:g}: the data do not settle which law holds there"
        )
    if fits and all(f.structured for f in fits.values()):
        reasons.append("every law leaves autocorrelated residuals: none describes the curve")
    return ("unreliable", "; ".join(reasons)) if reasons else ("reliable", "")


def _not_a_law(best: LawFit, chosen: str) -> list[str]:
    """A step change or a fit out of its range is not a law, so nothing follows from it beyond the data."""
    if best.kind == "law":
        return []
    called = "a step change" if best.kind == "step change" else best.kind
    return [f"the chosen {chosen} fit is {called}, not a law ({best.kind_reason}): nothing to extrapolate"]


def _bounded(e: Extrapolation, best: LawFit, chosen: str, bounds: tuple[float, float] | None) -> list[str]:
    """A bounded metric (a rate) is never extrapolated with an unbounded law and called reliable: not by the chosen
    law, and not by a plausible law whose own prediction leaves the range at the step."""
    if bounds is None:
        return []
    lo, hi = bounds
    out = []
    theta = np.array([[p.value for p in best.params]])
    if not np.isfinite(LAWS[chosen].ends(theta)[0, 1]):
        out.append(f"{chosen} grows without bound and the metric is bounded to [{lo:g}, {hi:g}]")
    for m in (m for m, s in e.shares.items() if s >= PLAUSIBLE and m in e.by_law):
        if not lo - TOL <= e.by_law[m].value <= hi + TOL:
            out.append(
                f"{m} (chosen in {e.shares[m]:.0%} of replicates) gives {e.by_law[m].value:.3g} at step {e.x:g}, "
                f"outside [{lo:g}, {hi:g}]"
            )
    return out


def extrapolate(
    fits: dict[str, LawFit], chosen: str, mixture: ModelBootstrap, x_star: float, level: float, bounds, notes
) -> Extrapolation:
    """The chosen law's value at x_star, the interval over the replicates' chosen laws (`mixture`), shares and
    verdict. `fits`: every law's fit to the series (each with its own bootstrap); `chosen`: the law chosen on the
    data. What it reads of a series' fit is passed in, so that the fit (scaling/fit.py) imports this module and
    not the other way round."""
    xs = np.array([x_star])
    by_law = {}
    for name, law_fit in fits.items():
        own = LAWS[name].predict(xs, law_fit.boot)[:, 0] if len(law_fit.boot) else np.array([])
        by_law[name] = LawValue(float(law_fit.predict(xs)[0]), *_pct(own, None, level))
    e = Extrapolation(
        x_star,
        by_law[chosen].value,
        *mixture.interval(x_star, level),
        shares=mixture.shares(),
        by_law=by_law,
    )
    e.verdict, e.reason = verdict(e, fits, chosen, bounds)
    return _clip(e, bounds, notes) if bounds is not None else e


def _clip(e: Extrapolation, bounds: tuple[float, float], notes: list[str]) -> Extrapolation:
    """A share or an accuracy cannot leave its range, whatever an unbounded law says beyond the data."""
    lo, hi = bounds

    def c(v: float) -> float:
        return min(max(v, lo), hi) if math.isfinite(v) else v

    vals = [e.value, e.ci_low, e.ci_high, e.pi_low, e.pi_high]
    if [c(v) for v in vals] != vals:
        notes.append(
            f"extrapolation to step {e.x:g} clipped to [{lo:g}, {hi:g}]: the law leaves the series' range there"
        )
    by_law = {m: LawValue(c(v.value), c(v.ci_low), c(v.ci_high)) for m, v in e.by_law.items()}
    return replace(
        e,
        value=c(e.value),
        ci_low=c(e.ci_low),
        ci_high=c(e.ci_high),
        pi_low=c(e.pi_low),
        pi_high=c(e.pi_high),
        by_law=by_law,
    )
