"""How a snippet runs in its forked child: like `python -c`, in a fresh __main__ with fresh stdio.

The child is a fork of the warm worker, so the interpreter state that `python -c` would start with has to be
put back by hand: __main__, sys.path[0], stdio, argv, atexit, signal handlers. The result is the exit status
plus a flag (MemoryError or other exception) that the worker turns into a status.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import io
import os
import signal
import sys
import tempfile
import threading
import traceback
import types

# The worker's own modules (this folder's), taken out of a snippet's view.
_HERE = os.path.dirname(os.path.abspath(__file__))
GUEST_MODULES = tuple(n[:-3] for n in os.listdir(_HERE) if n.endswith(".py") and n != "__init__.py")


def process_defaults(env: dict[str, str]) -> None:
    """What a fresh `python -c` starts with that is the same in every call: the environment (the snippet's,
    nothing of the host) and the signal dispositions. Set once in the worker before its first fork, so that
    each child inherits them: set in each child, they cost about 0.5 ms of CPU per call, mostly copy-on-write
    faults in the warm heap (os.environ's dicts, the signal module's state). The worker needs neither."""
    global _STDIN
    os.environ.clear()
    os.environ.update(env)
    for sig in (signal.SIGTERM, signal.SIGCHLD, signal.SIGALRM, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # stdin is /dev/null in the worker and in every child alike, so one wrapper made here is the one a child
    # would make (made in each child, the three wrappers cost about 0.3 ms; stdout and stderr are pipes there).
    _STDIN = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")


_STDIN: io.TextIOWrapper | None = None


def reset_python() -> None:
    """Make the forked child look like a fresh `python -c` run: its own __main__, stdio, argv, atexit (the
    environment and signals it inherits from the worker, process_defaults)."""
    sys.stdin = sys.__stdin__ = _STDIN or io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
    sys.stdout = sys.__stdout__ = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8")
    sys.stderr = sys.__stderr__ = io.TextIOWrapper(
        io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="backslashreplace", line_buffering=True
    )
    sys.argv = ["-c"]
    tempfile.tempdir = None
    atexit._clear()
    sys.path[:] = [""] + [p for p in sys.path if p not in ("", _HERE)]  # as `python -c`: cwd, not our directory
    for name in GUEST_MODULES:  # the worker's own modules are not importable
        sys.modules.pop(name, None)
    fresh_seeds()
    main = types.ModuleType("__main__")  # pickling by reference (multiprocessing) looks functions up here
    main.__builtins__ = builtins
    sys.modules["__main__"] = main


def fresh_seeds() -> None:
    """A new seed for numpy's legacy global RandomState, as each new `python -c` process gets: the warm
    worker seeded it once for every child, and numpy registers no fork hook (random's reseeds it).

    The state is set directly from 2,496 fresh bytes, as numpy's own seeding from entropy does (key[0] set
    to 0x80000000 so the key is never all zero; position 624: the next draw regenerates; no cached
    Gaussian). `seed()` itself goes through a SeedSequence and a Python loop over 624 numpy scalars: about
    0.3 ms more CPU per call, mostly copy-on-write faults in the warm heap (docs/sandbox.md)."""
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        import numpy

        key = numpy.frombuffer(os.urandom(4 * _MT_WORDS), dtype=numpy.uint32).copy()
        key[0] = 0x80000000
        numpy_random.set_state(("MT19937", key, _MT_WORDS, 0, 0.0))


_MT_WORDS = 624  # the MT19937 key length


def exec_snippet(code: str) -> tuple[int, bytes]:
    """Run the snippet in the fresh __main__; returns (exit status, b"M" MemoryError | b"E" raised | b"")."""
    status, flag = 0, b""
    try:
        exec(compile(code, "<snippet>", "exec"), sys.modules["__main__"].__dict__)  # noqa: S102 - the purpose
    except SystemExit as exc:
        status = _exit_code(exc)
    except BaseException as exc:  # noqa: BLE001 - report like the interpreter would
        flag = b"M" if isinstance(exc, MemoryError) else b"E"
        traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next)
        status = 1
    try:
        threading._shutdown()  # join non-daemon threads, as the interpreter does at exit
        atexit._run_exitfuncs()
    except BaseException as exc:  # noqa: BLE001
        if isinstance(exc, SystemExit):
            status = _exit_code(exc)
        else:
            traceback.print_exception(exc)
            status = status or 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):  # a closed or broken stream must not change the status
            stream.flush()
    return status, flag


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code & 0xFF
    with contextlib.suppress(BaseException):
        print(exc.code, file=sys.stderr)
    return 1
