"""An evaluation run's run.json (`outputs/eval/<run>/`, or `step_<N>/` of a checkpoint series): the settings its
samples depend on, pinned, so that a resume never mixes samples made with other settings.

`sampling_fingerprint` is what a sample depends on (model and its weights, template, sampling, budgets, seed, sandbox
limits, dtype); `pin_settings` has it written once the first sample is saved and refuses a resume with other values,
each difference named by its `eval.<key>` (FINGERPRINT). A run.json written before a key existed still resumes
(ADDED_KEYS, upgrade_fingerprint). This is the evaluation's own record; a training run's run.json, which evaluation
reads only for a checkpoint's model group, is runs/record.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evaluation.config import EvalConfig
from evaluation.provenance import git_commit, model_weights_sha256
from evaluation.samples import SampleStore
from runs.atomic import write_atomic
from tir_rollout import rollout_config
from tir_rollout.templates import TEMPLATES

RUN_JSON = "run.json"  # the same name as a training run's record (runs/layout.py), another record
# the sandbox's limits a sample depends on (what its code could do before it was stopped)
SANDBOX_LIMITS = ("timeout_s", "memory_mb", "max_output_bytes", "max_processes", "max_file_mb")
# run.json's keys (sampling_fingerprint) and the config key each comes from, for error messages
FINGERPRINT = {
    "model": "eval.model",
    "template": "eval.rollout.template",
    "temperature": "eval.temperature",
    "top_p": "eval.top_p",
    "response_length": "eval.response_length",
    "max_output_tokens": "eval.rollout.max_output_tokens",
    "base_stops": "eval.rollout.base_stops",
    "withhold_output": "eval.rollout.withhold_output",
    "weights_sha256": "eval.model (its weight files)",
    "seed": "eval.seed",
    "dtype": "eval.hf.dtype (eval.vllm.dtype with vLLM)",
    **{f"sandbox.{k}": f"eval.rollout.sandbox.{k}" for k in SANDBOX_LIMITS},
}
# keys a run.json written before they existed lacks, with the value such a run had (None: not known, not compared)
ADDED_KEYS = {
    "withhold_output": False,
    "weights_sha256": None,
    "seed": None,
    "dtype": None,
    **{f"sandbox.{k}": None for k in SANDBOX_LIMITS},
}


def sampling_fingerprint(config: EvalConfig, model: str) -> dict[str, Any]:
    """What a sample of `model` depends on (run.json; FINGERPRINT names each key's path); a resumed run must match it
    (n_samples, datasets and the sweep may grow). The chat template is not in it: it follows the template."""
    machine, sandbox = config.rollout.machine, config.rollout.sandbox
    return {
        "model": model,
        "template": config.template,
        "temperature": config.temperature,
        "top_p": config.top_p,
        "response_length": config.response_length,
        "max_output_tokens": machine.max_output_tokens,
        "base_stops": list(machine.base_stops),
        "withhold_output": machine.withhold_output,
        "weights_sha256": model_weights_sha256(model),
        "seed": config.seed,
        "dtype": config.dtype,
        **{f"sandbox.{k}": getattr(sandbox, k) for k in SANDBOX_LIMITS},
    }


def upgrade_fingerprint(saved: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A run.json written before evaluation shared the rollout node with training, in today's keys: max_new_tokens is
    response_length; apply_chat_template (null: follow the template) is dropped where it agrees with the template,
    and refused where it forced the other choice, since the chat template now always follows the template."""
    saved = dict(saved)
    saved.pop("provenance", None)  # recorded, never compared
    if "max_new_tokens" in saved:
        saved.setdefault("response_length", saved.pop("max_new_tokens"))
    if "apply_chat_template" in saved:
        forced = saved.pop("apply_chat_template")
        template = saved.get("template")
        if forced is not None and template in TEMPLATES and bool(forced) != rollout_config.uses_chat_template(template):
            raise ValueError(
                f"{where}: this run's samples were made with eval.apply_chat_template={forced!r} for template "
                f"{template!r}; that key is gone (the chat template follows eval.rollout.template), so they cannot "
                f"be resumed: start a new run with eval.run_name=<new name>"
            )
    return saved


def read_run_json(path: Path) -> dict[str, Any]:
    """run.json as a mapping; a file that is not one is named in the error (it pins the samples beside it)."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        saved = err
    if not isinstance(saved, dict):
        why = f"not valid JSON ({saved})" if isinstance(saved, Exception) else "not a JSON object"
        raise ValueError(  # noqa: TRY004  (a bad file, as every error this command reports: one ValueError line)
            f"{path}: {why}; it records the settings of the samples beside it: restore it, or start a new run with "
            f"eval.run_name=<new name>"
        )
    return saved


def check_run_json(run_dir: Path, fingerprint: dict[str, Any]) -> None:
    """Refuse a fingerprint that differs from the one in run.json (nothing to check when there is none). Keys a
    run.json from before them lacks compare as their old value (ADDED_KEYS); None there: not known, not compared."""
    path = run_dir / RUN_JSON
    if not path.exists():
        return
    saved = upgrade_fingerprint(read_run_json(path), str(path))
    for key, old in ADDED_KEYS.items():
        if key not in saved and old is not None:
            saved[key] = old
        elif key not in saved:
            saved[key] = fingerprint.get(key)  # not known then: not compared
    diff = sorted(k for k in set(saved) | set(fingerprint) if saved.get(k) != fingerprint.get(k))
    if diff:
        changes = "; ".join(
            f"{FINGERPRINT.get(k, k)}: {saved.get(k)!r} on disk, {fingerprint.get(k)!r} now" for k in diff
        )
        raise ValueError(
            f"{path}: this run's samples were made with other settings ({changes}); "
            f"keep them, or start a new run with eval.run_name=<new name>"
        )


def write_run_json(run_dir: Path, fingerprint: dict[str, Any]) -> None:
    """run.json: the fingerprint with its provenance (commit, when)."""
    provenance = {"commit": git_commit(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    write_atomic(run_dir / RUN_JSON, json.dumps(fingerprint | {"provenance": provenance}, indent=2) + "\n")


def pin_settings(run_dir: Path, fingerprint: dict[str, Any], store: SampleStore) -> None:
    """Samples on disk: refuse other settings than run.json's. No sample yet: run.json pins nothing (a run.json left
    by a command that failed before its first sample, such as a typo in eval.model, must not refuse the corrected
    one), so it is written, or rewritten, once the first sample is saved."""
    has_samples = store.path.is_file() and store.path.stat().st_size > 0  # asked before load() sets a torn line aside
    if has_samples:
        check_run_json(run_dir, fingerprint)
    if not has_samples or not (run_dir / RUN_JSON).exists():
        store.after_first_append = lambda: write_run_json(run_dir, fingerprint)
