"""The stop machine of ZeroTIR rollouts (docs/reference.md §3), shared by training and evaluation.

Five states (`State`): the reference's two generation states, TEXT (prose; stops at "```python") and CODE
(inside a block; stops at its closing fence), plus FREE (tool calls spent: base stops only), EXEC (a closed
block waits for its result) and DONE.

Token-in, token-out: the machine owns the response ids and their loss mask; a driver feeds it generated
segments and execution results. No verl import. Departures from the reference (HEAD) on purpose:
budgets are exact (an output block that would leave no room for one more generated token is dropped and
the trajectory ends on "length"); no EOS is appended when missing (every mask-1 token is model-generated);
timeouts are not counted as errors (``code_errors`` and ``code_timeouts`` are disjoint); a failure of the
executor itself (status ``sandbox_error``, or an exception from ``execute``) is counted apart in
``sandbox_errors``, never as the model's error, and the model sees one fixed neutral text for it.

Driver API (for the eval harness)::

    machine = StopMachine(StopMachineConfig.from_mapping(cfg.tir.rollout), tokenizer, prompt_ids, response_length)
    result = await run_stop_machine(machine, generate, execute)
    # generate(SegmentRequest(prompt_ids, stops, max_tokens)) -> Segment(token_ids, log_probs, aborted)
    # execute(code: str) -> ExecResult-like (status, stdout, stderr, truncated); exceptions become errors

or drive it by hand: ``while (req := machine.next_request()): call = machine.feed(segment); if call:
machine.feed_result(await run(call.code))``, then ``machine.result()``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any, ClassVar, Protocol

from tir_rollout.tool_use import ToolUse

logger = logging.getLogger(__name__)

CODE_OPEN = "```python"
CODE_CLOSE = ("```", "```\n", "```\n\n")  # reference: all three closers are stops in the code state
# reference HEAD (math_tir_process_single_request.py): "\n```output\n" + result + "\n```\n\n\n"
OUTPUT_PREFIX = "\n```output\n"
OUTPUT_SUFFIX = "\n```\n\n\n"
OVERLONG_MESSAGE = "The output of the code execution is too long, please check your code."
TIMEOUT_TEXT = "TimeLimitExceeded"  # SandboxFusion's run status, which HEAD shows the model verbatim
KILLED_TEXT = "Killed"
# What the model sees when the executor failed (HEAD showed "RunTime ERROR", as if the code had failed):
# fixed and neutral, never our URL, stack or retry count, so the model learns nothing false about its code.
SANDBOX_ERROR_TEXT = "The sandbox failed to run this code (an infrastructure error, not an error in the code)."
SANDBOX_ERROR = "sandbox_error"
_STDERR_FILE_PREFIX = re.compile(r'File ".*?", ')


@dataclass(frozen=True)
class StopMachineConfig:
    """The stop machine's knobs, parsed from the rollout node (`tir.rollout` in training, `eval.rollout` in
    evaluation; conf/rollout/*.yaml) so eval builds the same machine without verl. The only checker of these keys."""

    max_tool_calls: int = 2  # ENV_ITER_NUM; every closed ```python block counts, even an empty one
    max_output_tokens: int = 256  # HEAD's cap on the whole output block, fences included
    base_stops: tuple[str, ...] = ("User:", "Human:", "Assistant:", "</answer>")
    eos_token_ids: tuple[int, ...] = ()  # besides these, a short segment with no stop string is taken as EOS
    max_empty_aborts: int = 8  # consecutive aborted segments with no tokens before giving up
    # An ablation, never training's setting: the code runs (and its errors count) but the model is shown an empty
    # output block, so an evaluation can tell how much accuracy comes from reading the output (docs/paper_mini.md).
    withhold_output: bool = False

    # The fields that are config keys of the rollout node (the others come from the tokenizer or are internal).
    CONFIG_KEYS: ClassVar[tuple[str, ...]] = ("max_tool_calls", "max_output_tokens", "base_stops", "withhold_output")

    def __post_init__(self):
        self.check(vars(self))

    @staticmethod
    def check(values: Mapping[str, Any], where: str = "rollout") -> None:
        """Raise a ValueError naming `where`.<key> for a value the machine cannot run with."""
        for key, low in (("max_tool_calls", 0), ("max_output_tokens", 1)):
            value = values.get(key, low)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{where}.{key} must be an integer >= {low} (got {value!r})")
        if not isinstance(values.get("withhold_output", False), bool):
            raise ValueError(  # noqa: TRY004  (config errors are ValueErrors, as above)
                f"{where}.withhold_output must be true or false (got {values['withhold_output']!r})"
            )
        stops = values.get("base_stops", ())
        if isinstance(stops, str) or not all(isinstance(stop, str) and stop for stop in stops):
            raise ValueError(f"{where}.base_stops must be a list of non-empty strings (got {stops!r})")

    @classmethod
    def from_mapping(
        cls, node: Mapping[str, Any], eos_token_ids: Sequence[int] = (), where: str = "rollout", **override: Any
    ) -> StopMachineConfig:
        """Build from a rollout node (keys CONFIG_KEYS; others, such as template and sandbox, are not ours);
        `override` replaces keys (evaluation's sweep of max_tool_calls). Errors name `where`.<key>."""
        values = {key: node[key] for key in cls.CONFIG_KEYS if key in node} | override
        cls.check(values, where)
        if "base_stops" in values:
            values["base_stops"] = tuple(values["base_stops"])
        return cls(**values, eos_token_ids=tuple(int(t) for t in eos_token_ids))


class State(Enum):
    TEXT = "text"  # stops: base + "```python"
    CODE = "code"  # stops: base + closing fences
    FREE = "free"  # tool calls spent: base stops only, code is never executed
    EXEC = "exec"  # a closed block waits for its execution result
    DONE = "done"


@dataclass(frozen=True)
class SegmentRequest:
    prompt_ids: list[int]  # prompt + response so far, never re-tokenised
    stops: tuple[str, ...]
    max_tokens: int  # remaining response budget


@dataclass(frozen=True)
class Segment:
    token_ids: Sequence[int]
    log_probs: Sequence[float] | None = None
    aborted: bool = False  # server aborted the request (e.g. weight sync); tokens so far are kept


@dataclass(frozen=True)
class CodeCall:
    code: str
    index: int  # 0-based number of this block among closed blocks


class ExecResultLike(Protocol):
    status: str  # "ok" | "error" | "timeout" | "killed" | "sandbox_error"
    stdout: str
    stderr: str
    truncated: bool


@dataclass
class TIRResult:
    """One finished trajectory: response tokens, loss mask, its tool use (what the reward and metrics read)."""

    response_ids: list[int]
    response_mask: list[int]
    response_logprobs: list[float] | None
    tool_use: ToolUse  # its finish_reason: "stop" (base stop or EOS), "length" (budget), "aborted" (server)
    output_blocks: int  # output blocks appended (mask 0)
    generate_s: float = 0.0
    tool_s: float = 0.0

    def extra_fields(self) -> dict[str, Any]:
        """The agent-loop ``extra_fields`` contract (``tir_*`` keys; the reward reads them from ``extra_info``)."""
        return self.tool_use.to_extra_fields()


def observation_text(result: ExecResultLike) -> str:
    """What the model sees for one execution, per reference HEAD (sandbox_utils.parse_response)."""
    if result.status == "ok":
        return result.stdout
    if result.status == "timeout":
        return TIMEOUT_TEXT
    if result.status == SANDBOX_ERROR:
        return SANDBOX_ERROR_TEXT
    stderr = _STDERR_FILE_PREFIX.sub("", result.stderr).replace("^", "")
    if result.status == "killed":
        return stderr or KILLED_TEXT
    return stderr or result.stdout  # departure: HEAD shows an empty block when a failing run wrote no stderr


def eos_token_ids(tokenizer: Any, extra: Any = None) -> tuple[int, ...]:
    """The ids that end a trajectory, in training and evaluation alike: the tokenizer's EOS, `extra` (a model's
    generation_config eos), and `<|im_end|>` and `<|endoftext|>` when the vocabulary has them (docs/reference.md §7: a
    Qwen2.5 base model's EOS is `<|endoftext|>`, yet it also closes answers with `<|im_end|>`)."""
    ids: list[int] = []
    candidates = [tokenizer.eos_token_id, *(extra if isinstance(extra, (list, tuple)) else [extra])]
    vocab = tokenizer.get_vocab()
    candidates += [vocab.get(token) for token in ("<|im_end|>", "<|endoftext|>")]
    for token_id in candidates:
        if isinstance(token_id, int) and token_id not in ids:
            ids.append(token_id)
    return tuple(ids)


def output_block(text: str) -> str:
    return f"{OUTPUT_PREFIX}{text}{OUTPUT_SUFFIX}"


@dataclass(frozen=True)
class _Failure:
    """Stand-in result when the executor itself raised: a sandbox failure like any other."""

    status: str = SANDBOX_ERROR
    stdout: str = ""
    stderr: str = SANDBOX_ERROR_TEXT
    truncated: bool = False


def _earliest_stop(text: str, stops: Sequence[str]) -> tuple[int, int] | None:
    """(start, end) of the stop string that completes first in ``text``, as a streaming stop check sees it."""
    best = None
    for stop in stops:
        i = text.find(stop)
        if i >= 0 and (best is None or i + len(stop) < best[1]):
            best = (i, i + len(stop))
    return best


# the ToolUse counts the machine keeps as it goes (token lengths and finish reason are read off at the end)
_COUNTED = tuple(f.name for f in fields(ToolUse) if f.type == "int" and not f.name.endswith("_tokens"))


@dataclass
class StopMachine:
    """State of one trajectory. Not thread-safe; one per trajectory."""

    config: StopMachineConfig
    tokenizer: Any  # HF-like: encode(text, add_special_tokens=False), decode(ids, skip_special_tokens=True)
    prompt_ids: list[int]
    response_length: int
    state: State = State.TEXT
    response_ids: list[int] = field(default_factory=list)
    response_mask: list[int] = field(default_factory=list)
    _logprobs: list[float] | None = field(default_factory=list)
    _state_start: int = 0  # index in response_ids where the current state's generated text begins
    _code_head: str = ""  # text after "```python" inside the token that completed it
    _last_max_tokens: int = 0
    _empty_aborts: int = 0
    finish_reason: str = ""
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys((*_COUNTED, "blocks"), 0))
    generate_s: float = 0.0
    tool_s: float = 0.0

    def __post_init__(self):
        if self.response_length < 1:
            raise ValueError(f"response_length must be >= 1 (got {self.response_length})")
        if self.config.max_tool_calls == 0:
            self.state = State.FREE

    @property
    def done(self) -> bool:
        return self.state is State.DONE

    def remaining(self) -> int:
        return self.response_length - len(self.response_ids)

    def stops(self) -> tuple[str, ...]:
        base = self.config.base_stops
        if self.state is State.TEXT:
            return (*base, CODE_OPEN)
        if self.state is State.CODE:
            return (*base, *CODE_CLOSE)
        return base

    def next_request(self) -> SegmentRequest | None:
        """The next generation request, or None when the trajectory is finished or waits for execution."""
        if self.state in (State.DONE, State.EXEC):
            return None
        if self.remaining() <= 0:
            self._finish("length")
            return None
        self._last_max_tokens = self.remaining()
        return SegmentRequest(self.prompt_ids + self.response_ids, self.stops(), self._last_max_tokens)

    def feed(self, segment: Segment) -> CodeCall | None:
        """Consume one generated segment; returns the code to run when it closed a python block."""
        if self.state in (State.DONE, State.EXEC):
            raise RuntimeError(f"feed() called in state {self.state.value}; call next_request()/feed_result()")
        ids = list(segment.token_ids)
        if len(ids) > self._last_max_tokens:  # a generator overshot max_tokens: the budget is exact
            logger.warning("segment of %d tokens exceeds max_tokens=%d; cut", len(ids), self._last_max_tokens)
            ids = ids[: self._last_max_tokens]
        self.counts["turns"] += 1
        self._append(ids, 1, segment.log_probs)
        if segment.aborted:
            self._empty_aborts = 0 if ids else self._empty_aborts + 1
            if self._empty_aborts > self.config.max_empty_aborts:
                self._finish("aborted")
            return None
        self._empty_aborts = 0

        text = self.tokenizer.decode(self.response_ids[self._state_start :], skip_special_tokens=True)
        if self.state is State.CODE:
            text = self._code_head + text
        hit = _earliest_stop(text, self.stops())
        if hit is None:
            hit_len = len(ids) >= self._last_max_tokens and not (ids and ids[-1] in self.config.eos_token_ids)
            self._finish("length" if hit_len else "stop")  # no stop string: EOS/stop token, or budget
            return None
        start, end = hit
        stop = text[start:end]
        if self.state is State.TEXT and stop == CODE_OPEN:
            self.state, self._code_head = State.CODE, text[end:]
            self._state_start = len(self.response_ids)
            return None
        if self.state is State.CODE and stop in CODE_CLOSE:
            return self._close_block(text[:start])
        self._finish("stop")  # a base stop (e.g. </answer>) in any state, or anything in the free segment
        return None

    def feed_result(self, result: ExecResultLike | BaseException) -> None:
        """Append the output block of the pending call (mask 0), or end on "length" if it does not fit."""
        if self.state is not State.EXEC:
            raise RuntimeError(f"feed_result() called in state {self.state.value}; no code call is pending")
        if isinstance(result, BaseException):
            logger.warning("sandbox executor raised %s: %s; counted as a sandbox error", type(result).__name__, result)
            result = _Failure()
        self.counts["code_calls"] += 1
        if result.status == "timeout":
            self.counts["code_timeouts"] += 1
        elif result.status == SANDBOX_ERROR:
            self.counts["sandbox_errors"] += 1
        elif result.status != "ok":
            self.counts["code_errors"] += 1
        shown = "" if self.config.withhold_output else observation_text(result)
        block_ids = self._encode(output_block(shown))
        truncated = bool(getattr(result, "truncated", False))
        if len(block_ids) > self.config.max_output_tokens:
            block_ids, truncated = self._overlong_ids(), True
        self.counts["outputs_truncated"] += int(truncated)
        if len(block_ids) + 1 > self.remaining():  # keep room for one model token after the block
            self._finish("length")
            return
        self._append(block_ids, 0, None)
        self.counts["blocks"] += 1
        self._to_text_state()

    def result(self) -> TIRResult:
        if not self.done:
            raise RuntimeError(f"result() before the trajectory finished (state {self.state.value})")
        return TIRResult(
            response_ids=list(self.response_ids),
            response_mask=list(self.response_mask),
            response_logprobs=list(self._logprobs) if self._logprobs is not None else None,
            tool_use=ToolUse(
                **{k: v for k, v in self.counts.items() if k != "blocks"},
                finish_reason=self.finish_reason,
                generated_tokens=sum(self.response_mask),
                response_tokens=len(self.response_ids),
            ),
            output_blocks=self.counts["blocks"],
            generate_s=self.generate_s,
            tool_s=self.tool_s,
        )

    # -- internals --------------------------------------------------------------------------------------

    def _close_block(self, code_text: str) -> CodeCall | None:
        self.counts["code_blocks"] += 1
        code = code_text.strip()  # reference extract_code: the newest block only, stripped; no state kept
        if not code:  # reference: an empty fence runs nothing and generation continues
            self._to_text_state()
            return None
        # skip a sandbox call whose output could not fit even when empty
        if len(self._encode(output_block(""))) + 1 > self.remaining():
            self._finish("length")
            return None
        self.state = State.EXEC
        return CodeCall(code=code, index=self.counts["code_blocks"] - 1)

    def _to_text_state(self) -> None:
        self.state = State.TEXT if self.counts["code_blocks"] < self.config.max_tool_calls else State.FREE
        self._state_start, self._code_head = len(self.response_ids), ""

    def _append(self, ids: list[int], mask: int, log_probs: Sequence[float] | None) -> None:
        self.response_ids.extend(ids)
        self.response_mask.extend([mask] * len(ids))
        if self._logprobs is None:
            return
        if mask == 0:
            self._logprobs.extend([0.0] * len(ids))
        elif log_probs is not None and len(log_probs) >= len(ids):
            self._logprobs.extend(float(x) for x in log_probs[: len(ids)])
        elif ids:
            self._logprobs = None  # one segment without log-probs: report none rather than misaligned ones

    def _encode(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def _overlong_ids(self) -> list[int]:
        return self._encode(output_block(OVERLONG_MESSAGE))

    def _finish(self, reason: str) -> None:
        self.state, self.finish_reason = State.DONE, reason


GenerateFn = Callable[[SegmentRequest], Awaitable[Segment]]
ExecuteFn = Callable[[str], Awaitable[ExecResultLike]]


async def run_stop_machine(machine: StopMachine, generate: GenerateFn, execute: ExecuteFn) -> TIRResult:
    """Drive one trajectory to the end; generation and tool wall time are kept apart."""
    while not machine.done:
        request = machine.next_request()
        if request is None:
            break
        t0 = time.perf_counter()
        segment = await generate(request)
        machine.generate_s += time.perf_counter() - t0
        call = machine.feed(segment)
        if call is None:
            continue
        t0 = time.perf_counter()
        try:
            outcome: ExecResultLike | BaseException = await execute(call.code)
        except Exception as exc:  # noqa: BLE001 - a sandbox failure never fails a rollout; it becomes an output
            outcome = exc
        machine.tool_s += time.perf_counter() - t0
        machine.feed_result(outcome)
    return machine.result()
