"""Bad raw input is refused by file, row and field, and never leaves a partial output file."""

import hashlib
import json
import shutil

import pytest

import data_prep
from data_prep import parquet, sources
from data_prep.manifest import RAW_FILES


@pytest.fixture
def raw(tmp_path, monkeypatch):
    """A private copy of data/raw (small files only) that the loaders read instead of the real one."""
    root = tmp_path / "raw"
    for rel in [
        "eval/aime24.jsonl",
        "eval/math500.jsonl",
        "eval/amc23.jsonl",
        "eval/gsm8k_test.jsonl",
        "eval/matharena/cmimc_2024/answers.csv",
    ]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(sources.RAW_ROOT / rel, root / rel)
    monkeypatch.setattr(sources, "RAW_ROOT", root)
    return root


def replant(monkeypatch, root, rel, text):
    """Rewrite a raw file and update its manifest entry, so only the content check can object."""
    (root / rel).write_text(text)
    records = sum(1 for line in text.splitlines() if line.strip())
    monkeypatch.setitem(RAW_FILES, rel, (hashlib.sha256(text.encode()).hexdigest(), records))


def test_corrupted_raw_file_is_refused_with_both_checksums(raw, tmp_path):
    path = raw / "eval/aime24.jsonl"
    path.write_bytes(path.read_bytes().replace(b'"answer":"204"', b'"answer":"205"'))
    got = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(
        sources.RawDataError,
        match=f"aime24.jsonl: sha256 mismatch \\(expected {RAW_FILES['eval/aime24.jsonl'][0]}, got {got}\\); "
        "restore the file from git",
    ):
        data_prep.build("aime24", "zero_tir", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_missing_raw_file_is_named(raw, tmp_path):
    (raw / "eval/amc23.jsonl").unlink()
    with pytest.raises(
        sources.RawDataError, match="amc23.jsonl: file is missing; restore it with `git checkout -- data/raw`"
    ):
        data_prep.build("amc23", "zero_tir", tmp_path)


def test_missing_field_names_file_line_and_field(raw, monkeypatch, tmp_path):
    lines = (raw / "eval/math500.jsonl").read_text().splitlines()
    row = json.loads(lines[16])
    del row["answer"]
    lines[16] = json.dumps(row)
    replant(monkeypatch, raw, "eval/math500.jsonl", "\n".join(lines) + "\n")
    with pytest.raises(sources.RawDataError, match="math500.jsonl line 17: field 'answer' is missing"):
        data_prep.build("math500", "zero_tir", tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda line: line[:-5], "line 3: invalid JSON"),
        (
            lambda line: line.replace('"answer":27.0', '"answer":NaN'),
            "line 3: field 'answer': expected a finite number",
        ),
        (lambda line: line.replace('"id":2', '"id":"two"'), "line 3: field 'id' has type str, expected int"),
        (lambda line: line.replace('"answer":27.0', '"answer":true'), "line 3: field 'answer' has type bool"),
    ],
    ids=["truncated-json", "bad-gold", "wrong-type", "bool-is-not-a-number"],
)
def test_malformed_row_is_named(raw, monkeypatch, tmp_path, edit, message):
    lines = (raw / "eval/amc23.jsonl").read_text().splitlines()
    lines[2] = edit(lines[2].replace('"answer":45.0', '"answer":27.0'))
    replant(monkeypatch, raw, "eval/amc23.jsonl", "\n".join(lines) + "\n")
    with pytest.raises(sources.RawDataError, match=f"amc23.jsonl {message}"):
        data_prep.build("amc23", "zero_tir", tmp_path)


def test_gsm8k_row_without_final_marker_is_named(raw, monkeypatch, tmp_path):
    lines = (raw / "eval/gsm8k_test.jsonl").read_text().splitlines()
    lines[4] = lines[4].replace("####", "##")
    replant(monkeypatch, raw, "eval/gsm8k_test.jsonl", "\n".join(lines) + "\n")
    with pytest.raises(
        sources.RawDataError, match="gsm8k_test.jsonl line 5: field 'answer': GSM8K solution has no '####'"
    ):
        data_prep.build("gsm8k_test", "zero_tir", tmp_path)


def test_wrong_record_count_is_refused(raw, monkeypatch, tmp_path):
    rel = "eval/aime24.jsonl"
    monkeypatch.setitem(RAW_FILES, rel, (RAW_FILES[rel][0], 31))
    with pytest.raises(sources.RawDataError, match="aime24.jsonl: 30 records, expected 31"):
        data_prep.build("aime24", "zero_tir", tmp_path)


def test_failed_write_leaves_neither_output_nor_temp_file(monkeypatch, tmp_path):
    def broken_write(table, where):
        with open(where, "wb") as handle:
            handle.write(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(parquet.pq, "write_table", broken_write)
    with pytest.raises(OSError, match="disk full"):
        data_prep.build("aime24", "zero_tir", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_failed_rebuild_keeps_the_previous_file(monkeypatch, tmp_path):
    path = data_prep.build("aime24", "zero_tir", tmp_path)
    before = path.read_bytes()
    monkeypatch.setattr(parquet, "fingerprint", lambda dataset, template: "changed")
    monkeypatch.setattr(parquet.pq, "write_table", lambda table, where: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        data_prep.build("aime24", "zero_tir", tmp_path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == [path.name]
