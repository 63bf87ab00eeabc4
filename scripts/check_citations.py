"""Fail when a citation points where a reader of this repository cannot follow it (run by `make style`).

Every "reference" and "[ref]" citation must lead to docs/reference.md (the paper's code at pinned commits) or
docs/verl.md (the pinned verl wheel, file:line). Refused: names of the project's private notes, a document
by absolute path (on one machine only), a `docs/*.md` that does not exist, a section number with no document
("reference §3", "[ref] §3"), and a `[ref]` tag in a
file that never names docs/reference.md (files under conf/ are covered by the header of conf/zerotir.yaml).

    python scripts/check_citations.py [REPO_ROOT]     # prints file:line: problem, exits 1 on any
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

PRIVATE = re.compile(r"zerotir-reference|verl-notes|(?<![\w:/.])/[\w.-]+(?:/[\w.-]+)*\.md\b")  # notes; absolute paths
DOC_LINK = re.compile(r"\bdocs/[\w.-]+\.md\b")
BARE_SECTION = re.compile(r"(?<![\w./-])reference §|\[ref[^\]\n]*\]\s*§")
REF_TAG = re.compile(r"\[ref\b")
REFERENCE_DOC = "docs/reference.md"
CONF_HEADER = "conf/zerotir.yaml"
SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".sh", ".cfg", ".txt"}
SKIP = ("examples/logs/", "data/raw/")  # recorded run output and vendored data: quoted, not cited
SELF = {"scripts/check_citations.py", "tests/test_check_citations.py"}  # they spell out what is refused


def text_files(root: Path) -> list[Path]:
    """The repository's tracked and untracked-but-not-ignored text files, relative to `root`."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=root, capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    return [Path(p) for p in listed if (Path(p).suffix in SUFFIXES or Path(p).name == "Makefile")]


def problems(root: Path, files: Iterable[Path]) -> list[str]:
    """`path:line: what is wrong` for every citation a reader could not follow."""
    found = []
    header = root / CONF_HEADER
    for rel in sorted(files):
        if str(rel).startswith(SKIP) or str(rel) in SELF or not (root / rel).is_file():
            continue
        text = (root / rel).read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            where = f"{rel}:{number}"
            for match in PRIVATE.finditer(line):
                found.append(f"{where}: cites {match.group()!r}, a document outside the repository")
            for match in DOC_LINK.finditer(line):
                if not (root / match.group()).is_file():
                    found.append(f"{where}: cites {match.group()}, which does not exist")
            if BARE_SECTION.search(line):
                found.append(f"{where}: a section number with no document (write {REFERENCE_DOC} §n)")
        in_conf = rel.parts[0] == "conf" and header.is_file() and REFERENCE_DOC in header.read_text()
        if REF_TAG.search(text) and REFERENCE_DOC not in text and not in_conf and str(rel) != REFERENCE_DOC:
            line = next(i for i, t in enumerate(text.splitlines(), start=1) if REF_TAG.search(t))
            found.append(f"{rel}:{line}: a [ref] tag in a file that never says it resolves to {REFERENCE_DOC}")
    return found


def main(argv: list[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else ".").resolve()
    found = problems(root, text_files(root))
    for problem in found:
        print(problem)
    if found:
        print(f"{len(found)} citation(s) a reader cannot follow; see docs/reference.md and docs/verl.md")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
