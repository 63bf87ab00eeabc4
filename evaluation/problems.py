"""The problems of one evaluation: rows of the data_prep parquet files, as prompts ready to tokenise.

Parquet files are built on demand by data_prep.ensure_parquet, for any data_prep template (the demo's
`two_style` included).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from data_prep import TEMPLATES, ensure_parquet
from reward.answer_types import MATH, check_answer_type
from tir_rollout.rollout_config import uses_chat_template


@dataclass(frozen=True)
class Problem:
    dataset: str
    problem_id: str
    index: int  # row in the parquet file
    messages: tuple[dict[str, str], ...]  # one user message of raw text, or chat messages
    gold: str
    chat: bool  # the template is meant for a chat template
    answer_type: str = MATH  # reward.answer_types, from the row's extra_info: how the grader reads the gold


def template_names() -> list[str]:
    return list(TEMPLATES)


def load_problems(dataset: str, template: str, data_dir: str | Path, limit: int | None = None) -> list[Problem]:
    """The first `limit` problems (all when None) of one dataset in one template."""
    if template not in template_names():
        raise ValueError(f"eval.rollout.template: unknown template {template!r}; valid: {', '.join(template_names())}")
    path = ensure_parquet(Path(data_dir) / f"{dataset}.{template}.parquet")
    rows = pq.read_table(path).to_pylist()
    problems = []
    for row in rows[:limit] if limit else rows:
        extra = row["extra_info"]
        messages = tuple({"role": m["role"], "content": m["content"]} for m in row["prompt"])
        problems.append(
            Problem(
                dataset=dataset,
                problem_id=str(extra["id"]),
                index=int(extra["index"]),
                messages=messages,
                gold=str(row["reward_model"]["ground_truth"]),
                chat=uses_chat_template(template),
                answer_type=check_answer_type(extra.get("answer_type") or MATH, f"{path}: extra_info.answer_type"),
            )
        )
    return problems


def prompt_ids(tokenizer: Any, problem: Problem) -> list[int]:
    """Token ids of the prompt: raw text verbatim with no special tokens (as training), or the chat template when the
    template is a chat one (problem.chat, from the template's TemplateSpec: the same rule as training)."""
    if problem.chat:
        text = tokenizer.apply_chat_template(list(problem.messages), tokenize=False, add_generation_prompt=True)
        return list(tokenizer.encode(text, add_special_tokens=False))
    if len(problem.messages) != 1:
        raise ValueError(
            f"{problem.dataset} problem {problem.problem_id}: a raw-text template needs one message "
            f"(got {len(problem.messages)}); rebuild the parquet file for eval.rollout.template"
        )
    return list(tokenizer.encode(problem.messages[0]["content"], add_special_tokens=False))
