"""The Executor interface every backend implements (`make_executor` builds the one the config names).

Backends only implement `_run`, with arguments already checked and the default timeout filled in; the checks
(`run`: a caller's bad argument becomes a "sandbox_error" result), batching (threads, results in input order)
and the asyncio form (a thread hop, so the event loop never blocks) are shared here. No method of an executor
raises into its caller for a failed execution: every failure is an ExecResult.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading

from .config import SandboxConfig
from .result import ExecResult, failure


def check_call(code: object, timeout: object) -> str:
    """What is wrong with a call's arguments ("" when nothing), so a caller's bug becomes an error result."""
    if not isinstance(code, str):
        return f"code must be a str (got {type(code).__name__})"
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))):
        return f"timeout must be a number of seconds or None (got {timeout!r})"
    return ""


class Executor:
    """Runs snippets; subclasses implement run, health_check and close."""

    config: SandboxConfig
    isolation: str = ""  # reported in every ExecResult (a backend may compute it)

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._async_pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._async_lock = threading.Lock()

    @property
    def concurrency(self) -> int:
        return self.config.workers

    def run(self, code: str, timeout: float | None = None) -> ExecResult:
        """Run one snippet with `timeout` seconds (None: the config's `timeout_s`)."""
        bad = check_call(code, timeout)
        if bad:
            return failure(f"{type(self).__name__}.run: {bad}", self.isolation)
        return self._run(code, float(timeout if timeout is not None else self.config.timeout_s))

    def _run(self, code: str, timeout: float) -> ExecResult:
        raise NotImplementedError

    async def run_async(self, code: str, timeout: float | None = None) -> ExecResult:
        """Awaitable run: the blocking part happens in a thread pool sized to the executor's concurrency."""
        with self._async_lock:
            if self._async_pool is None:
                self._async_pool = concurrent.futures.ThreadPoolExecutor(
                    self.concurrency, thread_name_prefix="sandbox-async"
                )
        return await asyncio.get_running_loop().run_in_executor(self._async_pool, self.run, code, timeout)

    def run_batch(
        self, codes: list[str], timeout: float | None = None, concurrency: int | None = None
    ) -> list[ExecResult]:
        """Run every snippet, at most `concurrency` at a time; results in input order."""
        if not codes:
            return []
        n = max(1, min(concurrency or self.concurrency, len(codes)))
        with concurrent.futures.ThreadPoolExecutor(n, thread_name_prefix="sandbox-batch") as pool:
            return list(pool.map(lambda c: self.run(c, timeout), codes))

    def health_check(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        with self._async_lock:
            if self._async_pool is not None:
                self._async_pool.shutdown(wait=False, cancel_futures=True)
                self._async_pool = None

    def __enter__(self) -> Executor:  # noqa: PYI034 - Self needs Python 3.11; we support 3.10
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
