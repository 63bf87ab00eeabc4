"""summary.json and summary.md of a run, derived from samples.jsonl alone, and the console transcript.

Files are written atomically (runs.atomic, mode 0644), so a reader never sees half a summary. The markdown
table is what `make demo` prints and what the README quotes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evaluation.metrics import MetricRow
from evaluation.samples import SampleRecord
from runs.atomic import write_atomic
from tir_rollout.stop_machine import OUTPUT_PREFIX, OUTPUT_SUFFIX


def _fmt(value: float | None, digits: int = 1, scale: float = 1.0) -> str:
    return "-" if value is None else f"{value * scale:.{digits}f}"


def _pct(value: float | None) -> str:
    return _fmt(value, 1, 100.0)


def markdown_table(rows: Sequence[MetricRow]) -> str:
    """One line per (dataset, max_tool_calls); accuracies in % (the JSON keeps fractions), rates as fractions."""
    ks = sorted({k for row in rows for k in row.pass_at})
    header = ["dataset", "max calls", "problems", "k", "avg@k", "95 % interval", *(f"pass@{k}" for k in ks), "maj@k"]
    header += ["code-exec ratio", "calls/sample", "code error rate", "timeout rate", "sandbox error rate"]
    header += ["length-cut rate"]
    header += ["len correct", "len wrong"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [r.dataset + ("" if r.complete else " (incomplete)"), str(r.max_tool_calls), str(r.problems)]
        interval = f"{_pct(r.avg_at_k_ci95[0])}-{_pct(r.avg_at_k_ci95[1])}"
        cells += [str(r.samples_per_problem), _pct(r.avg_at_k), interval, *(_pct(r.pass_at.get(k)) for k in ks)]
        use = r.tool_use
        cells += [_pct(r.maj_at_k), _fmt(use.code_exec_ratio, 2), _fmt(use.code_calls_mean, 2)]
        cells += [_fmt(use.code_error_rate, 2), _fmt(use.code_timeout_rate, 2), _fmt(use.sandbox_error_rate, 3)]
        cells += [_fmt(use.finish_length_rate, 2), _fmt(r.response_tokens_correct, 0), _fmt(r.response_tokens_wrong, 0)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_summary(out_dir: str | Path, rows: Sequence[MetricRow], meta: dict[str, Any]) -> tuple[Path, Path]:
    """summary.json ({**meta, complete, rows}) and summary.md in `out_dir`."""
    out_dir = Path(out_dir)
    doc = {**meta, "complete": all(r.complete for r in rows), "rows": [r.as_dict() for r in rows]}
    js = write_atomic(out_dir / "summary.json", json.dumps(doc, indent=2) + "\n")
    title = f"# Evaluation: {meta.get('run_name', out_dir.name)}\n\nmodel: `{meta.get('model')}`\n\n"
    md = write_atomic(out_dir / "summary.md", title + markdown_table(rows))
    return js, md


def transcript(record: SampleRecord) -> str:
    """A finished trajectory as a reader wants to see it: verdict, then the response with its output blocks."""
    verdict = "correct" if record.correct else "wrong"
    head = (
        f"--- {record.dataset} problem {record.problem_id}, sample {record.sample}, max_tool_calls="
        f"{record.max_tool_calls}: {record.tool_use.code_calls} code call(s), {record.tool_use.code_errors} error(s), "
        f"predicted {record.prediction!r}, gold {record.gold!r} -> {verdict}"
    )
    return f"{head}\n{record.response.rstrip()}\n---"


def transcript_order(records: Sequence[SampleRecord]) -> list[SampleRecord]:
    """Samples that ran code, best to show first: an output block in the text, a clean run, a right answer,
    a non-empty output."""
    return sorted(
        (r for r in records if r.tool_use.code_calls > 0),
        key=lambda r: (
            OUTPUT_PREFIX not in r.response,
            r.tool_use.code_errors + r.tool_use.code_timeouts > 0,
            not r.correct,
            OUTPUT_PREFIX + OUTPUT_SUFFIX in r.response,
        ),
    )
