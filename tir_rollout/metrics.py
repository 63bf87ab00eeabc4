"""The paper's training curves as numbers: code-execution frequency, failure rates, lengths, accuracy.

Pure functions over per-response records (the agent loop's `tir_*` extra_fields, read as a `ToolUse`, plus
correctness), so the recipe trainer logs them at every step and the analysis tool recomputes them from
rollout dumps. The tool-use numbers are `tir_rollout.tool_use.ToolUseRates`, the definition evaluation
summaries use too (pooled over executions, timeouts and sandbox failures apart from `code_error_rate`);
the reference's `code_exection_errors` averaged per response instead. Lengths are response tokens with
tool output included, as the reference's `length_rewards`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tir_rollout.tool_use import TOOL_USE_NAMES, ToolUse, ToolUseRates

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
        **ToolUseRates.of([r.tool_use for r in records]).as_dict(),
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


@dataclass
class CollapseAlarm:
    """Tool-use collapse: code use falling well below the best it has reached (a recurring complaint in TIR trackers).

    Per-step rates rest on few samples (24 on the laptop: a standard error near 0.1), so the alarm compares the mean
    of the last `window` steps with the highest such mean so far, and fires when it is below `drop` x that peak once
    the peak is at least `min_peak` (a run that never used the tool has nothing to collapse from). Pure, so the
    analysis can replay it on logged curves; its state is saved with checkpoints, so a resumed run keeps its peak."""

    window: int = 3
    drop: float = 0.5
    min_peak: float = 0.2
    recent: list[float] = field(default_factory=list)
    peak: float = 0.0

    def update(self, code_exec_ratio: float) -> dict[str, float]:
        self.recent = [*self.recent, float(code_exec_ratio)][-self.window :]
        smoothed = _mean(self.recent)
        if len(self.recent) == self.window:
            self.peak = max(self.peak, smoothed)
        collapsed = self.peak >= self.min_peak and smoothed < self.drop * self.peak
        return {
            PREFIX + "code_exec_smoothed": smoothed,
            PREFIX + "code_exec_peak": self.peak,
            PREFIX + "code_use_collapse": float(collapsed),
        }


# Every tir/* key the trainer may log (tests/scaling checks the analysis's keys against it): the tool-use numbers are
# ToolUseRates' fields, the rest step_metrics', CumulativeCounters' and CollapseAlarm's own.
METRIC_NAMES = (
    *(PREFIX + name for name in TOOL_USE_NAMES),
    "tir/acc",
    "tir/response_length/all",
    "tir/response_length/correct",
    "tir/response_length/wrong",
    "tir/generated_tokens_mean",
    "tir/cum_generated_tokens",
    "tir/cum_sandbox_calls",
    "tir/code_exec_smoothed",
    "tir/code_exec_peak",
    "tir/code_use_collapse",
)
