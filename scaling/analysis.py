"""From loaded runs to everything the report shows: series, fits on both axes, correlations, groupings.

Pure computation: no files are written here (plots.py, report.py and wandb_report.py do that), so tests
can check every number on synthetic runs. A series that cannot be fitted (constant, too short, missing)
becomes a note on its run, never an exception.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import combinations

import pandas as pd

from scaling.choice import ORIGINS
from scaling.correlate import Correlation, correlate
from scaling.discover import ATTRIBUTES
from scaling.fit import SeriesFit, fit_series, series_seed
from scaling.run import Run
from scaling.series import (
    DEFAULT_PER_STEP_TOKEN_KEYS,
    DEFAULT_SPECS,
    DEFAULT_TOKEN_KEYS,
    Series,
    SeriesSpec,
    compute_axis,
    drop_out_of_range,
    resolve,
)

log = logging.getLogger(__name__)


@dataclass
class Settings:
    """Knobs of the analysis (conf/analyze.yaml `fit`, `correlation`, `series`, `tokens`)."""

    specs: tuple[SeriesSpec, ...] = DEFAULT_SPECS
    token_keys: tuple[str, ...] = DEFAULT_TOKEN_KEYS
    per_step_token_keys: tuple[str, ...] = DEFAULT_PER_STEP_TOKEN_KEYS
    origins: tuple[float, ...] = ORIGINS
    n_boot: int = 200
    level: float = 0.95
    seed: int = 0
    min_points: int = 6
    extrapolate_to: float | None = None
    corr_n_boot: int = 500
    group_by: tuple[str, ...] = ATTRIBUTES


@dataclass
class RunAnalysis:
    run: Run
    series: list[Series]
    step_fits: dict[str, SeriesFit]  # by series name
    token_fits: dict[str, SeriesFit]
    tokens: pd.Series | None  # cumulative generated tokens by step
    tokens_key: str | None
    correlations: list[Correlation]
    notes: list[str] = field(default_factory=list)
    # Spearman of each series with the training step: does it rise (or fall) monotonically, beyond noise? The
    # paper's claim is that the three rise together *with steps*, which the pairwise correlations alone do not show.
    trends: list[Correlation] = field(default_factory=list)

    def series_named(self, name: str) -> Series | None:
        return next((s for s in self.series if s.name == name), None)


@dataclass
class Analysis:
    runs: list[RunAnalysis]
    groupings: dict[str, dict[str, list[str]]]  # attribute -> value -> run ids (only attributes with >= 2 values)
    settings: Settings
    notes: list[str] = field(default_factory=list)  # about the inputs as a whole (glob matches that are not runs)

    @property
    def synthetic(self) -> bool:
        return any(r.run.synthetic for r in self.runs)

    @property
    def series_names(self) -> list[str]:
        names: list[str] = []
        for ra in self.runs:
            names += [s.name for s in ra.series if s.name not in names]
        return names


def _fit(series: Series, x, y, run: Run, axis: str, s: Settings) -> SeriesFit:
    return fit_series(
        x,
        y,
        run=run.run_id,
        series=series.name,
        key=series.key,
        axis=axis,
        origins=s.origins,
        n_boot=s.n_boot,
        level=s.level,
        seed=s.seed,
        extrapolate_to=s.extrapolate_to if axis == "step" else None,
        min_points=s.min_points,
        bounds=_bounds(s, series),
        notes=series.notes,
    )


def _optional(spec: SeriesSpec) -> bool:
    """Wildcard-only series (validation, eval) are families that a run may simply not have."""
    return all("*" in k for k in spec.keys)


def _bounds(s: Settings, series: Series) -> tuple[float, float] | None:
    return next((sp.bounds for sp in s.specs if sp.name == series.spec), None)


def analyse_run(run: Run, s: Settings) -> RunAnalysis:
    series = [drop_out_of_range(found, _bounds(s, found)) for spec in s.specs for found in resolve(run, spec)]
    notes = list(run.notes)
    missing = [sp.name for sp in s.specs if not any(x.spec == sp.name for x in series) and not _optional(sp)]
    if missing and run.attributes.get("source") != "eval":
        tried = "; ".join(k for sp in s.specs if sp.name in missing for k in sp.keys)
        notes.append(f"not logged: {', '.join(missing)} (keys tried: {tried})")
    tokens, tokens_key, token_notes = compute_axis(run, s.token_keys, s.per_step_token_keys)
    if run.attributes.get("source") != "eval":
        notes += token_notes
    step_fits, token_fits = {}, {}
    for sr in series:
        values = sr.values
        step_fits[sr.name] = _fit(sr, values.index.to_numpy(float), values.to_numpy(float), run, "step", s)
        if tokens is not None:
            joined = pd.concat([tokens.rename("x"), values.rename("y")], axis=1, join="inner")
            token_fits[sr.name] = _fit(sr, joined["x"].to_numpy(), joined["y"].to_numpy(), run, "tokens", s)
    correlations = []
    spec_corr = {sp.name: sp.correlate for sp in s.specs}
    for a, b in combinations([x for x in series if spec_corr.get(x.spec, False)], 2):
        joined = pd.concat([a.values.rename("a"), b.values.rename("b")], axis=1, join="inner").sort_index()
        for method in ("pearson", "spearman"):
            seed = series_seed(s.seed, run.run_id, a.name, b.name, method)
            correlations.append(
                correlate(
                    a.name,
                    b.name,
                    joined["a"],
                    joined["b"],
                    method=method,
                    n_boot=s.corr_n_boot,
                    level=s.level,
                    seed=seed,
                )
            )
    trends = []
    for sr in [x for x in series if spec_corr.get(x.spec, False)]:
        values = sr.values.sort_index()
        steps = pd.Series(values.index.to_numpy(float), index=values.index)
        seed = series_seed(s.seed, run.run_id, "step", sr.name, "spearman")
        trends.append(
            correlate("step", sr.name, steps, values, method="spearman", n_boot=s.corr_n_boot, level=s.level, seed=seed)
        )
    return RunAnalysis(run, series, step_fits, token_fits, tokens, tokens_key, correlations, notes, trends)


def groupings(runs: list[Run], attributes: tuple[str, ...]) -> dict[str, dict[str, list[str]]]:
    """attribute -> value -> run ids, for attributes on which the runs differ (training runs only)."""
    out = {}
    for attr in attributes:
        by_value: dict[str, list[str]] = {}
        for run in runs:
            if attr in run.attributes and run.attributes.get("source") != "eval":
                by_value.setdefault(run.attributes[attr], []).append(run.run_id)
        if len(by_value) >= 2:
            out[attr] = dict(sorted(by_value.items()))
    return out


def analyse(
    runs: list[Run],
    settings: Settings | None = None,
    notes: list[str] | None = None,
    progress: Callable[[int, int, RunAnalysis, float], None] | None = None,
) -> Analysis:
    """Every run's analysis. `progress(i, n, run_analysis, seconds)` is called after each run (the command prints
    one line a run, so a long analysis is visibly alive)."""
    s = settings or Settings()
    results = []
    for i, run in enumerate(runs, start=1):
        log.debug("analysing %s (%d steps)", run.run_id, len(run.table))
        start = time.monotonic()
        results.append(analyse_run(run, s))
        if progress is not None:
            progress(i, len(runs), results[-1], time.monotonic() - start)
    return Analysis(results, groupings(runs, s.group_by), s, list(notes or []))
