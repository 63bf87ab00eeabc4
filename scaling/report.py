"""The markdown report (`report.md`) and the machine-readable fits (`fits.json`) of an `Analysis`.

The report leads with a SYNTHETIC banner when any input is synthetic, then per series the chosen law,
its parameters with intervals, rolling-origin forecast error, extrapolation with its verdict, and every note
about a series that could not be fitted. fits.json has the same numbers (NaN written as null) for plotting elsewhere.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from runs.atomic import write_atomic
from scaling.analysis import Analysis
from scaling.choice import COMPARABLE, FLAG_Z, PARSIMONY
from scaling.fit import SeriesFit, _finite
from scaling.kind import STEP_CHANGE
from scaling.laws import LAWS
from scaling.uncertainty import PLAUSIBLE

BANNER = (
    "> **SYNTHETIC DATA.** These inputs were generated from known laws by `examples/logs/make_synthetic.py`;\n"
    "> no number below comes from a real training run.\n"
)


def _correlation_cells(c) -> str:
    """r, its block-bootstrap and Fisher-z intervals, n and the note: the cells both correlation tables end with."""
    return (
        f"{_num(c.r)} | [{_num(c.ci_low)}, {_num(c.ci_high)}] | [{_num(c.fisher_low)}, {_num(c.fisher_high)}] "
        f"| {c.n} | {c.note} |"
    )


def _num(x: float) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    return f"{x:.3g}" if abs(x) < 1e5 else f"{x:.3e}"


def _params(fit: SeriesFit, law: str) -> str:
    lf = fit.fits.get(law)
    if lf is None:
        return "–"
    return "; ".join(f"{p.name} = {_num(p.value)} [{_num(p.ci_low)}, {_num(p.ci_high)}]" for p in lf.params)


def fit_table(fits: list[SeriesFit], level: float) -> list[str]:
    rows = [
        (
            f"| run | series | n | chosen | parameters of the chosen law ({level:.0%} CI) | forecast RMSE "
            f"{' / '.join(LAWS)} (~ structured residuals) | R² | notes |"
        ),
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in fits:
        held = " / ".join(_score(f, n) for n in LAWS)
        r2 = _num(f.best.r2) if f.best else "–"
        notes = "; ".join(f.notes).replace("|", "/")
        chosen = f"{f.chosen} `{LAWS[f.chosen].formula}`{_kind(f)}" if f.chosen else "none"
        rows.append(
            f"| {f.run} | {f.series} | {f.n_points} | {chosen} | {_params(f, f.chosen) if f.chosen else '–'} "
            f"| {held} | {r2} | {notes} |"
        )
    return rows


def _kind(f: SeriesFit) -> str:
    """' (**step change**)' or ' (**out of range**)' after a chosen fit that is no law (scaling/kind.py); '' else."""
    return f" (**{f.best.kind}**)" if f.best.kind != "law" else ""


def _score(f: SeriesFit, law: str) -> str:
    if law not in f.fits:
        return "–"
    text = _num(f.fits[law].cv_rmse) + ("~" if f.fits[law].structured else "")
    return f"**{text}**" if law == f.chosen else text


def _shares(shares: dict[str, float]) -> str:
    return ", ".join(f"{m} {v:.0%}" for m, v in sorted(shares.items(), key=lambda kv: -kv[1]) if v > 0)


def summary_table(analysis: Analysis) -> list[str]:
    """One row per run: each series' chosen law, fitted value at the first and last step, and extrapolation."""
    names = list(dict.fromkeys(n for ra in analysis.runs for n in ra.step_fits))
    rows = ["| run | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for ra in analysis.runs:
        cells = []
        for name in names:
            f = ra.step_fits.get(name)
            if f is None or f.best is None:
                cells.append("–" if f is None else "no fit")
                continue
            start, end = f.best.predict([f.x_min, f.x_max])
            arrow = "↑" if end > start else "↓"
            cell = f"{f.chosen}{_kind(f)}: {_num(start)} {arrow} {_num(end)}"
            if e := f.extrapolation:
                cell += f" (step {e.x:g}: {_num(e.value)}" + (", **unreliable**)" if e.verdict == "unreliable" else ")")
            cells.append(cell)
        rows.append(f"| {ra.run.label} | " + " | ".join(cells) + " |")
    return rows


def _verdict(e) -> str:
    return "reliable" if e.verdict == "reliable" else f"**unreliable**: {e.reason}".replace("|", "/")


def render(analysis: Analysis, images: list[Path], out: Path, inputs: list[str], figure_notes=()) -> str:
    """The whole report; `figure_notes` says which figures are missing and why (scaling/outputs.py)."""
    s = analysis.settings
    lines = ["# ZeroTIR scaling-law analysis" + (" (SYNTHETIC DATA)" if analysis.synthetic else ""), ""]
    if analysis.synthetic:
        lines += [BANNER]
    lines += [
        "Laws, fitted by least squares to x > 0 (x = training step or cumulative generated tokens):",
        "",
        *[f"- **{law.name}**: `{law.formula}`" for law in LAWS.values()],
        "",
        (
            "Choice: each law forecasts the rest of the run from rolling origins at "
            f"{', '.join(f'{o:.0%}' for o in s.origins)} of the points (forecast RMSE). A law whose residuals are "
            f"autocorrelated (lag-1 r > {FLAG_Z}/√n; marked ~) is not chosen while an unmarked law forecasts within "
            f"{COMPARABLE:g}x of the best; among the rest the lowest forecast RMSE wins, a law with fewer parameters "
            f"winning within {PARSIMONY:.0%}. Parameters are fitted on all points; their {s.level:.0%} intervals come "
            f"from a wild bootstrap of that law ({s.n_boot} replicates, seed {s.seed}). Curve bands and "
            "extrapolations include the choice of law: every replicate, drawn around each law the data do not "
            "reject, repeats the choice. A fit is called a **step change** when its rise (10-90 %) takes less than "
            f"{STEP_CHANGE:g} steps and a wider rise fits clearly worse, and **out of range** when a level it reaches "
            "leaves the metric's range (a negative rate, a ceiling above 1); neither is read as a law. An "
            "extrapolation is **unreliable** when two laws each chosen in at least "
            f"{PLAUSIBLE:.0%} of the replicates predict values whose own intervals do not overlap, when the chosen "
            "fit is no law, or when a bounded metric (a rate) would be extrapolated with a law that grows without "
            f"bound or leaves its range there. Correlations: {s.level:.0%} circular block bootstrap "
            f"({s.corr_n_boot} replicates)."
        ),
        "",
        "## Summary",
        "",
        "Chosen law per series, its fitted value at the first and the last fitted step, and the extrapolation.",
        "",
        *summary_table(analysis),
        "",
        "## Inputs",
        "",
        *[f"- `{i}`" for i in inputs],
        *[f"- note: {n}" for n in analysis.notes],
        "",
        "| run | attributes | steps | notes |",
        "|---|---|---|---|",
    ]
    for ra in analysis.runs:
        attrs = ", ".join(f"{k}={v}" for k, v in ra.run.attributes.items())
        steps = (
            f"{int(ra.run.table.index.min())}–{int(ra.run.table.index.max())} ({len(ra.run.table)})"
            if len(ra.run.table)
            else "none"
        )
        lines.append(f"| {ra.run.label} | {attrs} | {steps} | {'; '.join(ra.notes).replace('|', '/')} |")
    lines += ["", "## Fits against training step", ""]
    lines += fit_table([f for ra in analysis.runs for f in ra.step_fits.values()], s.level)
    if s.extrapolate_to:
        lines += [
            "",
            f"## Extrapolation to step {s.extrapolate_to:g}",
            "",
            (
                "| run | series | law | value | mean curve CI (incl. law choice) | prediction interval (one logged "
                "value) | x beyond data | replicates choosing each law | extrapolation |"
            ),
            "|---|---|---|---|---|---|---|---|---|",
        ]
        rows = len(lines)
        for ra in analysis.runs:
            for f in ra.step_fits.values():
                if e := f.extrapolation:
                    lines.append(
                        f"| {f.run} | {f.series} | {f.chosen} | {_num(e.value)} "
                        f"| [{_num(e.ci_low)}, {_num(e.ci_high)}] | [{_num(e.pi_low)}, {_num(e.pi_high)}] "
                        f"| {e.x / f.x_max:.1f}x | {_shares(e.shares)} | {_verdict(e)} |"
                    )
        if len(lines) == rows:
            lines += ["", "No series was extrapolated: the step lies inside each fitted series' data (see the notes)."]
    token_fits = [f for ra in analysis.runs for f in ra.token_fits.values()]
    if token_fits:
        lines += ["", "## Fits against cumulative generated tokens", ""]
        lines += fit_table(token_fits, s.level)
    corr = [(ra, c) for ra in analysis.runs for c in ra.correlations]
    if corr:
        lines += [
            "",
            "## Correlations between the series",
            "",
            "| run | x | y | method | r | block-bootstrap CI | Fisher-z CI (i.i.d.) | n | note |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for ra, c in corr:
            lines.append(f"| {ra.run.label} | {c.x} | {c.y} | {c.method} | {_correlation_cells(c)}")
    trends = [(ra, c) for ra in analysis.runs for c in ra.trends]
    if trends:
        lines += [
            "",
            "## Trends with step",
            "",
            (
                "Spearman rank correlation of each series with the training step: above 0 with its whole interval, "
                "the series rises with training beyond what noise explains."
            ),
            "",
            "| run | series | Spearman r with step | block-bootstrap CI | Fisher-z CI (i.i.d.) | n | note |",
            "|---|---|---|---|---|---|---|",
        ]
        for ra, c in trends:
            lines.append(f"| {ra.run.label} | {c.y} | {_correlation_cells(c)}")
    if analysis.groupings:
        lines += ["", "## Comparisons", ""]
        for attr, groups in analysis.groupings.items():
            lines.append(f"- **{attr}**: " + "; ".join(f"{v}: {', '.join(ids)}" for v, ids in groups.items()))
    lines += ["", "## Figures", ""]
    lines += [f"- {n}" for n in figure_notes] + ([""] if figure_notes else [])
    for img in images:
        rel = os.path.relpath(img, out)
        lines += [f"### {img.stem}", "", f"![{img.stem}]({rel})", ""]
    return "\n".join(lines) + "\n"


def fits_json(analysis: Analysis, images=(), figure_notes=()) -> dict:
    return _finite(
        {
            "synthetic": analysis.synthetic,
            "notes": analysis.notes,
            "figures": [Path(p).name for p in images],
            "figure_notes": list(figure_notes),
            "settings": {k: v for k, v in vars(analysis.settings).items() if k != "specs"},
            "laws": {name: law.formula for name, law in LAWS.items()},
            "runs": [
                {
                    "run": ra.run.run_id,
                    "source": str(ra.run.source),
                    "attributes": ra.run.attributes,
                    "synthetic": ra.run.synthetic,
                    "notes": ra.notes,
                    "tokens_key": ra.tokens_key,
                    "step_fits": [f.to_dict() for f in ra.step_fits.values()],
                    "token_fits": [f.to_dict() for f in ra.token_fits.values()],
                    "correlations": [vars(c) for c in ra.correlations],
                    "trends": [vars(c) for c in ra.trends],
                }
                for ra in analysis.runs
            ],
            "groupings": analysis.groupings,
        }
    )


def write(analysis: Analysis, images: list[Path], out: Path, inputs: list[str], figure_notes=()) -> tuple[Path, Path]:
    """fits.json, then report.md (each atomic): a reader never finds a report whose numbers are not on disk."""
    out.mkdir(parents=True, exist_ok=True)
    report, fits = out / "report.md", out / "fits.json"
    write_atomic(fits, json.dumps(fits_json(analysis, images, figure_notes), indent=1, default=str) + "\n")
    write_atomic(report, render(analysis, images, out, inputs, figure_notes))
    return report, fits
