"""After each call: kill every process the snippet left, and remove every file it wrote.

Stateless means nothing survives a call: not a daemon, a double fork or a process holding the output pipe,
and not a file in the working directory, /tmp or /dev/shm. Used by the worker (stdlib only).

Two steps, because killing is instant and dying is not: `kill_now` SIGKILLs every process of the call and
returns as soon as none of them can run another instruction of its own (the worker answers then), and
`kill_all` waits until they are all gone (after the answer, before the next child is forked). A killed
process still has to free its address space; with a large heap, many processes or a busy machine that took
seconds, and the answer used to wait for it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time

from procfs import descendants, doomed, live_pids, pids  # a sibling: the worker runs as a script from this folder

# A bound on the sweep, not an expected time: SIGKILLed processes die in milliseconds, but a loaded machine
# can stretch that, and a fixed iteration count once let a daemon outlive its call under load.
KILL_DEADLINE_S = 10.0


def kill_now(pid_ns: bool, group: int | None = None) -> None:
    """SIGKILL every process of this call at once; return when none of them can run code of its own.

    In a pid namespace one kill(-1) reaches everything but init and the worker, and the kernel makes it atomic
    against fork (a process that forks as the signal comes either fails the fork or has its child killed too):
    when it returns, every process of the call has SIGKILL pending, so nothing is read back from /proc here
    (that scan cost about 0.1 ms of CPU per call); `kill_all` checks, before the next child is forked, that
    they are all gone. Without one: the call's process group (`group`: the call's child is a session and
    group leader), then every descendant of the worker (a subreaper), until the sweep finds none that is not
    doomed. No wait for their exit: that is `kill_all`'s job, after the answer.
    """
    if pid_ns:
        with contextlib.suppress(ProcessLookupError):
            os.kill(-1, signal.SIGKILL)
        return
    deadline = time.monotonic() + KILL_DEADLINE_S
    me = os.getpid()
    while True:
        if group is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
        others = descendants(me)
        for p in others:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
        survivors = [p for p in others if not doomed(p)]
        if not survivors:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"sandbox: processes {survivors} survived SIGKILL for {KILL_DEADLINE_S} s")
        time.sleep(0.001)


def kill_all(pid_ns: bool, exiting: int | None = None) -> None:
    """SIGKILL every process of this call: daemons, double forks, pipe holders, multiprocessing children.

    In a pid namespace that is everything but init and the worker (kill -1); without one, every descendant
    of the worker (a subreaper, so orphans come back to it). `exiting` is the call's own child after it
    reported completion: it is in _exit, so it is not waited for (the worker reaps it after answering).
    """
    deadline = time.monotonic() + KILL_DEADLINE_S
    while True:
        if pid_ns:
            with contextlib.suppress(ProcessLookupError):
                os.kill(-1, signal.SIGKILL)  # everything in this pid namespace except init and us
            known = (1, os.getpid(), exiting)
            # Usually nothing else is left by now: then one listing of /proc, no file of it read.
            others = [p for p in live_pids() if p not in known] if set(pids()) - set(known) else []
        else:
            others = [p for p in descendants(os.getpid()) if p != exiting]
            for p in others:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p, signal.SIGKILL)
            reap()
        if not others:
            return
        if time.monotonic() > deadline:  # never return with a survivor: the worker dies and is replaced
            raise RuntimeError(f"sandbox: processes {others} survived SIGKILL for {KILL_DEADLINE_S} s")
        time.sleep(0.001)


def wipe(roots: list[str]) -> None:
    """Remove everything under the call's writable roots, keeping the roots themselves (and their modes)."""
    for root in roots:
        if os.path.isdir(root):
            for name in os.listdir(root):
                path = os.path.join(root, name)
                try:
                    os.rmdir(path)  # the usual case, an empty working directory: one syscall
                    continue
                except OSError:
                    pass  # a mount point, a directory holding one, a file, a full directory: the long way
                if _holds_mount(path):  # the read-only interpreter bound into /tmp (a clone under /tmp)
                    continue
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, onerror=_retry_writable)
                else:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(path)


def _holds_mount(path: str) -> bool:
    if os.path.islink(path) or not os.path.isdir(path):
        return False
    if os.path.ismount(path):
        return True
    return any(_holds_mount(os.path.join(path, name)) for name in os.listdir(path)) if _is_bind_parent(path) else False


def _is_bind_parent(path: str) -> bool:
    """Directories made by bwrap --dir for a bind (mode 0755, owned by root) are the only ones worth walking."""
    st = os.lstat(path)
    return st.st_uid == 0 and (st.st_mode & 0o777) == 0o755


def reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _retry_writable(func, path, _exc) -> None:
    """rmtree's error hook: the snippet may have made a directory unwritable (chmod 0); make it ours again."""
    try:
        os.chmod(os.path.dirname(path), 0o700)
        if os.path.isdir(path) and not os.path.islink(path):
            os.chmod(path, 0o700)
        func(path)
    except OSError:
        pass
