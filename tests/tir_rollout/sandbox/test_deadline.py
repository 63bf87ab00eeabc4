"""The wall-time limit holds to a fraction of a second whatever the snippet does (issue 26, item 1).

A call with limit T must come back within T + 0.3 s (target); these tests fail past T + 0.5 s (the bound
the issue set for the tests). Each kind once made the answer wait for something after the limit: one long C
call or a loop that ignores every signal it can (nothing cooperative reaches it: only SIGKILL does), many
threads, many processes (they ran on while the worker waited for the first one's exit, then all had to be
reaped before the answer), and a large heap (the answer waited until the kernel had freed it). The worker now
SIGKILLs everything of the call at once at T and answers as soon as nothing of it can run, before their
teardown; the tests also check that nothing is left running and that every killed process is soon gone.
"""

from __future__ import annotations

import time

import pytest

from tests.tir_rollout.sandbox.conftest import leftovers

LIMIT_S = 2.0
BOUND_S = LIMIT_S + 0.5

IGNORE_EVERY_SIGNAL = """
import signal
for s in signal.valid_signals():
    try:
        signal.signal(s, signal.SIG_IGN)
    except (OSError, ValueError):
        pass  # SIGKILL and SIGSTOP cannot be ignored
while True:
    pass
"""
MANY_THREADS = """
import threading
def spin():
    while True:
        pass
for _ in range(32):
    threading.Thread(target=spin, daemon=True).start()
sum(range(10 ** 13))
"""
MANY_PROCESSES = """
import os
while True:  # fork until the process limit, each with 8 MB of its own to free
    try:
        if os.fork() == 0:
            own = b'x' * (8 << 20)
    except OSError:
        break
while True:
    pass
"""
LARGE_HEAP = """
heap = b'x' * (1 << 30)
print('heap built', flush=True)
sum(range(10 ** 13))
"""

KINDS = [
    ("c_call_regex_backtrack", "import re\nre.match(r'(a+)+$', 'a' * 40 + 'b')"),
    ("c_call_huge_integer_power", "x = 3 ** (10 ** 9)"),
    ("c_call_sum_of_a_huge_range", "sum(range(10 ** 13))"),
    ("loop_ignoring_every_signal", IGNORE_EVERY_SIGNAL),
    ("many_threads", MANY_THREADS),
    ("many_processes", MANY_PROCESSES),
    ("large_heap", LARGE_HEAP),
]


@pytest.mark.parametrize("code", [k[1] for k in KINDS], ids=[k[0] for k in KINDS])
def test_a_timed_out_call_returns_within_half_a_second_of_its_limit(executor, code):
    executor.run_batch(["pass"] * executor.concurrency)  # every worker idle: only this call's time is measured
    t0 = time.monotonic()
    res = executor.run(code, timeout=LIMIT_S)
    elapsed = time.monotonic() - t0
    assert res.status == "timeout", res
    assert "wall time limit of 2 s exceeded" in res.stderr, res
    assert elapsed <= BOUND_S, f"returned {elapsed - LIMIT_S:.3f} s after its {LIMIT_S:g} s limit: {res}"
    assert leftovers(executor) == []
    after = executor.run("print('next')")  # the killed processes are reaped and the slot works
    assert (after.status, after.stdout) == ("ok", "next\n"), after
