"""Answer types: an `integer` gold takes only a number written out, in the reward and in evaluation alike."""

import pytest

from data_prep import catalog
from reward.answer_types import ANSWER_TYPES, check_answer_type, integer_equal, written_integer
from reward.grader import grade_answer, grade_prediction
from reward.zerotir import compute_score

RESTATED = [
    "381 * 49",
    "381 \\times 49",
    "18000+669",
    "381 \\cdot 49",
    "(381)(49)",
    "18669.0",
    "18669 + 0",
    "\\frac{37338}{2}",
]
WRITTEN = ["18669", "18,669", "18{,}669", "$18669$", "18669.", " 18669 ", "+18669", "\\(18669\\)"]


def score(box: str, answer_type: str | None) -> float:
    extra = {"tir_finish_reason": "stop"} | ({"answer_type": answer_type} if answer_type else {})
    return compute_score("arith", f"So \\boxed{{{box}}}.", "18669", extra, require_format=False)["score"]


@pytest.mark.parametrize("box", RESTATED)
def test_a_box_that_restates_the_question_earns_nothing_against_an_integer_gold(box):
    assert score(box, "integer") == 0.0
    assert not grade_prediction(box, "18669", answer_type="integer")
    assert not grade_answer(f"The answer is \\boxed{{{box}}}", "18669", answer_type="integer")


@pytest.mark.parametrize("box", ["381 * 49", "381 \\times 49", "18000+669"])
def test_math_golds_keep_the_full_equivalence(box):
    """The cases the issue measured: the default (`math`) still evaluates them, as MATH-style data needs."""
    assert score(box, None) == 1.0 and score(box, "math") == 1.0


@pytest.mark.parametrize("box", WRITTEN)
def test_a_number_written_out_is_accepted(box):
    assert score(box, "integer") == 1.0
    assert grade_answer(f"The answer is \\boxed{{{box}}}", "18669", answer_type="integer")


@pytest.mark.parametrize("box", ["-18669", "18668", "18,66,9", "186 69x", "18669\\%", "18669^\\circ", "", "eighteen"])
def test_other_integers_and_non_numbers_are_wrong(box):
    assert score(box, "integer") == 0.0


def test_negative_golds_and_signs():
    assert integer_equal("-42", "-42") and integer_equal("$-42$", "-42") and not integer_equal("42", "-42")
    assert written_integer("1,000,000") == 1000000 and written_integer("1e6") is None


def test_the_lenient_eval_reads_only_the_final_answer_for_an_integer_gold():
    # the last box is the answer: an earlier right box does not rescue a restated final one
    assert not grade_answer("\\boxed{18669} ... \\boxed{381*49}", "18669", answer_type="integer")
    assert grade_answer("The answer is 18669.", "18669", answer_type="integer")


def test_an_unknown_answer_type_is_a_data_error_naming_the_field():
    with pytest.raises(ValueError, match="extra_info.answer_type: unknown answer type 'float'"):
        score("18669", "float")
    with pytest.raises(ValueError, match="valid: math, integer"):
        check_answer_type("float")
    assert set(ANSWER_TYPES) == {"math", "integer"}


def test_every_generated_dataset_declares_integer_golds_and_the_rest_math():
    for name, spec in catalog.DATASETS.items():
        assert spec.answer_type == ("integer" if name.startswith("arith_") else "math"), name


def test_the_answer_type_reaches_the_parquet_row_and_the_eval_problem(tmp_path):
    from data_prep.parquet import build
    from evaluation.problems import load_problems

    build("arith_2x1_test", "two_style", tmp_path)
    problems = load_problems("arith_2x1_test", "two_style", tmp_path)
    assert {p.answer_type for p in problems} == {"integer"}
    build("aime24", "zero_tir", tmp_path)
    assert {p.answer_type for p in load_problems("aime24", "zero_tir", tmp_path)} == {"math"}
