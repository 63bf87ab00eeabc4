"""runs.atomic: the stated file mode whatever the umask, a whole replacement, nothing left after a failure."""

from __future__ import annotations

import os
import stat

import pytest

from runs.atomic import FILE_MODE, atomic_path, write_atomic


@pytest.fixture
def private_umask():
    old = os.umask(0o077)  # what a locked-down shell or a batch system sets
    yield
    os.umask(old)


def test_write_atomic_replaces_the_file_with_the_stated_mode(tmp_path, private_umask):
    target = tmp_path / "sub" / "summary.json"
    write_atomic(target, "old")
    write_atomic(target, "né\n")
    assert target.read_text(encoding="utf-8") == "né\n"
    assert stat.S_IMODE(target.stat().st_mode) == FILE_MODE == 0o644
    assert sorted(p.name for p in target.parent.iterdir()) == ["summary.json"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "data.parquet"
    write_atomic(target, b"old")
    with pytest.raises(RuntimeError, match="disk full"), atomic_path(target) as temp:
        temp.write_bytes(b"half")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["data.parquet"]


def test_a_folder_is_moved_into_place_whole_and_removed_on_failure(tmp_path):
    target = tmp_path / "model"
    with atomic_path(target) as temp:
        temp.mkdir()
        (temp / "config.json").write_text("{}")
    assert (target / "config.json").read_text() == "{}"
    with pytest.raises(ValueError), atomic_path(tmp_path / "other") as temp:
        temp.mkdir()
        (temp / "weights").write_text("x")
        raise ValueError("conversion failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
