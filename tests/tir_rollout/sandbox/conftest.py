"""Shared fixtures: one LocalExecutor for the session, and a probe for processes a call left behind."""

from __future__ import annotations

import os
import time

import pytest

from tir_rollout.sandbox import make_executor
from tir_rollout.sandbox.guest import procfs

# The worker answers once every process of the call is killed (SIGKILL pending or exiting), before they have
# finished exiting; a killed process gets this long to be gone (freed and reaped) before it counts as left.
SETTLE_S = 10.0

SECRET = "zerotir-test-secret-7f3a"
os.environ["ZEROTIR_SANDBOX_TEST_SECRET"] = SECRET  # before any worker starts: must never reach a snippet


@pytest.fixture(scope="session", params=[True, False], ids=["light+full", "full-only"])
def executor(request):
    """Every test on both layouts of a slot: a light and a full worker (the default; stdlib-only snippets,
    most attacks among them, go to the light one), and one full worker (`light_worker: false`)."""
    ex = make_executor({"concurrency": 2, "timeout_s": 5, "light_worker": request.param})
    ex.start()
    if ex.mechanism.name != "bwrap":
        ex.close()
        pytest.fail(
            f"the sandbox fell back to {ex.mechanism.isolation}: {ex.mechanism.reason}; "
            "install bubblewrap (apt-get install -y bubblewrap), see docs/sandbox.md"
        )
    yield ex
    ex.close()


def _stat(pid: int) -> tuple[str, int] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return fields[0].decode(), int(fields[1])
    except (OSError, IndexError):
        return None


def _children(pid: int) -> list[int]:
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _stat(int(name))
            if st and st[1] == pid:
                out.append(int(name))
    return out


def _ns_pid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("NSpid:"):
                    return int(line.split()[-1])
    except (OSError, ValueError):
        return None
    return None


def _live(pid: int) -> bool:
    """Not a zombie; a zombie leader whose other threads still run (it ended with pthread_exit) is live."""
    st = _stat(pid)
    if st is None:
        return False
    if st[0] not in ("Z", "X"):
        return True
    status = procfs.status(pid) or {}
    return int(status.get("Threads", "1")) > 1


def settled(find) -> list[str]:
    """`find()` -> [(pid, description)] of processes that must not exist. Any of them that can still run code
    is reported at once (a kill that missed it); killed ones (SIGKILL pending, exiting) get SETTLE_S to be
    gone, and are reported if they are not (a process that was never reaped)."""
    end = time.monotonic() + SETTLE_S
    while True:
        found = find()
        running = [what for pid, what in found if not procfs.doomed(pid)]
        if running or not found:
            return running
        if time.monotonic() > end:
            return [f"{what} (killed, still not gone after {SETTLE_S} s)" for _, what in found]
        time.sleep(0.02)


def leftovers(ex) -> list[str]:
    """Live processes in the workers' sandboxes other than bwrap's init, the worker and its direct children.

    The worker's direct children are its prepared child (a fresh fork waiting for the next snippet) and the
    last call's own process (already past the snippet, in _exit, or killed at the limit). Anything deeper, or
    any other child of the namespace's init (an orphan: a daemon, a double fork), was started by a snippet
    and must be dead: not running when the call returns, and gone soon after (see `settled`).
    """
    return settled(lambda: _leftovers(ex))


def _leftovers(ex) -> list[tuple[int, str]]:
    found = []
    bwrap = ex.mechanism is not None and ex.mechanism.name == "bwrap"
    for top in ex.worker_pids():
        if bwrap:
            inits = _children(top)
            if len(inits) != 1:
                found.append((top, f"bwrap {top} has {len(inits)} children, expected its namespace init"))
                continue
            kids = [c for c in _children(inits[0]) if _live(c)]
            workers = [c for c in kids if _ns_pid(c) == 2]
            found += [(c, f"pid {c}: orphan adopted by the sandbox init") for c in kids if c not in workers]
        else:
            workers = [top]
        for w in workers:
            for child in _children(w):
                found += [(g, f"pid {g}: child of snippet process {child}") for g in _children(child) if _live(g)]
    return found


def sandbox_processes(ex) -> list[int]:
    """Every live process under the executor's workers (for checking close())."""
    out, todo = [], list(ex.worker_pids())
    while todo:
        p = todo.pop()
        out.append(p)
        todo += _children(p)
    return out
