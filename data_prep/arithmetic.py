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

The ladder (the paper in miniature, docs/paper_mini.md) spans what a 135M model can and cannot do in prose, so that
a tool arm and a no-tool arm can differ where the tool matters and agree where it does not. Its tiers:
    2x1    a * b with a 2-digit and a 1-digit factor (2-9): a small model is sometimes right in prose
    3x2    difficulty 1: prose almost never right
    3x3    difficulty 2
    2step  "Let x = a * b. What is x * c?" (3-digit, 2-digit, 1-digit): one snippet can do it all, or a second call
           can take the printed x one step further: the tier where an interaction budget above 1 can help
Each tier has its own seeded stream: the first LADDER_TEST_ROWS problems are its test set (`arith_<tier>_test`),
the next LADDER_TRAIN_ROWS go, interleaved tier by tier, into `arith_ladder_train`. Every gold is an integer, and
the catalog declares it so (reward.answer_types): a box that restates the question earns nothing.
"""

from __future__ import annotations

import hashlib
import json
import random
import re

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


TIERS = ("2x1", "3x2", "3x3", "2step")
LADDER_TEST_ROWS = 100
LADDER_TRAIN_ROWS = 500  # per tier: 2,000 in arith_ladder_train; 2x1 has 720 distinct problems in all


def make_tier_problem(rng: random.Random, tier: str) -> tuple[str, int]:
    """One (question, answer) pair of a ladder tier."""
    if tier == "2x1":
        a, b = _digits(rng, 2), rng.randint(2, 9)
        return f"What is {a} * {b}?", a * b
    if tier == "3x2":
        return make_problem(rng, 1)
    if tier == "3x3":
        return make_problem(rng, 2)
    if tier == "2step":
        a, b, c = _digits(rng, 3), _digits(rng, 2), rng.randint(2, 9)
        return f"Let x = {a} * {b}. What is x * {c}?", a * b * c
    raise ValueError(f"arithmetic tier must be one of {', '.join(TIERS)} (got {tier!r})")


def _distinct(draw, rows: int) -> list[tuple[str, int]]:
    """`rows` distinct problems from `draw()` (a repeated question is drawn again)."""
    seen: dict[str, int] = {}
    while len(seen) < rows:
        question, answer = draw()
        seen.setdefault(question, answer)
    return list(seen.items())


def generate(difficulty: int, seed: int = SEED, rows: int = TEST_ROWS + TRAIN_ROWS) -> list[tuple[str, int]]:
    """`rows` distinct problems from one seeded stream."""
    rng = random.Random(f"{seed}-{difficulty}")
    return _distinct(lambda: make_problem(rng, difficulty), rows)


def generate_tier(
    tier: str, seed: int = SEED, rows: int = LADDER_TEST_ROWS + LADDER_TRAIN_ROWS
) -> list[tuple[str, int]]:
    """`rows` distinct problems of one ladder tier from its own seeded stream."""
    rng = random.Random(f"{seed}-ladder-{tier}")
    return _distinct(lambda: make_tier_problem(rng, tier), rows)


def ladder_train(seed: int = SEED) -> list[tuple[str, int]]:
    """The training part of every tier, interleaved (2x1, 3x2, 3x3, 2step, 2x1, ...), so any prefix is balanced."""
    parts = [generate_tier(tier, seed)[LADDER_TEST_ROWS:] for tier in TIERS]
    return [pair for group in zip(*parts, strict=True) for pair in group]


def tier_of(question: str) -> str:
    """The ladder tier a generated question belongs to, read from its form (for per-tier reports)."""
    if question.startswith("Let x = "):
        return "2step"
    a, b = re.fullmatch(r"What is (\d+) \* (\d+)\?", question).groups()
    return {(2, 1): "2x1", (3, 2): "3x2", (3, 3): "3x3"}[(len(a), len(b))]


def checksum(problems: list[Problem]) -> str:
    """sha256 of the problems as JSON lines (id, question, answer): what GENERATED pins."""
    lines = (json.dumps([p.id, p.question, p.answer]) + "\n" for p in problems)
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def _pairs(source: str) -> list[tuple[str, int]]:
    """The problems a GENERATED entry names: "mul_train"/"mul_test" (difficulty 1), "<tier>_test", "ladder_train"."""
    if source == "ladder_train":
        return ladder_train(SEED)
    kind, split = source.rsplit("_", 1)
    if kind == "mul":
        pairs = generate(1, SEED)
        return pairs[:TEST_ROWS] if split == "test" else pairs[TEST_ROWS:]
    return generate_tier(kind, SEED)[:LADDER_TEST_ROWS]


# name -> (what it is, split, sha256 of the output, rows). Regenerate a checksum only when the problems are meant to
# change, and say why in the commit.
GENERATED: dict[str, tuple[str, str, str, int]] = {
    "arith_mul_train": (
        "mul_train",
        "train",
        "75854878b297a532f14a8e151c8e4e2b1ed9abd4e2dcf3002a43a054177b5ba6",
        TRAIN_ROWS,
    ),
    "arith_mul_test": (
        "mul_test",
        "eval",
        "5492b43c640d9bcde07c58d557c5519bbe244ff066e5dfc50e349b0b63147c0c",
        TEST_ROWS,
    ),
    "arith_ladder_train": (
        "ladder_train",
        "train",
        "a5b3a060e7951e469a9ba584ed99cad0a8eaf654a357cc13de247ab40193312d",
        LADDER_TRAIN_ROWS * 4,
    ),
    "arith_2x1_test": (
        "2x1_test",
        "eval",
        "13668b658d1d267f8644ab980e12c98b2e1512a7a85982d1e85491a74b1037b1",
        LADDER_TEST_ROWS,
    ),
    "arith_3x2_test": (
        "3x2_test",
        "eval",
        "c441103cf8e148eb138035419b774a76cdb0d5a0e5cd317d5af2d591d9099f6e",
        LADDER_TEST_ROWS,
    ),
    "arith_3x3_test": (
        "3x3_test",
        "eval",
        "a0108786bb883a2f234fc1033242e03c7cd05a5c30ffc3f5841ec03e7638de18",
        LADDER_TEST_ROWS,
    ),
    "arith_2step_test": (
        "2step_test",
        "eval",
        "d8b18ca927b8d25db0457e06f11f98977e00a27d2b2685006590e1ecc658f4ff",
        LADDER_TEST_ROWS,
    ),
}
LADDER_TESTS = [f"arith_{tier}_test" for tier in TIERS]
# the catalog's entries (data_prep/catalog.py): name -> (split, rows)
DATASETS = {name: (split, rows) for name, (_, split, _, rows) in GENERATED.items()}


def load(name: str) -> list[Problem]:
    """The problems of one generated dataset, checked against their pinned checksum."""
    source, _, expected, rows = GENERATED[name]
    problems = [Problem(id=f"{name}-{i}", question=q, answer=str(a)) for i, (q, a) in enumerate(_pairs(source))]
    if len(problems) != rows or checksum(problems) != expected:
        raise RawDataError(
            f"generated dataset {name} (data_prep/arithmetic.py, {source}, seed {SEED}): checksum "
            f"{checksum(problems)} with {len(problems)} rows, pinned {expected or '<none>'} with {rows} rows; "
            "the generator changed: restore it, or re-pin GENERATED on purpose"
        )
    return problems
