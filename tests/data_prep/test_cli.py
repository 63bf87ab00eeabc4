"""Bad input to `python -m data_prep` (issue 25): one line on stderr, `zerotir data_prep: <option or file>: <reason>`,
exit code 1, nothing written (docs/data.md, "Bad input")."""

from pathlib import Path

import pytest

from data_prep import RawDataError
from data_prep.__main__ import main, parse_args


def refused(capsys, *argv: str) -> str:
    assert main(list(argv)) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    return err.strip()


def test_nothing_selected_is_refused(capsys, tmp_path):
    assert refused(capsys, "--train", "--eval", "--out-dir", str(tmp_path)) == (
        "zerotir data_prep: --train, --eval: no dataset selected; name some (--eval aime24) or leave both out for "
        "the default set"
    )
    assert refused(capsys, "--train", "--eval", "aime24", "--check-overlap").startswith(
        "zerotir data_prep: --train: --check-overlap compares training with evaluation sets"
    )
    assert list(tmp_path.iterdir()) == []


def test_an_out_dir_that_is_a_file_or_under_one_is_refused(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert refused(capsys, "--train", "--eval", "aime24", "--out-dir", str(blocker)) == (
        f"zerotir data_prep: --out-dir: {blocker} is a file, not a folder"
    )
    assert refused(capsys, "--train", "--eval", "aime24", "--out-dir", str(blocker / "sub")) == (
        f"zerotir data_prep: --out-dir: {blocker} is a file, so {blocker / 'sub'} cannot be made"
    )


def test_an_out_dir_that_cannot_be_written_is_refused(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr("runs.atomic.os.access", lambda path, mode: Path(path) != tmp_path)  # root passes
    assert refused(capsys, "--train", "--eval", "aime24", "--out-dir", str(tmp_path / "new")) == (
        f"zerotir data_prep: --out-dir: {tmp_path} cannot be written (permission denied)"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_write_that_fails_is_one_line_naming_the_file(capsys, tmp_path, monkeypatch):
    def full(name, template, out_dir):
        raise OSError(28, "No space left on device", str(Path(out_dir) / f"{name}.{template}.parquet"))

    monkeypatch.setattr("data_prep.__main__.build", full)
    assert refused(capsys, "--train", "--eval", "aime24", "--out-dir", str(tmp_path)) == (
        f"zerotir data_prep: {tmp_path / 'aime24.zero_tir.parquet'}: No space left on device"
    )


def test_a_damaged_raw_file_is_named(capsys, monkeypatch):
    def damaged(*args, **kwargs):
        raise RawDataError("data/raw/eval/aime24.jsonl: sha256 mismatch (expected a, got b); restore the file from git")

    monkeypatch.setattr("data_prep.__main__.check_overlap", damaged)
    assert refused(capsys, "--train", "gsm8k_train", "--eval", "aime24", "--check-overlap") == (
        "zerotir data_prep: data/raw/eval/aime24.jsonl: sha256 mismatch (expected a, got b); restore the file from git"
    )


def test_an_overlap_names_the_flag_that_allows_it(capsys, tmp_path):
    line = refused(capsys, "--train", "aime_1983_2023", "--eval", "math500", "--out-dir", str(tmp_path))
    assert line.startswith("zerotir data_prep: --train, --eval: training and evaluation sets overlap")
    assert line.endswith("accept the contamination with --allow-overlap") and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--train", "nope"], "zerotir data_prep: --train: invalid choice: 'nope' (choose from"),
        (["--bogus"], "zerotir data_prep: arguments: unrecognized arguments: --bogus"),
    ],
)
def test_a_bad_argument_is_one_line_with_exit_1(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 1 and len(err.splitlines()) == 1 and err.startswith(message), err


def test_all_says_it_needs_allow_overlap(capsys):
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--all every training and evaluation set; some pairs share problems" in help_text
    assert "refused unless --allow-overlap is given too" in help_text
