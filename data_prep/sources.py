"""Verified reads of the vendored raw files, and the Problem record every source loader yields.

Every read checks the file's sha256 and record count against manifest.RAW_FILES before parsing, so a
corrupted or edited file is refused by name. Field errors name the file, line or row, and field.
Parsing only: per-source gold rules live in gold.py and the per-source loaders.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data_prep.manifest import RAW_FILES

# Resolved at call time, so tests can point it at a copy of data/raw.
RAW_ROOT = Path(__file__).resolve().parent.parent / "data" / "raw"


class RawDataError(ValueError):
    """A vendored raw file is missing, altered or malformed; the message names the file and row."""


@dataclass(frozen=True)
class Problem:
    """One math problem as a source loader yields it, before any template is applied."""

    id: str  # the source's own id, or the record number where the source has none
    question: str
    answer: str  # normalised gold answer, the reward's ground truth
    unit: str | None = None  # OlympiadBench only: the unit the answer is expressed in


@dataclass(frozen=True)
class Row:
    """One parsed record plus where it came from, for error messages."""

    where: str  # e.g. "data/raw/eval/math500.jsonl line 17"
    data: dict

    def field(self, name: str, kind: type | tuple[type, ...] = str) -> Any:
        """Return a required field, refusing a missing, null, empty or wrongly typed value."""
        value = self.data.get(name) if isinstance(self.data, dict) else None
        if value is None:
            raise RawDataError(f"{self.where}: field '{name}' is missing; restore the file from git")
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise RawDataError(
                f"{self.where}: field '{name}' has type {type(value).__name__}, expected {_kind_name(kind)}"
                f" (value {value!r:.80}); restore the file from git"
            )
        if isinstance(value, str) and not value.strip():
            raise RawDataError(f"{self.where}: field '{name}' is empty; restore the file from git")
        return value

    def gold(self, rule: Callable[[Any], str], name: str, kind: type | tuple[type, ...] = str) -> str:
        """Apply a gold.py rule to a required field; a rule's ValueError gets this row's location."""
        value = self.field(name, kind)
        try:
            return rule(value)
        except RawDataError:
            raise
        except ValueError as err:
            raise self.fail(f"field '{name}': {err}") from None

    def fail(self, message: str) -> RawDataError:
        return RawDataError(f"{self.where}: {message}")


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def display(rel: str) -> str:
    """The path as shown in error messages: relative to the repo when RAW_ROOT is the repo's."""
    path = RAW_ROOT / rel
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


def read_verified(rel: str) -> bytes:
    """The bytes of data/raw/<rel>, after checking its sha256 against the manifest."""
    if rel not in RAW_FILES:
        raise RawDataError(f"{display(rel)}: not in data_prep/manifest.py RAW_FILES; add its sha256 and count there")
    expected, _ = RAW_FILES[rel]
    path = RAW_ROOT / rel
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise RawDataError(f"{display(rel)}: file is missing; restore it with `git checkout -- data/raw`") from None
    got = hashlib.sha256(blob).hexdigest()
    if got != expected:
        raise RawDataError(
            f"{display(rel)}: sha256 mismatch (expected {expected}, got {got}); restore the file from git"
        )
    return blob


def _check_count(rel: str, rows: list) -> None:
    expected = RAW_FILES[rel][1]
    if len(rows) != expected:
        raise RawDataError(
            f"{display(rel)}: {len(rows)} records, expected {expected} (data_prep/manifest.py); "
            "restore the file from git"
        )


def _text(rel: str, blob: bytes) -> str:
    try:
        return blob.decode("utf-8")
    except UnicodeDecodeError as err:
        line = blob[: err.start].count(b"\n") + 1
        raise RawDataError(f"{display(rel)} line {line}: not valid UTF-8 ({err.reason})") from None


def read_jsonl(rel: str) -> list[Row]:
    text = _text(rel, read_verified(rel))
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{display(rel)} line {number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as err:
            raise RawDataError(f"{where}: invalid JSON ({err.msg} at column {err.colno})") from None
        if not isinstance(data, dict):
            raise RawDataError(f"{where}: expected a JSON object, got {type(data).__name__}")
        rows.append(Row(where, data))
    _check_count(rel, rows)
    return rows


def read_json_array(rel: str) -> list[Row]:
    """A file holding one JSON array of objects; rows are numbered from 0 as 'record N'."""
    try:
        data = json.loads(_text(rel, read_verified(rel)))
    except json.JSONDecodeError as err:
        raise RawDataError(f"{display(rel)} line {err.lineno}: invalid JSON ({err.msg})") from None
    if not isinstance(data, list):
        raise RawDataError(f"{display(rel)}: expected a JSON array, got {type(data).__name__}")
    rows = [Row(f"{display(rel)} record {i}", item) for i, item in enumerate(data)]
    _check_count(rel, rows)
    return rows


def read_parquet(rel: str, columns: list[str]) -> list[Row]:
    """Rows of a parquet file, numbered from 0 as 'row N'; only the named columns are read."""
    import pyarrow.parquet as pq

    blob = read_verified(rel)
    try:
        table = pq.read_table(io.BytesIO(blob), columns=columns)
    except (OSError, KeyError, ValueError) as err:
        raise RawDataError(f"{display(rel)}: cannot read columns {columns} ({err})") from None
    rows = [Row(f"{display(rel)} row {i}", item) for i, item in enumerate(table.to_pylist())]
    _check_count(rel, rows)
    return rows


def read_csv(rel: str) -> list[Row]:
    """A CSV file with a header line; data rows are named by their line number."""
    reader = csv.DictReader(io.StringIO(_text(rel, read_verified(rel)), newline=""))
    rows = [Row(f"{display(rel)} line {reader.line_num}", dict(item)) for item in reader]
    _check_count(rel, rows)
    return rows


def read_tex(rel: str) -> str:
    return _text(rel, read_verified(rel))
