"""Synthetic arithmetic where running code pays: products and sums of multi-digit integers, integer golds.

For the laptop-scale learning run (conf/experiment/cpu_learn.yaml) and `make demo`, not a paper benchmark: a
135M model cannot multiply 347 by 58 in prose, but it can write `print(347 * 58)`. Generated, not vendored,
so the checksum of the generator's output is pinned in GENERATED (a change to the generator or its seed that
would silently change the problems fails loudly on load). Train and test come from one seeded stream of
distinct problems, cut in two, so they never share a question.

Difficulty (digits of the operands, higher is harder for prose and no harder for code):
    1  a * b       with a 3-digit and a 2-digit factor ("What is 347 * 58?")
    2  a * b       with two 3-digit factors
    3  a * b + c   or  a + b + c + d  with 3- and 4-digit terms
"""

from __future__ import annotations

import hashlib
import json
import random

from data_prep.sources import Problem, RawDataError

SEED = 20251202
TEST_ROWS = 200
TRAIN_ROWS = 2000


def _digits(rng: random.Random, n: int) -> int:
    return rng.randint(10 ** (n - 1), 10**n - 1)


def make_problem(rng: random.Random, difficulty: int) -> tuple[str, int]:
    """One (question, answer) pair at the given difficulty."""
    if difficulty == 1:
        a, b = _digits(rng, 3), _digits(rng, 2)
        return f"What is {a} * {b}?", a * b
    if difficulty == 2:
        a, b = _digits(rng, 3), _digits(rng, 3)
        return f"What is {a} * {b}?", a * b
    if difficulty == 3:
        if rng.random() < 0.5:
            a, b, c = _digits(rng, 3), _digits(rng, 2), _digits(rng, 4)
            return f"What is {a} * {b} + {c}?", a * b + c
        terms = [_digits(rng, rng.choice((3, 4))) for _ in range(4)]
        return f"What is {' + '.join(map(str, terms))}?", sum(terms)
    raise ValueError(f"arithmetic difficulty must be 1, 2 or 3 (got {difficulty!r})")


def generate(difficulty: int, seed: int = SEED, rows: int = TEST_ROWS + TRAIN_ROWS) -> list[tuple[str, int]]:
    """`rows` distinct problems from one seeded stream (a repeated question is drawn again)."""
    rng = random.Random(f"{seed}-{difficulty}")
    seen: dict[str, int] = {}
    while len(seen) < rows:
        question, answer = make_problem(rng, difficulty)
        seen.setdefault(question, answer)
    return list(seen.items())


def checksum(problems: list[Problem]) -> str:
    """sha256 of the problems as JSON lines (id, question, answer): what GENERATED pins."""
    lines = (json.dumps([p.id, p.question, p.answer]) + "\n" for p in problems)
    return hashlib.sha256("".join(lines).encode()).hexdigest()


# name -> (difficulty, split, sha256 of the output, rows). Regenerate a checksum only when the problems are
# meant to change, and say why in the commit.
GENERATED: dict[str, tuple[int, str, str, int]] = {
    "arith_mul_train": (1, "train", "75854878b297a532f14a8e151c8e4e2b1ed9abd4e2dcf3002a43a054177b5ba6", TRAIN_ROWS),
    "arith_mul_test": (1, "test", "5492b43c640d9bcde07c58d557c5519bbe244ff066e5dfc50e349b0b63147c0c", TEST_ROWS),
}


def load(name: str) -> list[Problem]:
    """The problems of one generated dataset, checked against their pinned checksum."""
    difficulty, split, expected, rows = GENERATED[name]
    pairs = generate(difficulty, SEED)
    part = pairs[:TEST_ROWS] if split == "test" else pairs[TEST_ROWS:]
    problems = [Problem(id=f"{name}-{i}", question=q, answer=str(a)) for i, (q, a) in enumerate(part)]
    if len(problems) != rows or checksum(problems) != expected:
        raise RawDataError(
            f"generated dataset {name} (data_prep/arithmetic.py, difficulty {difficulty}, seed {SEED}): checksum "
            f"{checksum(problems)} with {len(problems)} rows, pinned {expected or '<none>'} with {rows} rows; "
            "the generator changed: restore it, or re-pin GENERATED on purpose"
        )
    return problems


def load_train() -> list[Problem]:
    return load("arith_mul_train")


def load_test() -> list[Problem]:
    return load("arith_mul_test")
