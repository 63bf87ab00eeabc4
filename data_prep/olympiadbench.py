"""OlympiadBench: the 675 English, text-only, open-ended math problems (Qwen2.5-Math's evaluation split).

The gold joins the final_answer list with ", " after dropping "$" delimiters. The unit (8 problems,
e.g. "km/h") is not part of the gold; it goes to extra_info["unit"] so a grader may use it.
"""

from __future__ import annotations

from data_prep import gold
from data_prep.sources import Problem, read_jsonl

FILE = "eval/olympiadbench.jsonl"


def load_olympiadbench() -> list[Problem]:
    """The id is the source's integer id, as a string."""
    problems = []
    for row in read_jsonl(FILE):
        if row.data.get("context"):  # null in all 675 rows; a context would have to precede the question
            raise row.fail("field 'context' is set, but this loader does not prepend contexts; extend it first")
        unit = row.data.get("unit")
        if unit is not None and not isinstance(unit, str):
            raise row.fail(f"field 'unit' should be a string or null, got {unit!r}")
        problems.append(
            Problem(
                id=str(row.field("id", int)),
                question=row.field("question").strip(),
                answer=row.gold(gold.olympiad_answer, "final_answer", list),
                unit=unit or None,
            )
        )
    return problems
