"""Eval summaries over checkpoints: .json/.jsonl/.csv, extra fields tolerated, bad rows named."""

from __future__ import annotations

import json

import pytest

from scaling.evallog import eval_key, read_eval
from scaling.run import LogError, current_key, current_name, steps_table
from scaling.series import DEFAULT_SPECS, resolve

ROWS = [
    {"step": 50, "dataset": "aime24", "max_tool_calls": 2, "avg_at_k": 0.2, "k": 32, "n_problems": 30},
    {"step": 100, "dataset": "aime24", "max_tool_calls": 2, "avg_at_k": 0.3, "k": 32, "checkpoint": "x"},
    {"step": 100, "dataset": "aime24", "max_tool_calls": 8, "avg_at_k": 0.35, "k": 32},
]


@pytest.mark.parametrize("suffix", [".json", ".jsonl", ".csv", "rows-object"])
def test_formats_give_the_same_columns(tmp_path, suffix):
    folder = tmp_path / "qwen7b"
    folder.mkdir()
    if suffix == ".json":
        (path := folder / "accuracy_vs_step.json").write_text(json.dumps(ROWS))
    elif suffix == "rows-object":
        (path := folder / "accuracy_vs_step.json").write_text(json.dumps({"rows": ROWS, "meta": {}}))
    elif suffix == ".jsonl":
        (path := folder / "accuracy_vs_step.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    else:
        import pandas as pd

        pd.DataFrame(ROWS).to_csv(path := folder / "accuracy_vs_step.csv", index=False)
    run = read_eval(path)
    assert run.name == "qwen7b" and run.experiment == "eval"
    assert run.column("eval/aime24/calls=2/avg@32").to_dict() == {50: 0.2, 100: 0.3}
    assert run.column("eval/aime24/calls=8/avg@32").to_dict() == {100: 0.35}


@pytest.mark.parametrize(
    "dataset,k,calls,key",
    [
        ("aime24", 32, 2, "eval/aime24/calls=2/avg@32"),
        ("math500", None, None, "eval/math500/avg"),
        ("hmmt", 16.0, "", "eval/hmmt/avg@16"),
    ],
    ids=["full", "bare", "float-k-empty-calls"],
)
def test_eval_key(dataset, k, calls, key):
    assert eval_key(dataset, k, calls) == key


def test_missing_field_names_file_and_row(tmp_path):
    path = tmp_path / "accuracy_vs_step.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n" + json.dumps({"step": 1, "dataset": "a"}) + "\n")
    with pytest.raises(LogError, match=rf"{path}:2: row 1: missing field\(s\) avg_at_k"):
        read_eval(path)


def test_empty_summary_is_an_error(tmp_path):
    path = tmp_path / "accuracy_vs_step.json"
    path.write_text("[]")
    with pytest.raises(LogError, match="no rows"):
        read_eval(path)


def test_code_exec_ratio_becomes_a_column_and_incomplete_rows_are_skipped(tmp_path):
    rows = [
        {**ROWS[0], "code_exec_ratio": 0.4, "complete": True},
        {**ROWS[1], "code_exec_ratio": None, "complete": True},  # null: no column value, accuracy still read
        {"step": 150, "dataset": "aime24", "max_tool_calls": 2, "avg_at_k": 0.9, "k": 32, "complete": False},
    ]
    (path := tmp_path / "accuracy_vs_step.json").write_text(json.dumps({"rows": rows}))
    run = read_eval(path)
    assert run.column("eval/aime24/calls=2/code_exec_ratio").to_dict() == {50: 0.4}
    assert run.column("eval/aime24/calls=2/avg@32").to_dict() == {50: 0.2, 100: 0.3}


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_a_summary_written_with_the_first_names_reads_under_the_current_ones(tmp_path, suffix):
    """Before the harness took training's names its rows held `code_call_rate` (and `length_rate`)."""
    rows = [{**ROWS[0], "code_call_rate": 0.4, "length_rate": 0.1}, {**ROWS[1], "code_call_rate": 0.7}]
    path = tmp_path / f"accuracy_vs_step{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps({"rows": rows}))
    else:
        import pandas as pd

        pd.DataFrame(rows).to_csv(path, index=False)
    run = read_eval(path)
    assert run.column("eval/aime24/calls=2/code_exec_ratio").to_dict() == {50: 0.4, 100: 0.7}
    assert not any(c.endswith("/code_call_rate") for c in run.table.columns)
    [series] = resolve(run, next(s for s in DEFAULT_SPECS if s.name == "eval_code_exec"))
    assert series.name == "eval_code_exec[aime24/calls=2]" and series.notes == []


def test_eval_keys_logged_under_the_first_names_get_the_current_ones():
    """A W&B eval run logged before the rename (every reader builds its table with steps_table)."""
    table = steps_table(
        [
            (10, {"eval/aime24/calls=2/code_call_rate": 0.5, "eval/aime24/calls=2/length_rate": 0.25}),
            (20, {"eval/aime24/calls=2/code_exec_ratio": 0.6, "tir/code_exec_ratio": 0.3, "my/length_rate": 1.0}),
        ]
    )
    assert sorted(table.columns) == [
        "eval/aime24/calls=2/code_exec_ratio", "eval/aime24/calls=2/finish_length_rate", "my/length_rate",
        "tir/code_exec_ratio",
    ]  # fmt: skip
    assert table["eval/aime24/calls=2/code_exec_ratio"].to_dict() == {10: 0.5, 20: 0.6}
    assert (current_key("eval/x/avg@32"), current_name("length_rate")) == ("eval/x/avg@32", "finish_length_rate")


def test_the_harness_writer_is_readable(tmp_path):
    """Rows written by evaluation.step_series (the eval harness) read back with the same numbers."""
    checkpoints = pytest.importorskip("evaluation.step_series")
    fields = checkpoints.STEP_FIELDS
    rows = [{f: None for f in fields} | {k: v for k, v in r.items() if k in fields} | {"complete": True} for r in ROWS]
    rows[0]["code_exec_ratio"] = 0.25
    js, _csv = checkpoints.write_accuracy_vs_step(tmp_path, rows)
    for path in (js, _csv):
        run = read_eval(path)
        assert run.column("eval/aime24/calls=8/avg@32").to_dict() == {100: 0.35}, path
        assert run.column("eval/aime24/calls=2/code_exec_ratio").to_dict() == {50: 0.25}, path
