"""MATH (Hendrycks et al.): the train split as packaged by rllm, and the MATH-500 test subset.

MATH-500 keeps its curated `answer` field, which equals the last \\boxed{} of its solution for all 500
rows. The rllm train file has 7,474 problems (26 fewer than the official 7,500) and no solutions; two
rows have a null answer and two an empty one (the same multiple-choice items SimpleRL leaves empty); all
four are dropped by record number below, so math_train has 7,470 rows.
"""

from __future__ import annotations

from data_prep import gold
from data_prep.sources import Problem, read_json_array, read_jsonl

TRAIN_FILE = "train/math_train_rllm.json"
MATH500_FILE = "eval/math500.jsonl"

# rllm math.json records whose `answer` is null or "" upstream, with no solution field to recover it from.
UNANSWERED = {886, 1009, 5328, 5330}


def load_math_train() -> list[Problem]:
    """The id is the record number in the rllm file (it has no ids of its own)."""
    problems = []
    for number, row in enumerate(read_json_array(TRAIN_FILE)):
        if number in UNANSWERED:
            if (row.data.get("answer") or "").strip():
                raise row.fail("listed in hendrycks_math.UNANSWERED but has an answer; remove it from that set")
            continue
        problems.append(
            Problem(id=str(number), question=row.field("problem").strip(), answer=row.gold(gold.plain, "answer"))
        )
    return problems


def load_math500() -> list[Problem]:
    """The id is PRM800K's unique_id, e.g. "test/precalculus/807.json"."""
    return [
        Problem(id=row.field("unique_id"), question=row.field("problem").strip(), answer=row.gold(gold.plain, "answer"))
        for row in read_jsonl(MATH500_FILE)
    ]
