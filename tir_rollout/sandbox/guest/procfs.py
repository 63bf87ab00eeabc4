"""Reading /proc, one place for the worker's sweep, the host's pool and the benchmark.

`/proc/<pid>/stat` is parsed after the last ")" because the command name in parentheses may itself hold
spaces and parentheses. A process that is gone, or that we may not read, reads as None.
"""

from __future__ import annotations

import os


def stat(pid: int | str) -> list[bytes] | None:
    """The fields after the command name: state, ppid, pgrp, ... (index 0 is field 3 of proc(5))."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def parents() -> dict[int, int]:
    """pid -> parent pid of every live process (zombies and dead ones left out)."""
    out = {}
    for pid in pids():
        fields = stat(pid)
        if fields is not None and (fields[0] not in (b"Z", b"X") or _threads(pid) > 1):
            out[pid] = int(fields[1])
    return out


def status(pid: int | str) -> dict[str, str] | None:
    """`/proc/<pid>/status` as name -> value; None when the process is gone."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


def _threads(pid: int | str) -> int:
    """Threads still in the process. A leader that ended with pthread_exit reads as a zombie in stat while the
    others run: that process is alive (its state alone would hide it from a sweep)."""
    st = status(pid)
    try:
        return int(st["Threads"]) if st else 0
    except (KeyError, ValueError):
        return 0


PF_EXITING = 0x4  # task flag (field 9 of stat): the process has begun to exit
_SIGKILL = 1 << 8  # bit of SIGKILL (9) in the pending-signal masks


def doomed(pid: int | str) -> bool:
    """True when `pid` can run no more code of its own: gone, a zombie, exiting, or SIGKILL pending (a task with
    SIGKILL pending never returns to user mode and cannot fork). Such a process may still be tearing down its
    address space, which for a large heap or many processes on a busy machine takes a while: no one has to
    wait for that to know the snippet is over."""
    fields, st = stat(pid), status(pid)
    if fields is None or st is None:
        return True
    try:
        pending = int(st.get("ShdPnd", "0"), 16) | int(st.get("SigPnd", "0"), 16)
        threads = int(st.get("Threads", "1"))
    except ValueError:
        return False
    if pending & _SIGKILL:
        return True
    ended = fields[0] in (b"Z", b"X") or int(fields[6]) & PF_EXITING
    return bool(ended) and threads <= 1


def live_pids() -> list[int]:
    return list(parents())


def parent(pid: int) -> int | None:
    fields = stat(pid)
    return int(fields[1]) if fields is not None else None


def children(pid: int) -> list[int]:
    return [p for p, pp in parents().items() if pp == pid]


def descendants(root: int) -> list[int]:
    parent_of = parents()
    found, frontier = [], [root]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parent_of.items() if pp == p]
        found += kids
        frontier += kids
    return found


def owned_by(uid: int) -> int:
    """How many processes `uid` owns (what RLIMIT_NPROC counts)."""
    count = 0
    for pid in pids():
        try:
            count += os.stat(f"/proc/{pid}").st_uid == uid
        except OSError:
            pass
    return count
