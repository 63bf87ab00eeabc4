"""Read verl's file-logger JSONL (`{"step": int, "data": {key: number}}` per line) into a `Run`.

Our launcher gives every launch its own file, `outputs/<experiment>/<run>/metrics/<timestamp>.jsonl`,
because verl's FileLogger truncates on open. A resumed run is therefore several files whose steps may
overlap; they are read in timestamp (file name) order and the later launch wins for a repeated step.
Non-numeric values (verl writes NaN as null, tables as lists) are dropped, not fatal.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

from scaling.run import LogError, steps_table

log = logging.getLogger(__name__)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def read_jsonl(path: Path) -> tuple[list[tuple[int, dict[str, float]]], bool]:
    """Records of one file-logger file, and whether it says it is synthetic. Raises LogError on bad lines."""
    path = Path(path)
    records: list[tuple[int, dict[str, float]]] = []
    synthetic = False
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise LogError(path, f"cannot read ({err})") from err
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            if number == len(lines):  # a run killed mid-write leaves a cut last line
                log.warning("%s:%d: skipping a truncated last line (%s)", path, number, err.msg)
                continue
            raise LogError(path, f"not JSON ({err.msg}); expected {{'step': int, 'data': {{...}}}}", number) from err
        if not isinstance(obj, dict) or not isinstance(obj.get("data"), dict):
            raise LogError(path, "expected an object with a 'data' object (verl FileLogger format)", number)
        step = obj.get("step")
        if isinstance(step, bool) or not isinstance(step, (int, float)) or step != int(step) or step < 0:
            raise LogError(path, f"'step' must be a non-negative integer (got {step!r})", number)
        synthetic = synthetic or obj.get("synthetic") is True
        data = {k: v for k, v in ((k, _number(v)) for k, v in obj["data"].items()) if v is not None}
        records.append((int(step), data))
    if not records:
        raise LogError(path, "no records; is this a verl file-logger JSONL (trainer.logger includes 'file')?")
    return records, synthetic


def metric_files(run_dir: Path) -> list[Path]:
    """The run's launch files in launch order (timestamp names sort chronologically)."""
    return sorted((Path(run_dir) / "metrics").glob("*.jsonl"))


def read_launches(files: list[Path]) -> tuple[list[tuple[int, dict[str, float]]], bool, list[str]]:
    """All records of several launches in the given order, plus a note per restart that repeated steps."""
    records: list[tuple[int, dict[str, float]]] = []
    synthetic, notes = False, []
    seen: set[int] = set()
    for path in files:
        part, synth = read_jsonl(path)
        steps = {s for s, _ in part}
        repeated = steps & seen
        if repeated:
            notes.append(
                f"{path.name}: restart repeats steps {min(repeated)}-{max(repeated)} ({len(repeated)} steps); "
                "the later launch wins"
            )
        seen |= steps
        records += part
        synthetic = synthetic or synth
    return records, synthetic, notes


def table_from_files(files: list[Path]):
    """(table, synthetic, notes) for a run logged in these files, in launch order."""
    records, synthetic, notes = read_launches(files)
    return steps_table(records), synthetic, notes
