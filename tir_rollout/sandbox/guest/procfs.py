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
        if fields is not None and fields[0] not in (b"Z", b"X"):
            out[pid] = int(fields[1])
    return out


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
