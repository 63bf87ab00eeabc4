"""The paper's training curves as numbers: code-execution frequency, failure rates, lengths, accuracy.

Pure functions over per-response records (the agent loop's `tir_*` extra_fields, read as a `ToolUse`, plus
correctness), so the recipe trainer logs them at every step and the analysis tool recomputes them from
rollout dumps. The tool-use numbers are `tir_rollout.tool_use.tool_use_rates`, the definition evaluation
summaries use too (pooled over executions, timeouts and sandbox failures apart from `code_error_rate`);
the reference's `code_exection_errors` averaged per response instead. Lengths are response tokens with
tool output included, as the reference's `length_rewards`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from tir_rollout.tool_use import ToolUse, tool_use_rates

PREFIX = "tir/"


@dataclass(frozen=True)
class ResponseRecord:
    """One response as the metrics see it: its tool use and whether its answer was correct."""

    tool_use: ToolUse
    correct: bool

    @classmethod
    def from_extra_fields(cls, extra: Mapping[str, Any], correct: bool, response_tokens: int | None = None):
        """Build from the agent loop's `extra_fields`; `response_tokens` (the batch's own row length) wins over
        `tir_response_tokens`, and stands for the generated tokens when `tir_generated_tokens` is missing."""
        use = ToolUse.from_extra_fields(extra)
        if response_tokens is not None:
            use = replace(use, response_tokens=int(response_tokens))
        if "tir_generated_tokens" not in extra:
            use = replace(use, generated_tokens=use.response_tokens)
        return cls(use, bool(correct))


def is_correct(extra: Mapping[str, Any], score: float) -> bool:
    """The reward's `acc` (answer correct) when the reward loop put it in extra_fields, else score > 0."""
    info = extra.get("reward_extra_info")
    if isinstance(info, Mapping) and info.get("acc") is not None:
        return float(info["acc"]) > 0
    return score > 0


def _mean(xs: Sequence[float]) -> float:
    return float(sum(xs)) / len(xs)


def step_metrics(records: Sequence[ResponseRecord]) -> dict[str, float]:
    """Per-step `tir/*` metrics; the correct/wrong lengths are left out when that group is empty."""
    if not records:
        return {}
    out = {
        **tool_use_rates([r.tool_use for r in records]),
        "acc": _mean([r.correct for r in records]),
        "response_length/all": _mean([r.tool_use.response_tokens for r in records]),
        "generated_tokens_mean": _mean([r.tool_use.generated_tokens for r in records]),
    }
    for name, group in (
        ("correct", [r for r in records if r.correct]),
        ("wrong", [r for r in records if not r.correct]),
    ):
        if group:
            out[f"response_length/{name}"] = _mean([r.tool_use.response_tokens for r in group])
    return {PREFIX + k: v for k, v in out.items()}


@dataclass
class CumulativeCounters:
    """Running totals since the first step (the compute axis of the scaling curves)."""

    generated_tokens: int = 0
    sandbox_calls: int = 0

    def update(self, records: Iterable[ResponseRecord]) -> dict[str, float]:
        for r in records:
            self.generated_tokens += r.tool_use.generated_tokens
            self.sandbox_calls += r.tool_use.code_calls
        return {
            PREFIX + "cum_generated_tokens": float(self.generated_tokens),
            PREFIX + "cum_sandbox_calls": float(self.sandbox_calls),
        }


METRIC_NAMES = (
    "tir/code_exec_ratio",
    "tir/code_calls_mean",
    "tir/code_calls_max",
    "tir/code_error_rate",
    "tir/code_timeout_rate",
    "tir/sandbox_error_rate",
    "tir/sandbox_errors",
    "tir/code_calls",
    "tir/output_truncated_rate",
    "tir/finish_length_rate",
    "tir/acc",
    "tir/response_length/all",
    "tir/response_length/correct",
    "tir/response_length/wrong",
    "tir/generated_tokens_mean",
    "tir/cum_generated_tokens",
    "tir/cum_sandbox_calls",
)
