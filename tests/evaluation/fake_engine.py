"""Fake vLLM engines with one cost model, for the eval-engine tests and benchmarks/eval_engine_bench.py.

Cost model (the same for both engines, so only the scheduling differs): one decode step takes `step_s` for every
running sequence, up to `max_num_seqs` at once; prefill is free. `FakeAsyncEngine` is continuous batching (a
request takes its own length in steps, then frees its slot); `FakeOfflineLLM` is `LLM.generate` on a batch (every
request waits for the batch's longest). Segment text comes from `Workload`, seeded by the request's seed, with
lognormal lengths: an assumption standing in for real TIR trajectories, not a measurement of them.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

from tests.fakes import FakeExecResult
from tir_rollout.stop_machine import CODE_OPEN


@dataclass(frozen=True)
class Workload:
    median_tokens: float = 200.0  # text segment length: lognormal around this median
    sigma: float = 1.0  # lognormal shape: 1.0 gives a 10x spread between the 10th and 90th percentile
    max_tokens: int = 4096
    p_code: float = 0.6  # a text segment opens a python block when the stop machine allows it
    code_tokens: int = 24
    sandbox_s: tuple[float, float] = (0.01, 0.1)  # a code execution's duration, uniform


@dataclass
class _Out:
    token_ids: list[int]


@dataclass
class _RequestOutput:
    outputs: list[_Out]
    finished: bool = True


def _get(params: Any, key: str) -> Any:
    return params[key] if isinstance(params, dict) else getattr(params, key)


@dataclass
class SegmentWriter:
    """Token ids for one segment, decided by the request's stops and seed (so both engines write alike)."""

    tokenizer: Any
    workload: Workload = field(default_factory=Workload)

    def __post_init__(self):
        self.filler = self.tokenizer.encode(" step", add_special_tokens=False)
        self.open_ids = self.tokenizer.encode("\n" + CODE_OPEN, add_special_tokens=False)
        self.code_ids = self.tokenizer.encode("\nprint(6 * 7)\n```", add_special_tokens=False)
        self.eos = self.tokenizer.eos_token_id

    def write(self, stops: list[str], max_tokens: int, seed: int) -> list[int]:
        rng, w = random.Random(seed), self.workload
        if "```" in stops and CODE_OPEN not in stops:  # inside a python block: write the code and close it
            ids = self.filler * max(0, w.code_tokens - len(self.code_ids)) + self.code_ids
        else:
            length = min(w.max_tokens, max(8, int(rng.lognormvariate(0, w.sigma) * w.median_tokens)))
            opens = CODE_OPEN in stops and rng.random() < w.p_code
            ids = self.filler * length + (self.open_ids if opens else [self.eos])
        return ids[:max_tokens]


class FakeAsyncEngine:
    """`AsyncLLM.generate` as an async generator: waits for a slot, then `len(segment) * step_s`."""

    def __init__(self, writer: SegmentWriter, step_s: float = 0.0, max_num_seqs: int = 256):
        self.writer, self.step_s = writer, step_s
        self.slots = asyncio.Semaphore(max_num_seqs)
        self.requests: list[tuple[str, list[int], Any]] = []
        self.running = self.peak_running = 0

    async def generate(self, prompt: dict, sampling_params: Any, request_id: str):
        self.requests.append((request_id, prompt["prompt_token_ids"], sampling_params))
        ids = self.writer.write(_get(sampling_params, "stop"), _get(sampling_params, "max_tokens"),
                                _get(sampling_params, "seed"))  # fmt: skip
        async with self.slots:
            self.running += 1
            self.peak_running = max(self.peak_running, self.running)
            try:
                await asyncio.sleep(len(ids) * self.step_s)
            finally:
                self.running -= 1
        yield _RequestOutput([_Out(ids)])

    def shutdown(self) -> None:
        self.closed = True


class FakeOfflineLLM:
    """`LLM.generate(prompts, params)`: the whole batch takes its longest segment's steps."""

    def __init__(self, writer: SegmentWriter, step_s: float = 0.0):
        self.writer, self.step_s = writer, step_s
        self.batch_sizes: list[int] = []

    def get_tokenizer(self):
        return self.writer.tokenizer

    def generate(self, prompts, params, use_tqdm=False):
        outs = [self.writer.write(_get(p, "stop"), _get(p, "max_tokens"), _get(p, "seed")) for p in params]
        self.batch_sizes.append(len(prompts))
        time.sleep(max(len(o) for o in outs) * self.step_s)
        return [_RequestOutput([_Out(o)]) for o in outs]


def fake_sandbox(workload: Workload, seed: int = 0):
    """An async execute() that takes a random time and prints 42."""
    rng = random.Random(seed)

    async def execute(code: str) -> FakeExecResult:
        delay = rng.uniform(*workload.sandbox_s)
        await asyncio.sleep(delay)
        return FakeExecResult("ok", "42\n", "", duration_s=delay)

    return execute


def problems(n: int) -> list:
    from evaluation.problems import Problem

    return [
        Problem("bench", f"p{i}", i, ({"role": "user", "content": f"Problem {i}: compute.\nAssistant:"},), "42", False)
        for i in range(n)
    ]


def drive(backend: Any, execute: Any, n_problems: int, n_samples: int, concurrency: int, out_dir,
          max_tool_calls: int = 2, response_length: int = 8192) -> tuple[float, list]:  # fmt: skip
    """Run the eval runner's trajectories (real stop machine, store and grading) over the fake engine.
    Returns (wall seconds, records)."""
    from pathlib import Path

    from evaluation.config import EvalConfig
    from evaluation.runner import Grader, plan, run_items
    from evaluation.samples import SampleStore

    settings = EvalConfig(model="fake", n_samples=n_samples, max_tool_calls=(max_tool_calls,),
                          response_length=response_length, concurrency=concurrency)  # fmt: skip
    store = SampleStore(Path(out_dir) / "samples.jsonl")
    store.load()
    items = plan(problems(n_problems), settings, store)
    grader = Grader(grade=lambda response, gold, answer_type: "42" in response, extract=lambda response: None)
    start = time.perf_counter()
    asyncio.run(run_items(items, backend, execute, store, settings, grader))
    return time.perf_counter() - start, store.load()
