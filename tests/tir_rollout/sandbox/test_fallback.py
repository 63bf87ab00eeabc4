"""The plain-process fallback (no bwrap): still rlimits, seccomp, setsid, a cleared environment and a uid drop.

Forced here on a machine that has bwrap, to check the fallback contains what it promises, says what it is in
every result, and leaves no process behind (the worker is a subreaper and kills its descendants).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.tir_rollout.sandbox.conftest import SECRET
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
    """Live processes under the worker other than its direct children (prepared / exiting call process)."""
    parent = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if fields[0] not in (b"Z", b"X"):
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
