"""The non-root path (bwrap in a user namespace), run as `nobody` with the system python, when the tests run as root.

As root the executor takes the other path (no user namespace, a uid per slot), so this drives one worker by
hand: same bwrap command line minus the root-only interpreter mounts, same worker, same protocol.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys

import pytest

from tir_rollout.sandbox import containment

SYSTEM_PYTHON = "/usr/bin/python3"
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists(SYSTEM_PYTHON) or containment.choose().name != "bwrap",
    reason="needs root (to become nobody), a system python and bwrap",
)


def _argv() -> list[str]:
    raw, argv, i = containment.bwrap_argv(256, as_root=False), [], 0
    private = (os.path.realpath(os.path.expanduser("~")), os.path.realpath(sys.prefix))
    while i < len(raw):  # nobody cannot read this venv's interpreter; the system python lives in /usr
        if raw[i] == "--ro-bind" and raw[i + 1].startswith(private):
            i += 3
        elif raw[i] == "--perms" and raw[i + 2] == "--dir" and raw[i + 3].startswith(private[0]):
            i += 4
        else:
            argv.append(raw[i])
            i += 1
    cfg = {
        "tmp_root": "/tmp", "pid_ns": True, "protected_pids": [], "run_uid": None, "seccomp": True,
        "memory_mb": 4096, "max_output_bytes": 65536, "max_processes": 64, "max_file_mb": 64, "nproc_slack": 2,
        "env": containment.snippet_env("/tmp"),
    }  # fmt: skip
    return argv + [SYSTEM_PYTHON, "-E", "-s", "-B", containment.WORKER, json.dumps(cfg)]


@pytest.fixture(scope="module")
def nobody_worker():
    proc = subprocess.Popen(
        _argv(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, user=65534, group=65534,
        extra_groups=[], start_new_session=True, env={"PATH": "/usr/bin:/bin"}, cwd="/",
    )  # fmt: skip

    def call(obj: dict | None) -> dict:
        if obj is not None:
            data = json.dumps(obj).encode()
            proc.stdin.write(struct.pack(">I", len(data)) + data)
            proc.stdin.flush()
        head = proc.stdout.read(4)
        assert len(head) == 4, proc.stderr.read().decode()[-2000:]
        return json.loads(proc.stdout.read(struct.unpack(">I", head)[0]))

    hello = call(None)
    assert hello["ready"] and hello["pid"] == 2 and hello["seccomp"]
    yield lambda code: call({"code": code, "timeout": 5})
    proc.stdin.close()
    assert proc.wait(20) == 0


FORKS = (
    "import os, time\nn = 0\nfor _ in range(300):\n    try:\n        pid = os.fork()\n    except OSError:\n"
    "        break\n    if pid == 0:\n        time.sleep(60)\n        os._exit(0)\n    n += 1\nprint(n)"
)
DAEMON = (
    "import os, time\nif os.fork() == 0:\n    os.setsid()\n"
    "    if os.fork() == 0:\n        time.sleep(300)\n    os._exit(0)"
)
CASES = [
    ("same_uid_as_the_worker", "import os\nprint(os.getuid(), os.getppid())", "ok", "65534 2"),
    ("kill_the_worker", "import os\nos.kill(2, 9)", "error", ""),
    ("kill_init", "import os\nos.kill(1, 9)", "error", ""),
    ("kill_minus_one", "import os\nos.kill(-1, 9)", "error", ""),
    ("kill_the_workers_group", "import os\nos.killpg(os.getpgid(2), 9)", "error", ""),
    ("read_the_workers_memory", "open('/proc/2/mem', 'rb').read(1)", "error", ""),
    ("ptrace_the_worker", "import ctypes\nprint(ctypes.CDLL(None).ptrace(16, 2, 0, 0))", "ok", "-1"),
    ("ip_socket", "import socket\nsocket.socket()", "error", ""),
    ("process_limit_counts_only_this_sandbox", FORKS, "ok", "63"),
    ("daemon", DAEMON, "ok", ""),
    ("nothing_left_but_init_worker_and_me", "import os\nprint(len([p for p in os.listdir('/proc') if p.isdigit()]))",
     "ok", "3"),
]  # fmt: skip


@pytest.mark.parametrize(("code", "status", "stdout"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_userns_worker(nobody_worker, code, status, stdout):
    res = nobody_worker(code)
    assert (res["status"], res["stdout"].strip()) == (status, stdout), res
    if status == "error":
        assert "Error" in res["stderr"], res
