"""A scripted eval backend: each problem's "model" writes a fixed text, tool output or not.

Stateless, so concurrent samples of one problem never mix: the model text written so far is the response
decoded with its output blocks removed, and generation resumes from there with tests.fakes.ScriptedModel
(string stops matched on the detokenised stream, the completing token kept, EOS at the end of the script).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from evaluation.backends import eos_token_ids
from evaluation.backends.batcher import SegmentBatcher
from tests.fakes import ScriptedModel
from tir_rollout.stop_machine import OUTPUT_PREFIX, OUTPUT_SUFFIX, Segment, SegmentRequest

_OUTPUT_BLOCK = re.compile(re.escape(OUTPUT_PREFIX) + r".*?" + re.escape(OUTPUT_SUFFIX), re.DOTALL)


@dataclass
class ScriptedBackend:
    tokenizer: Any
    scripts: dict[tuple[int, ...], str]  # prompt ids -> the text the model writes
    max_batch: int = 4
    fail_after: int | None = None  # raise on this many-th segment (a crash midway)
    segments: int = 0
    seeds: list[int] = field(default_factory=list)

    def __post_init__(self):
        self.eos_token_ids = eos_token_ids(self.tokenizer)
        self.batcher = SegmentBatcher(self._batch, self.max_batch)
        self._script_ids = {p: self.tokenizer.encode(s, add_special_tokens=False) for p, s in self.scripts.items()}

    async def generate(self, request: SegmentRequest, seed: int) -> Segment:
        return await self.batcher.generate(request, seed)

    def _batch(self, batch) -> list[Segment]:
        return [self._one(request, seed) for request, seed in batch]

    def _one(self, request: SegmentRequest, seed: int) -> Segment:
        self.segments += 1
        self.seeds.append(seed)
        if self.fail_after is not None and self.segments >= self.fail_after:
            raise RuntimeError(f"scripted crash at segment {self.segments}")
        prompt = max((p for p in self._script_ids if tuple(request.prompt_ids[: len(p)]) == p), key=len)
        script = self._script_ids[prompt]
        written = _OUTPUT_BLOCK.sub("", self.tokenizer.decode(request.prompt_ids[len(prompt) :]))
        cursor = next(c for c in range(len(script) + 1) if self.tokenizer.decode(script[:c]) == written)
        model = ScriptedModel(script, self.tokenizer.eos_token_id, cursor=cursor)
        ids, _ = model.emit(self.tokenizer, request.stops, request.max_tokens)
        return Segment(ids)

    def close(self) -> None:
        pass
