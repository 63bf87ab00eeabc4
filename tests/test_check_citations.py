"""scripts/check_citations.py (run by `make style`): each kind of citation a reader cannot follow is named by
file and line; followable ones pass."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_citations.py"
spec = importlib.util.spec_from_file_location("check_citations", SCRIPT)  # `scripts` is also a verl package
check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check)


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "reference.md").write_text("## The reference code\n")
    (tmp_path / "docs" / "verl.md").write_text("## verl\n")
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "zerotir.yaml").write_text("# [ref] resolves to docs/reference.md\nx: 1  # [ref] §3.1\n")
    return tmp_path


def run(repo, files: dict[str, str]) -> list[str]:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    listed = [Path(p) for p in [*files, "docs/reference.md", "docs/verl.md"]]
    return check.problems(repo, listed)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x = 1  # see zerotir-reference §3\n", "cites 'zerotir-reference', a document outside the repository"),
        ('"""Per verl-notes §1.6."""\n', "cites 'verl-notes', a document outside the repository"),
        ("# from /srv/notes/design.md\n", "cites '/srv/notes/design.md', a document outside the repository"),
        ("# docs/gone.md says so\n", "cites docs/gone.md, which does not exist"),
        ("# the stops (reference §3.1)\n", "a section number with no document"),
        ("# docs/reference.md is the source; [ref] §3.1\n", "a section number with no document"),
        ("# [ref] ENV_ITER_NUM=2\n", "a [ref] tag in a file that never says it resolves to docs/reference.md"),
    ],
    ids=["private-notes", "verl-notes", "absolute-path", "missing-doc", "bare-section", "ref-tag-section", "ref-tag"],
)
def test_each_unfollowable_citation_is_named_with_its_line(repo, text, message):
    (found,) = run(repo, {"pkg/mod.py": "import os\n" + text})
    assert found.startswith("pkg/mod.py:2: ") and message in found


def test_followable_citations_pass(repo):
    files = {
        "pkg/mod.py": "# [ref] docs/reference.md §3.1: the base stops; verl: docs/verl.md §1.6\n"
        "# https://github.com/yyht/openrlhf_async_pipline/blob/d154c0a/README.md\n",
        "conf/model/m.yaml": "lr: 1.0e-6  # [ref] the paper's LR (conf/zerotir.yaml says where [ref] resolves)\n",
        "examples/logs/run/config.yaml": "# recorded output, quoted as is: zerotir-reference §3\n",
    }
    assert run(repo, files) == []


def test_conf_tags_need_the_header_that_resolves_them(repo):
    (repo / "conf" / "zerotir.yaml").write_text("# [paper] arXiv 2505.07773\n")
    (found,) = run(repo, {"conf/model/m.yaml": "lr: 1.0e-6  # [ref] the paper's LR\n"})
    assert found.startswith("conf/model/m.yaml:1: a [ref] tag")
