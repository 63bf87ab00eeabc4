"""Read W&B runs: offline run folders (`wandb/offline-run-*/run-*.wandb`) and the online API.

wandb 0.31 ships no Python reader for its transaction log, so this parses its LevelDB-style framing (":W&B"
header, 32 KiB blocks, CRC-checked records) and decodes wandb's own `Record` protobufs (run, config, history
only; media skipped). Online: anything shaped like `wandb.Api()`, so tests pass a fake.
"""

from __future__ import annotations

import json
import logging
import math
import struct
import zlib
from pathlib import Path
from typing import Any

from scaling.run import LogError, steps_table

log = logging.getLogger(__name__)

_HEADER = struct.Struct("<4sHB")  # ident ":W&B", magic 0xBEE1, version 0
_RECORD = struct.Struct("<IHB")  # crc32, length, type
_BLOCK = 32768
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4


def _chunks(path: Path, data: bytes):
    """Yield the payload of each logical record, checking the framing and the checksums."""
    ident, magic, version = _HEADER.unpack_from(data, 0) if len(data) >= _HEADER.size else (b"", 0, 0)
    if ident != b":W&B" or magic != 0xBEE1 or version != 0:
        raise LogError(path, "not a W&B transaction log (bad ':W&B' header)")
    offset, pending = _HEADER.size, b""
    while offset < len(data):
        room = _BLOCK - offset % _BLOCK
        if room < _RECORD.size:  # block trailer padding
            offset += room
            continue
        if offset + _RECORD.size > len(data):
            break
        crc, length, kind = _RECORD.unpack_from(data, offset)
        if kind == 0 and length == 0:  # zero padding to the end of a block
            offset += room
            continue
        body = data[offset + _RECORD.size : offset + _RECORD.size + length]
        if len(body) < length:
            log.warning("%s: transaction log ends inside a record at byte %d (run still writing?)", path, offset)
            break
        if zlib.crc32(body, zlib.crc32(bytes([kind]))) & 0xFFFFFFFF != crc:
            raise LogError(path, f"checksum mismatch in the record at byte {offset}; the file is corrupt")
        offset += _RECORD.size + length
        if kind == _FULL:
            yield body
        elif kind == _FIRST:
            pending = body
        elif kind == _MIDDLE:
            pending += body
        elif kind == _LAST:
            yield pending + body
            pending = b""
        else:
            raise LogError(path, f"unknown record type {kind} at byte {offset}")


def _set_nested(config: dict, keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        config = config.setdefault(key, {})
    config[keys[-1]] = value


def _item_key(item) -> list[str]:
    return list(item.nested_key) if item.nested_key else [item.key]


def read_offline(run_folder: Path) -> tuple[dict[str, str], dict, list[tuple[int, dict[str, float]]]]:
    """(identity {id, name, project, group}, config, history records) of one offline run folder."""
    from wandb.proto import wandb_internal_pb2 as pb

    run_folder = Path(run_folder)
    files = sorted(run_folder.glob("run-*.wandb"))
    if not files:
        raise LogError(run_folder, "no run-*.wandb file in this W&B run folder")
    identity: dict[str, str] = {}
    config: dict = {}
    records: list[tuple[int, dict[str, float]]] = []
    for path in files:
        for body in _chunks(path, path.read_bytes()):
            record = pb.Record()
            record.ParseFromString(body)
            kind = record.WhichOneof("record_type")
            if kind == "run":
                identity = {
                    "id": record.run.run_id,
                    "name": record.run.display_name,
                    "project": record.run.project,
                    "group": record.run.run_group,
                }
                updates = record.run.config.update
            elif kind == "config":
                updates = record.config.update
            elif kind == "history":
                row = {"/".join(_item_key(i)): json.loads(i.value_json) for i in record.history.item}
                step = record.history.step.num if record.history.HasField("step") else row.get("_step")
                records.append((int(step), _numbers(row)))
                continue
            else:
                continue
            for item in updates:
                if item.key != "_wandb":
                    _set_nested(config, _item_key(item), json.loads(item.value_json))
    if not records:
        raise LogError(
            files[0], "no history rows (nothing logged yet, or the run is open and wandb has not flushed it)"
        )
    return identity, config, records


def _numbers(row: dict) -> dict[str, float]:
    return {
        k: float(v)
        for k, v in row.items()
        if not k.startswith("_") and isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    }


def offline_folders(path: Path) -> list[Path]:
    """Offline run folders at or under `path` (a run folder itself, a `wandb/` dir, or a run dir)."""
    path = Path(path)
    if list(path.glob("run-*.wandb")):
        return [path]
    return sorted({p.parent for p in path.glob("**/offline-run-*/run-*.wandb")})


def offline_table(run_folders: list[Path]):
    """(table, identity, config) for the offline folders of one run, resumed folders in start order."""
    records: list[tuple[int, dict[str, float]]] = []
    identity: dict[str, str] = {}
    config: dict = {}
    for folder in sorted(run_folders, key=lambda p: p.name):  # offline-run-YYYYmmdd_HHMMSS-id sorts by start
        ident, conf, recs = read_offline(folder)
        identity, records = ident or identity, records + recs
        config.update(conf)
    return steps_table(records), identity, config


def online_runs(api, path: str, filters: dict | None = None, keys: list[str] | None = None):
    """Yield (table, identity, config) for each run of `entity/project` through a wandb.Api-like object."""
    for run in api.runs(path, filters=filters or {}):
        rows = []
        for row in run.scan_history(keys=keys) if keys else run.scan_history():
            if row.get("_step") is None:
                continue
            rows.append((int(row["_step"]), _numbers(row)))
        if not rows:
            log.warning("W&B run %s/%s has no history rows; skipped", path, getattr(run, "name", "?"))
            continue
        identity = {"id": run.id, "name": run.name, "project": path, "group": getattr(run, "group", "") or ""}
        config = dict(run.config) if run.config else {}
        yield steps_table(rows), identity, config
