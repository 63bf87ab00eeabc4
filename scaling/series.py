"""Which metric key is which paper series, and the compute axis (cumulative generated tokens).

A series is named by the paper's quantity (code_exec, response_length, train_acc, val_acc) and read from
the first key of its list that the run logged, so runs from before `tir/*` existed still plot with
verl's own keys. A key with `*` (`val-core/*/acc/mean@*`) gives one series per match (per data source).
Defaults mirror conf/analyze.yaml; our `tir/*` names are checked against tir_rollout.metrics in tests.
"""

from __future__ import annotations

import fnmatch
import logging
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scaling.run import Run

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SeriesSpec:
    name: str
    title: str
    keys: tuple[str, ...]
    correlate: bool = True  # part of the correlation matrix
    bounds: tuple[float, float] | None = None  # a share or an accuracy: extrapolations are clipped to it


@dataclass
class Series:
    """One run's values of one series, finite values only, indexed by step (sorted, unique)."""

    spec: str
    title: str
    key: str
    values: pd.Series
    pattern: str = ""  # the key or wildcard it was found by
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """`val_acc[aime24]` for a wildcard key (what its first `*` matched), else the spec name."""
        if "*" not in self.pattern:
            return self.spec
        head, *rest = self.pattern.split("*")
        regex = re.escape(head) + "(.*?)" + ".*?".join(re.escape(r) for r in rest)
        match = re.fullmatch(regex, self.key)
        return f"{self.spec}[{match.group(1) if match else self.key}]"


UNIT = (0.0, 1.0)
DEFAULT_SPECS = (
    SeriesSpec("code_exec", "Code-execution frequency", ("tir/code_exec_ratio",), bounds=UNIT),
    SeriesSpec("response_length", "Response length (tokens)", ("tir/response_length/all", "response_length/mean")),
    SeriesSpec("train_acc", "Training accuracy", ("tir/acc", "critic/score/mean"), bounds=UNIT),
    SeriesSpec("val_acc", "Validation avg@k", ("val-core/*/acc/mean@*",), correlate=False, bounds=UNIT),
    SeriesSpec("eval_acc", "Eval avg@k over checkpoints", ("eval/*/avg@*",), correlate=False, bounds=UNIT),
    SeriesSpec(
        "eval_code_exec", "Eval code-execution frequency", ("eval/*/code_exec_ratio",), correlate=False, bounds=UNIT
    ),
)
DEFAULT_TOKEN_KEYS = ("tir/cum_generated_tokens",)
DEFAULT_PER_STEP_TOKEN_KEYS = ("perf/total_num_tokens",)


def specs_from_config(cfg_series: dict) -> tuple[SeriesSpec, ...]:
    """Specs from conf/analyze.yaml's `series` mapping (name -> {title, keys, correlate})."""
    out = []
    for name, spec in cfg_series.items():
        keys = spec.get("keys") or ()
        bounds = spec.get("bounds")
        bounds = (float(bounds[0]), float(bounds[1])) if bounds is not None else None
        out.append(SeriesSpec(name, spec.get("title", name), tuple(keys), bool(spec.get("correlate", True)), bounds))
    return tuple(out)


def resolve(run: Run, spec: SeriesSpec) -> list[Series]:
    """The series of `spec` in `run`: the first listed key (or pattern) present wins."""
    for pattern in spec.keys:
        keys = sorted(fnmatch.filter(map(str, run.table.columns), pattern)) if "*" in pattern else [pattern]
        found = [Series(spec.name, spec.title, k, run.column(k), pattern) for k in keys]
        found = [s for s in found if len(s.values)]
        if found:
            if pattern != spec.keys[0]:
                for s in found:
                    s.notes.append(f"{spec.keys[0]} not logged; used {s.key}")
            return found
    return []


def drop_out_of_range(series: Series, bounds: tuple[float, float] | None) -> Series:
    """The series without values outside its range, with a note naming them.

    Why: a share or an accuracy outside [0, 1] (a code-execution share of 1e300) is a broken log value, not a point
    on the curve; fitted, it decides the law on its own. Clipping it to 1 would invent a value instead.
    """
    if bounds is None or not len(series.values):
        return series
    lo, hi = bounds
    slack = 1e-9 * (hi - lo)  # float noise at the edge (1.0000000000002) is not a broken value
    bad = (series.values < lo - slack) | (series.values > hi + slack)
    if bad.any():
        shown = ", ".join(f"{v:.4g} at step {s}" for s, v in series.values[bad].head(3).items())
        more = f", +{int(bad.sum()) - 3} more" if bad.sum() > 3 else ""
        series.notes.append(
            f"{int(bad.sum())} value(s) of {series.key} outside [{lo:g}, {hi:g}] dropped ({shown}{more})"
        )
        series.values = series.values[~bad]
    return series


def compute_axis(run: Run, cum_keys=DEFAULT_TOKEN_KEYS, per_step_keys=DEFAULT_PER_STEP_TOKEN_KEYS):
    """(cumulative generated tokens by step, key, notes), or (None, None, notes) when nothing fits.

    A counter that restarts from 0 on resume (tir/cum_* does when the resume state is missing) is made
    continuous by adding the total reached before the drop.
    """
    notes: list[str] = []
    for key in cum_keys:
        col = run.column(key)
        if len(col):
            values = col.to_numpy(float).copy()
            drops = np.flatnonzero(np.diff(values) < 0)
            for i in drops:
                values[i + 1 :] += values[i]  # in order, so values[i] already carries earlier offsets
            if len(drops):
                notes.append(
                    f"{key} restarted from 0 at step(s) {', '.join(str(col.index[i + 1]) for i in drops)}; "
                    "continued from the previous total"
                )
            return pd.Series(values, index=col.index), key, notes
    for key in per_step_keys:
        col = run.column(key)
        if len(col):
            notes.append(f"no cumulative token counter; summed {key} per logged step (includes prompt tokens)")
            return col.cumsum(), f"cumsum({key})", notes
    notes.append(f"no compute axis ({', '.join([*cum_keys, *per_step_keys])} not logged)")
    return None, None, notes
