"""Every consumer of a tool-use number names it as `ToolUseRates` does, so renaming a field without its readers fails
here, not as a silently missing curve: the trainer's guard and collapse alarm, the scaling analysis and its settings
(`tir/<name>` from training, `<name>` from evaluation's summary rows), and the docs' metric tables."""

from __future__ import annotations

import ast
import itertools
import re
from fnmatch import fnmatch
from pathlib import Path

import pytest

from evaluation.metrics import TOOL_USE_KEYS, summarize
from evaluation.step_series import STEP_FIELDS
from tests.evaluation.factory import record
from tir_rollout.metrics import METRIC_NAMES
from tir_rollout.tool_use import TOOL_USE_NAMES

REPO = Path(__file__).resolve().parents[1]
TIR_KEY = re.compile(r"tir/[a-z_]+(?:/[a-z_]+)?")  # a whole string that is one training metric key


def product_sources() -> list[Path]:
    """The Python files of the product's packages (top-level folders with an __init__.py, tests aside)."""
    packages = [p.parent for p in REPO.glob("*/__init__.py") if p.parent.name != "tests"]
    return sorted(f for package in packages for f in package.rglob("*.py"))


def tir_keys_in_code() -> list[tuple[str, str]]:
    """(file, key) for every string constant of the product's code that is a whole `tir/...` key."""
    found = []
    for path in product_sources():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and TIR_KEY.fullmatch(node.value):
                found.append((str(path.relative_to(REPO)), node.value))
    return found


def test_every_tir_key_the_code_reads_is_one_the_trainer_logs():
    found = tir_keys_in_code()
    assert {key for _, key in found} >= {"tir/code_exec_ratio", "tir/sandbox_error_rate", "tir/code_calls"}  # guard
    unknown = [f"{file}: {key!r}" for file, key in found if key not in METRIC_NAMES]
    assert not unknown, f"not a tir_rollout.metrics.METRIC_NAMES key (a renamed ToolUseRates field?): {unknown}"


def test_the_analysis_reads_evaluation_columns_under_their_names():
    """Names the scaling analysis reads from summary.json / accuracy_vs_step rows or eval W&B keys; a missing one
    reads as nan or an empty series, not as an error, hence this check."""
    from scaling import evallog, paper_mini
    from scaling.run import RENAMED
    from scaling.series import DEFAULT_SPECS

    eval_series = [key.rsplit("/", 1)[1] for spec in DEFAULT_SPECS for key in spec.keys if key.startswith("eval/")]
    read = {
        "scaling.series.DEFAULT_SPECS (eval/*/<name>, not avg@k)": [n for n in eval_series if "@" not in n],
        "scaling.evallog.OPTIONAL": list(evallog.OPTIONAL),
        "scaling.run.RENAMED (current names)": list(RENAMED.values()),
        "scaling.paper_mini.BUDGET_COLUMNS": list(paper_mini.BUDGET_COLUMNS),
    }
    assert all(read.values())
    for where, names in read.items():
        assert set(names) <= set(TOOL_USE_KEYS), f"{where}: {sorted(set(names) - set(TOOL_USE_KEYS))}"
    assert not set(RENAMED) & set(TOOL_USE_NAMES)  # the old names are not current ones


def expand(span: str) -> set[str]:
    """`tir/response_length/{all,correct}` -> its two keys; a span without braces is itself."""
    parts = re.split(r"\{([^}]*)\}", span)  # text, choices, text, ...
    return {"".join(c) for c in itertools.product(*(p.split(",") if i % 2 else [p] for i, p in enumerate(parts)))}


def backticked(doc: str, prefix: str) -> set[str]:
    """Every `prefix...` span of a doc, expanded; placeholders (`tir/<key>`) and the bare prefix left out."""
    spans = re.findall(rf"`({re.escape(prefix)}[^`\s]+)`", (REPO / doc).read_text())
    return {key for span in spans if "<" not in span for key in expand(span)}


def table_keys(doc: str, heading: str) -> set[str]:
    """The backticked names in the first column of the table under the line that starts with `heading`."""
    lines = (REPO / doc).read_text().splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(heading)), None)
    assert start is not None, f"{doc}: no heading {heading!r}"
    table = itertools.dropwhile(lambda line: not line.startswith("|"), lines[start + 1 :])
    rows = itertools.takewhile(lambda line: line.startswith("|"), table)
    return {key for row in rows for span in re.findall(r"`([^`]+)`", row.split("|")[1]) for key in expand(span)}


@pytest.mark.parametrize("doc", ["README.md", *sorted(f"docs/{p.name}" for p in (REPO / "docs").glob("*.md"))])
def test_every_tir_key_a_doc_names_is_logged(doc):
    stale = sorted(k for k in backticked(doc, "tir/") if not any(fnmatch(name, k) for name in METRIC_NAMES))
    assert not stale, f"{doc} names tir/ keys the trainer does not log: {stale}"


def test_the_docs_tables_list_every_tool_use_number_under_its_name():
    training = table_keys("docs/rollout.md", "### Training metrics")
    missing = sorted({f"tir/{name}" for name in TOOL_USE_NAMES} - training)
    assert not missing, f"docs/rollout.md, table 'Training metrics': add {missing}"
    [row] = summarize([record("p0", 0, True, "1", code_calls=1)], ks=(1,), expected=1)
    summary = table_keys("docs/eval.md", "### Metrics (summary.json rows")
    assert set(TOOL_USE_KEYS) <= summary <= set(row.as_dict()), f"docs/eval.md, summary.json table: {sorted(summary)}"
    series = table_keys("docs/eval.md", "### accuracy_vs_step.json")
    assert series == set(STEP_FIELDS), f"docs/eval.md, accuracy_vs_step table: {sorted(series ^ set(STEP_FIELDS))}"
