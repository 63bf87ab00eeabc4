"""samples.jsonl: round trip, malformed lines named by line number with the file untouched, torn tails."""

import json

import pytest

from evaluation.samples import SamplesFileError, SampleStore
from tests.evaluation.factory import record


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines))


def test_appended_records_load_back_equal(tmp_path):
    store = SampleStore(tmp_path / "samples.jsonl")
    assert store.load() == []
    first, second = record("p0", 0, True, "1", response="a ```python\nprint(1)\n```"), record("p1", 3, prediction=None)
    store.append(first)
    store.append(second)
    fresh = SampleStore(tmp_path / "samples.jsonl")
    assert fresh.load() == [first, second]
    assert fresh.done(first.key) and not fresh.done(("toy", "p0", 2, 1))


MALFORMED = [
    ("not-json", '{"dataset": "toy", ', "not valid JSON"),
    ("array", "[1, 2]", "expected a JSON object, got list"),
    ("missing-field", json.dumps({"dataset": "toy"}), "missing field(s) problem_id"),
    ("wrong-type", None, "field 'correct' has type str"),
    ("bool-as-int", None, "field 'sample' has type bool"),
]


@pytest.mark.parametrize(("kind", "line", "message"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_a_malformed_line_is_named_and_the_file_is_untouched(tmp_path, kind, line, message):
    good = json.dumps(record("p0", 0).as_dict())
    if kind == "wrong-type":
        line = json.dumps({**record("p1", 0).as_dict(), "correct": "yes"})
    if kind == "bool-as-int":
        line = json.dumps({**record("p1", 0).as_dict(), "sample": True})
    path = tmp_path / "samples.jsonl"
    write_lines(path, [good, line, good.replace('"p0"', '"p2"')])
    before = path.read_bytes()
    with pytest.raises(SamplesFileError) as err:
        SampleStore(path).load()
    assert f"samples.jsonl:2: {message}" in str(err.value)
    assert path.read_bytes() == before


def test_a_torn_last_line_is_moved_aside_and_the_rest_kept(tmp_path):
    path = tmp_path / "samples.jsonl"
    good = json.dumps(record("p0", 0).as_dict())
    torn = json.dumps(record("p1", 0).as_dict())[:37]
    path.write_text(good + "\n" + torn)  # a crash in the middle of the second write
    store = SampleStore(path)
    assert [r.problem_id for r in store.load()] == ["p0"]
    assert path.read_text() == good + "\n"
    assert (tmp_path / "samples.jsonl.torn").read_text() == torn + "\n"
    store.append(record("p1", 0))
    assert [r.problem_id for r in SampleStore(path).load()] == ["p0", "p1"]


def test_duplicates_keep_the_first_record(tmp_path):
    path = tmp_path / "samples.jsonl"
    write_lines(path, [json.dumps(record("p0", 0, True).as_dict()), json.dumps(record("p0", 0, False).as_dict())])
    (only,) = SampleStore(path).load()
    assert only.correct is True


def test_unknown_fields_from_a_newer_writer_are_ignored(tmp_path):
    path = tmp_path / "samples.jsonl"
    write_lines(path, [json.dumps({**record("p0", 0).as_dict(), "new_field": 1})])
    assert SampleStore(path).load()[0].problem_id == "p0"


def test_a_line_from_before_the_tool_use_record_reads_its_new_counts_as_zero(tmp_path):
    """Lines written before `turns`, `outputs_truncated` and `sandbox_errors` were recorded still load."""
    path = tmp_path / "samples.jsonl"
    old = record("p0", 0, code_calls=2, code_errors=1).as_dict()
    for key in ("turns", "outputs_truncated", "sandbox_errors"):
        del old[key]
    write_lines(path, [json.dumps(old)])
    (loaded,) = SampleStore(path).load()
    assert (loaded.tool_use.code_calls, loaded.tool_use.code_errors, loaded.tool_use.turns) == (2, 1, 0)


def test_a_tool_use_field_of_the_wrong_type_is_named(tmp_path):
    path = tmp_path / "samples.jsonl"
    write_lines(path, [json.dumps({**record("p0", 0).as_dict(), "code_calls": "2"})])
    with pytest.raises(SamplesFileError, match=r"samples.jsonl:1: field 'code_calls' has type str"):
        SampleStore(path).load()
