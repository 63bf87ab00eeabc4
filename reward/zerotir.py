"""The ZeroTIR reward as verl's `compute_score`: binary outcome reward gated on format and a normal finish.

Default (paper, reference `math_reward_tir.py`): 1 when the response has the ZeroTIR format, finished
normally, and its strict answer grades correct against the gold's answer type (`extra_info.answer_type`,
reward.answer_types: an `integer` gold takes only a number written out); else 0. Shaping terms (format penalty,
DAPO overlong penalty, tool-use bonus) are reward_kwargs, all off by default. Tool output blocks are environment text:
they are removed before the format check and extraction, so a `\\boxed{}` printed by code never counts.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from reward.answer_types import MATH, check_answer_type
from reward.extract import answer_text, find_boxes, strip_tool_output
from reward.grader import DEFAULT_TIMEOUT_S, grade_prediction_timed
from reward.normalize import normalize
from tir_rollout.tool_use import EXTRA_PREFIX, ToolUse

_EOS_MARKERS = ("<|endoftext|>", "<|im_end|>", "<|end_of_text|>", "<|eot_id|>", "</s>", "<eos>")
MAX_TRAILING_CHARS = 20  # reference: at most 5 tokens after </answer>; ~4 characters a token
_VERL_KWARGS = {"reward_router_address", "reward_model_tokenizer"}  # passed by verl's reward managers; unused
# the tool-use counts of tir_rollout.tool_use.ToolUse that the reward dict carries, under the same names
_TOOL_KEYS = ("code_calls", "code_errors", "code_timeouts", "sandbox_errors", "outputs_truncated", "turns")


@dataclass(frozen=True)
class Shaping:
    """Optional reward terms (reward.custom_reward_function.reward_kwargs); every default leaves them off."""

    format_penalty: float = 0.0  # score is -format_penalty when the format is invalid
    overlong_buffer_tokens: int = 0  # DAPO soft overlong: penalty grows linearly over the last N tokens...
    overlong_penalty: float = 0.0  # ...up to this magnitude at max_response_tokens
    max_response_tokens: int | None = None
    tool_bonus: float = 0.0  # added to a correct answer that ran code at least once without every call failing
    # False drops both gates of the paper's reward (the <think>/<answer> format and the normal finish): the score is
    # the correctness of the last \boxed{} of the whole response, tool output aside. For small instruct models that
    # cannot produce the tags and ramble past their answer (conf/experiment/cpu_learn.yaml); never the paper's setting.
    require_format: bool = True
    grade_timeout_s: float = DEFAULT_TIMEOUT_S

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> Shaping:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - known - _VERL_KWARGS)
        if unknown:
            raise TypeError(
                f"reward.zerotir.compute_score: unknown reward_kwargs key {unknown[0]!r} "
                f"(reward.custom_reward_function.reward_kwargs); known keys: {sorted(known)}"
            )
        shaping = cls(**{k: v for k, v in kwargs.items() if k in known})
        if shaping.overlong_penalty and (not shaping.overlong_buffer_tokens or not shaping.max_response_tokens):
            raise ValueError(
                "reward_kwargs.overlong_penalty needs overlong_buffer_tokens > 0 and max_response_tokens "
                f"(got overlong_buffer_tokens={shaping.overlong_buffer_tokens}, "
                f"max_response_tokens={shaping.max_response_tokens})"
            )
        too_long = (
            shaping.max_response_tokens is not None and shaping.overlong_buffer_tokens > shaping.max_response_tokens
        )
        if too_long:
            raise ValueError(
                f"reward_kwargs.overlong_buffer_tokens ({shaping.overlong_buffer_tokens}) must not exceed "
                f"max_response_tokens ({shaping.max_response_tokens})"
            )
        return shaping


@dataclass(frozen=True)
class Format:
    ok: bool
    answer_span: str  # text between <answer> and </answer>, or the text after </think> when tags are missing
    ends_with_answer: bool  # the model text ends with </answer> (EOS markers and whitespace aside)


def _strip_eos(text: str) -> str:
    text = text.rstrip()
    changed = True
    while changed:
        changed = False
        for marker in _EOS_MARKERS:
            if text.endswith(marker):
                text = text[: -len(marker)].rstrip()
                changed = True
    return text


def check_format(text: str) -> Format:
    """ZeroTIR format on model text: `</think>`, `<answer>`, `</answer>` once each and in that order, a
    `\\boxed{}` inside the answer, and at most MAX_TRAILING_CHARS characters after `</answer>`."""
    counts = [text.count(t) for t in ("</think>", "<answer>", "</answer>")]
    think_end = text.find("</think>")
    after_think = text[think_end + len("</think>") :] if think_end >= 0 else text
    a_open, a_close = text.rfind("<answer>"), text.rfind("</answer>")
    if 0 <= a_open < a_close:
        span = text[a_open + len("<answer>") : a_close]
        trailing = _strip_eos(text[a_close + len("</answer>") :]).strip()
    else:
        span, trailing = after_think, None
    ok = (
        counts == [1, 1, 1]
        and think_end < a_open < a_close
        and bool(find_boxes(answer_text(span)))
        and trailing is not None
        and len(trailing) <= MAX_TRAILING_CHARS
    )
    return Format(ok, span, _strip_eos(text).endswith("</answer>"))


def _tool_stats(extra_info: dict | None) -> tuple[dict[str, int], str | None]:
    """The sample's tool use from `extra_info`: verl puts the agent loop's extra_fields either at its top
    level or under `tool_extra_fields` (top level wins). Missing counts are 0, a missing finish reason None."""
    info: dict = {}
    if isinstance(extra_info, dict):
        nested = extra_info.get("tool_extra_fields")
        if isinstance(nested, dict):
            info.update(nested)
        info.update({k: v for k, v in extra_info.items() if k.startswith(EXTRA_PREFIX)})
    use = ToolUse.from_extra_fields(info)
    return {key: getattr(use, key) for key in _TOOL_KEYS}, use.finish_reason


def _answer_type(extra_info: dict | None) -> str:
    """The gold's answer type from the row's `extra_info.answer_type` (data_prep writes it; rows from elsewhere
    without it are `math`). An unknown one is a data bug and raises, never a silent 0 reward."""
    value = (extra_info or {}).get("answer_type") if isinstance(extra_info, dict) else None
    return MATH if value is None else check_answer_type(value, "extra_info.answer_type")


def _response_tokens(extra_info: dict | None) -> int:
    for source in (extra_info or {}, (extra_info or {}).get("tool_extra_fields") or {}):
        for key in ("tir_response_tokens", "response_length"):
            if isinstance(source.get(key), (int, float)):
                return int(source[key])
    raise ValueError(
        "reward_kwargs.overlong_penalty needs the response length in tokens: extra_info['tir_response_tokens'] "
        "(set by the agent loop's extra_fields) is missing"
    )


@dataclass(frozen=True)
class ZeroTIRScore:
    """The reward dict: identical keys for every sample, all numeric except `pred`; the tool counts (`_TOOL_KEYS`
    of the sample's ToolUse; `sandbox_errors` are never in `code_errors`) sit after `has_answer`."""

    score: float
    acc: float  # strict answer correct, whatever the format (the paper's eval grader reads the last box)
    pred: str  # the strict answer, normalised (spacing, \left/\right, units, $ dropped); "" when none
    format_ok: float
    finished: float
    has_answer: float
    tool_counts: dict[str, int]
    has_code: float
    overlong_penalty: float
    grade_timeout: float

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "tool_counts":
                out.update(self.tool_counts)
            else:
                out[f.name] = getattr(self, f.name)
        return out


def compute_score(
    data_source: str, solution_str: str, ground_truth: Any, extra_info: dict | None = None, **kwargs: Any
) -> dict[str, Any]:
    """verl custom reward function (reward.custom_reward_function.path=pkg://reward.zerotir)."""
    shaping = Shaping.from_kwargs(kwargs)
    text = strip_tool_output(solution_str if isinstance(solution_str, str) else "")
    fmt = check_format(text)
    span = fmt.answer_span if shaping.require_format or fmt.ok else text
    boxes = find_boxes(answer_text(span))
    pred = boxes[-1].content if boxes else ""
    answer_type = _answer_type(extra_info)
    correct, timed_out = (
        grade_prediction_timed(pred, ground_truth, shaping.grade_timeout_s, answer_type) if pred else (False, False)
    )

    stats, finish = _tool_stats(extra_info)
    finished = finish == "stop" if finish is not None else fmt.ends_with_answer
    gates = (fmt.ok and finished) if shaping.require_format else True
    score = 1.0 if (gates and correct) else 0.0
    if not fmt.ok and shaping.require_format:
        score -= shaping.format_penalty
    # tir_rollout counts errors, timeouts and sandbox failures apart (disjoint): a clean call is none of them
    failed = stats["code_errors"] + stats["code_timeouts"] + stats["sandbox_errors"]
    if shaping.tool_bonus and score == 1.0 and stats["code_calls"] > failed:
        score += shaping.tool_bonus
    overlong = 0.0
    if shaping.overlong_penalty:
        expected = shaping.max_response_tokens - shaping.overlong_buffer_tokens
        excess = _response_tokens(extra_info) - expected
        if excess > 0:  # DAPO: linear from 0 at (max - buffer) to -overlong_penalty at max
            overlong = -min(1.0, excess / shaping.overlong_buffer_tokens) * shaping.overlong_penalty
            score += overlong
    return ZeroTIRScore(
        score=float(score),
        acc=float(correct),
        pred=normalize(pred).text if pred else "",  # equal spellings vote together in verl's maj@N
        format_ok=float(fmt.ok),
        finished=float(finished),
        has_answer=float(bool(pred)),
        tool_counts=stats,
        has_code=float(stats["code_calls"] > 0 or "```python" in text),
        overlong_penalty=overlong,
        grade_timeout=float(timed_out),
    ).as_dict()
