"""Eval summaries over checkpoints: .json/.jsonl/.csv, extra fields tolerated, bad rows named."""

from __future__ import annotations

import json

import pytest

from scaling.evallog import eval_key, read_eval
from scaling.run import LogError

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


def test_code_call_rate_becomes_a_column_and_incomplete_rows_are_skipped(tmp_path):
    rows = [
        {**ROWS[0], "code_call_rate": 0.4, "complete": True},
        {**ROWS[1], "code_call_rate": None, "complete": True},  # null: no column value, accuracy still read
        {"step": 150, "dataset": "aime24", "max_tool_calls": 2, "avg_at_k": 0.9, "k": 32, "complete": False},
    ]
    (path := tmp_path / "accuracy_vs_step.json").write_text(json.dumps({"rows": rows}))
    run = read_eval(path)
    assert run.column("eval/aime24/calls=2/code_call_rate").to_dict() == {50: 0.4}
    assert run.column("eval/aime24/calls=2/avg@32").to_dict() == {50: 0.2, 100: 0.3}


def test_the_harness_writer_is_readable(tmp_path):
    """Rows written by evaluation.checkpoints (the eval harness) read back with the same numbers."""
    checkpoints = pytest.importorskip("evaluation.checkpoints")
    fields = checkpoints.STEP_FIELDS
    rows = [{f: None for f in fields} | {k: v for k, v in r.items() if k in fields} | {"complete": True} for r in ROWS]
    js, _csv = checkpoints.write_accuracy_vs_step(tmp_path, rows)
    for path in (js, _csv):
        run = read_eval(path)
        assert run.column("eval/aime24/calls=8/avg@32").to_dict() == {100: 0.35}, path
