"""Read the eval harness's accuracy-over-checkpoints summary into a `Run` with `eval/...` columns.

Input: `outputs/eval/<name>/accuracy_vs_step.json` (`{"rows": [...]}` or a list; also .csv/.jsonl), rows
`{step, dataset, max_tool_calls, avg_at_k, k, ...}`. Columns: `eval/<dataset>/calls=<m>/avg@<k>` (the
harness's own W&B key) and `.../code_exec_ratio` (a row written before that name holds `code_call_rate`, read the
same: scaling.run.RENAMED); extra fields are ignored, `complete: false` rows skipped. Skipped rows and values that
are not finite numbers become notes on the run, so the report says what it did not use.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import pandas as pd

from scaling.run import LogError, Run, current_name, steps_table

log = logging.getLogger(__name__)

REQUIRED = ("step", "dataset", "avg_at_k")
OPTIONAL = ("code_exec_ratio",)  # eval-time code-execution frequency, when the harness reports it


def eval_key(dataset: str, k: object = None, max_tool_calls: object = None, metric: str | None = None) -> str:
    """`eval/<dataset>/calls=<m>/avg@<k>`: the eval harness's own W&B key, so both sources read alike."""
    calls = "" if max_tool_calls is None or max_tool_calls == "" else f"calls={int(max_tool_calls)}/"
    at = metric or (f"avg@{int(k)}" if k not in (None, "") else "avg")
    return f"eval/{dataset}/{calls}{at}"


def _rows(path: Path) -> list[tuple[int | None, dict]]:
    """(line number or None, row) pairs from .json (list or {'rows': [...]}), .jsonl or .csv."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise LogError(path, f"cannot read ({err})") from err
    if path.suffix == ".csv":
        frame = pd.read_csv(path) if text.strip() else pd.DataFrame()
        return [(i + 2, {k: (None if pd.isna(v) else v) for k, v in r.items()}) for i, r in frame.iterrows()]
    if path.suffix == ".jsonl":
        out = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    out.append((number, json.loads(line)))
                except json.JSONDecodeError as err:
                    raise LogError(path, f"not JSON ({err.msg})", number) from err
        return out
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as err:
        raise LogError(path, f"not JSON ({err.msg})", err.lineno) from err
    rows = obj.get("rows") if isinstance(obj, dict) else obj
    if not isinstance(rows, list):
        raise LogError(path, "expected a list of rows or an object with 'rows'")
    return [(None, r) for r in rows]


def read_eval(path: Path) -> Run:
    """A `Run` named after the eval folder, one `eval/...` column per dataset, tool budget and k."""
    path = Path(path)
    rows = _rows(path)
    if not rows:
        raise LogError(path, "no rows; has the eval harness finished a checkpoint?")
    records, synthetic, skipped = [], False, {"incomplete": [], "not a finite number": []}
    for index, (line, row) in enumerate(rows):
        where = line if line is not None else None
        if not isinstance(row, dict) or any(row.get(f) is None for f in REQUIRED):
            missing = [f for f in REQUIRED if not isinstance(row, dict) or row.get(f) is None]
            raise LogError(path, f"row {index}: missing field(s) {', '.join(missing)}", where)
        try:
            step, value = int(row["step"]), float(row["avg_at_k"])
        except (TypeError, ValueError) as err:
            raise LogError(path, f"row {index}: step/avg_at_k not numbers ({err})", where) from err
        synthetic = synthetic or row.get("synthetic") in (True, "true", "True")
        where_row = f"row {index} (step {step}, {row['dataset']})"
        if row.get("complete") in (False, "False", "false", 0):
            log.warning("%s: %s is incomplete; skipped", path, where_row)
            skipped["incomplete"].append(where_row)
            continue
        dataset, calls = str(row["dataset"]), row.get("max_tool_calls")
        data = {eval_key(dataset, row.get("k"), calls): value} if math.isfinite(value) else {}
        if not math.isfinite(value):
            skipped["not a finite number"].append(f"{where_row} avg_at_k")
        fields = {current_name(name): value for name, value in row.items()}
        for name in OPTIONAL:
            extra = fields.get(name)
            if isinstance(extra, (int, float)) and not isinstance(extra, bool) and math.isfinite(extra):
                data[eval_key(dataset, None, calls, name)] = float(extra)
            elif extra is not None:
                skipped["not a finite number"].append(f"{where_row} {name} {extra!r}")
        records.append((step, data))
    name = path.parent.name
    return Run("eval", name, path, steps_table(records), {"source": "eval"}, synthetic, _skip_notes(path, skipped))


def _skip_notes(path: Path, skipped: dict[str, list[str]]) -> list[str]:
    """One note per kind of skip: `file: 2 incomplete row(s) skipped: row 3 (step 40, aime24), ...`."""
    notes = []
    for kind, where in skipped.items():
        if where:
            more = f", +{len(where) - 3} more" if len(where) > 3 else ""
            what = "row(s) skipped" if kind == "incomplete" else "value(s) dropped"
            notes.append(f"{path.name}: {len(where)} {kind} {what}: {', '.join(where[:3])}{more}")
    return notes
