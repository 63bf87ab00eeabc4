"""The recipe trainer: verl's sync V1 PPO trainer plus the `tir/*` training metrics.

Under verl 0.9.1's V1 trainer an agent loop's `extra_fields` reach TransferQueue but no training metric;
`ZeroTIRTrainer.step` reads them back (as verl's `_compute_metrics` does for speculative-decoding stats)
and adds `tir_rollout.metrics` to the step's metrics, which every logger gets. Registered as trainer
mode "zerotir" but runs as "sync": verl branches on the literal mode name (replay buffer, refill,
resume). The registry is per process: verl's own TaskRunnerV1 finds the mode because every process of a run
imports this module through `recipes/zerotir/verl_plugin.py` (verl's `VERL_USE_EXTERNAL_MODULES` hook).

The sandbox guard: a step in which more than `tir.rollout.sandbox.max_sandbox_error_rate` of the executions failed in
the sandbox itself stops the run inside `step`, before verl writes that step's checkpoint (verl's fit calls
`_save_checkpoint` after `step`), so training never silently turns into RL without tools."""

from __future__ import annotations

import json
import logging
import os

import torch
import transfer_queue as tq
from omegaconf import DictConfig, OmegaConf, open_dict
from verl.trainer.ppo.v1 import PPOTrainerSync, register_trainer

from runs.atomic import write_atomic
from runs.checkpoints import step_dir
from tir_rollout.metrics import CollapseAlarm, CumulativeCounters, ResponseRecord, is_correct, step_metrics
from tir_rollout.sandbox.config import parse_config

logger = logging.getLogger(__name__)

TRAINER_MODE = "zerotir"
SANDBOX_KEY = "tir.rollout.sandbox"
COUNTERS_FILE = "tir_counters.json"


@register_trainer(TRAINER_MODE)
class ZeroTIRTrainer(PPOTrainerSync):
    """PPOTrainerSync whose step metrics include the ZeroTIR curves (code frequency, lengths, accuracy)."""

    def __init__(self, config: DictConfig):
        with open_dict(config):
            config.trainer.v1.trainer_mode = "sync"  # verl's code paths test `trainer_mode == "sync"`
        super().__init__(config)
        self.tir_counters = CumulativeCounters()
        self.collapse_alarm = CollapseAlarm()
        self.sandbox_backend, self.max_sandbox_error_rate = sandbox_guard(config)

    def step(self, metrics: dict, timing_raw: dict):
        """verl's step, then the `tir/*` metrics of its samples: here rather than in `_compute_metrics`,
        which runs after the step's checkpoint, so saved cumulative counters include the saved step."""
        batch = super().step(metrics, timing_raw)
        metrics.update(self.tir_metrics(batch))
        step = getattr(self, "global_steps", 0)  # set by verl's fit
        check_sandbox_errors(metrics, self.max_sandbox_error_rate, self.sandbox_backend, step)
        return batch

    def tir_metrics(self, batch) -> dict[str, float]:
        """Fetch `extra_fields`, response lengths and scores of the step's samples; compute `tir/*`."""
        keys = [k for k, tag in zip(batch.keys, batch.tags, strict=True) if not tag.get("is_padding", False)]
        if not keys:
            return {}
        data = tq.kv_batch_get(
            keys=keys, partition_id=batch.partition_id, select_fields=["extra_fields", "responses", "rm_scores"]
        )
        records = tir_records(
            _as_list(data["extra_fields"]), _row_lengths(data["responses"]), _row_sums(data["rm_scores"])
        )
        metrics = {**step_metrics(records), **self.tir_counters.update(records)}
        if "tir/code_exec_ratio" in metrics:
            metrics |= self.collapse_alarm.update(metrics["tir/code_exec_ratio"])
            if metrics["tir/code_use_collapse"]:
                logger.warning(
                    "tool-use collapse at step %s: code use %.2f over the last %d steps, below %.0f%% of its peak %.2f",
                    getattr(self, "global_steps", "?"), metrics["tir/code_exec_smoothed"], self.collapse_alarm.window,
                    100 * self.collapse_alarm.drop, self.collapse_alarm.peak,
                )  # fmt: skip
        return metrics

    def _counters_path(self, loading: bool = False) -> str:
        trainer = self.config.trainer
        if loading and trainer.get("resume_mode") == "resume_path" and trainer.get("resume_from_path"):
            return os.path.join(os.path.abspath(trainer.resume_from_path), COUNTERS_FILE)
        folder = step_dir(os.path.abspath(trainer.default_local_dir), self.global_steps)  # this step's checkpoint
        return str(folder / COUNTERS_FILE)

    def _save_checkpoint(self):
        super()._save_checkpoint()
        state = {**vars(self.tir_counters), "collapse_alarm": vars(self.collapse_alarm)}
        write_atomic(self._counters_path(), json.dumps(state))

    def _load_checkpoint(self):
        super()._load_checkpoint()
        path = self._counters_path(loading=True)
        if self.global_steps > 0 and os.path.exists(path):
            with open(path) as f:
                state = json.load(f)
            self.collapse_alarm = CollapseAlarm(**state.pop("collapse_alarm", {}))  # older files: a fresh alarm
            self.tir_counters = CumulativeCounters(**state)
        elif self.global_steps > 0:
            logger.warning("resumed at step %d without %s; tir/cum_* restart from 0", self.global_steps, path)


def sandbox_guard(config: DictConfig) -> tuple[str, float]:
    """(backend, max_sandbox_error_rate) of the run's sandbox: `tir.rollout.sandbox`, the one rollout node."""
    sandbox = OmegaConf.select(config, SANDBOX_KEY)
    if sandbox is None:
        raise ValueError(f"{SANDBOX_KEY}: missing; the zerotir trainer reads its sandbox guard there")
    parsed = parse_config(sandbox, SANDBOX_KEY)
    return parsed.backend, parsed.max_sandbox_error_rate


class SandboxFailureError(RuntimeError):
    """Too many executions of one step failed in the sandbox itself; the run stops before that step's checkpoint."""


def check_sandbox_errors(metrics: dict, max_rate: float, backend: str, step: int) -> None:
    """Raise SandboxFailureError when the step's `tir/sandbox_error_rate` exceeds `max_rate` (0 disables)."""
    rate = metrics.get("tir/sandbox_error_rate")
    if not max_rate or rate is None or rate <= max_rate:
        return
    count, calls = int(metrics.get("tir/sandbox_errors", 0)), int(metrics.get("tir/code_calls", 0))
    raise SandboxFailureError(
        f"step {step}: {count} of {calls} code executions ({rate:.1%}) failed in the sandbox itself "
        f"({SANDBOX_KEY}.backend={backend}), above {SANDBOX_KEY}.max_sandbox_error_rate={max_rate:g}. Stopped before "
        "this step's checkpoint, so the last checkpoint is the last good one. The model saw a neutral "
        "'sandbox failed' text for each of them; see the sandbox warnings in the rollout workers' logs, fix the "
        f"backend (docs/sandbox.md), then resume, or set {SANDBOX_KEY}.max_sandbox_error_rate=0 to disable this check."
    )


def tir_records(extra_fields: list, response_lengths: list[int], scores: list[float]) -> list[ResponseRecord]:
    """One ResponseRecord per sample from what TransferQueue holds."""
    records = []
    for extra, length, score in zip(extra_fields, response_lengths, scores, strict=True):
        extra = extra if isinstance(extra, dict) else {}
        records.append(ResponseRecord.from_extra_fields(extra, is_correct(extra, score), int(length)))
    return records


def _as_list(values) -> list:
    return values.tolist() if hasattr(values, "tolist") else list(values)


def _row_lengths(t: torch.Tensor) -> list[int]:
    """Per-row lengths of a jagged (nested) batch as TransferQueue returns it; a dense one is all full."""
    return t.offsets().diff().tolist() if t.is_nested else [t.shape[-1]] * t.shape[0]


def _row_sums(t: torch.Tensor) -> list[float]:
    return (t.to_padded_tensor(0.0) if t.is_nested else t).sum(dim=-1).tolist()
