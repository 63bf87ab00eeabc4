"""GSM8K (OpenAI grade-school-math, original release): train (7,473) and test (1,319).

The gold is the number after "####" at the end of the worked solution, with thousands commas removed.
The files have no ids, so the id is the 0-based line index.
"""

from __future__ import annotations

from data_prep import gold
from data_prep.sources import Problem, read_jsonl

TRAIN_FILE = "train/gsm8k_train.jsonl"
TEST_FILE = "eval/gsm8k_test.jsonl"


def _load(rel: str) -> list[Problem]:
    return [
        Problem(id=str(i), question=row.field("question").strip(), answer=row.gold(gold.gsm8k_final, "answer"))
        for i, row in enumerate(read_jsonl(rel))
    ]


def load_gsm8k_train() -> list[Problem]:
    return _load(TRAIN_FILE)


def load_gsm8k_test() -> list[Problem]:
    return _load(TEST_FILE)
