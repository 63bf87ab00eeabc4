"""One training run as the analysis sees it: identity, attributes for comparisons, and a step-indexed table.

Every reader (file logger, W&B offline/online, eval summaries) produces a `Run`, so fits and plots never
know where the numbers came from. `LogError` is the one error a malformed or empty input raises; its
message names the file (and line, where there is one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd


class LogError(ValueError):
    """An input log that cannot be used; the message starts with the file (and line) at fault."""

    def __init__(self, path: Path | str, problem: str, line: int | None = None):
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {problem}")
        self.path, self.line = Path(path), line


@dataclass
class Run:
    """A run's metrics: `table` has one row per step (sorted, unique) and one column per metric key."""

    experiment: str
    name: str
    source: Path
    table: pd.DataFrame
    attributes: dict[str, str] = field(default_factory=dict)
    synthetic: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        base = self.experiment if self.name in ("", "default") else f"{self.experiment}/{self.name}"
        return f"{base} [SYNTHETIC]" if self.synthetic and "synthetic" not in base.lower() else base

    @property
    def run_id(self) -> str:
        return f"{self.experiment}/{self.name}"

    def column(self, key: str) -> pd.Series:
        """The finite values of one metric, indexed by step (empty when the key was never logged)."""
        if key not in self.table.columns:
            return pd.Series(dtype=float)
        col = pd.to_numeric(self.table[key], errors="coerce")
        return col[col.notna() & (col.abs() != float("inf"))]


# The eval harness's first names of two tool-use numbers -> training's (tir_rollout.tool_use.ToolUseRates), which
# it writes now: accuracy_vs_step files and W&B eval runs written before still read, under the current names.
RENAMED = {"code_call_rate": "code_exec_ratio", "length_rate": "finish_length_rate"}


def current_name(name: str) -> str:
    """An eval metric's current name: `code_call_rate` -> `code_exec_ratio`; any other name unchanged."""
    return RENAMED.get(name, name)


def current_key(key: str) -> str:
    """`eval/<dataset>/calls=<m>/code_call_rate` -> `.../code_exec_ratio`; keys outside `eval/` unchanged."""
    if not key.startswith("eval/"):
        return key
    head, _, name = key.rpartition("/")
    return f"{head}/{current_name(name)}"


def steps_table(records: list[tuple[int, dict[str, float]]]) -> pd.DataFrame:
    """Rows (step, metrics) in launch order -> one row per step; a later record's value wins per key.

    A restart repeats steps: the later launch's numbers replace the earlier ones key by key, and a key only
    the earlier launch logged for that step is kept. Eval keys written under a first name get their current one.
    """
    merged: dict[int, dict[str, float]] = {}
    for step, data in records:
        merged.setdefault(step, {}).update({current_key(k): v for k, v in data.items()})
    if not merged:
        return pd.DataFrame()
    table = pd.DataFrame.from_dict(merged, orient="index").sort_index()
    table.index.name = "step"
    return table.apply(pd.to_numeric, errors="coerce")
