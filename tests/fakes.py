"""Fakes shared by the tests: a scripted LLM server that follows verl's generate contract, a fake executor.

FakeServer behaves like vLLM behind verl's `LLMServerClient.generate` (token-in, token-out, string stops
matched on the detokenised stream after each token, the completing token kept, EOS appended when the
script runs out) but its "model" is a script: the text the model writes, ignoring tool output. It also
checks the token-in contract: each request's prompt extends the previous prompt plus the returned ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tir_rollout.stop_machine import Segment, SegmentRequest

REPO_ROOT = Path(__file__).resolve().parents[1]
# The paper's rollout node (conf/rollout/zero_tir.yaml) as the agent-loop tests hand it to the loop in `tir.rollout`.
PAPER_ROLLOUT = {
    "template": "zero_tir",
    "max_tool_calls": 2,
    "max_output_tokens": 256,
    "base_stops": ["User:", "Human:", "Assistant:", "</answer>"],
    "sandbox": {"backend": "local", "timeout_s": 10},
}
QWEN2_TOKENIZER = REPO_ROOT / "assets" / "tokenizers" / "qwen2"


def load_qwen2_tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(QWEN2_TOKENIZER))


def build_agent_loop(config, server, tokenizer):
    """A ZeroTIRAgentLoop built the way verl's worker builds one, around a fake server (tests, benchmark)."""
    from verl.experimental.agent_loop.agent_loop import DictConfigWrap
    from verl.utils.dataset.rl_dataset import RLHFDataset

    from tir_rollout.agent_loop import ZeroTIRAgentLoop

    return ZeroTIRAgentLoop(
        trainer_config=DictConfigWrap(config),
        server_manager=server,
        tokenizer=tokenizer,
        processor=None,
        dataset_cls=RLHFDataset,
        data_config=DictConfigWrap(config.data),
        hf_model_type="qwen2",
        tools=None,
    )


def write_tiny_qwen2_folder(path: Path) -> Path:
    """A model folder verl's configs accept offline: the CPU smoke model's config (Qwen2's 151,936-row vocabulary)
    and the real tokenizer, no weights."""
    import shutil

    from recipes.zerotir.cpu_models import tiny_qwen2_config

    shutil.copytree(QWEN2_TOKENIZER, path, dirs_exist_ok=True)
    tiny_qwen2_config(vocab_size=151936).save_pretrained(path)
    return path


@dataclass
class ScriptedModel:
    """The token stream one trajectory's "model" emits; generation resumes where the last call stopped."""

    token_ids: list[int]
    eos_token_id: int | None
    filler_id: int = 0  # token emitted after the script when there is no EOS ("!" in Qwen2)
    cursor: int = 0

    def emit(self, tokenizer, stops: Sequence[str], max_tokens: int) -> tuple[list[int], str]:
        """Tokens up to the first completed stop, EOS or max_tokens; returns (ids, vLLM-like finish reason)."""
        out: list[int] = []
        while len(out) < max_tokens:
            if self.cursor >= len(self.token_ids):
                if self.eos_token_id is not None:
                    out.append(self.eos_token_id)
                    return out, "stop"
                out.append(self.filler_id)  # a model without EOS rambles on until max_tokens
                continue
            out.append(self.token_ids[self.cursor])
            self.cursor += 1
            text = tokenizer.decode(out, skip_special_tokens=True)
            if any(stop in text for stop in stops):
                return out, "stop"
        return out, "length"


class FakeServer:
    """Scripted stand-in for verl's LLMServerClient; one script per request_id (round-robin by first use).

    A plain class, not a dataclass: hydra.utils.instantiate would turn a dataclass kwarg into a config.
    """

    def __init__(self, tokenizer: Any, scripts: list[str], eos: bool = True):
        self.tokenizer, self.scripts, self.eos = tokenizer, scripts, eos
        self.calls: list[dict] = []
        self._models: dict[str, ScriptedModel] = {}
        self.global_steps = 1  # the weight version LLMServerClient stamps on every output
        self._expected_prefix: dict[str, list[int]] = {}

    async def generate(self, request_id: str, *, prompt_ids: list[int], sampling_params: dict, **kwargs):
        from verl.workers.rollout.replica import TokenOutput

        return TokenOutput(**self.generate_sync(request_id, prompt_ids, sampling_params))

    def generate_sync(self, request_id: str, prompt_ids: list[int], sampling_params: dict) -> dict:
        self.calls.append({"request_id": request_id, "prompt_ids": list(prompt_ids), **sampling_params})
        prefix = self._expected_prefix.get(request_id)
        if prefix is not None and list(prompt_ids[: len(prefix)]) != prefix:
            raise AssertionError(f"request {request_id}: prompt does not extend the previous prompt + output ids")
        if request_id not in self._models:
            script = self.scripts[len(self._models) % len(self.scripts)]
            ids = self.tokenizer.encode(script, add_special_tokens=False)
            self._models[request_id] = ScriptedModel(ids, self.tokenizer.eos_token_id if self.eos else None)
        if not sampling_params.get("include_stop_str_in_output", False) and sampling_params.get("stop"):
            raise AssertionError("string stops must be kept in the output (include_stop_str_in_output=True)")
        max_tokens = int(sampling_params["max_tokens"])
        if max_tokens < 1:
            raise AssertionError(f"max_tokens must be >= 1 (vLLM rejects {max_tokens})")
        ids, _ = self._models[request_id].emit(self.tokenizer, sampling_params.get("stop") or [], max_tokens)
        self._expected_prefix[request_id] = list(prompt_ids) + ids
        logprobs = [-0.5] * len(ids) if sampling_params.get("logprobs") else None
        g = self.global_steps
        extra = {"global_steps": g, "min_global_steps": g, "max_global_steps": g}
        return {"token_ids": ids, "log_probs": logprobs, "stop_reason": "completed", "extra_fields": extra}


class SegmentServer:
    """A fake that answers at once with pre-cut token segments (for the benchmark: no stop scanning)."""

    def __init__(self, segments: list[list[int]]):
        self.segments = segments
        self.prompt_lengths: list[int] = []
        self._next: dict[str, int] = {}

    async def generate(self, request_id: str, *, prompt_ids: list[int], sampling_params: dict, **kwargs):
        from verl.workers.rollout.replica import TokenOutput

        self.prompt_lengths.append(len(prompt_ids))
        i = self._next.get(request_id, 0)
        self._next[request_id] = i + 1
        ids = self.segments[i % len(self.segments)][: sampling_params["max_tokens"]]
        return TokenOutput(token_ids=ids, log_probs=None, stop_reason="completed")


def scripted_generate(server: FakeServer, request_id: str = "r0") -> Callable:
    """A stop-machine `generate` callable over a FakeServer, without verl (what the eval harness passes)."""

    async def generate(request: SegmentRequest) -> Segment:
        params = {"stop": list(request.stops), "include_stop_str_in_output": True, "max_tokens": request.max_tokens}
        out = server.generate_sync(request_id, request.prompt_ids, params)
        return Segment(out["token_ids"], out["log_probs"])

    return generate


@dataclass(frozen=True)
class FakeExecResult:
    status: str
    stdout: str
    stderr: str
    duration_s: float = 0.0
    truncated: bool = False
    isolation: str = "fake"


@dataclass
class FakeExecutor:
    """Runs test snippets in-process (trusted test code only). `while True` is a timeout; `raise_on` makes
    the executor itself raise, as a broken sandbox client would."""

    raise_on: str | None = None
    delay_s: float = 0.0
    codes: list[str] = field(default_factory=list)

    def run(self, code: str, timeout: float | None = None) -> FakeExecResult:
        self.codes.append(code)
        if self.raise_on is not None and self.raise_on in code:
            raise ConnectionError("sandbox unreachable")
        if "while True" in code:
            return FakeExecResult("timeout", "", "", duration_s=timeout or 10.0)
        buf = io.StringIO()
        try:
            with contextlib.redirect_stdout(buf):
                exec(compile(code, "/tmp/snippet.py", "exec"), {})  # noqa: S102 - test-controlled code
        except Exception:  # noqa: BLE001 - any snippet failure is an "error" result
            return FakeExecResult("error", buf.getvalue(), traceback.format_exc(limit=-1))
        return FakeExecResult("ok", buf.getvalue(), "")

    async def run_async(self, code: str, timeout: float | None = None) -> FakeExecResult:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return self.run(code, timeout)


def make_fake_executor(cfg: Any = None) -> FakeExecutor:
    """Executor factory with `make_executor`'s signature, selectable through `tir.executor_factory`."""
    return FakeExecutor()


class FakeTransferQueue:
    """In-process stand-in for the `transfer_queue` functions verl's V1 rollout and trainer call.

    Rows are stored per (partition, key) as plain dicts; `kv_batch_get` returns what TransferQueue does:
    a TensorDict with tensors as jagged nested tensors and everything else as a NonTensorStack.
    """

    def __init__(self):
        self.rows: dict[tuple[str, str], dict] = {}
        self.tags: dict[tuple[str, str], dict] = {}

    def init(self, *args, **kwargs) -> None:
        return None

    async def async_kv_put(self, key, partition_id, tag=None, fields=None) -> None:
        self.tags[(partition_id, key)] = tag

    async def async_kv_batch_put(self, keys, fields=None, tags=None, partition_id="train") -> None:
        self.kv_batch_put(keys, partition_id, fields=fields, tags=tags)

    def kv_batch_put(self, keys, partition_id, fields=None, tags=None) -> None:
        for i, key in enumerate(keys):
            if tags is not None:
                self.tags[(partition_id, key)] = tags[i]
            if fields is not None:
                row = self.rows.setdefault((partition_id, key), {})
                for name in fields.keys():  # noqa: SIM118 - iterating a TensorDict walks its batch
                    row[name] = _row(fields.get(name), i)

    def kv_batch_get(self, keys, partition_id, select_fields):
        import torch
        from tensordict import NonTensorStack, TensorDict

        out = {}
        for name in select_fields:
            if not any(name in self.rows[(partition_id, key)] for key in keys):
                continue  # like TransferQueue: a field nobody wrote (e.g. "values" without a critic) is absent
            values = [self.rows[(partition_id, key)][name] for key in keys]
            if all(isinstance(v, torch.Tensor) for v in values):
                out[name] = torch.nested.as_nested_tensor(values, layout=torch.jagged)
            else:
                out[name] = NonTensorStack(*values)
        return TensorDict(out, batch_size=len(keys))


def _row(column: Any, i: int) -> Any:
    import torch

    if isinstance(column, torch.Tensor):
        return column.unbind(0)[i] if column.is_nested else column[i]
    return column[i].data if hasattr(column[i], "data") else column[i]
