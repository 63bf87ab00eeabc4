"""Gold normalisation rules: one row per behaviour, most taken from the vendored raw files."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from data_prep import gold

AIME = [
    ("204", "204"),  # aime24 id 60
    ("025", "25"),  # aime24 id 67 (2024 I #2) is zero-padded upstream
    ("0", "0"),  # aime_1983_2023 has answers of 0
    (" 73\n", "73"),  # outer whitespace is formatting
]


@pytest.mark.parametrize(("raw", "expected"), AIME, ids=["plain", "zero-padded", "zero", "whitespace"])
def test_aime_integer(raw, expected):
    assert gold.aime_integer(raw) == expected


@pytest.mark.parametrize(
    "raw", ["1000", "-5", "2.5", "\\frac{1}{2}", ""], ids=["4-digits", "negative", "decimal", "latex", "empty"]
)
def test_aime_integer_refuses_non_aime_answers(raw):
    with pytest.raises(ValueError, match="AIME answer"):
        gold.aime_integer(raw)


FLOATS = [
    (27.0, "27"),  # amc23 id 0 is stored as 27.0
    (-1.0, "-1"),  # amc23 has a negative answer
    (3159.0, "3159"),
    (0.5, "0.5"),  # non-integral values keep their digits
    ("36.0", "36"),
]


@pytest.mark.parametrize(("raw", "expected"), FLOATS, ids=["27.0", "negative", "large", "non-integral", "string"])
def test_float_integer(raw, expected):
    assert gold.float_integer(raw) == expected


@pytest.mark.parametrize("raw", [float("nan"), float("inf"), True], ids=["nan", "inf", "bool"])
def test_float_integer_refuses_non_numbers(raw):
    with pytest.raises(ValueError, match="finite number"):
        gold.float_integer(raw)


GSM8K = [
    ("Natalia sold 48+24 = <<48+24=72>>72 clips.\n#### 72", "72"),  # gsm8k_train line 0
    ("... dollars.\n#### 1,450,000", "1450000"),  # gsm8k_test id 611: thousands commas are formatting
    ("It is -48 + 38 = <<-48+38=-10>>-10\n#### -10", "-10"),  # gsm8k_test id 489: the sign is content
    ("So 0.5 of it\n#### 0.5", "0.5"),
    ("a #### b\n#### 7", "7"),  # the last marker wins
]


@pytest.mark.parametrize(("raw", "expected"), GSM8K, ids=["plain", "commas", "negative", "decimal", "last-marker"])
def test_gsm8k_final(raw, expected):
    assert gold.gsm8k_final(raw) == expected


@pytest.mark.parametrize("raw", ["no marker 72", "#### seventy-two", "#### "], ids=["no-marker", "words", "empty"])
def test_gsm8k_final_refuses(raw):
    with pytest.raises(ValueError, match="GSM8K"):
        gold.gsm8k_final(raw)


BOXED = [
    ("so $s=\\boxed{1.6}$ cm.", "1.6"),  # minerva idx 0
    ("\\boxed{1} then \\boxed{2}", "2"),  # the last box wins
    ("= \\boxed{\\frac{\\sqrt{3}}{2}}.", "\\frac{\\sqrt{3}}{2}"),  # nested braces
    ("\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}", "\\left( 3, \\frac{\\pi}{2} \\right)"),  # math500 row 1
    ("\\fbox{42}", "42"),  # \fbox is MATH's older spelling
    ("\\boxed {7}", "7"),  # a space before the brace
]


@pytest.mark.parametrize(("raw", "expected"), BOXED, ids=["minerva", "last", "nested", "math500", "fbox", "space"])
def test_last_boxed(raw, expected):
    assert gold.last_boxed(raw) == expected


@pytest.mark.parametrize(
    "raw", ["no box here", "\\boxed{1", "\\boxed{}", "\\boxed 5"], ids=["none", "unbalanced", "empty", "no-brace"]
)
def test_last_boxed_refuses(raw):
    with pytest.raises(ValueError, match="boxed"):
        gold.last_boxed(raw)


MINERVA = [
    ("$s=\\boxed{1.6}$ cm", "1.6"),  # idx 0
    ("\\boxed{x_{0} \\cos (\\omega t)+$ $\\dot{x}_{0}}", "x_{0} \\cos (\\omega t)+ \\dot{x}_{0}"),  # idx 72
    ("\\boxed{\\$5}", "\\$5"),  # an escaped dollar is content
]


@pytest.mark.parametrize(("raw", "expected"), MINERVA, ids=["plain", "stray-dollars", "escaped-dollar"])
def test_minerva_answer(raw, expected):
    assert gold.minerva_answer(raw) == expected


def test_minerva_answer_refuses_a_box_of_only_delimiters():
    with pytest.raises(ValueError, match="only"):
        gold.minerva_answer("\\boxed{$ $}")


OLYMPIAD = [
    (["2"], "2"),  # olympiadbench id 1606
    (["$69$,$84$"], "69,84"),  # id 1664: "$" delimiters are formatting, the comma list is kept
    (["$\\frac{600}{7}$"], "\\frac{600}{7}"),  # id 2426 (its unit km/h goes to extra_info)
    (["$221,$8$"], "221,8"),  # id 2349: stray delimiter upstream
    (["$1$", "$2$"], "1, 2"),  # several list entries are joined with ", "
    (["\\$5"], "\\$5"),  # an escaped dollar is content
]


@pytest.mark.parametrize(("raw", "expected"), OLYMPIAD, ids=["single", "dollars", "frac", "stray", "list", "escaped"])
def test_olympiad_answer(raw, expected):
    assert gold.olympiad_answer(raw) == expected


@pytest.mark.parametrize("raw", [[], ["$$"], [3]], ids=["empty-list", "empty-entry", "not-string"])
def test_olympiad_answer_refuses(raw):
    with pytest.raises(ValueError, match="final_answer"):
        gold.olympiad_answer(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("\\dfrac{24}{17}", "\\dfrac{24}{17}"), (" 118 ", "118")],
    ids=["latex-kept-verbatim", "whitespace"],
)
def test_plain(raw, expected):
    assert gold.plain(raw) == expected


_balanced = st.recursive(
    st.text(alphabet=st.characters(blacklist_characters="{}\\", blacklist_categories=("Cs",)), max_size=8),
    lambda inner: st.builds(lambda a, b: a + "{" + b + "}", inner, inner),
    max_leaves=6,
)


@given(prefix=st.text(alphabet="abc $=.", max_size=20), content=_balanced)
def test_last_boxed_returns_any_balanced_content(prefix, content):
    if content.strip():
        assert gold.last_boxed(f"{prefix}\\boxed{{{content}}} end") == content.strip()


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_gsm8k_commas_never_change_the_number(n):
    assert gold.gsm8k_final(f"...\n#### {n:,}") == str(n)
