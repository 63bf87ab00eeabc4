"""Evaluating a series of verl checkpoints (`eval.checkpoints`): their order by step, the model folder of each, and
the accuracy_vs_step rows and files.

verl's layout and the rule for HF weights are runs/checkpoints.py; this module adds what evaluation asks of them and
its errors, each naming `eval.checkpoints`. A step saved without HF weights is refused with verl's model_merger
command that makes them (we never merge shards ourselves). accuracy_vs_step.json is the input of the scaling analysis.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path

from evaluation.metrics import TOOL_USE_KEYS, MetricRow
from runs.atomic import write_atomic
from runs.checkpoints import ACTOR, HUGGINGFACE, find_hf_weights, step_in_path

# one row per (step, dataset, max_tool_calls); avg_at_k etc. are fractions in [0, 1]
STEP_FIELDS = (
    "step", "checkpoint", "dataset", "max_tool_calls", "k", "problems", "avg_at_k", "pass_at_1", "maj_at_k",
    *TOOL_USE_KEYS,
    "response_tokens_correct", "response_tokens_wrong", "complete",
)  # fmt: skip


def parse_step(path: str | Path) -> int:
    """N of the last `global_step_<N>` in the path."""
    step = step_in_path(path)
    if step is None:
        raise ValueError(f"eval.checkpoints: {path} has no global_step_<N> in its path, so its step is unknown")
    return step


def hf_model_dir(path: str | Path) -> Path:
    """The folder with config.json and weights: the path itself, its huggingface/, or actor/huggingface/."""
    path = Path(path)
    if not path.is_dir():
        raise ValueError(f"eval.checkpoints: {path} is not a directory")
    found = find_hf_weights(path)
    if found is not None:
        return found
    actor = path if path.name == ACTOR else path / ACTOR
    raise ValueError(
        f"eval.checkpoints: {path} has no Hugging Face weights (config.json + *.safetensors), only verl shards; "
        f"merge them first: python -m verl.model_merger merge --backend fsdp --local_dir {actor} "
        f"--target_dir {actor / HUGGINGFACE}"
    )


def order(checkpoints: Sequence[str | Path]) -> list[tuple[int, Path]]:
    """(step, path) sorted by step; two checkpoints of one step are an error."""
    steps: dict[int, Path] = {}
    for path in checkpoints:
        step = parse_step(path)
        if step in steps:
            raise ValueError(f"eval.checkpoints: {steps[step]} and {path} are both step {step}")
        steps[step] = Path(path)
    return sorted(steps.items())


def step_rows(step: int, checkpoint: str | Path, rows: Sequence[MetricRow]) -> list[dict]:
    return [
        {
            "step": step,
            "checkpoint": str(checkpoint),
            "dataset": r.dataset,
            "max_tool_calls": r.max_tool_calls,
            "k": r.samples_per_problem,
            "problems": r.problems,
            "avg_at_k": r.avg_at_k,
            "pass_at_1": r.pass_at.get(1),
            "maj_at_k": r.maj_at_k,
            **r.tool_use.rates(),
            "response_tokens_correct": r.response_tokens_correct,
            "response_tokens_wrong": r.response_tokens_wrong,
            "complete": r.complete,
        }
        for r in rows
    ]


def write_accuracy_vs_step(out_dir: str | Path, rows: Sequence[dict]) -> tuple[Path, Path]:
    """accuracy_vs_step.json ({"rows": [...]}) and .csv with the same rows, sorted by step."""
    rows = sorted(rows, key=lambda r: (r["step"], r["dataset"], r["max_tool_calls"]))
    out_dir = Path(out_dir)
    js = write_atomic(out_dir / "accuracy_vs_step.json", json.dumps({"rows": rows}, indent=1) + "\n")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=STEP_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return js, write_atomic(out_dir / "accuracy_vs_step.csv", buffer.getvalue())
