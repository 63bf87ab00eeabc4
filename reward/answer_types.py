"""What kind of answer a dataset's gold is, and what a prediction must look like to match it.

Why: the grader decides *equivalence*, so `\\boxed{381 * 49}` is "equal" to the gold 18669. On generated
arithmetic that pays a policy for copying the question into the box, without computing anything (measured on
cpu_learn: `381 * 49`, `381 \\times 49` and `18000+669` each scored 1.0). A dataset therefore declares its answer
type (data_prep: `Problem.answer_type`, carried in every parquet row's `extra_info.answer_type`) and the grader, in
training and evaluation alike, holds an `integer` gold to a number written out: an optional sign and digits, with
the thousands separators that `reward.normalize` already reads (`18,669`, `18{,}669`). Everything else, MATH-style
data included, keeps the full equivalence (`math`, the default).
"""

from __future__ import annotations

import re

from reward.normalize import normalize

MATH = "math"  # the grader's equivalence rules (reward.grader)
INTEGER = "integer"  # a number written out: sign and digits, thousands separators allowed
ANSWER_TYPES = (MATH, INTEGER)

_WRITTEN_INTEGER = re.compile(r"[-+]?\d+")


def check_answer_type(answer_type: object, where: str = "answer_type") -> str:
    """`answer_type` itself when known; a ValueError naming `where` otherwise (a data bug, never a wrong answer)."""
    if answer_type not in ANSWER_TYPES:
        raise ValueError(f"{where}: unknown answer type {answer_type!r}; valid: {', '.join(ANSWER_TYPES)}")
    return answer_type  # type: ignore[return-value]


def written_integer(text: str) -> int | None:
    """The integer `text` writes out, or None when it is anything else (an expression, a decimal, a word).

    Normalisation first, so that math delimiters, spacing macros, thousands separators and a trailing period are
    read as the grader reads them; percent or degree marks make it not a plain integer."""
    norm = normalize(text)
    if norm.percent or norm.degree:
        return None
    stripped = norm.text.strip()
    if not _WRITTEN_INTEGER.fullmatch(stripped):
        return None
    return int(stripped)


def integer_equal(pred: str, gold: str) -> bool:
    """An `integer` gold: the prediction is the same integer, written out (`written_integer`)."""
    want = written_integer(gold)
    got = written_integer(pred)
    return want is not None and got is not None and want == got
