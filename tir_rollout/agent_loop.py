"""ZeroTIRAgentLoop: the stop machine behind verl's AgentLoopBase, registered as "zerotir_agent".

Only verl-facing glue lives here: raw-text prompt ids, one sticky request id per trajectory, vLLM sampling
params (string stops kept in the output, max_tokens = remaining budget), the sandbox executor, and the
AgentLoopOutput with `extra_fields` (`tir_*`) and generation/tool timers. The rollout logic is
`tir_rollout.stop_machine`. Needs `rollout.skip_tokenizer_init=false` (string stops need vLLM's
detokenizer) and reads the rollout node `tir.rollout` (template, max_tool_calls, max_output_tokens, base_stops,
sandbox; conf/rollout/*.yaml, parsed by tir_rollout.rollout_config) and the optional `tir.executor_factory`.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import os
from collections.abc import Mapping
from typing import Any
from uuid import uuid4

from omegaconf import OmegaConf
from verl.experimental.agent_loop.agent_loop import AgentLoopBase, AgentLoopMetrics, AgentLoopOutput
from verl.experimental.agent_loop.tool_agent_loop import SPEC_DECODE_EXTRA_KEYS
from verl.utils.rollout_trace import rollout_trace_op

from tir_rollout import rollout_config
from tir_rollout.sandbox.config import SandboxConfig
from tir_rollout.stop_machine import Segment, SegmentRequest, StopMachine, eos_token_ids, run_stop_machine

logger = logging.getLogger(__name__)

DEFAULT_EXECUTOR_FACTORY = "tir_rollout.sandbox.make_executor"
# One executor per worker process and sandbox config: verl builds an agent loop per sample.
_EXECUTORS: dict[tuple[str, SandboxConfig], Any] = {}


def get_executor(sandbox: SandboxConfig, factory_path: str | None = None, workers_per_node: int = 1) -> Any:
    """The process-wide executor for the parsed `tir.rollout.sandbox`, built by `tir.executor_factory` (a dotted
    path to a callable taking the SandboxConfig; default make_executor).

    Every agent-loop worker process builds its own pool, so an unset `concurrency` shares the node's cores
    among the `workers_per_node` pools instead of giving each one all of them (8 x 128 warm workers would
    not fit in memory)."""
    factory_path = factory_path or DEFAULT_EXECUTOR_FACTORY
    if sandbox.concurrency is None and workers_per_node > 1:
        sandbox = dataclasses.replace(sandbox, concurrency=max(1, (os.cpu_count() or 1) // workers_per_node))
    key = (factory_path, sandbox)  # a frozen dataclass: the parsed config itself is the key
    if key not in _EXECUTORS:
        module_name, _, attr = factory_path.rpartition(".")
        try:
            factory = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"tir.executor_factory: cannot import {factory_path!r} ({exc})") from exc
        _EXECUTORS[key] = factory(sandbox)
    return _EXECUTORS[key]


def workers_on_this_node(num_workers: int) -> int:
    """Agent-loop workers on this worker's node: verl 0.9.1 puts worker i on the (i mod N)-th alive Ray node with
    CPUs (AgentLoopManager._init_agent_loop_workers), so on N nodes each holds about num_workers / N, not all."""
    import ray

    if not ray.is_initialized():
        return num_workers
    nodes = [n["NodeID"] for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) > 0]
    me = ray.get_runtime_context().get_node_id()
    if me not in nodes:
        return num_workers
    return max(1, len(range(nodes.index(me), num_workers, len(nodes))))


def merge_server_fields(acc: dict[str, Any], new: Mapping[str, Any]) -> None:
    """Fold one segment's server `extra_fields` into the trajectory's, as verl's ToolAgentLoop does: the
    first segment's fields, the newest `max_global_steps` (V1 staleness metrics), summed spec-decode counts."""
    if not acc:
        acc.update(new)
        return
    if new.get("max_global_steps") is not None:
        acc["max_global_steps"] = new["max_global_steps"]
    for key in SPEC_DECODE_EXTRA_KEYS:
        if key in new and key in acc:
            acc[key] = int(acc[key]) + int(new[key])


class ZeroTIRAgentLoop(AgentLoopBase):
    """One ZeroTIR trajectory: generate, stop at a closed python block, execute, append output, continue."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        tir = self.config.get("tir")
        if tir is None or tir.get("rollout") is None:
            raise ValueError(
                "config key `tir.rollout` is missing: the zerotir agent loop reads its template, stops etc."
            )
        if self.rollout_config.get("skip_tokenizer_init", False):
            raise ValueError(
                "actor_rollout_ref.rollout.skip_tokenizer_init must be false for zerotir_agent: "
                "its string stops (```python, </answer>) need vLLM's detokenizer"
            )
        self.tir = tir
        # the same end-of-text ids as evaluation (eos_token_ids): vLLM is told them as stop_token_ids below
        rollout = rollout_config.parse(tir.rollout, "tir.rollout", eos_token_ids=eos_token_ids(self.tokenizer))
        self.machine_config = rollout.machine
        self.apply_chat_template = rollout.chat  # follows the template: only `chat` uses the chat template
        self.response_length = int(self.rollout_config.response_length)
        workers = OmegaConf.select(self.rollout_config, "agent.num_workers", default=1)
        self.executor = get_executor(
            rollout.sandbox, tir.get("executor_factory"), workers_per_node=workers_on_this_node(int(workers or 1))
        )

    async def prompt_ids(self, messages: list[dict]) -> list[int]:
        """Raw template text, tokenised verbatim (no special tokens), or the chat template when asked."""
        if self.apply_chat_template:
            return await self.ct_build_initial_tokens(messages)
        if len(messages) != 1 or "content" not in messages[0]:
            raise ValueError(
                f"zerotir_agent with a raw-text template (tir.rollout.template) expects raw_prompt to be one message "
                f"holding the full template text; got {len(messages)} message(s). Re-run data_prep for the template."
            )
        ids = self.tokenizer.encode(messages[0]["content"], add_special_tokens=False)
        return self._cap_text_prompt_length(list(ids))

    @rollout_trace_op
    async def run(self, sampling_params: dict[str, Any], **kwargs) -> AgentLoopOutput:
        priority = int(kwargs.get("priority", 0))
        prompt_ids = await self.prompt_ids(list(kwargs["raw_prompt"]))
        deterministic = getattr(self.rollout_config, "full_determinism", False)
        request_id = f"det-{priority}" if deterministic else uuid4().hex  # sticky: reuses the prefix cache
        machine = StopMachine(self.machine_config, self.tokenizer, prompt_ids, self.response_length)
        preempted = [-1]
        server_fields: dict[str, Any] = {}  # what the server reports; V1 needs min/max_global_steps

        async def generate(request: SegmentRequest) -> Segment:
            params = {
                **sampling_params,
                "stop": list(request.stops),
                "stop_token_ids": list(self.machine_config.eos_token_ids),
                "include_stop_str_in_output": True,  # docs/reference.md §3.1: stop strings stay in the text
                "max_tokens": request.max_tokens,
            }
            out = await self.server_manager.generate(
                request_id=request_id, prompt_ids=request.prompt_ids, sampling_params=params, priority=priority
            )
            if out.num_preempted is not None:
                preempted[0] = max(preempted[0], 0) + out.num_preempted
            merge_server_fields(server_fields, out.extra_fields or {})
            return Segment(out.token_ids, out.log_probs, aborted=out.stop_reason == "aborted")

        result = await run_stop_machine(machine, generate, self.executor.run_async)
        logprobs = result.response_logprobs if sampling_params.get("logprobs") else None
        return AgentLoopOutput(
            prompt_ids=prompt_ids,
            response_ids=result.response_ids,
            response_mask=result.response_mask,
            response_logprobs=logprobs,
            num_turns=1 + result.tool_use.turns + result.output_blocks,  # user + model segments + tool outputs
            metrics=AgentLoopMetrics(
                generate_sequences=result.generate_s, tool_calls=result.tool_s, num_preempted=preempted[0]
            ),
            # turn_scores/tool_rewards keep the schema of verl's own loops (batch concat needs equal keys)
            extra_fields={**server_fields, **result.extra_fields(), "turn_scores": [], "tool_rewards": []},
        )
