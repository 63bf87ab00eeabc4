"""run.json through RunRecord: what the launch writes reads back whole; older or damaged records read as far as they
go, and a file that is no record is an error for the reader to word."""

import json

import pytest

from runs.record import RunRecord

FULL = RunRecord("qwen7b_grpo", "tir.seed=2", ("tir.seed=2",), "qwen7b", "/data/models/Qwen2.5-7B/")


def test_a_record_reads_back_as_written(tmp_path):
    path = FULL.write(tmp_path / "run")
    assert path == tmp_path / "run" / "run.json"  # the folder is made for it
    assert RunRecord.read(tmp_path / "run") == FULL
    assert json.loads(path.read_text())["overrides"] == ["tir.seed=2"]  # a JSON list, as launches always wrote it


OLDER = [
    ({"overrides": ["a=1"]}, RunRecord(overrides=("a=1",))),  # before the resolved names were recorded
    ({"overrides": [], "model_group": "qwen14b"}, RunRecord(overrides=(), model_group="qwen14b")),
    ({"experiment": 3, "run_name": ["x"], "overrides": "a=1"}, RunRecord()),  # mistyped: missing, not characters
    ({"experiment": "e", "extra": {"a": 1}}, RunRecord(experiment="e")),  # a newer writer's key: ignored
]


@pytest.mark.parametrize(("raw", "expected"), OLDER, ids=["overrides-only", "model-group", "mistyped", "extra-key"])
def test_an_older_or_odd_record_reads_what_it_has(tmp_path, raw, expected):
    (tmp_path / "run.json").write_text(json.dumps(raw))
    record = RunRecord.read(tmp_path)
    assert record == expected
    assert record.empty == (expected == RunRecord())


@pytest.mark.parametrize(
    ("text", "error"),
    [('{"experiment": "e"', ValueError), ("[1, 2]", ValueError), (b"\xff\xfe", ValueError), (None, OSError)],
    ids=["cut", "not-an-object", "not-utf8", "absent"],
)
def test_a_file_that_is_no_record_raises(tmp_path, text, error):
    if isinstance(text, bytes):
        (tmp_path / "run.json").write_bytes(text)
    elif text is not None:
        (tmp_path / "run.json").write_text(text)
    with pytest.raises(error):
        RunRecord.read(tmp_path)
