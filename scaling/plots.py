"""PNG figures of an `Analysis`: each series vs step with its fitted law and band, all series vs cumulative
generated tokens, a correlation scatter matrix per run, and one comparison figure per grouping.
Each figure is drawn on its own (`figures`), so one that cannot be drawn is named in a note (`write_all`) and the
others, and the report written before them (scaling/outputs.py), are kept.

matplotlib with the Agg backend (headless). Titles say SYNTHETIC when any input is synthetic, so a figure
copied out of context cannot pass for a real result. Returns the paths written; never shows a window.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from functools import partial
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from runs.atomic import atomic_path
from scaling.analysis import Analysis
from scaling.fit import SeriesFit

log = logging.getLogger(__name__)
DPI = 100
PANEL_W = 4.2  # inches per panel in _grid
OTHER_COLORS = {"log_linear": "C2", "power": "C3", "saturating": "C4", "sigmoid": "C5"}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")


def _wrap(text: str, width: int) -> str:
    """Break long names (Hydra sweep folders like `lr=1e-05,data.train_batch_size=4`) into lines of <= width
    characters, after `/`, `,` or `_` where possible, so a title or legend entry stays inside its panel."""
    lines = []
    for line in text.split("\n"):
        pieces = re.findall(r"[^/,_ ]*[/,_ ]|[^/,_ ]+$", line) or [line]
        current = ""
        for piece in pieces:
            while len(piece) > width:  # one piece too long for a line on its own: cut it
                if current:
                    lines.append(current)
                    current = ""
                lines.append(piece[:width])
                piece = piece[width:]
            if len(current) + len(piece.rstrip()) > width:
                lines.append(current.rstrip())
                current = ""
            current += piece
        lines.append(current.rstrip())
    return "\n".join(lines)


def _chars(width_in: float, fontsize: float) -> int:
    """How many characters of a fontsize-pt sans-serif line fit in width_in inches (average glyph ~0.6 em)."""
    return max(10, int(width_in * 72 / (0.6 * fontsize)))


def _suptitle(fig, text: str, fontsize: float) -> None:
    fig.suptitle(_wrap(text, _chars(fig.get_figwidth(), fontsize)), fontsize=fontsize)


def _title(analysis: Analysis, text: str) -> str:
    return f"SYNTHETIC DATA: {text}" if analysis.synthetic else text


def _grid(n: int, width: float = 4.2, height: float = 3.0):  # width: PANEL_W
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows + 0.6), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    with atomic_path(path) as temp:  # a reader (a report page, a watcher) never sees half a figure
        fig.savefig(temp, dpi=DPI, format=Path(path).suffix.lstrip(".") or "png")
    plt.close(fig)
    log.info("wrote %s", path)
    return path


def _draw_fit(ax, fit: SeriesFit | None, x_to: float, color="C1", others: bool = True, label_prefix: str = "") -> None:
    """Chosen law (solid, with its band), the others (thin dashed), and the extrapolation interval."""
    if fit is None or fit.best is None:
        return
    x = np.geomspace(max(fit.x_min, 1e-9), max(fit.x_max, x_to), 200)
    best = fit.best
    ax.plot(x, best.predict(x), color=color, lw=2, label=f"{label_prefix}{best.law} (chosen)")
    if fit.mixture is not None or (best.boot is not None and len(best.boot)):
        lo, hi = fit.band(x)  # includes the choice of law
        ax.fill_between(x, lo, hi, color=color, alpha=0.25, lw=0)
    if others:
        for name, other in fit.fits.items():
            if name != best.law:
                ax.plot(x, other.predict(x), lw=0.9, ls="--", color=OTHER_COLORS[name], label=name)
    if fit.extrapolation:
        e = fit.extrapolation
        yerr = error_bar(e.value, e.pi_low, e.pi_high)
        if yerr is None:
            return
        ax.errorbar(
            [e.x],
            [e.value],
            yerr=yerr,
            fmt="o",
            color=color,
            capsize=3,
            ms=4,
            label=f"step {e.x:g}: {e.value:.3g} [{e.pi_low:.3g}, {e.pi_high:.3g}]"
            + (" unreliable" if e.verdict == "unreliable" else ""),
        )


def error_bar(value: float, low: float, high: float) -> list[list[float]] | None:
    """matplotlib's yerr for one point and its interval, or None when there is nothing finite to draw.

    Why: the point is the chosen law's value and the interval comes from every replicate's law, and clipping to a
    share's range moves both, so the point can sit outside its interval; matplotlib then refuses ('yerr must not
    contain negative values') and the figure was lost. The bar is the interval widened to reach its point, so both
    lengths are >= 0 by construction; the legend and the report keep the interval's own numbers.
    """
    if not math.isfinite(value):
        return None
    low = min(low, value) if math.isfinite(low) else value
    high = max(high, value) if math.isfinite(high) else value
    below, above = value - low, high - value
    return [[below], [above]] if math.isfinite(below) and math.isfinite(above) else None


def series_figure(analysis: Analysis, spec: str, out: Path) -> Path:
    """One figure for one series (spec), one panel per run that logged it."""
    extrap = analysis.settings.extrapolate_to or 0
    panels = [(ra, s) for ra in analysis.runs for s in ra.series if s.spec == spec]
    fig, axes = _grid(len(panels))
    for ax, (ra, s) in zip(axes, panels):
        ax.plot(s.values.index, s.values.to_numpy(), ".", ms=3, alpha=0.5, color="C0", label=s.key)
        _draw_fit(ax, ra.step_fits.get(s.name), extrap)
        fit = ra.step_fits.get(s.name)
        extra = f"\n{'; '.join(fit.notes)}" if fit and fit.best is None else ""
        ax.set_title(_wrap(f"{ra.run.label}\n{s.name}{extra}", _chars(PANEL_W, 8)), fontsize=8)
        ax.set_xlabel("training step")
        ax.legend(fontsize=6, loc="best")
    what = "points: logged; line: chosen law; band: 95% CI incl. the choice of law"
    _suptitle(fig, _title(analysis, f"{panels[0][1].title} vs step ({what})"), 10)
    return _save(fig, out / f"{_slug(spec)}_vs_step.png")


OVERVIEW = ("code_exec", "train_acc", "response_length")  # the paper's three co-rising training curves


def overview_figure(analysis: Analysis, ra, out: Path) -> Path | None:
    """One run's paper claim side by side: code-execution frequency, training accuracy and response length against
    step, each with its chosen law and band (and the extrapolation, when one is asked for); None under two series."""
    series = {s.spec: s for s in ra.series}
    present = [spec for spec in OVERVIEW if spec in series]
    if len(present) < 2:
        return None
    fig, axes = _grid(len(present), height=3.2)
    for ax, spec in zip(axes, present):
        s = series[spec]
        ax.plot(s.values.index, s.values.to_numpy(), "o", ms=3.5, color="C0", label=f"logged ({s.key})")
        _draw_fit(ax, ra.step_fits.get(s.name), 0, others=False)
        ax.set_title(_wrap(s.title, _chars(PANEL_W, 10)), fontsize=10)
        ax.set_xlabel("training step")
        if spec in ("code_exec", "train_acc"):
            ax.set_ylim(-0.03, 1.03)
        ax.legend(fontsize=7, loc="lower right")
    what = "points: logged per step; line: chosen law; band: 95% CI incl. the choice of law"
    _suptitle(fig, _title(analysis, f"{ra.run.label} ({what})"), 10)
    return _save(fig, out / f"overview_{_slug(ra.run.label)}.png")


def tokens_figure(analysis: Analysis, out: Path) -> Path | None:
    """All training series against cumulative generated tokens, one line per run."""
    runs = [ra for ra in analysis.runs if ra.tokens is not None]
    specs = list(dict.fromkeys(s.spec for ra in runs for s in ra.series))
    if not specs:
        return None
    fig, axes = _grid(len(specs))
    for ax, spec in zip(axes, specs):
        for i, ra in enumerate(runs):
            for s in (s for s in ra.series if s.spec == spec):
                joined = pd.concat([ra.tokens.rename("x"), s.values.rename("y")], axis=1, join="inner")
                color = f"C{i % 10}"
                ax.plot(joined["x"], joined["y"], ".", ms=2, alpha=0.35, color=color)
                label = _wrap(f"{ra.run.label}: ", _chars(PANEL_W * 0.6, 5))
                _draw_fit(ax, ra.token_fits.get(s.name), 0, color=color, others=False, label_prefix=label)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # short ranges label minor ticks on top
        ax.set_xlabel("cumulative generated tokens")
        ax.set_title(spec, fontsize=9)
        ax.legend(fontsize=5, loc="best")
    _suptitle(fig, _title(analysis, "series vs cumulative generated tokens (log x; line: chosen law per run)"), 10)
    return _save(fig, out / "series_vs_tokens.png")


def correlation_figure(analysis: Analysis, out: Path) -> Path | None:
    """One scatter matrix of the correlated series, all runs (colour = run); r and its interval per run above."""
    runs = [ra for ra in analysis.runs if ra.correlations]
    names = list(dict.fromkeys(n for ra in runs for c in ra.correlations for n in (c.x, c.y)))
    if len(names) < 2:
        return None
    n = len(names)
    fig, axes = plt.subplots(n, n, figsize=(3.4 * n, 2.8 * n + 0.5), squeeze=False)
    for i, yi in enumerate(names):
        for j, xj in enumerate(names):
            ax = axes[i][j]
            ax.tick_params(labelsize=6)
            if i <= j:
                ax.set_axis_off()
            if i > j:
                for k, ra in enumerate(runs):
                    values = {s.name: s.values for s in ra.series}
                    if xj in values and yi in values:
                        joined = pd.concat([values[xj].rename("x"), values[yi].rename("y")], axis=1, join="inner")
                        ax.plot(joined["x"], joined["y"], ".", ms=2, alpha=0.4, color=f"C{k % 10}")
            elif i == j:
                ax.text(0.5, 0.5, xj, ha="center", va="center", fontsize=10, weight="bold", transform=ax.transAxes)
            else:
                lines = []
                for k, ra in enumerate(runs):
                    c = next((c for c in ra.correlations if {c.x, c.y} == {xj, yi} and c.method == "pearson"), None)
                    if c is not None:
                        r = c.note or f"{c.r:+.2f} [{c.ci_low:+.2f}, {c.ci_high:+.2f}]"
                        lines.append((_wrap(f"{ra.run.label}: {r}", _chars(3.4, 6)), f"C{k % 10}"))
                rows = max(sum(t.count("\n") + 1 for t, _ in lines), 6)
                row = 0
                for text, color in lines:  # a wrapped entry takes as many rows as it has lines
                    y = 1 - (row + 0.5) / rows
                    ax.text(0.0, y, text, fontsize=6, color=color, va="top", transform=ax.transAxes)
                    row += text.count("\n") + 1
            if i == n - 1 and j < i:
                ax.set_xlabel(xj, fontsize=7)
            if j == 0 and i > 0:
                ax.set_ylabel(yi, fontsize=7)
    _suptitle(fig, _title(analysis, "correlations (colour = run; Pearson r [95% block-bootstrap CI])"), 9)
    return _save(fig, out / "correlations.png")


def comparison_figure(analysis: Analysis, attribute: str, groups: dict[str, list[str]], out: Path) -> Path:
    """One panel per series; each run a line (smoothed data, thin; chosen law, thick), colour = group."""
    by_id = {ra.run.run_id: ra for ra in analysis.runs}
    specs = list(dict.fromkeys(s.spec for ids in groups.values() for rid in ids for s in by_id[rid].series))
    fig, axes = _grid(len(specs))
    for ax, spec in zip(axes, specs):
        for g, (value, ids) in enumerate(groups.items()):
            for k, rid in enumerate(ids):
                ra = by_id[rid]
                for s in (s for s in ra.series if s.spec == spec):
                    color, style = f"C{g % 10}", ["-", "--", ":", "-."][k % 4]
                    smooth = s.values.rolling(max(1, len(s.values) // 25), min_periods=1).mean()
                    ax.plot(smooth.index, smooth.to_numpy(), lw=0.8, alpha=0.35, color=color, ls=style)
                    fit = ra.step_fits.get(s.name)
                    if fit and fit.best:
                        x = np.linspace(fit.x_min, fit.x_max, 200)
                        ax.plot(
                            x,
                            fit.best.predict(x),
                            lw=2,
                            color=color,
                            ls=style,
                            label=_wrap(
                                f"{attribute}={value}: {ra.run.label} ({fit.chosen})", _chars(PANEL_W * 0.6, 5)
                            ),
                        )
        ax.set_title(spec, fontsize=9)
        ax.set_xlabel("training step")
        ax.legend(fontsize=5, loc="best")
    _suptitle(fig, _title(analysis, f"comparison by {attribute} (thin: logged, smoothed; thick: chosen law)"), 10)
    return _save(fig, out / f"compare_{_slug(attribute)}.png")


# The names of the figures this module writes: the ones an analysis owns in its out_dir (scaling/outputs.py)
OWNED = ("*_vs_step.png", "overview_*.png", "series_vs_tokens.png", "correlations.png", "compare_*.png")


def figures(analysis: Analysis, out: Path) -> list[tuple[str, Callable[[], Path | None]]]:
    """Every figure as (file name, drawer), in the report's order; a drawer returns None when it has nothing to draw."""
    specs = list(dict.fromkeys(s.spec for ra in analysis.runs for s in ra.series))
    jobs = [(f"{_slug(spec)}_vs_step.png", partial(series_figure, analysis, spec, out)) for spec in specs]
    jobs += [
        (f"overview_{_slug(ra.run.label)}.png", partial(overview_figure, analysis, ra, out)) for ra in analysis.runs
    ]
    jobs += [("series_vs_tokens.png", partial(tokens_figure, analysis, out))]
    jobs += [("correlations.png", partial(correlation_figure, analysis, out))]
    for attr, groups in analysis.groupings.items():
        jobs.append((f"compare_{_slug(attr)}.png", partial(comparison_figure, analysis, attr, groups, out)))
    return jobs


def write_all(analysis: Analysis, out: Path, notes: list[str] | None = None) -> list[Path]:
    """Draw every figure. With `notes`, a figure that cannot be drawn becomes a note there and the rest are still
    drawn (the analysis's outputs); without, the error propagates (tests want to see it)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, draw in figures(analysis, out):
        try:
            path = draw()
        except Exception as err:  # any drawing failure: the figure is lost, never the report
            plt.close("all")
            if notes is None:
                raise
            log.warning("%s not drawn", name, exc_info=True)
            reason = (str(err).strip().splitlines() or [""])[0]
            notes.append(f"{name}: not drawn ({type(err).__name__}: {reason})")
            continue
        if path is not None:
            paths.append(path)
    return paths
