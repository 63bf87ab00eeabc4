"""Which worker of a slot runs a snippet (routing.py), and that the choice changes speed, never the result."""

from __future__ import annotations

import dataclasses

import pytest

from tir_rollout.sandbox import make_executor, routing

STDLIB_ONLY = [
    "print(2 + 2)",
    "import math, fractions\nprint(math.comb(10, 3), fractions.Fraction(1, 3))",
    "from collections.abc import Mapping\nimport os.path\nprint(os.path.join('a', 'b'))",
    "import itertools as it\nprint(list(it.permutations(range(3)))[:2])",
    "import subprocess, multiprocessing, ctypes, signal",  # the attack surface is stdlib: the light worker's
    "from . import sibling",  # relative: an ImportError in __main__ in either worker
    "def f(:\n    pass",  # a syntax error fails to compile the same way in either
    "print(" * 500 + ")" * 500,  # too deeply nested for the parser
    "-" * 100_000 + "1",  # deep enough to exhaust the compiler's recursion
    "x = 'import numpy'\nprint(x)",  # a string, not an import
    "s = 'evaluate'\nprint(s)",
]
NEEDS_FULL = [
    "import numpy as np\nprint(np.arange(3))",
    "from sympy import symbols, solve",
    "import math\nimport matplotlib.pyplot as plt",
    "import scipy.special",
    "def f():\n    import numpy\n    return numpy.pi\nprint(f())",  # an import anywhere in the tree
    "exec('import numpy')",
    "print(eval('1 + 1'))",
    "m = __import__('numpy')",
    "import importlib\nimportlib.import_module('sympy')",
    "from importlib import import_module\nimport_module('numpy')",
    "import builtins\nbuiltins.__import__('numpy')",
]


@pytest.mark.parametrize("code", STDLIB_ONLY)
def test_stdlib_only_snippets_go_to_the_light_worker(code):
    assert routing.needs_full(code) is False


@pytest.mark.parametrize("code", NEEDS_FULL)
def test_a_snippet_that_may_import_a_third_party_module_goes_to_the_full_worker(code):
    assert routing.needs_full(code) is True


@pytest.fixture(scope="module")
def both():
    """One executor with a light worker per slot, one without; the same snippets run on each."""
    light, full = (
        make_executor({"concurrency": 1, "timeout_s": 20}),
        make_executor({"concurrency": 1, "timeout_s": 20, "light_worker": False}),
    )
    yield light, full
    light.close()
    full.close()


WHERE = "import sys\nprint('sympy' in sys.modules)"  # warm in the full worker only


def test_the_routing_reaches_the_worker_it_names(both):
    light, full = both
    assert light.run(WHERE).stdout == "False\n"  # stdlib only: the light worker
    assert light.run("import numpy\n" + WHERE).stdout == "True\n"  # the full one
    assert light.run("exec('pass')\n" + WHERE).stdout == "True\n"
    assert full.run(WHERE).stdout == "True\n"  # light_worker: false: always the full one


def test_a_light_child_finds_the_same_standard_library_loaded_as_a_full_one(both):
    """The light worker imports what the full one holds of the stdlib (the host passes the list on), so a
    snippet's own stdlib imports cost the same in both, and what it finds in sys.modules is the same."""
    light, full = both
    code = "import sys\nprint(sorted(m for m in sys.modules if m.partition('.')[0] in sys.stdlib_module_names))"
    in_light, in_full = light.run(code), full.run(code)
    assert in_light.status == in_full.status == "ok"
    assert in_light.stdout == in_full.stdout
    assert len(in_light.stdout.split(",")) > 100  # the list really came across (not an empty light worker)


@pytest.mark.parametrize(
    "code",
    [
        "import math\nprint(math.factorial(20), math.isqrt(10**20))",
        "from fractions import Fraction\nprint(sum(Fraction(1, k) for k in range(1, 20)))",
        "import sys\nprint(sys.argv, __name__, sys.path[0] == '')",
        "import os\nprint(sorted(os.environ), os.getcwd() == os.environ['HOME'])",
        "import sys\nprint(sys.stdin.read() == '', sys.stdout.seekable(), sys.stderr.line_buffering)",
        "raise ValueError('no')",
        "import sys\nsys.exit(3)",
        "import time\ntime.sleep(3)",  # over the limit below
    ],
)
def test_light_and_full_workers_give_the_same_result(both, code):
    light, full = both
    a, b = light.run(code, timeout=1), full.run(code, timeout=1)
    assert (a.status, a.stdout, a.stderr, a.truncated) == (b.status, b.stdout, b.stderr, b.truncated)


def test_each_light_call_is_seeded_afresh(both):
    """random's new seed is drawn in the worker before each fork (atfork.reseeds_random): still one per call."""
    light, _ = both
    draws = [light.run("import random\nprint(random.getrandbits(64))").stdout for _ in range(5)]
    assert all(d.strip().isdigit() for d in draws) and len(set(draws)) == 5


@pytest.mark.parametrize("broken", ["light", "full"])
def test_health_check_probes_both_workers_and_names_the_broken_one(both, monkeypatch, broken):
    light, _ = both
    light.health_check()
    real = light.run

    def wrong_in_one_kind(code, timeout=None):
        res = real(code, timeout)
        goes_full = routing.needs_full(code)
        return dataclasses.replace(res, stdout="41\n") if goes_full == (broken == "full") else res

    monkeypatch.setattr(light, "run", wrong_in_one_kind)
    with pytest.raises(RuntimeError, match=rf"{broken} worker\) is unhealthy"):
        light.health_check()
