"""Contamination check: planted and real overlaps are found and refused unless allowed."""

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

import data_prep
from data_prep import catalog
from data_prep.__main__ import main
from data_prep.overlap import OverlapError, normalise_problem, overlap_counts
from data_prep.sources import Problem

AIME24_Q1 = "Every morning Aya goes for a $9$-kilometer-long walk and stops at a coffee shop afterwards."


def test_planted_overlap_is_found_despite_spacing_and_case():
    counts = overlap_counts(
        {
            "train": [
                "What is 1+1?",
                "  every MORNING aya goes for a $9$-kilometer-long\n walk and stops at a coffee shop afterwards. ",
            ]
        },
        {"eval": [AIME24_Q1, "Something else."], "clean": ["What is 2+2?"]},
    )
    assert counts == {("train", "eval"): 1, ("train", "clean"): 0}


def test_planted_problem_in_a_training_set_is_refused(monkeypatch):
    aime24 = catalog.load("aime24")
    planted = [Problem("p0", "Unrelated question?", "1"), Problem("p1", aime24[3].question.upper(), aime24[3].answer)]
    monkeypatch.setitem(catalog.DATASETS, "planted", catalog.DatasetSpec("planted", "train", lambda: planted, 2))
    with pytest.raises(OverlapError, match=r"planted x aime24: 1 shared problems.*allow_overlap=true"):
        data_prep.check_overlap(["planted"], ["aime24", "aime25"])
    assert data_prep.check_overlap(["planted"], ["aime24", "aime25"], allow_overlap=True) == {
        ("planted", "aime24"): 1,
        ("planted", "aime25"): 0,
    }


def test_default_pair_is_clean():
    # SimpleRL's pool excludes MATH-500 by construction (data/raw/README.md).
    assert data_prep.check_overlap(["simplerl_math_l3to5"], ["math500", "aime24"]) == {
        ("simplerl_math_l3to5", "math500"): 0,
        ("simplerl_math_l3to5", "aime24"): 0,
    }


def test_real_overlap_aime_history_in_math500_is_refused():
    # MATH reuses old AIME problems: 4 MATH-500 problems appear verbatim in AIME 1983-2023.
    with pytest.raises(OverlapError, match="aime_1983_2023 x math500: 4 shared problems"):
        data_prep.check_overlap(["aime_1983_2023"], ["math500"])


def test_cli_refuses_an_overlapping_pair_and_builds_nothing(tmp_path, capsys):
    assert main(["--train", "aime_1983_2023", "--eval", "math500", "--out-dir", str(tmp_path)]) == 1
    assert "aime_1983_2023 x math500: 4 shared problems" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_cli_check_overlap_prints_the_table(tmp_path, capsys):
    assert (
        main(
            [
                "--train",
                "aime_1983_2023",
                "gsm8k_train",
                "--eval",
                "math500",
                "amc23",
                "--check-overlap",
                "--out-dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["train", "\\", "eval", "math500", "amc23"]
    assert lines[3].split() == ["aime_1983_2023", "4", "0"]
    assert lines[4].split() == ["gsm8k_train", "0", "0"]
    assert list(tmp_path.iterdir()) == []


def test_cli_builds_with_allow_overlap_and_prints_a_summary(tmp_path, capsys):
    assert (
        main(
            [
                "--train",
                "aime_1983_2023",
                "--eval",
                "math500",
                "--template",
                "zero_v2",
                "--allow-overlap",
                "--out-dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["aime_1983_2023.zero_v2.parquet", "math500.zero_v2.parquet"]
    assert "aime_1983_2023  zero_v2   975" in out and "math500         zero_v2   500" in out


@given(
    st.text(alphabet=string.ascii_letters + string.digits + "$\\{}^_+-=.,?", max_size=40),
    st.lists(st.sampled_from([" ", "\n", "\t", "  "]), max_size=5),
)
def test_normalisation_ignores_whitespace_and_case(text, spaces):
    spaced = "".join(s + c for s, c in zip(spaces + [""] * len(text), text.upper()))
    assert normalise_problem(spaced) == normalise_problem(text.lower())
