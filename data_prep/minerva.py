"""Minerva Math (the 272-problem MIT OCW subset), as packaged by Qwen2.5-Math's evaluation.

No answer field: the gold is the last \\boxed{} of the solution (as Qwen2.5-Math does), minus stray "$"
delimiters (idx 72 has "+$ $" in its box). rllm's minerva.json was not vendored: its re-typed answers
disagree with the solutions' boxes on dozens of problems (e.g. idx 57, 75, 101).
"""

from __future__ import annotations

from data_prep import gold
from data_prep.sources import Problem, read_jsonl

FILE = "eval/minerva_math.jsonl"


def load_minerva() -> list[Problem]:
    """The id is the source's idx (0-271), as a string."""
    return [
        Problem(
            id=str(row.field("idx", int)),
            question=row.field("problem").strip(),
            answer=row.gold(gold.minerva_answer, "solution"),
        )
        for row in read_jsonl(FILE)
    ]
