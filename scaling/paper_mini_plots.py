"""The paper-in-miniature figures: curves with bands across seeds, the budget sweep, the tool-vs-no-tool gap per tier.

Each figure is drawn from the report's own numbers (scaling.paper_mini.Report), after report.md and claims.json are
written; a figure that cannot be drawn becomes a note in the report, never a lost report.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from runs.atomic import atomic_path

ARM_STYLE = {"tool": ("tab:blue", "tool (python runs)"), "no_tool": ("tab:orange", "no tool (prose only)")}


def _save(fig, path: Path) -> None:
    with atomic_path(path) as temp:
        fig.savefig(temp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def draw_curves(report, out: Path) -> Path:
    labels = report.data["labels"]  # metric -> axis title (scaling.paper_mini.CURVES)
    fig, axes = plt.subplots(1, len(labels), figsize=(5 * len(labels), 3.8))
    for ax, (metric, label) in zip(axes, labels.items(), strict=True):
        for arm, band in report.data["curves"][metric].items():
            if not band["steps"]:
                continue
            color, name = ARM_STYLE[arm]
            steps = np.array(band["steps"])
            mean = np.array([b["mean"] for b in band["band"]])
            low = np.array([b["low"] for b in band["band"]])
            high = np.array([b["high"] for b in band["band"]])
            n = max(b["n"] for b in band["band"])
            ax.plot(steps, mean, color=color, label=f"{name}, {n} seed{'s' if n != 1 else ''}")
            ax.fill_between(steps, low, high, color=color, alpha=0.2, linewidth=0)
        ax.set_xlabel("training step")
        ax.set_title(label)
        if "length" not in metric:
            ax.set_ylim(-0.02, 1.02)
    if axes[0].get_legend_handles_labels()[0]:
        axes[0].legend(fontsize=8)
    fig.suptitle("SmolLM2-135M on the arithmetic ladder: mean and 95 % band over seeds", fontsize=10)
    path = out / "curves.png"
    _save(fig, path)
    return path


def draw_budget_sweep(report, out: Path) -> Path:
    sweep = report.data["budget_sweep"]
    budgets = sorted(sweep, key=int)
    mean = np.array([sweep[b]["mean"] for b in budgets], float)
    low = np.array([sweep[b]["low"] for b in budgets], float)
    high = np.array([sweep[b]["high"] for b in budgets], float)
    if not np.isfinite(mean).any():
        raise ValueError("no budget sweep evaluated yet")
    fig, ax = plt.subplots(figsize=(5, 3.8))
    x = np.arange(len(budgets))
    ax.errorbar(x, mean, yerr=[np.clip(mean - low, 0, None), np.clip(high - mean, 0, None)], marker="o", capsize=3)
    ax.set_xticks(x, [str(b) for b in budgets])
    ax.set_xlabel("tool calls allowed at evaluation")
    ax.set_ylabel("held-out accuracy (all tiers)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("tool arm: the interaction budget swept at evaluation", fontsize=10)
    path = out / "budget_sweep.png"
    _save(fig, path)
    return path


def draw_algorithms(report, out: Path) -> Path | None:
    """Claim (d): code use and accuracy under each algorithm against step, generated tokens and training time; a thin
    line per seed, the mean over seeds against step (seeds share steps, not costs)."""
    algorithms = report.data.get("algorithms") or {}
    if not algorithms:
        return None
    metrics = {"tir/code_exec_ratio": "code-execution ratio", "tir/acc": "training accuracy"}
    axes_x = {"step": "training step", "generated tokens": "generated tokens (cumulative)",
              "training time": "training time (min, cumulative)"}  # fmt: skip
    fig, axes = plt.subplots(len(metrics), len(axes_x), figsize=(5 * len(axes_x), 3.4 * len(metrics)), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for color, (alg, seeds) in zip(colors, algorithms.items(), strict=False):
        for row, metric in enumerate(metrics):
            for col, axis in enumerate(axes_x):
                ax = axes[row][col]
                name = f"{alg}, {len(seeds)} seed{'s' if len(seeds) != 1 else ''}"
                for i, seed in enumerate(seeds):
                    x, y = seed[metric][axis]
                    ax.plot(x, y, color=color, alpha=0.35, linewidth=0.8, label=name if i == 0 and col else None)
                if axis == "step":
                    steps = sorted({s for seed in seeds for s in seed[metric]["step"][0]})
                    mean = [np.mean([y for seed in seeds for x, y in zip(*seed[metric]["step"], strict=True)
                                     if x == s]) for s in steps]  # fmt: skip
                    ax.plot(steps, mean, color=color, linewidth=2, label=f"{alg} (mean)")
                ax.set_xlabel(axes_x[axis])
                ax.set_ylim(-0.02, 1.02)
                if col == 0:
                    ax.set_ylabel(metrics[metric])
    axes[0][0].legend(fontsize=8)
    axes[0][1].legend(fontsize=8)
    fig.suptitle("Claim (d): the tool arm's curves under each RL algorithm (thin: one seed; thick: mean over seeds)",
                 fontsize=10)  # fmt: skip
    path = out / "algorithms.png"
    _save(fig, path)
    return path


def draw_all(report, out: Path) -> list[str]:
    notes = []
    for draw in (draw_curves, draw_budget_sweep, draw_algorithms):
        try:
            draw(report, out)
        except Exception as err:  # noqa: BLE001 - a figure that cannot be drawn is a note, never a lost report
            notes.append(f"{draw.__name__}: not drawn ({type(err).__name__}: {err})")
            plt.close("all")
    return notes
