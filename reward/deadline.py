"""A wall-clock bound for pure-Python work, usable from any thread.

math-verify's own timeouts use signal.alarm, which only works on the main thread (docs/verl.md §3.3), and
verl scores samples in worker threads. Here one watchdog thread raises `GradeTimeout` inside the calling
thread when its deadline passes (CPython's PyThreadState_SetAsyncExc). Limits, on purpose: the exception
lands at the next bytecode, so a single long C call (a huge integer power) is not interrupted; callers must
screen such inputs first (see `reward.symbolic.is_safe`).
"""

from __future__ import annotations

import ctypes
import math
import queue
import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_REFIRE_S = 0.05  # re-raise if a broad `except`, a __del__ or a gc callback swallowed the first one

# The caller side touches only C-level primitives (Lock, SimpleQueue, thread-local): an asynchronous exception
# landing inside a Python-level `Condition.__enter__` would leave its lock held forever (found by stress test).
_lock = threading.Lock()
_wakeups: queue.SimpleQueue = queue.SimpleQueue()
_deadlines: dict[int, float] = {}  # thread id -> monotonic deadline of its outermost bounded call
_fired: set[int] = set()
_next_wake = [math.inf]  # when the watchdog will look next; a registration due earlier wakes it
_watchdog: threading.Thread | None = None
_local = threading.local()


class GradeTimeout(BaseException):
    """Raised inside a bounded call when its deadline passes (BaseException so `except Exception` lets it pass)."""


def _set_async_exc(thread_id: int, exc: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc else None)


def _watch() -> None:
    while True:
        with _lock:
            now = time.monotonic()
            for tid, deadline in list(_deadlines.items()):
                if now >= deadline:
                    _fired.add(tid)
                    _deadlines[tid] = now + _REFIRE_S
                    _set_async_exc(tid, GradeTimeout)
            _next_wake[0] = min(_deadlines.values(), default=math.inf)
            wait_s = None if _next_wake[0] == math.inf else max(0.001, _next_wake[0] - now)
        try:
            _wakeups.get(timeout=wait_s)
        except queue.Empty:
            pass


def _ensure_watchdog() -> None:
    global _watchdog
    if _watchdog is None or not _watchdog.is_alive():
        with _lock:
            _next_wake[0] = math.inf
        _watchdog = threading.Thread(target=_watch, name="reward-deadline", daemon=True)
        _watchdog.start()


def bounded(fn: Callable[[], T], timeout_s: float, on_timeout: T) -> tuple[T, bool]:
    """Run `fn()` in this thread; return (its result, False), or (on_timeout, True) once `timeout_s` passes.

    Nested calls share the outermost deadline. Exceptions from `fn` propagate; only the timeout is absorbed.
    """
    if getattr(_local, "depth", 0) > 0:
        return fn(), False
    _ensure_watchdog()  # before registering: nothing can be aimed at this thread yet
    tid = threading.get_ident()
    fired = False
    result = on_timeout
    _local.depth = 1
    try:
        try:
            deadline = time.monotonic() + timeout_s
            with _lock:
                _deadlines[tid] = deadline
                wake = deadline < _next_wake[0]
            if wake:
                _wakeups.put(None)
            result = fn()
        except GradeTimeout:
            fired = True
    finally:
        # The exception can land anywhere up to here, including inside this clean-up; retry until this thread
        # is deregistered and any pending exception is dropped, so none can reach the caller later.
        while True:
            try:
                with _lock:
                    _deadlines.pop(tid, None)
                    if tid in _fired:
                        _fired.discard(tid)
                        fired = True
                        _set_async_exc(tid, None)
                break
            except GradeTimeout:
                fired = True
        _local.depth = 0
    if fired:
        return on_timeout, True
    return result, False
