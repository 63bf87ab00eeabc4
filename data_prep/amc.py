"""AMC 2023 (AMC 12A and 12B, 40 problems), as packaged by Qwen2.5-Math's evaluation.

Answers are stored as JSON floats ("27.0"); all are integers, written back without the ".0".
"""

from __future__ import annotations

from data_prep import gold
from data_prep.sources import Problem, read_jsonl

FILE = "eval/amc23.jsonl"


def load_amc23() -> list[Problem]:
    """The id is the source's integer id (0-39), as a string."""
    return [
        Problem(
            id=str(row.field("id", int)),
            question=row.field("problem").strip(),
            answer=row.gold(gold.float_integer, "answer", (int, float)),
        )
        for row in read_jsonl(FILE)
    ]
