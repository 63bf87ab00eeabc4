"""fork(2) for the worker without CPython's generic after-fork work, keeping every hook a child needs.

os.fork runs, in each child, CPython's re-initialisation of other threads' state and every `register_at_fork`
hook: Python code whose every object touched is a copy-on-write page fault in the warm heap (in a warm child
that exits at once, 290 faults and 3.3 ms of CPU against 114 and 2.4 ms here; in a whole call less, about 70
faults, as the snippet touches many of those pages anyway). In a worker with one thread there is no
other thread to repair, so `fork` here calls fork(2) with the GIL held and then runs the recorded hooks, less
those whose only job is other threads' state (their Thread objects and locks). What the others give (random's
new seed, matplotlib's font cache emptied, a library's own hook) every child still gets; random's seed is drawn
in the worker just before the fork, where it costs less (`reseeds_random`). With more than one thread (the
kernel's count, read before every fork) it is plain os.fork.

Imported by the worker before anything that registers a hook, so the recorder sees every one its imports and
the warm-up register; imported later (threading, random or logging already loaded), `fork` is plain os.fork.
"""

from __future__ import annotations

import ctypes
import os
import sys

_register = os.register_at_fork
_child_hooks: list = []
_SEES_ALL_HOOKS = not {"threading", "random", "logging"} & set(sys.modules)


def _recording_register(*, before=None, after_in_child=None, after_in_parent=None) -> None:
    if after_in_child is not None:
        _child_hooks.append(after_in_child)
    given = {"before": before, "after_in_child": after_in_child, "after_in_parent": after_in_parent}
    _register(**{k: v for k, v in given.items() if v is not None})


os.register_at_fork = _recording_register

_fork = ctypes.PyDLL(None, use_errno=True).fork
_fork.restype = ctypes.c_int


def repairs_other_threads(hook) -> bool:
    """threading's and logging's hooks, and a lock's `_at_fork_reinit` (concurrent.futures): nothing to do
    in a child of a single-threaded process, whose locks only its one thread could hold."""
    name = (getattr(hook, "__module__", None), getattr(hook, "__qualname__", None))
    if name in (("threading", "_after_fork"), ("logging", "_after_at_fork_child_reinit_locks")):
        return True
    owner = getattr(hook, "__self__", None)
    return getattr(hook, "__name__", "") == "_at_fork_reinit" and type(owner).__module__ == "_thread"


def reseeds_random(hook) -> bool:
    """random's hook (a new seed for its global generator): the worker runs it just before the fork instead,
    so the child inherits a state nobody else has (the worker draws nothing from it) without paying for it:
    in the child it cost about 0.15 ms of CPU a call, page faults in the warm heap."""
    generator = getattr(sys.modules.get("random"), "_inst", None)
    return generator is not None and getattr(hook, "__self__", None) is generator


def fork() -> int:
    """Like os.fork; cheaper in the child of a single-threaded process (see the module docstring)."""
    if not _SEES_ALL_HOOKS or len(os.listdir("/proc/self/task")) != 1:
        return os.fork()
    for hook in _child_hooks:
        if reseeds_random(hook):
            hook()
    pid = _fork()
    if pid < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    if pid == 0:
        os.register_at_fork = _register  # the snippet sees the builtin, as in `python -c`
        for hook in _child_hooks:
            if not (repairs_other_threads(hook) or reseeds_random(hook)):
                try:
                    hook()
                except Exception as exc:  # noqa: BLE001 - as CPython: a failing hook is reported, not raised
                    print(f"Exception ignored in fork hook {hook!r}: {exc!r}", file=sys.stderr)
    return pid
