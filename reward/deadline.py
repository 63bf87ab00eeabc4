"""A wall-clock bound for pure-Python work, usable from any thread.

math-verify's own timeouts use signal.alarm, which only works on the main thread (verl-notes §3.3), and
verl scores samples in worker threads. Here one watchdog thread raises `GradeTimeout` inside the calling
thread when its deadline passes (CPython's PyThreadState_SetAsyncExc). Limits, on purpose: the exception
lands at the next bytecode, so a single long C call (a huge integer power) is not interrupted; callers must
screen such inputs first (see `reward.symbolic.is_safe`).
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_REFIRE_S = 0.05  # re-raise if a broad `except` in third-party code swallowed the first one


class GradeTimeout(BaseException):
    """Raised inside a bounded call when its deadline passes (BaseException so `except Exception` lets it pass)."""


_cond = threading.Condition()
_deadlines: dict[int, float] = {}  # thread id -> monotonic deadline of its outermost bounded call
_fired: set[int] = set()
_watchdog: threading.Thread | None = None
_local = threading.local()


def _set_async_exc(thread_id: int, exc: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc else None)


def _watch() -> None:
    with _cond:
        while True:
            if not _deadlines:
                _cond.wait()
                continue
            now = time.monotonic()
            for tid, deadline in list(_deadlines.items()):
                if now >= deadline:
                    _fired.add(tid)
                    _deadlines[tid] = now + _REFIRE_S
                    _set_async_exc(tid, GradeTimeout)
            _cond.wait(timeout=max(0.001, min(_deadlines.values()) - time.monotonic()) if _deadlines else None)


def _ensure_watchdog() -> None:
    global _watchdog
    if _watchdog is None or not _watchdog.is_alive():
        _watchdog = threading.Thread(target=_watch, name="reward-deadline", daemon=True)
        _watchdog.start()


def bounded(fn: Callable[[], T], timeout_s: float, on_timeout: T) -> tuple[T, bool]:
    """Run `fn()` in this thread; return (its result, False), or (on_timeout, True) once `timeout_s` passes.

    Nested calls share the outermost deadline. Exceptions from `fn` propagate; only the timeout is absorbed.
    """
    if getattr(_local, "depth", 0) > 0:
        return fn(), False
    tid = threading.get_ident()
    fired = False
    result = on_timeout
    _local.depth = 1
    try:
        with _cond:
            _ensure_watchdog()
            _deadlines[tid] = time.monotonic() + timeout_s
            _cond.notify()
        try:
            result = fn()
        except GradeTimeout:
            fired = True
    finally:
        while True:  # the exception may land during clean-up too; retry until deregistered
            try:
                with _cond:
                    _deadlines.pop(tid, None)
                    if tid in _fired:
                        _fired.discard(tid)
                        fired = True
                        _set_async_exc(tid, None)  # drop a pending exception that has not landed yet
                break
            except GradeTimeout:
                fired = True
        _local.depth = 0
    if fired:
        return on_timeout, True
    return result, False
