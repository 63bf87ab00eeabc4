"""Regenerate `math_verify_cases.json`: math-verify's own parametrized (gold, pred, expected) test cases.

Run: `python tests/reward/vendor_math_verify.py /path/to/Math-Verify-checkout > tests/reward/math_verify_cases.json`
(a checkout of the commit named in the JSON; its own tests import the installed `math_verify`).
The cases are read by importing math-verify's test modules (so f-strings and escapes evaluate exactly as in
its own run) and reading each test's `pytest.mark.parametrize` arguments; the options each test passes to its
`compare_strings` helper (extraction targets, float precision, `strict`, `allow_set_relation_comp`) are read
from the test's source. The one literal `compare_strings` call in `test_precision` is added by hand below.
math-verify is Apache-2.0 (its LICENCE file); the cases are test data copied with attribution.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import subprocess
import sys
from pathlib import Path

DEFAULTS = {"match_types": ["latex", "expr"], "precision": 6, "strict": True, "allow_set_relation_comp": False}
ARG_NAMES = {"gold", "pred", "expected", "result"}


def _call_options(fn) -> dict:
    """The keyword options of the test's `compare_strings(...)`/`verify(...)` call; `None` for a per-case value."""
    tree = ast.parse(inspect.getsource(fn).lstrip())
    opts = dict(DEFAULTS)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "compare_strings":
            for kw in node.keywords:
                try:
                    opts[kw.arg] = ast.literal_eval(kw.value)
                except ValueError:
                    opts[kw.arg] = None  # taken from the parametrize row
    return opts


def collect(checkout: Path) -> dict:
    sys.path.insert(0, str(checkout))
    sys.path.insert(0, str(checkout / "src"))
    for mod in [m for m in sys.modules if m == "tests" or m.startswith("tests.")]:
        del sys.modules[mod]  # this repo's own `tests` package would shadow math-verify's
    commit = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    cases = []
    for path in sorted((checkout / "tests").glob("test_*.py")):
        module = importlib.import_module(f"tests.{path.stem}")
        for name, fn in sorted(vars(module).items()):
            marks = [m for m in getattr(fn, "pytestmark", []) if m.name == "parametrize"]
            if not name.startswith("test_") or not marks:
                continue
            names = [n.strip() for n in marks[0].args[0].split(",")]
            if not {"gold", "pred"} <= set(names):
                continue  # test_string_extraction checks extraction only: no gold
            base = _call_options(fn)
            for i, row in enumerate(marks[0].args[1]):
                values = dict(zip(names, row))
                opts = {k: (values[k] if v is None else v) for k, v in base.items()}
                if name == "test_strict_variable_comparison":
                    opts["strict"] = values["strict"]
                expected = values.get("expected", values.get("result"))
                cases.append(
                    {
                        "id": f"{path.name}::{name}[{i}]",
                        "gold": values["gold"],
                        "pred": values["pred"],
                        "expected": bool(expected),
                        "options": opts,
                        "default_options": opts == DEFAULTS,
                    }
                )
    cases.append(  # test_precision: the one literal compare_strings call outside a parametrize
        {
            "id": "test_all.py::test_precision[compare_strings]",
            "gold": "$\\frac{1}{3}$",
            "pred": "0.3333$",
            "expected": True,
            "options": {**DEFAULTS, "precision": 4},
            "default_options": False,
        }
    )
    return {
        "source": "https://github.com/huggingface/Math-Verify",
        "commit": commit,
        "licence": "Apache-2.0 (LICENCE in the source repository); copied as test data with attribution",
        "note": "test_string_extraction (no gold) is left out; options are what each test passes to compare_strings",
        "cases": cases,
    }


if __name__ == "__main__":
    print(json.dumps(collect(Path(sys.argv[1]).resolve()), indent=1, ensure_ascii=False))
