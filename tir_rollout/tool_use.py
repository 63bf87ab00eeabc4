"""One response's tool use, and the one definition of each tool-use number, for training and evaluation alike.

The stop machine writes a `ToolUse` into its result; verl carries it between processes as flat `tir_<field>`
keys of the agent loop's `extra_fields` (`to_extra_fields` / `from_extra_fields`); the reward, the training
metrics (`tir/*`) and the evaluation's sample record read it back. No verl import, so evaluation needs no verl.

Counts are disjoint by status: every execution is exactly one of ok, `code_errors` (error or killed: the
model's code failed), `code_timeouts`, `sandbox_errors` (the executor failed: never the model's error).
`ToolUseRates.of` divides each by the executions, pooled over the responses given (total / total, not a mean
of per-response rates), so `code_error_rate` excludes timeouts in training and evaluation alike. Its field names
are the metric names (`tir/<name>` in training, `<name>` in evaluation), so every list of them derives from it.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

EXTRA_PREFIX = "tir_"  # verl extra_fields key of a field: EXTRA_PREFIX + field name


@dataclass(frozen=True)
class ToolUse:
    """What one response did with the sandbox, and how it ended."""

    code_calls: int = 0  # executions run, whatever their status
    code_errors: int = 0  # status error/killed (timeouts and sandbox failures not included)
    code_timeouts: int = 0  # wall or CPU limit
    sandbox_errors: int = 0  # the executor failed (status sandbox_error, or it raised); part of code_calls
    outputs_truncated: int = 0  # over the token cap (replaced by a fixed message) or cut by the sandbox
    code_blocks: int = 0  # closed ```python blocks, run or not (they count against max_tool_calls)
    turns: int = 0  # generation requests
    finish_reason: str | None = None  # stop | length | aborted; None when no rollout reported one
    generated_tokens: int = 0  # tokens the model wrote (loss mask 1): the compute axis
    response_tokens: int = 0  # all response tokens, tool output included

    def to_extra_fields(self) -> dict[str, Any]:
        """The agent loop's `extra_fields` (the reward reads them from `extra_info`)."""
        return {EXTRA_PREFIX + name: value for name, value in asdict(self).items()}

    @classmethod
    def from_extra_fields(cls, extra: Mapping[str, Any]) -> ToolUse:
        """Read `tir_*` keys back. A missing or non-numeric count reads as 0 (bools too), a missing or
        non-string finish reason as None: verl may hand a reward function a sample no agent loop produced."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            value = extra.get(EXTRA_PREFIX + f.name)
            if f.name == "finish_reason":
                values[f.name] = value if isinstance(value, str) else None
            else:
                values[f.name] = _count(value)
        return cls(**values)


def _count(value: Any) -> int:
    return int(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else 0


EXTRA_FIELD_KEYS = tuple(EXTRA_PREFIX + f.name for f in fields(ToolUse))


# A ToolUseRates field's metadata: the number grows with the responses pooled (a sum, or a maximum), so it compares
# only between groups of one size (training steps); the other fields are rates, comparable across any cells.
TOTAL = {"total": True}


@dataclass(frozen=True)
class ToolUseRates:
    """Each tool-use number of a group of responses (a training step, an evaluation cell), named as it is logged.

    Training logs every field as `tir/<name>`; evaluation's summary rows carry the `rates()` under the same names
    (`eval/<dataset>/calls=<m>/<name>` in W&B). Per-execution rates are 0 when nothing ran. A new number is one
    field here and one line in `of`; the metric lists, summary columns and step series follow from the fields.
    """

    code_exec_ratio: float  # responses that ran code at least once / responses: the paper's code-execution frequency
    code_calls_mean: float  # executions / responses
    code_calls_max: float = field(metadata=TOTAL)  # the most executions of one response
    code_calls: float = field(metadata=TOTAL)  # executions
    code_error_rate: float  # the model's errors (error, killed) / executions: timeouts and sandbox failures apart
    code_timeout_rate: float  # timeouts / executions
    sandbox_error_rate: float  # executions the sandbox itself failed / executions (the trainer's guard reads it)
    sandbox_errors: float = field(metadata=TOTAL)  # executions the sandbox itself failed
    output_truncated_rate: float  # outputs cut or replaced for length / executions
    finish_length_rate: float  # responses that ended on the token budget / responses

    @classmethod
    def of(cls, uses: Sequence[ToolUse]) -> ToolUseRates:
        if not uses:
            raise ValueError("ToolUseRates.of needs at least one response")
        n = len(uses)
        calls = sum(u.code_calls for u in uses)

        def per_call(key: str) -> float:
            return sum(getattr(u, key) for u in uses) / calls if calls else 0.0

        return cls(
            code_exec_ratio=sum(u.code_calls > 0 for u in uses) / n,
            code_calls_mean=calls / n,
            code_calls_max=float(max(u.code_calls for u in uses)),
            code_calls=float(calls),
            code_error_rate=per_call("code_errors"),
            code_timeout_rate=per_call("code_timeouts"),
            sandbox_error_rate=per_call("sandbox_errors"),
            sandbox_errors=float(sum(u.sandbox_errors for u in uses)),
            output_truncated_rate=per_call("outputs_truncated"),
            finish_length_rate=sum(u.finish_reason == "length" for u in uses) / n,
        )

    def as_dict(self) -> dict[str, float]:
        """Every number by name, in field order: training's `tir/*` tool-use metrics."""
        return asdict(self)

    def rates(self) -> dict[str, float]:
        """The numbers that do not grow with the group (RATE_NAMES), in field order: evaluation's summary columns."""
        return {name: getattr(self, name) for name in RATE_NAMES}


TOOL_USE_NAMES = tuple(f.name for f in fields(ToolUseRates))  # every field: training's tir/<name>
RATE_NAMES = tuple(f.name for f in fields(ToolUseRates) if not f.metadata.get("total"))  # evaluation's columns
