"""A W&B report for the paper's curves: a spec we always write (`wandb_report.json`), created when online.

The spec lists panel grids (one run set each, selected by `trainer.experiment_name`, which verl also uses
as the W&B run name) with line panels per series vs step and vs cumulative generated tokens, scatter
panels for the correlations, and one grid per comparison group. Creation goes through the W&B Report API
(`wandb_workspaces.reports.v2`), which is optional: without it, or offline, only the file is written.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path

from runs.atomic import write_atomic
from scaling.analysis import Analysis

log = logging.getLogger(__name__)


@dataclass
class Panel:
    kind: str  # "line" | "scatter"
    title: str
    x: str  # "Step" (W&B's step axis) or a metric key
    y: list[str]


@dataclass
class Grid:
    title: str
    runset: str  # a name for the run set
    filters: str  # W&B filter expression selecting the runs
    panels: list[Panel] = field(default_factory=list)


@dataclass
class ReportSpec:
    entity: str | None
    project: str
    title: str
    description: str
    grids: list[Grid]
    synthetic: bool


def _filter(run_ids: list[str]) -> str:
    names = [rid.replace("/", "__", 1) for rid in run_ids]  # exp/run -> verl's "<experiment>__<run>"
    return f"Config('trainer.experiment_name') in {names!r}"


def build(analysis: Analysis, project: str, entity: str | None = None) -> ReportSpec:
    """Panels for every key the analysis found, so the report shows what the files show."""
    training = [ra for ra in analysis.runs if ra.run.attributes.get("source") != "eval"]
    keys = list(dict.fromkeys(s.key for ra in training for s in ra.series))
    token_keys = sorted({ra.tokens_key for ra in training if ra.tokens_key and not ra.tokens_key.startswith("cumsum(")})
    paper = [Panel("line", k, "Step", [k]) for k in keys]
    for tk in token_keys:
        paper += [Panel("line", f"{k} vs {tk}", tk, [k]) for k in keys if k != tk]
    corr_keys = list(
        dict.fromkeys(
            s.key for ra in training for s in ra.series if any(c.x == s.name or c.y == s.name for c in ra.correlations)
        )
    )
    scatter = [Panel("scatter", f"{a} vs {b}", a, [b]) for a, b in combinations(corr_keys, 2)]
    everyone = [ra.run.run_id for ra in training]
    grids = [
        Grid(
            "Paper curves: code-execution frequency, response length, accuracy vs step",
            "all runs",
            _filter(everyone),
            paper,
        ),
        Grid("Correlations between the series", "all runs", _filter(everyone), scatter),
    ]
    for attr, groups in analysis.groupings.items():
        for value, ids in groups.items():
            grids.append(
                Grid(
                    f"Comparison by {attr}: {value}",
                    f"{attr}={value}",
                    _filter(ids),
                    [Panel("line", k, "Step", [k]) for k in keys],
                )
            )
    title = "ZeroTIR scaling curves" + (" (SYNTHETIC DATA)" if analysis.synthetic else "")
    description = "Code-execution frequency, response length and accuracy vs training step (arXiv 2505.07773)."
    if analysis.synthetic:
        description = "SYNTHETIC example data, not a real training run. " + description
    return ReportSpec(entity, project, title, description, grids, analysis.synthetic)


def write_spec(spec: ReportSpec, path: Path) -> Path:
    return write_atomic(path, json.dumps(asdict(spec), indent=1) + "\n")


def load_report_api():
    """`wandb_workspaces.reports.v2`, or None when the optional package is not installed."""
    try:
        import wandb_workspaces.reports.v2 as wr
    except ImportError:
        return None
    return wr


def create(spec: ReportSpec, wr) -> str:
    """Create and save the report through the Report API module `wr`; returns its URL."""
    blocks = [wr.H1(text=spec.title), wr.P(text=spec.description)]
    for grid in spec.grids:
        panels = [
            wr.LinePlot(title=p.title, x=p.x, y=p.y)
            if p.kind == "line"
            else wr.ScatterPlot(title=p.title, x=p.x, y=p.y[0])
            for p in grid.panels
        ]
        runset = wr.Runset(entity=spec.entity, project=spec.project, name=grid.runset, filters=grid.filters)
        blocks += [wr.H2(text=grid.title), wr.PanelGrid(runsets=[runset], panels=panels)]
    report = wr.Report(
        entity=spec.entity, project=spec.project, title=spec.title, description=spec.description, blocks=blocks
    )
    report.save()
    return str(getattr(report, "url", ""))
