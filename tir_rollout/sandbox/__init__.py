"""The code sandbox: run model-written Python fast, statelessly and contained; see docs/sandbox.md.

`run_code`, `run_batch` and `run_code_async` use one process-wide LocalExecutor, created on first use and
closed at exit. `make_executor(cfg)` builds any backend (local | sandbox_fusion | ray: the rows of backends.py) from
config.
"""

from __future__ import annotations

import atexit
import importlib
import threading
from typing import Any

from .backends import BACKENDS
from .config import SandboxConfig, parse_config
from .executor import Executor
from .result import ExecResult

__all__ = [
    "ExecResult",
    "Executor",
    "SandboxConfig",
    "default_executor",
    "make_executor",
    "parse_config",
    "run_batch",
    "run_code",
    "run_code_async",
]


def make_executor(cfg: Any = None) -> Executor:
    """The executor of `cfg.backend` (local | sandbox_fusion | ray): `cfg` is a parsed SandboxConfig (as the
    rollout node's parse gives it, so it is not parsed again) or a dict / DictConfig of the `sandbox` block."""
    config = cfg if isinstance(cfg, SandboxConfig) else parse_config(cfg)
    row = BACKENDS[config.backend]  # parse_config checked the name
    return getattr(importlib.import_module(row.module, __package__), row.cls)(config)


_default: Executor | None = None
_default_lock = threading.Lock()


def default_executor() -> Executor:
    """The process-wide local executor (default config), created on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = make_executor({})
            atexit.register(_close_default)
        return _default


def _close_default() -> None:
    global _default
    with _default_lock:
        if _default is not None:
            _default.close()
            _default = None


def run_code(code: str, timeout: float = 10.0) -> ExecResult:
    return default_executor().run(code, timeout)


def run_batch(codes: list[str], timeout: float = 10.0, concurrency: int | None = None) -> list[ExecResult]:
    return default_executor().run_batch(codes, timeout, concurrency)


async def run_code_async(code: str, timeout: float = 10.0) -> ExecResult:
    return await default_executor().run_async(code, timeout)
