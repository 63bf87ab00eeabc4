"""samples.jsonl: round trip, malformed lines named by line number with the file untouched, torn tails."""

import json
from dataclasses import asdict

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
    good = json.dumps(asdict(record("p0", 0)))
    if kind == "wrong-type":
        line = json.dumps({**asdict(record("p1", 0)), "correct": "yes"})
    if kind == "bool-as-int":
        line = json.dumps({**asdict(record("p1", 0)), "sample": True})
    path = tmp_path / "samples.jsonl"
    write_lines(path, [good, line, good.replace('"p0"', '"p2"')])
    before = path.read_bytes()
    with pytest.raises(SamplesFileError) as err:
        SampleStore(path).load()
    assert f"samples.jsonl:2: {message}" in str(err.value)
    assert path.read_bytes() == before


def test_a_torn_last_line_is_moved_aside_and_the_rest_kept(tmp_path):
    path = tmp_path / "samples.jsonl"
    good = json.dumps(asdict(record("p0", 0)))
    torn = json.dumps(asdict(record("p1", 0)))[:37]
    path.write_text(good + "\n" + torn)  # a crash in the middle of the second write
    store = SampleStore(path)
    assert [r.problem_id for r in store.load()] == ["p0"]
    assert path.read_text() == good + "\n"
    assert (tmp_path / "samples.jsonl.torn").read_text() == torn + "\n"
    store.append(record("p1", 0))
    assert [r.problem_id for r in SampleStore(path).load()] == ["p0", "p1"]


def test_duplicates_keep_the_first_record(tmp_path):
    path = tmp_path / "samples.jsonl"
    write_lines(path, [json.dumps(asdict(record("p0", 0, True))), json.dumps(asdict(record("p0", 0, False)))])
    (only,) = SampleStore(path).load()
    assert only.correct is True


def test_unknown_fields_from_a_newer_writer_are_ignored(tmp_path):
    path = tmp_path / "samples.jsonl"
    write_lines(path, [json.dumps({**asdict(record("p0", 0)), "new_field": 1})])
    assert SampleStore(path).load()[0].problem_id == "p0"
