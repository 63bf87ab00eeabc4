"""Fakes for the W&B boundaries: an Api-like object for online runs and a Report-API-like module.

They behave like the real objects for what the analysis uses (runs(path, filters), run.config/.name/.id,
scan_history(); Report(...).save() with LinePlot/ScatterPlot/PanelGrid/Runset), and record what they got.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FakeRun:
    id: str
    name: str
    config: dict
    rows: list[dict]
    group: str = ""

    def scan_history(self, keys=None, page_size=1000):
        yield from self.rows


@dataclass
class FakeApi:
    runs_by_path: dict[str, list[FakeRun]]
    calls: list[tuple[str, dict]] = field(default_factory=list)

    def runs(self, path, filters=None, **kwargs):
        self.calls.append((path, filters))
        return list(self.runs_by_path.get(path, []))


class _Block:
    def __init__(self, **kwargs):
        self.kwargs = kwargs


class FakeReportAPI:
    """Stands in for `wandb_workspaces.reports.v2`; `saved` holds every report saved."""

    def __init__(self):
        self.saved = []
        api = self

        class Report(_Block):
            url = "https://wandb.example/report/1"

            def save(self):
                api.saved.append(self)
                return self

        self.Report = Report
        for name in ("H1", "H2", "P", "PanelGrid", "Runset", "LinePlot", "ScatterPlot"):
            setattr(self, name, type(name, (_Block,), {}))
