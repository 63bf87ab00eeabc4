"""MathArena competitions kept on GitHub before April 2025: HMMT February 2024 and 2025, CMIMC 2024.

Each competition is answers.csv (id,answer; answers are LaTeX, e.g. "\\dfrac{24}{17}", kept verbatim)
plus problems/<id>.tex holding the statement. CMIMC 2025, which ZeroTIR evaluates on, is not available
offline (MathArena moved it to the Hugging Face Hub), so CMIMC 2024 stands in for it.
"""

from __future__ import annotations

from data_prep import gold
from data_prep.sources import Problem, read_csv, read_tex

COMPETITIONS = {
    "hmmt_feb_2024": "eval/matharena/hmmt_feb_2024",
    "hmmt_feb_2025": "eval/matharena/hmmt_feb_2025",
    "cmimc_2024": "eval/matharena/cmimc_2024",
}


def load_competition(name: str) -> list[Problem]:
    """Problems in answers.csv order; the id is the problem number, as a string."""
    folder = COMPETITIONS[name]
    problems = []
    for row in read_csv(f"{folder}/answers.csv"):
        number = row.field("id")
        if not number.isdigit():
            raise row.fail(f"field 'id' should be a problem number, got {number!r}")
        question = read_tex(f"{folder}/problems/{number}.tex").strip()
        problems.append(Problem(id=number, question=question, answer=row.gold(gold.plain, "answer")))
    return problems


def load_hmmt_feb_2024() -> list[Problem]:
    return load_competition("hmmt_feb_2024")


def load_hmmt_feb_2025() -> list[Problem]:
    return load_competition("hmmt_feb_2025")


def load_cmimc_2024() -> list[Problem]:
    return load_competition("cmimc_2024")
