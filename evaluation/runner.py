"""Runs every (problem, sweep point, sample) not yet in samples.jsonl through the stop machine and grades it.

Each trajectory is one `run_stop_machine` call with the sweep point's max_tool_calls, exactly as in
training; each finished sample is graded with reward.grader in lenient mode (the last boxed answer, no
<answer> tag needed, as the reference eval) and appended before the next one is counted. Nothing is
retried: an exception in the backend stops the run, losing only the samples in flight.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from evaluation.backends import Backend
from evaluation.problems import Problem, prompt_ids
from evaluation.samples import SampleRecord, SampleStore
from tir_rollout.stop_machine import (
    ExecResultLike,
    Segment,
    SegmentRequest,
    StopMachine,
    StopMachineConfig,
    TIRResult,
    run_stop_machine,
)

logger = logging.getLogger(__name__)

ExecuteFn = Callable[[str], Awaitable[ExecResultLike]]
DEFAULT_BASE_STOPS = ("User:", "Human:", "Assistant:", "</answer>")  # docs/reference.md §3.1, as conf/zerotir.yaml


@dataclass(frozen=True)
class SweepSettings:
    n_samples: int  # samples per problem and sweep point (the k of avg@k)
    max_tool_calls: tuple[int, ...]  # the sweep
    max_new_tokens: int  # response budget of one trajectory, output blocks included (training's response_length)
    max_output_tokens: int = 256  # output-block cap, as tir.max_output_tokens
    base_stops: tuple[str, ...] = DEFAULT_BASE_STOPS
    seed: int = 42
    concurrency: int = 32  # trajectories in flight (the backend batches their segments)
    apply_chat_template: bool | None = None  # None: follow the template

    def __post_init__(self):
        for name in ("n_samples", "max_new_tokens", "max_output_tokens", "concurrency"):
            if getattr(self, name) < 1:
                raise ValueError(f"eval.{name} must be >= 1 (got {getattr(self, name)})")
        if not self.max_tool_calls or any(t < 0 for t in self.max_tool_calls):
            raise ValueError(f"eval.max_tool_calls must be a non-empty list of counts >= 0 (got {self.max_tool_calls})")

    def machine_config(self, max_tool_calls: int, eos_token_ids: Sequence[int]) -> StopMachineConfig:
        tir = {"max_tool_calls": max_tool_calls, "max_output_tokens": self.max_output_tokens}
        return StopMachineConfig.from_mapping({**tir, "base_stops": list(self.base_stops)}, eos_token_ids)


@dataclass(frozen=True)
class WorkItem:
    problem: Problem
    max_tool_calls: int
    sample: int

    @property
    def key(self) -> tuple[str, str, int, int]:
        return (self.problem.dataset, self.problem.problem_id, self.max_tool_calls, self.sample)


@dataclass(frozen=True)
class Grader:
    """reward.grader's lenient pair; a test may pass its own functions."""

    grade: Callable[[str, str], bool]
    extract: Callable[[str], str | None]

    @classmethod
    def default(cls) -> Grader:
        from reward.grader import extract_answer, grade_answer

        return cls(grade=grade_answer, extract=lambda text: extract_answer(text, strict=False))


def plan(problems: Sequence[Problem], settings: SweepSettings, store: SampleStore) -> list[WorkItem]:
    """Every sample not on disk yet, sweep point by sweep point (so early points finish first)."""
    return [
        item
        for calls in settings.max_tool_calls
        for problem in problems
        for sample in range(settings.n_samples)
        if not store.done((item := WorkItem(problem, calls, sample)).key)
    ]


def sample_seed(seed: int, key: tuple, turn: int) -> int:
    """A stable per-segment seed (not Python's salted hash), so a rerun of a sample samples alike."""
    digest = hashlib.sha256(repr((seed, *key, turn)).encode()).digest()
    return int.from_bytes(digest[:4], "little")


def to_record(item: WorkItem, result: TIRResult, tokenizer: Any, grader: Grader) -> SampleRecord:
    response = tokenizer.decode(result.response_ids, skip_special_tokens=True)
    return SampleRecord(
        dataset=item.problem.dataset,
        problem_id=item.problem.problem_id,
        index=item.problem.index,
        max_tool_calls=item.max_tool_calls,
        sample=item.sample,
        response=response,
        prediction=grader.extract(response),
        gold=item.problem.gold,
        correct=bool(grader.grade(response, item.problem.gold)),
        tool_use=result.tool_use,
        generate_s=round(result.generate_s, 4),
        tool_s=round(result.tool_s, 4),
    )


@dataclass
class SweepRun:
    """What one call of `run_sweep` did."""

    planned: int  # samples that were missing at the start
    finished: int  # of those, samples appended now
    already_done: int  # samples found on disk
    first_with_code: SampleRecord | None = None  # for the demo's transcript
    finished_records: list[SampleRecord] = field(default_factory=list)


async def run_items(
    items: Sequence[WorkItem],
    backend: Backend,
    execute: ExecuteFn,
    store: SampleStore,
    settings: SweepSettings,
    grader: Grader,
    on_done: Callable[[SampleRecord], None] = lambda record: None,
) -> None:
    """Drive the items with at most `settings.concurrency` trajectories in flight; append each when done."""
    queue: asyncio.Queue[WorkItem] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)
    prompts: dict[tuple[str, str], list[int]] = {}

    async def worker() -> None:
        while True:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            pkey = (item.problem.dataset, item.problem.problem_id)
            if pkey not in prompts:
                prompts[pkey] = prompt_ids(backend.tokenizer, item.problem, settings.apply_chat_template)
            config = settings.machine_config(item.max_tool_calls, backend.eos_token_ids)
            machine = StopMachine(config, backend.tokenizer, prompts[pkey], settings.max_new_tokens)
            turn = [0]

            async def generate(request: SegmentRequest, item=item, turn=turn) -> Segment:
                turn[0] += 1
                return await backend.generate(request, sample_seed(settings.seed, item.key, turn[0]))

            result = await run_stop_machine(machine, generate, execute)
            record = await asyncio.to_thread(to_record, item, result, backend.tokenizer, grader)
            store.append(record)
            on_done(record)

    workers = [asyncio.create_task(worker()) for _ in range(min(settings.concurrency, len(items)))]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()


def run_sweep(
    problems: Sequence[Problem],
    backend: Backend,
    execute: ExecuteFn,
    store: SampleStore,
    settings: SweepSettings,
    grader: Grader | None = None,
    desc: str = "eval",
) -> SweepRun:
    """Complete samples.jsonl for these problems and settings; samples already on disk are never recomputed."""
    grader = grader or Grader.default()
    store.load()
    items = plan(problems, settings, store)
    total = len(problems) * settings.n_samples * len(settings.max_tool_calls)
    run = SweepRun(planned=len(items), finished=0, already_done=total - len(items))
    if run.already_done:
        logger.info(
            "%s: %d of %d samples already in %s; running %d", desc, run.already_done, total, store.path, len(items)
        )
    bar = tqdm(total=total, initial=run.already_done, desc=desc, disable=not sys.stdout.isatty())

    def on_done(record: SampleRecord) -> None:
        run.finished += 1
        run.finished_records.append(record)
        if run.first_with_code is None and record.tool_use.code_calls > 0:
            run.first_with_code = record
        bar.update(1)

    try:
        if items:
            asyncio.run(run_items(items, backend, execute, store, settings, grader, on_done))
    finally:
        bar.close()
    return run
