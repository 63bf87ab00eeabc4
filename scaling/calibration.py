"""Do the analysis' intervals keep their promise? Simulated runs from known laws over many seeds.

Each case is one of the four laws with the parameters and per-step noise of the synthetic example runs
(examples/logs/make_synthetic.py: code-execution share ±0.03, response length ±25 tokens, accuracy ±0.02,
the scatter of a 2048-response batch plus prompt-to-prompt variation; the sigmoid is a code-execution share that
rises around step 50), over 120 or 240 logged steps. Every
seed draws fresh noise, runs `fit_series` exactly as the analysis does, and checks its 95 % intervals
against the true curve at the last step and at twice the steps. tests/scaling/test_calibration.py runs a
few seeds inside `make test`; `python -m benchmarks.analysis_calibration` prints the full table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from scaling.fit import fit_series
from scaling.laws import LAWS

# law -> (true parameters, noise sd): the example runs' code_exec, response_length and train_acc
FAMILIES = {
    "saturating": ((0.90, 0.05, 60.0), 0.03),
    "power": ((40.0, 0.5, 600.0), 25.0),
    "log_linear": ((0.15, 0.06), 0.02),
    "sigmoid": ((0.85, 0.05, 50.0, 2.0), 0.03),  # A, R0, C_mid, B
}
LENGTHS = (120, 240)
HORIZONS = {"last": 1.0, "2x": 2.0}  # x as a multiple of the last logged step


@dataclass(frozen=True)
class Outcome:
    law: str  # the generating law
    steps: int
    seed: int
    chosen: str
    curve: dict[str, bool]  # horizon -> the mean-curve interval holds the true value
    new_value: dict[str, float]  # horizon -> probability that the one-logged-value interval holds a new value
    width: dict[str, float]  # horizon -> width of the mean-curve interval, in noise sd
    distance: float  # RMS distance of the chosen law's curve from the truth over the logged steps, in noise sd
    unreliable: bool  # the 2x extrapolation got the `unreliable` verdict


def simulate(law: str, steps: int, seed: int, n_boot: int = 200, level: float = 0.95) -> Outcome:
    params, sd = FAMILIES[law]
    x = np.arange(1, steps + 1, dtype=float)
    truth = LAWS[law].predict(np.concatenate([x, [2.0 * steps]]), np.array([params]))[0]
    y = truth[:-1] + np.random.default_rng([seed, steps, len(law)]).normal(0.0, sd, steps)
    fit = fit_series(x, y, n_boot=n_boot, level=level, seed=seed, extrapolate_to=2 * steps, run=law)
    curve, new_value, width = {}, {}, {}
    for name, mult in HORIZONS.items():
        x_star = mult * steps
        t = float(LAWS[law].predict(np.array([x_star]), np.array([params]))[0, 0])
        lo, hi, plo, phi = fit.mixture.interval(x_star, level)
        curve[name] = bool(lo <= t <= hi)
        new_value[name] = float(norm.cdf((phi - t) / sd) - norm.cdf((plo - t) / sd))  # exact over the noise
        width[name] = (hi - lo) / sd
    distance = math.sqrt(float(np.mean((fit.best.predict(x) - truth[:-1]) ** 2))) / sd
    unreliable = fit.extrapolation.verdict == "unreliable"
    return Outcome(law, steps, seed, fit.chosen, curve, new_value, width, distance, unreliable)


def summarise(outcomes: list[Outcome]) -> dict:
    """Coverage and the rest, pooled over the given outcomes."""
    out = {"n": len(outcomes)}
    for h in HORIZONS:
        out[f"curve_{h}"] = float(np.mean([o.curve[h] for o in outcomes]))
        out[f"new_{h}"] = float(np.mean([o.new_value[h] for o in outcomes]))
        out[f"width_{h}"] = float(np.median([o.width[h] for o in outcomes]))
    out["true_law_chosen"] = float(np.mean([o.chosen == o.law for o in outcomes]))
    out["distance_median"] = float(np.median([o.distance for o in outcomes]))
    out["distance_max"] = float(np.max([o.distance for o in outcomes]))
    out["unreliable"] = float(np.mean([o.unreliable for o in outcomes]))
    return out
