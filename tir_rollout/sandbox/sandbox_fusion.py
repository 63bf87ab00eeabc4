"""SandboxFusionExecutor: a client for a SandboxFusion service (`POST /run_code`), for multi-node scale.

The reference implementation runs this service (docs/reference.md §3.6, §4). Added here: a real global
concurrency limit (one semaphore per URL per process; the reference's per-call one limited nothing,
docs/reference.md §10),
timeouts, capped exponential back-off on transport errors, 5xx and SandboxError, and a fail-fast health
check. Isolation is the service's; outputs are capped to the local backend's limit. Every failure of the
service (unreachable after the retries, 4xx, an unreadable answer, a status that is not an outcome of the
code) is a "sandbox_error" result, never an "error" the model would take for its own.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request

from .config import SandboxConfig
from .executor import Executor
from .result import ExecResult, failure

logger = logging.getLogger(__name__)

_SEMAPHORES: dict[str, threading.BoundedSemaphore] = {}
_SEMAPHORES_LOCK = threading.Lock()
BACKOFF_BASE_S = 0.25
BACKOFF_CAP_S = 8.0  # reference impl caps 2**i at 300 s; training cannot wait that long for one snippet
MAX_RESPONSE_BYTES = 16 << 20
ISOLATION = "sandbox_fusion"


class _Retryable(Exception):
    """A failure worth another try: transport error, 5xx, or the service's own SandboxError."""


class SandboxFusionExecutor(Executor):
    isolation = ISOLATION

    def __init__(self, config: SandboxConfig) -> None:
        super().__init__(config)
        sf = config.sandbox_fusion
        self.url = sf.url
        with _SEMAPHORES_LOCK:
            self._sem = _SEMAPHORES.setdefault(sf.url, threading.BoundedSemaphore(sf.max_concurrency))

    @property
    def concurrency(self) -> int:
        return self.config.sandbox_fusion.max_concurrency

    def _run(self, code: str, timeout: float) -> ExecResult:
        sf = self.config.sandbox_fusion
        payload = {
            "code": code,
            "language": "python",
            "compile_timeout": 10,
            "run_timeout": timeout,
            "memory_limit_MB": self.config.memory_mb,  # SandboxFusion's own per-request limit
        }
        t0 = time.monotonic()
        last = ""
        for attempt in range(sf.retries + 1):
            if attempt:
                time.sleep(min(BACKOFF_BASE_S * 2 ** (attempt - 1), BACKOFF_CAP_S))
            try:
                with self._sem:
                    body = self._post(payload, max(sf.request_timeout_s, timeout + 5))
                return self._to_result(body, timeout, time.monotonic() - t0)
            except _Retryable as exc:
                last = str(exc)
                logger.warning("SandboxFusion %s: attempt %d/%d failed: %s", self.url, attempt + 1, sf.retries + 1, exc)
            except (ValueError, KeyError, TypeError) as exc:  # a malformed answer will not improve on retry
                return failure(
                    f"SandboxFusion {self.url} sent an unreadable response: {exc!r}", ISOLATION, time.monotonic() - t0
                )
        return failure(
            f"SandboxFusion {self.url} failed after {sf.retries + 1} attempts: {last}", ISOLATION, time.monotonic() - t0
        )

    def _post(self, payload: dict, timeout_s: float) -> dict:
        req = urllib.request.Request(
            self.url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout_s) as resp:
                raw = resp.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            if exc.code >= 500:
                raise _Retryable(f"HTTP {exc.code}") from exc
            raise ValueError(f"HTTP {exc.code}: {exc.read(500)!r}") from exc
        except (urllib.error.URLError, OSError) as exc:  # refused, reset, DNS, socket timeout
            raise _Retryable(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}") from exc
        if len(raw) > MAX_RESPONSE_BYTES:
            raise ValueError(f"response larger than {MAX_RESPONSE_BYTES} bytes")
        body = json.loads(raw)
        if body.get("status") == "SandboxError":
            raise _Retryable(f"SandboxError: {body.get('message', '')}")
        return body

    def _to_result(self, body: dict, timeout: float, wall_s: float) -> ExecResult:
        run = body.get("run_result") or {}
        status = run.get("status") or body.get("status")
        cap = self.config.max_output_bytes
        stdout, cut_out = _cap(run.get("stdout") or "", cap)
        stderr, cut_err = _cap(run.get("stderr") or "", cap)
        duration = float(run.get("execution_time") or wall_s)
        if status == "TimeLimitExceeded":
            verdict = "timeout"
            stderr += f"[sandbox] wall time limit of {timeout:g} s exceeded (SandboxFusion)\n"
        elif status == "Finished" and run.get("return_code") == 0:
            verdict = "ok"
        elif status in ("Finished", "Error"):
            verdict = "error"
        else:  # the service did not run the code to an outcome: its failure, not the snippet's
            return failure(
                f"SandboxFusion {self.url} answered status {body.get('status')!r}, run status {status!r}",
                ISOLATION,
                duration,
            )
        if cut_out or cut_err:  # big legitimate output: keep the head and say so; the verdict stands
            stderr += f"[sandbox] output over {cap} bytes; only the first {cap} bytes are kept\n"
        return ExecResult(verdict, stdout, stderr, duration, cut_out or cut_err, ISOLATION)

    def health_check(self) -> None:
        """Raise RuntimeError at once when the service is down or answers wrongly (no retries)."""
        try:
            body = self._post(
                {"code": "print(6 * 7)", "language": "python", "compile_timeout": 10, "run_timeout": 5},
                min(5.0, self.config.sandbox_fusion.request_timeout_s),
            )
            res = self._to_result(body, 5, 0.0)
        except (_Retryable, ValueError, KeyError, TypeError) as exc:
            raise RuntimeError(
                f"sandbox.sandbox_fusion.url={self.url}: SandboxFusion is not reachable or not healthy ({exc}); "
                "start the service or set sandbox.backend=local"
            ) from exc
        if res.status != "ok" or res.stdout.strip() != "42":
            raise RuntimeError(f"sandbox.sandbox_fusion.url={self.url}: 'print(6 * 7)' gave {res!r}")


def _cap(text: str, cap: int) -> tuple[str, bool]:
    data = text.encode("utf-8", "replace")
    if len(data) <= cap:
        return text, False
    return data[:cap].decode("utf-8", "replace"), True
