"""math-verify's own public test cases, (gold, prediction, expected), run through `grade_answer`.

The cases are math-verify's parametrized tests at the commit named in `math_verify_cases.json` (Apache-2.0,
copied as test data; regenerate with `tests/reward/vendor_math_verify.py`). Each prediction is a whole response
(often without a box), each gold a string that may itself be a worked solution. Every case that math-verify's
test runs with its default options must agree, and the whole suite must agree on at least 263 of 270, counting
as agreement the cases below where math-verify's expectation is mathematically wrong and we give the right
verdict instead.
"""

import json
from pathlib import Path

import pytest

from reward.grader import grade_answer

DATA = json.loads(Path(__file__).with_name("math_verify_cases.json").read_text(encoding="utf-8"))
CASES = {c["id"]: c for c in DATA["cases"]}

# math-verify expects a verdict that is mathematically wrong: we assert the right one.
MATH_WRONG = {
    "test_yujianll.py::test_string_extraction[9]": "1 - 1/e is not 1 + 1/e; math-verify passes only because its "
    "extraction cuts both answers at `\\frac{1}{` and compares 1 with 1",
    "test_all.py::test_precision[compare_strings]": "0.3333 is not 1/3; equal only under the test's float rounding "
    "to 4 places (our decimals round to 6 places, math-verify's default)",
    "test_all.py::test_complex_math_expressions[7]": "0.33 is not 1/3 (the test rounds to 2 places)",
    "test_all.py::test_complex_math_expressions[13]": "2.6667 is not 8/3 (the test rounds to 2 places)",
    "test_all.py::test_set_rel_assymetry[3]": "-2 <= x <= 7 is the set [-2, 7]; the refusal comes only from the "
    "option allow_set_relation_comp=False (its twin [2], with the option on, expects the acceptance we give)",
    "test_strict.py::test_strict_variable_comparison[1]": "f(y) is not the expression f(x); equal only with "
    "strict=False, which identifies all variables (its twin [0], default strict=True, expects the refusal we give)",
}
# Not wrong, but decided by a non-default option: latex-only extraction. We read with math-verify's default
# targets (LaTeX and plain expressions), under which math-verify itself also reads 9 here.
OPTION_ONLY = {
    "test_all.py::test_latex_notation[5]": "inline `$` broken across lines: no LaTeX answer, but the plain number 9",
    "test_all.py::test_latex_notation[6]": "inline `\\(` broken across lines: no LaTeX answer, but the plain number 9",
}
DEFAULT_IDS = [i for i, c in CASES.items() if c["default_options"]]


@pytest.fixture(scope="module")
def verdicts() -> dict[str, bool]:
    return {i: grade_answer(c["pred"], c["gold"]) for i, c in CASES.items()}


def test_the_vendored_suite_is_math_verify_at_a_named_commit():
    assert DATA["source"] == "https://github.com/huggingface/Math-Verify"
    assert len(DATA["commit"]) == 40 and "Apache-2.0" in DATA["licence"]
    assert len(CASES) == 270 and len(DEFAULT_IDS) == 149
    assert set(MATH_WRONG) | set(OPTION_ONLY) <= set(CASES)


@pytest.mark.parametrize("case_id", DEFAULT_IDS)
def test_every_default_option_case_agrees(verdicts, case_id):
    expected = CASES[case_id]["expected"]
    assert verdicts[case_id] is (not expected if case_id in MATH_WRONG else expected), MATH_WRONG.get(case_id)


@pytest.mark.parametrize("case_id", sorted(MATH_WRONG))
def test_mathematically_wrong_expectations_get_the_right_verdict(verdicts, case_id):
    assert verdicts[case_id] is not CASES[case_id]["expected"], MATH_WRONG[case_id]


def test_overall_agreement(verdicts):
    disagree = {i for i, c in CASES.items() if verdicts[i] is not c["expected"]}
    assert disagree <= set(MATH_WRONG) | set(OPTION_ONLY), sorted(disagree - set(MATH_WRONG) - set(OPTION_ONLY))
    assert len(CASES) - len(disagree - set(MATH_WRONG)) >= 263
