"""Every dataset builds with its expected count, spot-checked gold answers and the shared verl schema."""

import pyarrow.parquet as pq
import pytest

import data_prep
from data_prep import parquet

COUNTS = {
    "simplerl_math_l3to5": 8521,  # 8,523 upstream minus 2 rows with an empty answer
    "math_train": 7470,  # 7,474 upstream minus 4 rows with a null or empty answer
    "gsm8k_train": 7473,
    "aime_1983_2023": 975,
    "arith_mul_train": 2000,  # generated (data_prep/arithmetic.py)
    "arith_mul_test": 200,
    "arith_ladder_train": 2000,  # 500 per tier
    "arith_2x1_test": 100,
    "arith_3x2_test": 100,
    "arith_3x3_test": 100,
    "arith_2step_test": 100,
    "aime24": 30,
    "aime25": 30,
    "amc23": 40,
    "math500": 500,
    "minerva": 272,
    "olympiadbench": 675,
    "gsm8k_test": 1319,
    "hmmt_feb_2024": 30,
    "hmmt_feb_2025": 30,
    "cmimc_2024": 30,
}

# (dataset, source id, gold, a phrase of the question). Golds checked against the raw files by hand and,
# for the competition problems, against the published answer keys.
SPOT_CHECKS = [
    ("simplerl_math_l3to5", "0", "118", "The smaller of the two values can be expressed as $p - \\sqrt{q}$"),
    ("math_train", "0", "0", "Find $a+b$ if the piecewise function is continuous"),
    ("gsm8k_train", "0", "72", "Natalia sold clips to 48 of her friends"),
    ("gsm8k_test", "611", "1450000", "John decides to build a program"),  # "#### 1,450,000"
    ("gsm8k_test", "489", "-10", "highest temperature ever recorded in Southlandia"),
    ("aime_1983_2023", "1983-1-1", "60", "Find $\\log_z w$"),
    ("aime24", "60", "204", "Every morning Aya goes for a $9$-kilometer-long walk"),
    ("aime24", "67", "25", "There exist real numbers $x$ and $y$"),  # "025" upstream
    ("aime25", "2025-I-1", "70", "Find the sum of all integer bases $b>9$"),
    ("aime25", "2025-II-15", "240", ""),
    ("amc23", "0", "27", "Cities $A$ and $B$ are $45$ miles apart"),  # 27.0 upstream
    ("math500", "test/precalculus/807.json", "\\left( 3, \\frac{\\pi}{2} \\right)", "Convert the point $(0,3)$"),
    ("minerva", "0", "1.6", "Magellan telescopes"),  # last \boxed{} of the solution
    ("minerva", "72", "x_{0} \\cos (\\omega t)+ \\dot{x}_{0} \\sin (\\omega t) / \\omega", ""),  # "+$ $" upstream
    ("olympiadbench", "1606", "2", "Xenia and Sergey play the following game"),
    ("olympiadbench", "1664", "69,84", ""),  # ["$69$,$84$"] upstream
    ("hmmt_feb_2024", "5", "-\\dfrac{13}{96}, \\dfrac{13}{40}", ""),
    ("hmmt_feb_2025", "1", "103", "Compute the sum of the positive divisors (including $1$) of $9!$"),
    ("cmimc_2024", "12", "\\frac{121}{122}", ""),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("processed")
    return {name: pq.read_table(data_prep.build(name, "zero_tir", out)).to_pylist() for name in data_prep.DATASETS}


def test_dataset_names_are_the_agreed_contract():
    assert data_prep.TRAIN == [
        "simplerl_math_l3to5",
        "math_train",
        "gsm8k_train",
        "aime_1983_2023",
        "arith_mul_train",
        "arith_ladder_train",
    ]
    assert data_prep.EVAL == [
        "aime24",
        "aime25",
        "amc23",
        "math500",
        "minerva",
        "olympiadbench",
        "gsm8k_test",
        "hmmt_feb_2024",
        "hmmt_feb_2025",
        "cmimc_2024",
        "arith_mul_test",
        "arith_2x1_test",
        "arith_3x2_test",
        "arith_3x3_test",
        "arith_2step_test",
    ]
    assert list(data_prep.TEMPLATES) == ["zero_tir", "zero_v2", "chat", "two_style", "prose_style"]


@pytest.mark.parametrize("name", list(COUNTS))
def test_every_dataset_builds_with_its_expected_count(built, name):
    rows = built[name]
    assert len(rows) == COUNTS[name]
    assert [r["extra_info"]["index"] for r in rows] == list(range(COUNTS[name]))
    assert len({r["extra_info"]["id"] for r in rows}) == COUNTS[name]  # ids are unique within a dataset
    assert all(r["reward_model"]["ground_truth"].strip() for r in rows)
    assert {r["data_source"] for r in rows} == {name}


@pytest.mark.parametrize(
    ("name", "source_id", "answer", "phrase"), SPOT_CHECKS, ids=[f"{c[0]}-{c[1]}" for c in SPOT_CHECKS]
)
def test_spot_checked_gold_answers(built, name, source_id, answer, phrase):
    (row,) = [r for r in built[name] if r["extra_info"]["id"] == source_id]
    assert row["reward_model"] == {"style": "rule", "ground_truth": answer}
    assert phrase in row["extra_info"]["question"]
    assert row["prompt"][0]["content"].endswith(
        f"This is the problem:{row['extra_info']['question']}\nAssistant: <think>"
    )


def test_olympiadbench_unit_is_kept_in_extra_info(built):
    units = {r["extra_info"]["id"]: r["extra_info"]["unit"] for r in built["olympiadbench"]}
    assert units["2426"] == "km/h" and units["1606"] is None
    assert sum(u is not None for u in units.values()) == 8
    assert all(r["extra_info"]["unit"] is None for r in built["aime24"])


def test_row_layout_matches_the_verl_contract(built):
    row = built["math500"][0]
    assert set(row) == {"data_source", "prompt", "ability", "reward_model", "extra_info"}
    assert row["ability"] == "math"
    assert row["extra_info"]["split"] == "eval" and built["math_train"][0]["extra_info"]["split"] == "train"
    assert row["extra_info"]["template"] == "zero_tir"


@pytest.mark.parametrize("template", ["zero_v2", "chat"])
def test_all_templates_share_one_schema(tmp_path, template):
    path = data_prep.build("aime24", template, tmp_path)
    table = pq.read_table(path)
    assert table.schema.remove_metadata() == parquet.SCHEMA
    roles = [m["role"] for m in table.column("prompt")[0].as_py()]
    assert roles == (["system", "user"] if template == "chat" else ["user"])


def test_files_concatenate_the_way_verl_loads_them(tmp_path):
    datasets = pytest.importorskip("datasets")
    files = [data_prep.build("aime24", "zero_tir", tmp_path), data_prep.build("olympiadbench", "chat", tmp_path)]
    parts = [
        datasets.load_dataset("parquet", data_files=str(f), cache_dir=str(tmp_path / "hf"))["train"] for f in files
    ]
    merged = datasets.concatenate_datasets(parts)  # what verl's RLHFDataset does with several files
    assert len(merged) == 30 + 675
    assert [m["role"] for m in merged[0]["prompt"]] == ["user"]
    assert [m["role"] for m in merged[30]["prompt"]] == ["system", "user"]
    assert merged[30]["extra_info"]["id"] == "1606"  # first row of olympiadbench.jsonl


def test_rebuilding_an_up_to_date_file_is_a_no_op(tmp_path):
    path = data_prep.build("amc23", "zero_tir", tmp_path)
    before = path.stat().st_mtime_ns, path.stat().st_ino
    assert data_prep.build("amc23", "zero_tir", tmp_path) == path
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == before


def test_a_stale_or_damaged_file_is_rebuilt(tmp_path):
    path = data_prep.build("amc23", "zero_tir", tmp_path)
    path.write_bytes(b"not a parquet file")
    data_prep.build("amc23", "zero_tir", tmp_path)
    assert pq.read_table(path).num_rows == 40


def test_ensure_parquet_builds_a_missing_file_from_its_name(tmp_path):
    path = data_prep.ensure_parquet(tmp_path / "sub" / "cmimc_2024.chat.parquet")
    assert path == tmp_path / "sub" / "cmimc_2024.chat.parquet"
    assert pq.read_table(path).num_rows == 30


@pytest.mark.parametrize(
    "name",
    ["aime24.parquet", "aime26.zero_tir.parquet", "aime24.zero.parquet", "aime24.zero_tir.json"],
    ids=["no-template", "bad-dataset", "bad-template", "ext"],
)
def test_ensure_parquet_refuses_a_name_that_does_not_parse(tmp_path, name):
    with pytest.raises(ValueError, match=f"{name}: expected a file name <dataset>.<template>.parquet.*aime24.*zero_v2"):
        data_prep.ensure_parquet(tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_unknown_dataset_names_the_valid_ones(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'math'.*simplerl_math_l3to5.*cmimc_2024"):
        data_prep.build("math", "zero_tir", tmp_path)
