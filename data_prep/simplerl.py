"""SimpleRL-Zoo's MATH level 3-5 training pool (8,523 problems), the paper-scale RL-zero training set here.

Only `question` and `answer` are used: the file's `prompt` column already holds SimpleRL's Qwen chat
prompt, which we replace with our own templates. Contamination: this pool is MATH train + test minus
MATH-500, so it holds 2,936 MATH test problems; never evaluate on the full MATH test after training on it.
Two rows have an empty gold answer upstream and are dropped by row number, so the dataset has 8,521 rows.
"""

from __future__ import annotations

from data_prep import gold
from data_prep.sources import Problem, read_parquet

FILE = "train/simplerl_math_level3to5_train.parquet"

# Rows whose answer, gt_answer and target are all "" upstream (Number Theory multiple-choice items).
EMPTY_GOLD = {5054, 5158}


def load_simplerl_math_l3to5() -> list[Problem]:
    """Rows in file order; the id is the row number, which equals the file's own extra_info.index."""
    problems = []
    for number, row in enumerate(read_parquet(FILE, columns=["question", "answer", "gt_answer"])):
        if number in EMPTY_GOLD:
            if row.data["answer"].strip():
                raise row.fail("listed in simplerl.EMPTY_GOLD but has an answer; remove it from that set")
            continue
        answer = row.gold(gold.plain, "answer")
        # the file repeats the gold in answer and gt_answer; a disagreement means a corrupted row
        if row.field("gt_answer").strip() != answer:
            raise row.fail(f"field 'answer' {answer!r} differs from 'gt_answer' {row.data['gt_answer']!r}")
        problems.append(Problem(id=str(number), question=row.field("question").strip(), answer=answer))
    return problems
