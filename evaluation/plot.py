"""PNG plots: accuracy against the interaction budget (one line per dataset), and against training step.

matplotlib with the Agg backend (headless); the x axis of the sweep plot is log2, as budgets double.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from evaluation.metrics import MetricRow
from runs.atomic import atomic_path


def plot_interactions(rows: Sequence[MetricRow], path: str | Path, title: str = "") -> Path:
    """avg@k against max_tool_calls, one line per dataset."""
    by_dataset: dict[str, list[MetricRow]] = defaultdict(list)
    for row in rows:
        by_dataset[row.dataset].append(row)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for dataset, cells in sorted(by_dataset.items()):
        cells.sort(key=lambda r: r.max_tool_calls)
        k = min(r.samples_per_problem for r in cells)
        ax.plot(
            [r.max_tool_calls for r in cells],
            [100 * r.avg_at_k for r in cells],
            marker="o",
            label=f"{dataset} (avg@{k})",
        )
    budgets = sorted({r.max_tool_calls for r in rows})
    if budgets and min(budgets) > 0 and len(budgets) > 1:
        ax.set_xscale("log", base=2)
    ax.set_xticks(budgets, [str(b) for b in budgets])
    top = max((100 * r.avg_at_k for r in rows), default=0.0)
    ax.set_ylim(0, max(10.0, 1.15 * top))  # a flat 0% line still reads as accuracy, not as noise around 0
    ax.set_xlabel("max code interactions at evaluation")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title or "accuracy vs interaction budget")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def plot_steps(points: Iterable[dict], path: str | Path, title: str = "") -> Path:
    """avg@k against training step, one line per (dataset, max_tool_calls); points are accuracy_vs_step rows."""
    lines: dict[tuple[str, int], list[tuple[int, float]]] = defaultdict(list)
    for p in points:
        lines[(p["dataset"], p["max_tool_calls"])].append((p["step"], 100 * p["avg_at_k"]))
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for (dataset, calls), xy in sorted(lines.items()):
        xy.sort()
        ax.plot([x for x, _ in xy], [y for _, y in xy], marker="o", label=f"{dataset}, max calls {calls}")
    ax.set_xlabel("training step")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title or "accuracy vs training step")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    fig.tight_layout()
    with atomic_path(path) as temp:
        fig.savefig(temp, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    return path
