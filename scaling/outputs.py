"""An analysis's outputs in `out_dir` as one set: fits.json, report.md, the config it was made with, the figures.

Why (issue 25): the report was written after every figure, so one figure that could not be drawn (after minutes
of fitting) lost the report and fits.json; Hydra wrote `.hydra/` into out_dir at startup, so a refused or failed
analysis left a config that disagreed with the report beside it; and figures of an earlier analysis (a run or a
grouping no longer there) stayed beside the new report as if they were part of it.

Order: fits.json and report.md first (the report says figures follow), then the config, then each figure on its
own (one that fails becomes a note), then figures of ours that this analysis did not draw are removed, and
report.md and fits.json are written again with the figures and notes. The caller writes nothing before the
inputs are loaded and analysed, so a refused or failed command leaves out_dir as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from runs.atomic import write_atomic
from scaling import plots, report
from scaling.analysis import Analysis

PENDING = "The figures are drawn after this report is written; if this line is still here, drawing stopped early."
CONFIG_DIR = ".hydra"  # where Hydra used to write it, so readers of earlier analyses find it in the same place


@dataclass
class Written:
    report: Path
    fits: Path
    images: list[Path]
    figure_notes: list[str]


def write_config(out: Path, config: str, overrides: list[str] | None) -> None:
    """The composed config (and the command line's overrides, when known) beside the report it made.

    An overrides.yaml or hydra.yaml of an earlier analysis is removed rather than left to contradict this one.
    """
    folder = out / CONFIG_DIR
    write_atomic(folder / "config.yaml", config)
    if overrides is None:
        (folder / "overrides.yaml").unlink(missing_ok=True)
    else:
        write_atomic(folder / "overrides.yaml", yaml.safe_dump(list(overrides), default_flow_style=False))
    (folder / "hydra.yaml").unlink(missing_ok=True)  # Hydra's own settings (machine paths): no longer written


def remove_stale(out: Path, keep: list[Path]) -> list[Path]:
    """Figures by this module's names (plots.OWNED) in `out` that this analysis did not draw; removed, returned."""
    kept = {Path(p).resolve() for p in keep}
    stale = sorted({p for pattern in plots.OWNED for p in out.glob(pattern) if p.is_file() and p.resolve() not in kept})
    for path in stale:
        path.unlink()
    return stale


def write_set(
    analysis: Analysis, out: Path, inputs: list[str], config: str | None = None, overrides: list[str] | None = None
) -> Written:
    """Write everything in the order above; returns what was written and the notes of figures not drawn."""
    out.mkdir(parents=True, exist_ok=True)
    report.write(analysis, [], out, inputs, [PENDING])
    if config is not None:
        write_config(out, config, overrides)
    notes: list[str] = []
    images = plots.write_all(analysis, out, notes)
    remove_stale(out, images)
    report_path, fits_path = report.write(analysis, images, out, inputs, notes)
    return Written(report_path, fits_path, images, notes)
