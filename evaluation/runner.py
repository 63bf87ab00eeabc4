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
from evaluation.config import EvalConfig
from evaluation.problems import Problem, prompt_ids
from evaluation.samples import SampleRecord, SampleStore
from tir_rollout.stop_machine import ExecResultLike, Segment, SegmentRequest, StopMachine, TIRResult, run_stop_machine

logger = logging.getLogger(__name__)

ExecuteFn = Callable[[str], Awaitable[ExecResultLike]]


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

    grade: Callable[[str, str, str], bool]  # (response, gold, answer_type)
    extract: Callable[[str], str | None]

    @classmethod
    def default(cls) -> Grader:
        from reward.grader import extract_answer, grade_answer

        return cls(
            grade=lambda text, gold, answer_type: grade_answer(text, gold, answer_type=answer_type),
            extract=lambda text: extract_answer(text, strict=False),
        )


def plan(problems: Sequence[Problem], config: EvalConfig, store: SampleStore) -> list[WorkItem]:
    """Every sample not on disk yet, sweep point by sweep point (so early points finish first)."""
    return [
        item
        for calls in config.max_tool_calls
        for problem in problems
        for sample in range(config.n_samples)
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
        correct=bool(grader.grade(response, item.problem.gold, item.problem.answer_type)),
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
    config: EvalConfig,
    grader: Grader,
    on_done: Callable[[SampleRecord], None] = lambda record: None,
) -> None:
    """Drive the items with at most `config.in_flight()` trajectories in flight; append each when done."""
    queue: asyncio.Queue[WorkItem] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)
    prompts: dict[tuple[str, str], list[int]] = {}
    # one stop-machine config per sweep point, made once: every trajectory of that point runs with it
    machines = {
        calls: config.machine_config(calls, backend.eos_token_ids) for calls in {i.max_tool_calls for i in items}
    }

    async def worker() -> None:
        while True:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            pkey = (item.problem.dataset, item.problem.problem_id)
            if pkey not in prompts:
                prompts[pkey] = prompt_ids(backend.tokenizer, item.problem)
            machine = StopMachine(
                machines[item.max_tool_calls], backend.tokenizer, prompts[pkey], config.response_length
            )
            turn = [0]

            async def generate(request: SegmentRequest, item=item, turn=turn) -> Segment:
                turn[0] += 1
                return await backend.generate(request, sample_seed(config.seed, item.key, turn[0]))

            result = await run_stop_machine(machine, generate, execute)
            record = await asyncio.to_thread(to_record, item, result, backend.tokenizer, grader)
            store.append(record)
            on_done(record)

    workers = [asyncio.create_task(worker()) for _ in range(min(config.in_flight(), len(items)))]
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
    config: EvalConfig,
    grader: Grader | None = None,
    desc: str = "eval",
    items: Sequence[WorkItem] | None = None,
) -> SweepRun:
    """Complete samples.jsonl for these problems and this config; samples already on disk are never recomputed.
    `items`: the caller's `plan` over the loaded `store` (evaluate_model reads the file and plans once per model);
    without it the store is loaded and planned here."""
    grader = grader or Grader.default()
    if items is None:
        store.load()
        items = plan(problems, config, store)
    total = len(problems) * config.n_samples * len(config.max_tool_calls)
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
            asyncio.run(run_items(items, backend, execute, store, config, grader, on_done))
    finally:
        bar.close()
    return run
