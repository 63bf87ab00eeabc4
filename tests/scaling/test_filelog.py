"""verl file-logger JSONL: malformed input names file and line; restarts let the later launch win."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaling import discover, filelog
from scaling.run import LogError
from tests.scaling.runs import write_launch

GOOD = json.dumps({"step": 1, "data": {"tir/acc": 0.5}})

BAD_FILES = [
    ("empty", "", None, "no records"),
    ("blank-lines-only", "\n\n", None, "no records"),
    ("not-json-mid-file", f"{GOOD}\n{{oops\n{GOOD}\n", 2, "not JSON"),
    ("list-not-object", f"{GOOD}\n[1, 2]\n{GOOD}\n", 2, "'data' object"),
    ("no-data", f'{{"step": 3}}\n{GOOD}\n', 1, "'data' object"),
    ("step-missing", f'{{"data": {{}}}}\n{GOOD}\n', 1, "non-negative integer"),
    ("step-negative", f'{{"step": -1, "data": {{}}}}\n{GOOD}\n', 1, "non-negative integer"),
    ("step-fraction", f'{{"step": 1.5, "data": {{}}}}\n{GOOD}\n', 1, "non-negative integer"),
    ("step-string", f'{{"step": "7", "data": {{}}}}\n{GOOD}\n', 1, "non-negative integer"),
]


@pytest.mark.parametrize("text,line,message", [r[1:] for r in BAD_FILES], ids=[r[0] for r in BAD_FILES])
def test_malformed_log_names_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "20260101-000000.jsonl"
    path.write_text(text)
    with pytest.raises(LogError) as err:
        filelog.read_jsonl(path)
    assert str(err.value).startswith(f"{path}:{line}:" if line else f"{path}:")
    assert message in str(err.value)
    assert err.value.path == path and err.value.line == line


def test_unreadable_bytes_name_the_file(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(LogError, match=str(path)):
        filelog.read_jsonl(path)


def test_cut_last_line_of_a_killed_run_is_skipped(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(f'{GOOD}\n{{"step": 2, "data": {{"tir/a')
    records, _, _ = filelog.read_jsonl(path)
    assert records == [(1, {"tir/acc": 0.5})]


def test_non_numeric_values_are_dropped_not_fatal(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"step": 4, "data": {"a": None, "b": "text", "c": [1], "d": True, "e": 2, "f": 0.5}}))
    records, synthetic, notes = filelog.read_jsonl(path)
    assert records == [(4, {"e": 2.0, "f": 0.5})] and synthetic is False
    dropped = "a (null at step 4); b ('text' at step 4); c (a list at step 4); d (true at step 4)"
    assert notes == [f"a.jsonl: 4 value(s) that are not finite numbers dropped: {dropped}"]


def test_synthetic_flag_is_read(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"step": 1, "data": {"x": 1}, "synthetic": True}) + "\n")
    assert filelog.read_jsonl(path)[1] is True


def test_restart_later_launch_wins_and_keeps_keys_only_the_first_logged(tmp_path):
    run = tmp_path / "exp" / "default"
    write_launch(run, "20260101-000000", [(s, {"acc": 1.0, **({"val": 9.0} if s == 3 else {})}) for s in range(1, 5)])
    write_launch(run, "20260102-000000", [(s, {"acc": 2.0}) for s in range(3, 7)])
    loaded = discover.read_run_dir(run)
    assert list(loaded.table.index) == [1, 2, 3, 4, 5, 6]
    assert loaded.table["acc"].tolist() == [1.0, 1.0, 2.0, 2.0, 2.0, 2.0]
    assert loaded.table.loc[3, "val"] == 9.0
    assert any("repeats steps 3-4 (2 steps)" in n for n in loaded.notes)
    assert (loaded.experiment, loaded.name) == ("exp", "default")


def test_launch_order_is_the_timestamp_order_not_the_creation_order(tmp_path):
    run = tmp_path / "exp" / "r"
    write_launch(run, "20260102-000000", [(1, {"acc": 2.0})])  # written first, launched later
    write_launch(run, "20260101-000000", [(1, {"acc": 1.0})])
    assert discover.read_run_dir(run).table["acc"].tolist() == [2.0]


def test_run_folder_without_logs_is_named(tmp_path):
    (tmp_path / "exp" / "r").mkdir(parents=True)
    with pytest.raises(LogError, match="exp/r: no metrics"):
        discover.read_run_dir(tmp_path / "exp" / "r")


launches = st.lists(
    st.lists(st.tuples(st.integers(0, 30), st.floats(-1e6, 1e6, allow_nan=False)), min_size=1, max_size=20),
    min_size=1,
    max_size=4,
)


@settings(max_examples=40, deadline=None)
@given(launches)
def test_merged_steps_are_unique_sorted_and_the_last_writer_wins(tmp_path_factory, parts):
    run = tmp_path_factory.mktemp("r") / "exp" / "run"
    expected = {}
    for n, rows in enumerate(parts):
        write_launch(run, f"2026010{n + 1}-000000", [(s, {"v": v}) for s, v in rows])
        for s, v in rows:
            expected[s] = v
    table = discover.read_run_dir(run).table
    assert list(table.index) == sorted(expected)
    assert table["v"].to_dict() == expected
