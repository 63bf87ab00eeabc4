"""AIME: 1983-2023 (training, as packaged by rllm), AIME 2024 and AIME 2025 (evaluation).

All AIME answers are integers 0-999; zero padding ("025") is dropped. aime25.jsonl has no ids, so ids
come from its order (I #1-15, then II #1-15), and that order is checked against MathArena's
answers.csv files. The 1983-2023 set stops before 2024, so it cannot overlap the evaluation years.
"""

from __future__ import annotations

from data_prep import gold
from data_prep.sources import Problem, RawDataError, display, read_csv, read_json_array, read_jsonl

TRAIN_FILE = "train/aime_1983_2023_rllm.json"
AIME24_FILE = "eval/aime24.jsonl"
AIME25_FILE = "eval/aime25.jsonl"
AIME25_MATHARENA = ("eval/matharena/aime_2025_I/answers.csv", "eval/matharena/aime_2025_II/answers.csv")


def load_aime_1983_2023() -> list[Problem]:
    """The id is "<year>-<contest 1 or 2>-<problem number>", e.g. "1983-1-1"."""
    problems = []
    for row in read_json_array(TRAIN_FILE):
        number = f"{row.field('year', int)}-{row.field('aime_number', int)}-{row.field('problem_number', int)}"
        problems.append(
            Problem(id=number, question=row.field("problem").strip(), answer=row.gold(gold.aime_integer, "answer"))
        )
    return problems


def load_aime24() -> list[Problem]:
    """The id is the source's integer id (60-89), as a string."""
    return [
        Problem(
            id=str(row.field("id", int)),
            question=row.field("problem").strip(),
            answer=row.gold(gold.aime_integer, "answer"),
        )
        for row in read_jsonl(AIME24_FILE)
    ]


def load_aime25() -> list[Problem]:
    """The id is "2025-I-<n>" or "2025-II-<n>"."""
    rows = read_jsonl(AIME25_FILE)
    reference = [(contest, r) for contest, rel in zip(("I", "II"), AIME25_MATHARENA) for r in read_csv(rel)]
    problems = []
    for row, (contest, ref) in zip(rows, reference):
        answer = row.gold(gold.aime_integer, "answer")
        if ref.gold(gold.aime_integer, "answer") != answer:
            raise RawDataError(
                f"{row.where}: answer {answer} differs from {ref.where} ({ref.data['answer']}); the file order is"
                f" no longer AIME I then II; restore {display(AIME25_FILE)} from git"
            )
        problems.append(
            Problem(id=f"2025-{contest}-{ref.field('id')}", question=row.field("problem").strip(), answer=answer)
        )
    return problems
