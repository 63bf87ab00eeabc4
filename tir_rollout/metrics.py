"""The paper's training curves as numbers: code-execution frequency, failure rates, lengths, accuracy.

Pure functions over per-response records (the agent loop's `tir_*` extra_fields plus correctness), so the
recipe trainer logs them at every step and the analysis tool recomputes them from rollout dumps. Rates
over executions are pooled (total errors / total executions), not averaged per response as the
reference's `code_exection_errors`; a step with no execution logs 0 for them. Lengths are response tokens
with tool output included, as the reference's `length_rewards`. A failure of the sandbox itself
(`tir_sandbox_errors`) is counted in `sandbox_error_rate` only, never in `code_error_rate`: the rates share
one denominator (every execution), so ok + error + timeout + sandbox error add up to the executions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PREFIX = "tir/"


@dataclass(frozen=True)
class ResponseRecord:
    """One response as the metrics see it."""

    code_calls: int
    code_errors: int
    code_timeouts: int
    outputs_truncated: int
    generated_tokens: int  # mask-1 tokens
    response_tokens: int  # all response tokens, tool output included
    finish_reason: str
    correct: bool
    sandbox_errors: int = 0  # executions the sandbox itself failed (part of code_calls)

    @classmethod
    def from_extra_fields(cls, extra: Mapping[str, Any], correct: bool, response_tokens: int | None = None):
        """Build from the agent loop's `extra_fields` (keys `tir_*`); missing counts read as 0."""

        def count(key: str) -> int:
            value = extra.get(key, 0)
            return int(value) if value is not None else 0

        length = response_tokens if response_tokens is not None else count("tir_response_tokens")
        return cls(
            code_calls=count("tir_code_calls"),
            code_errors=count("tir_code_errors"),
            code_timeouts=count("tir_code_timeouts"),
            outputs_truncated=count("tir_outputs_truncated"),
            generated_tokens=count("tir_generated_tokens") if "tir_generated_tokens" in extra else length,
            response_tokens=length,
            finish_reason=str(extra.get("tir_finish_reason", "")),
            correct=bool(correct),
            sandbox_errors=count("tir_sandbox_errors"),
        )


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
    calls = sum(r.code_calls for r in records)
    per_call = (lambda n: n / calls) if calls else (lambda n: 0.0)
    out = {
        "code_exec_ratio": _mean([r.code_calls > 0 for r in records]),  # paper: code-execution frequency
        "code_calls_mean": _mean([r.code_calls for r in records]),
        "code_calls_max": float(max(r.code_calls for r in records)),
        "code_error_rate": per_call(sum(r.code_errors for r in records)),
        "code_timeout_rate": per_call(sum(r.code_timeouts for r in records)),
        "sandbox_error_rate": per_call(sum(r.sandbox_errors for r in records)),  # the trainer's guard reads it
        "sandbox_errors": float(sum(r.sandbox_errors for r in records)),
        "code_calls": float(calls),
        "output_truncated_rate": per_call(sum(r.outputs_truncated for r in records)),
        "finish_length_rate": _mean([r.finish_reason == "length" for r in records]),
        "acc": _mean([r.correct for r in records]),
        "response_length/all": _mean([r.response_tokens for r in records]),
        "generated_tokens_mean": _mean([r.generated_tokens for r in records]),
    }
    for name, group in (
        ("correct", [r for r in records if r.correct]),
        ("wrong", [r for r in records if not r.correct]),
    ):
        if group:
            out[f"response_length/{name}"] = _mean([r.response_tokens for r in group])
    return {PREFIX + k: v for k, v in out.items()}


@dataclass
class CumulativeCounters:
    """Running totals since the first step (the compute axis of the scaling curves)."""

    generated_tokens: int = 0
    sandbox_calls: int = 0

    def update(self, records: Iterable[ResponseRecord]) -> dict[str, float]:
        for r in records:
            self.generated_tokens += r.generated_tokens
            self.sandbox_calls += r.code_calls
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
