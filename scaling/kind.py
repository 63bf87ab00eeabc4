"""What a fitted law may be called: a law, a step change, or out of range (issue 22, item 6).

Why: a short run of a bounded rate is often fitted best by a jump, or by levels no rate can take (the laptop run's
code-use law rose with tau = 2 steps from a starting rate of -0.04), and a law read off such a fit says nothing about
the run's future. One rule for every law (scaling/laws.py), in the analysis and in the paper-in-miniature report:
* "out of range": a level the law reaches (its value as x -> 0 and as x -> inf where finite, and its fitted value at
  the first and the last point) leaves the metric's physical range by more than TOL: a negative rate, a ceiling above 1.
* "step change": on the step axis, the law's 10-90 % rise is narrower than STEP_CHANGE steps and a rise at least that
  wide fits clearly worse (likelihood ratio n ln(RSS_wide / RSS_free) > LR_95, the chi-square(1) 95 % point). A noisy
  short curve is often fitted best by a jump, so a jump is called only when the data reject a smooth rise; when they
  do not, the smoothest fit they allow is the one to read (`Kind.theta`).
* "law" otherwise. Laws without a rise that completes (log_linear, power) are never a step change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scaling.laws import Law, fit

STEP_CHANGE = 2.0  # a 10-90 % rise narrower than this (in steps) is a step change
LR_95 = 3.841  # chi-square(1) 95 % point: the data must reject a smooth rise before a jump is called
TOL = 0.02  # levels within this of the range count as inside it (sampling noise of a rate)


@dataclass(frozen=True)
class Kind:
    kind: str  # "law", "step change", "out of range"
    reason: str  # why, in words ("" for a law whose free fit is the one to read)
    theta: np.ndarray  # [P] the parameters the kind is about: the free fit, or the smoothest fit the data allow


def _rss(law: Law, x: np.ndarray, y: np.ndarray, theta: np.ndarray) -> float:
    return float(np.sum((law.predict(x, theta[None])[0] - y) ** 2))


def judge(law: Law, x, y, theta, bounds: tuple[float, float] | None = None, steps: bool = True) -> Kind:
    """The kind of `law`'s fit `theta` [P] to the finite points (x > 0, y). `bounds`: the metric's physical range
    (None: no range check); `steps`: x is the training step (the step-change rule is in steps)."""
    x, y, theta = np.asarray(x, float), np.asarray(y, float), np.asarray(theta, float)
    kind, reason = "law", ""
    if steps and law.width is not None and (width := float(law.width(theta[None])[0])) < STEP_CHANGE:
        wide = fit(law, x, y[None], min_width=STEP_CHANGE)[0]
        lr = math.inf
        if np.isfinite(wide).all():
            lr = len(x) * math.log(max(_rss(law, x, y, wide), 1e-300) / max(_rss(law, x, y, theta), 1e-300))
        if lr > LR_95:
            kind = "step change"
            reason = (f"its rise takes {width:.2g} steps (10-90 %), and a rise of {STEP_CHANGE:g} steps fits clearly "
                      f"worse (likelihood ratio {lr:.1f} > {LR_95:g})")  # fmt: skip
        else:
            theta = wide
            reason = (f"its least-squares rise takes {width:.2g} steps, but a rise of {STEP_CHANGE:g} steps fits as "
                      f"well (likelihood ratio {lr:.1f} <= {LR_95:g}): that one is read")  # fmt: skip
    if bounds is not None and (outside := _outside(law, x, theta, bounds)):
        kind, reason = "out of range", f"{outside}, outside [{bounds[0]:g}, {bounds[1]:g}]"
    return Kind(kind, reason, theta)


def _outside(law: Law, x: np.ndarray, theta: np.ndarray, bounds: tuple[float, float]) -> str:
    """The first level of the fit that leaves bounds (by more than TOL), in words; "" when none does."""
    start, end = law.ends(theta[None])[0]
    first, last = law.predict(np.array([x.min(), x.max()]), theta[None])[0]
    levels = [
        (start, f"it starts from {start:.3g}"),
        (end, f"it levels off at {end:.3g}"),
        (first, f"it is {first:.3g} at x = {x.min():g}"),
        (last, f"it is {last:.3g} at x = {x.max():g}"),
    ]
    low, high = bounds
    return next((text for v, text in levels if math.isfinite(v) and not low - TOL <= v <= high + TOL), "")
