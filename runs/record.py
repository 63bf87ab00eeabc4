"""`run.json`, a training run's record of itself: written once by the launch, read by later launches, the evaluation
and the analysis, all through `RunRecord`.

Why a record beside Hydra's own (`hydra/.hydra/*.yaml`): it holds what the launch resolved and Hydra's files keep
unresolved or not at all: the experiment and run name (the analysis names a run by them, never by its folder, which
may be renamed or copied: scaling/discover.py), the overrides that define the run (a later launch says which runs it
does not resume: recipes/zerotir/runs.py), the model group (the evaluation sizes a checkpoint's engine by it:
evaluation/config.py) and the model path as given (the run name escapes its `/`). Runs launched before a key
existed lack it: every field is optional, and a value of the wrong type reads as missing, never as an error.
An evaluation's own run.json (outputs/eval/<run>/) is another record, the settings its samples depend on, owned by
evaluation/fingerprint.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from runs.atomic import write_atomic
from runs.layout import RUN_JSON


@dataclass(frozen=True)
class RunRecord:
    experiment: str | None = None  # Hydra's experiment choice, `default` without one (tir.experiment)
    run_name: str | None = None  # the run's folder name as the launch resolved it (tir.run_name)
    overrides: tuple[str, ...] | None = None  # the overrides that name the run (recipes/zerotir/runs.run_overrides)
    model_group: str | None = None  # conf/model/<group>.yaml (tir.model_name)
    model_path: str | None = None  # actor_rollout_ref.model.path as given

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> RunRecord:
        """From run.json's object: unknown keys ignored, a missing or mistyped value None."""
        text = {f.name: raw.get(f.name) for f in fields(cls) if f.name != "overrides"}
        overrides = raw.get("overrides")
        return cls(
            **{k: v if isinstance(v, str) else None for k, v in text.items()},
            overrides=tuple(map(str, overrides)) if isinstance(overrides, list) else None,
        )

    @classmethod
    def read(cls, run_dir: str | Path) -> RunRecord:
        """<run_dir>/run.json. Raises OSError (absent, unreadable) or ValueError (not JSON, not a JSON object; a
        UnicodeDecodeError is one): each reader decides whether a run without a record is an error."""
        raw = json.loads((Path(run_dir) / RUN_JSON).read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError(f"not a JSON object (a {type(raw).__name__})")  # noqa: TRY004  (a bad file, not a bad call)
        return cls.from_mapping(raw)

    @property
    def empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))

    def write(self, run_dir: str | Path) -> Path:
        """<run_dir>/run.json, atomically (a reader never sees half of it)."""
        record = asdict(self) | {"overrides": None if self.overrides is None else list(self.overrides)}
        return write_atomic(Path(run_dir) / RUN_JSON, json.dumps(record, indent=1) + "\n")
