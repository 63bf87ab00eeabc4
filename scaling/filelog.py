"""Read verl's file-logger JSONL (`{"step": int, "data": {key: number}}` per line) into a `Run`.

Our launcher gives every launch its own file, `outputs/<experiment>/<run>/metrics/<timestamp>.jsonl`,
because verl's FileLogger truncates on open. A resumed run is therefore several files whose steps may
overlap; they are read in timestamp (file name) order and the later launch wins for a repeated step.
Values that are not finite numbers (verl writes NaN as null, tables as lists) are dropped, not fatal, and a step
written twice in one file keeps its later line; each becomes a note on the run (issue 25: a drop nobody is told
about reads as a smaller, cleaner run than the one logged).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

from runs.layout import RunFolder
from scaling.run import LogError, steps_table

log = logging.getLogger(__name__)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _shown(value: object) -> str:
    """A dropped value as a note shows it: null, NaN, 'text', a list."""
    if value is None:
        return "null"
    if isinstance(value, (list, dict)):
        return "a list" if isinstance(value, list) else "an object"
    text = repr(value) if isinstance(value, str) else str(value).lower()
    return text if len(text) <= 24 else text[:21] + "..."


SHOWN_KEYS, SHOWN_VALUES = 5, 3  # a note names this many keys, and this many dropped values of each


def dropped_note(path: Path, dropped: dict[str, list[tuple[int, object]]]) -> str | None:
    """`file: N value(s) that are not finite numbers dropped: key (null at step 3, 'abc' at step 7), ...`."""
    if not dropped:
        return None
    parts = []
    for key, found in list(dropped.items())[:SHOWN_KEYS]:
        shown = ", ".join(f"{_shown(v)} at step {s}" for s, v in found[:SHOWN_VALUES])
        more = f", +{len(found) - SHOWN_VALUES} more" if len(found) > SHOWN_VALUES else ""
        parts.append(f"{key} ({shown}{more})")
    if len(dropped) > SHOWN_KEYS:
        parts.append(f"and {len(dropped) - SHOWN_KEYS} more key(s)")
    total = sum(map(len, dropped.values()))
    return f"{Path(path).name}: {total} value(s) that are not finite numbers dropped: {'; '.join(parts)}"


def repeated_note(path: Path, lines_of: dict[int, list[int]]) -> str | None:
    """`file: step 5 written 2 times in this file (lines 5, 9); the later line wins key by key`."""
    repeated = {s: lines for s, lines in lines_of.items() if len(lines) > 1}
    if not repeated:
        return None
    shown = [f"{s} (lines {', '.join(map(str, lines))})" for s, lines in list(repeated.items())[:SHOWN_KEYS]]
    more = f" and {len(repeated) - SHOWN_KEYS} more" if len(repeated) > SHOWN_KEYS else ""
    return (
        f"{Path(path).name}: {len(repeated)} step(s) written more than once in this file: {', '.join(shown)}{more}; "
        "the later line wins key by key"
    )


def read_jsonl(path: Path) -> tuple[list[tuple[int, dict[str, float]]], bool, list[str]]:
    """Records of one file-logger file, whether it says it is synthetic, and notes on what was dropped or
    repeated. Raises LogError on bad lines."""
    path = Path(path)
    records: list[tuple[int, dict[str, float]]] = []
    synthetic = False
    dropped: dict[str, list[tuple[int, object]]] = {}
    lines_of: dict[int, list[int]] = {}
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
        data = {}
        for key, raw in obj["data"].items():
            value = _number(raw)
            if value is None:
                dropped.setdefault(key, []).append((int(step), raw))
            else:
                data[key] = value
        lines_of.setdefault(int(step), []).append(number)
        records.append((int(step), data))
    if not records:
        raise LogError(path, "no records; is this a verl file-logger JSONL (trainer.logger includes 'file')?")
    notes = [n for n in (dropped_note(path, dropped), repeated_note(path, lines_of)) if n]
    return records, synthetic, notes


def metric_files(run_dir: Path) -> list[Path]:
    """The run's launch files in launch order (timestamp names sort chronologically)."""
    return RunFolder(run_dir).metric_files()


def read_launches(files: list[Path]) -> tuple[list[tuple[int, dict[str, float]]], bool, list[str]]:
    """All records of several launches in the given order, plus a note per restart that repeated steps."""
    records: list[tuple[int, dict[str, float]]] = []
    synthetic, notes = False, []
    seen: set[int] = set()
    for path in files:
        part, synth, file_notes = read_jsonl(path)
        notes += file_notes
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
