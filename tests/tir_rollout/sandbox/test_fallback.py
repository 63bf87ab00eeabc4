"""The plain-process fallback (no bwrap): still rlimits, seccomp, setsid, a cleared environment and a uid drop.

Forced here on a machine that has bwrap, to check the fallback contains what it promises, says what it is in
every result, and leaves no process behind (the worker is a subreaper and kills its descendants).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.tir_rollout.sandbox.conftest import SECRET, _live, settled
from tir_rollout.sandbox import parse_config
from tir_rollout.sandbox.containment import Mechanism
from tir_rollout.sandbox.local import LocalExecutor

REPO_ROOT = Path(__file__).resolve().parents[3]

PLAIN = Mechanism("plain", "rlimit+seccomp+setsid+uid", "forced by the test")


@pytest.fixture(scope="module")
def plain():
    ex = LocalExecutor(parse_config({"concurrency": 1, "timeout_s": 5}), mechanism=PLAIN)
    ex.start()
    yield ex
    ex.close()


def descendants(ex) -> list[int]:
    """Processes under the worker other than its direct children (prepared / exiting call process): none may
    still run when a call returns, and killed ones must be gone within SETTLE_S (conftest.settled)."""
    return settled(lambda: [(p, f"pid {p}") for p in _descendants(ex)])


def _descendants(ex) -> list[int]:
    parent = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if fields[0] not in (b"Z", b"X") or _live(int(name)):  # _live: a zombie leader with running threads
                parent[int(name)] = int(fields[1])
    found = []
    for top in ex.worker_pids():
        kids = [p for p, pp in parent.items() if pp == top]
        todo = [p for k in kids for p, pp in parent.items() if pp == k]
        while todo:
            p = todo.pop()
            found.append(p)
            todo += [c for c, pp in parent.items() if pp == p]
    return found


CASES = [
    ("infinite_loop", "while True:\n    pass", "timeout", lambda r: r.duration_s < 3),
    (
        "double_forked_daemon",
        (
            "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
            "        time.sleep(300)\n    os._exit(0)\nprint('p')"
        ),
        "ok",
        lambda r: r.stdout == "p\n",
    ),
    (
        "background_process",
        "import subprocess\nsubprocess.Popen(['sleep', '300'])\nprint('bg')",
        "ok",
        lambda r: r.stdout == "bg\n",
    ),
    (
        "no_host_env",
        "import os\nprint(os.environ.get('ZEROTIR_SANDBOX_TEST_SECRET'))",
        "ok",
        lambda r: r.stdout == "None\n",
    ),
    ("no_network", "import socket\nsocket.socket()", "error", lambda r: "PermissionError" in r.stderr),
    ("kill_the_caller", f"import os\nos.kill({os.getpid()}, 9)", "error", lambda r: "PermissionError" in r.stderr),
    (
        "signal_own_child",
        "import subprocess\np = subprocess.Popen(['sleep', '30'])\np.kill()\nprint(p.wait())",
        "ok",
        lambda r: r.stdout == "-9\n",
    ),
    (
        "forged_completion_report",
        "import os, sys\nprint('forged', flush=True)\nos.write(3, b'D\\x00-')\nwhile True:\n    pass",
        "ok",
        lambda r: r.stdout == "forged\n",
    ),
    ("kill_minus_one", "import os\nos.kill(-1, 9)", "error", lambda r: "PermissionError" in r.stderr),
    (
        "checkout_not_writable",
        f"open({str(REPO_ROOT / 'evil')!r}, 'w')",
        "error",
        lambda r: "PermissionError" in r.stderr,
    ),
    ("output_cap", "print('x' * 10**6)", "ok", lambda r: r.truncated and len(r.stdout) == 65536),
    ("output_flood", "print('x' * 10**7)", "killed", lambda r: r.truncated and len(r.stdout) == 65536),
    ("memory_limit", "x = bytearray(16 << 30)", "killed", lambda r: "MemoryError" in r.stderr),
    (
        "process_limit",
        (
            "import os, time\nn = 0\nfor _ in range(200):\n    try:\n        pid = os.fork()\n"
            "    except OSError:\n        break\n"
            "    if pid == 0:\n        time.sleep(60)\n        os._exit(0)\n    n += 1\n"
            "print(n)"
        ),
        "ok",
        lambda r: 0 < int(r.stdout) < 64,
    ),
]


@pytest.mark.parametrize(("code", "status", "check"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_fallback_contains(plain, code, status, check):
    res = plain.run(code, timeout=1 if "while True" in code else 5)
    assert res.status == status, res
    assert check(res), res
    assert res.isolation == "rlimit+seccomp+setsid+uid"
    assert descendants(plain) == []
    assert SECRET not in res.stdout


@pytest.mark.parametrize("name", ["many_processes", "loop_ignoring_every_signal"])
def test_fallback_deadline_holds(plain, name):
    """The fallback kills the call's process group and every descendant at the limit, and answers before
    their exit (test_deadline.py has every kind against bwrap)."""
    from tests.tir_rollout.sandbox.test_deadline import BOUND_S, KINDS, LIMIT_S

    plain.run("pass")  # the worker is idle: only this call's time is measured
    t0 = time.monotonic()
    res = plain.run(dict(KINDS)[name], timeout=LIMIT_S)
    elapsed = time.monotonic() - t0
    assert res.status == "timeout", res
    assert elapsed <= BOUND_S, f"returned {elapsed - LIMIT_S:.3f} s after its {LIMIT_S:g} s limit: {res}"
    assert descendants(plain) == []


LEADER_EXITS = """
import ctypes, os, threading
pid = os.fork()
if pid == 0:
    os.setsid()  # out of the call's process group: only the sweep of descendants can find it
    def spin():
        while True:
            pass
    threading.Thread(target=spin).start()
    ctypes.CDLL(None).pthread_exit(None)  # the main thread ends; /proc shows a zombie while `spin` runs on
print(pid)
"""


def test_fallback_kills_a_process_whose_main_thread_ended(plain):
    """A process whose leader thread ended reads as a zombie in /proc/<pid>/stat; the sweep used to skip it."""
    res = plain.run(LEADER_EXITS, timeout=5)
    assert res.status == "ok", res
    pid = int(res.stdout)
    assert settled(lambda: [(pid, f"pid {pid}")] if _live(pid) else []) == []
