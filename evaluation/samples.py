"""samples.jsonl: the append-only record of every finished sample, from which every summary is derived.

One JSON object per line, appended and flushed (and fsynced) as each sample finishes, so a crash loses at
most the samples in flight and a rerun skips every sample already on disk. A line that is not a valid
record stops the run with its line number and leaves the file untouched; only a torn last line (a crash
mid-write, no trailing newline) is moved aside to `samples.jsonl.torn` and its sample recomputed.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import Any

from tir_rollout.tool_use import ToolUse

logger = logging.getLogger(__name__)


class SamplesFileError(ValueError):
    """samples.jsonl holds a line that is not a sample record; the message names the file and line."""


@dataclass(frozen=True)
class SampleRecord:
    """One finished trajectory, graded. The key is (dataset, problem_id, max_tool_calls, sample).

    On disk the tool-use fields sit flat beside the others (`as_dict`), as they always have; a line written
    before `turns`, `outputs_truncated` or `sandbox_errors` existed reads them as 0.
    """

    dataset: str
    problem_id: str
    index: int  # row of the problem in its parquet file
    max_tool_calls: int  # the sweep point
    sample: int  # 0-based sample number for this problem and sweep point
    response: str  # decoded response, output blocks included
    prediction: str | None  # lenient final answer (reward.grader.extract_answer), None when there is none
    gold: str
    correct: bool
    tool_use: ToolUse  # the stop machine's counts, finish reason and token lengths
    generate_s: float = 0.0
    tool_s: float = 0.0

    @property
    def key(self) -> tuple[str, str, int, int]:
        return (self.dataset, self.problem_id, self.max_tool_calls, self.sample)

    def as_dict(self) -> dict[str, Any]:
        """The JSON object of one samples.jsonl line."""
        own = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "tool_use"}
        return {**own, **asdict(self.tool_use)}


_OWN = {f.name: f for f in fields(SampleRecord) if f.name != "tool_use"}
_TOOL = {f.name: f for f in fields(ToolUse)}
# fields every line has had since the first writer; the rest default when missing
_REQUIRED = [name for name, f in _OWN.items() if f.default is MISSING and f.default_factory is MISSING] + [
    "code_calls", "code_errors", "code_timeouts", "code_blocks", "finish_reason", "response_tokens", "generated_tokens",
]  # fmt: skip
_TYPES = {"str": str, "int": int, "bool": bool, "float": (int, float), "str | None": (str, type(None))}


def parse_record(line: str, where: str) -> SampleRecord:
    """One JSONL line as a SampleRecord; `where` ("path:line") prefixes every error."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        raise SamplesFileError(f"{where}: not valid JSON ({err.msg} at column {err.colno})") from None
    if not isinstance(obj, dict):
        raise SamplesFileError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    missing = [name for name in _REQUIRED if name not in obj]
    if missing:
        raise SamplesFileError(f"{where}: missing field(s) {', '.join(missing)}")
    own, tool = {}, {}
    for name, value in obj.items():
        target = own if name in _OWN else tool if name in _TOOL else None
        if target is None:
            continue  # a newer writer's extra field: keep reading
        expected = _TYPES[str((_OWN.get(name) or _TOOL[name]).type)]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise SamplesFileError(f"{where}: field {name!r} has type {type(value).__name__} ({value!r:.40})")
        target[name] = value
    return SampleRecord(**own, tool_use=ToolUse(**tool))


class SampleStore:
    """The samples.jsonl of one run. `load()` before `append()`; appends are durable one line at a time."""

    def __init__(self, path: str | Path, fsync: bool = True):
        self.path = Path(path)
        self.fsync = fsync
        self.records: dict[tuple, SampleRecord] = {}
        self.after_first_append: Callable[[], None] | None = None  # run once, after the first line is on disk

    def load(self) -> list[SampleRecord]:
        """Read every record (first one wins on a duplicate key); a torn last line is moved aside."""
        self.records = {}
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        lines = data.split(b"\n")
        tail = lines.pop()  # b"" when the file ends with a newline
        duplicates = 0
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            record = parse_record(raw.decode("utf-8", errors="replace"), f"{self.path}:{number}")
            if record.key in self.records:
                duplicates += 1
                continue
            self.records[record.key] = record
        if duplicates:
            logger.warning("%s: %d duplicate sample(s) ignored (first occurrence kept)", self.path, duplicates)
        if tail.strip():
            self._move_torn_tail(tail, len(data) - len(tail), len(lines) + 1)
        return list(self.records.values())

    def _move_torn_tail(self, tail: bytes, offset: int, number: int) -> None:
        torn = self.path.with_name(self.path.name + ".torn")
        with open(torn, "ab") as f:
            f.write(tail + b"\n")
        with open(self.path, "r+b") as f:
            f.truncate(offset)
        logger.warning(
            "%s:%d: incomplete last line (interrupted write) moved to %s; its sample reruns", self.path, number, torn
        )

    def done(self, key: tuple) -> bool:
        return key in self.records

    def append(self, record: SampleRecord) -> None:
        """Append one line with a single write; the record is on disk when this returns."""
        line = (json.dumps(record.as_dict(), ensure_ascii=False) + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        self.records.setdefault(record.key, record)
        if self.after_first_append is not None:
            hook, self.after_first_append = self.after_first_append, None
            hook()
