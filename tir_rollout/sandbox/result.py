"""The one value every sandbox backend returns: ExecResult.

Callers (the agent loop, the eval harness) branch on `status` only; they never see an exception from a
backend, so a failure of the sandbox itself is also an ExecResult: status "sandbox_error", our diagnosis in
stderr (for logs; the stop machine shows the model a fixed neutral text instead, never this stderr).
"""

from __future__ import annotations

from dataclasses import dataclass

STATUSES = ("ok", "error", "timeout", "killed", "sandbox_error")
SANDBOX_ERROR = "sandbox_error"  # the executor failed, not the snippet: counted apart from code errors


@dataclass(frozen=True)
class ExecResult:
    """Outcome of one snippet.

    status: "ok" (exit 0), "error" (raised, exited non-zero or crashed), "timeout" (wall or CPU time limit),
    "killed" (memory limit, or an output flood far over the cap), "sandbox_error" (the executor itself
    failed: a worker died or hung, the service was unreachable or answered 5xx, a Ray actor died).
    stdout/stderr: decoded as UTF-8 with replacement characters, each at most the output cap.
    truncated: an output stream went over the cap (only its head is kept).
    isolation: the mechanism that contained the call.
    """

    status: str
    stdout: str
    stderr: str
    duration_s: float
    truncated: bool = False
    isolation: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"ExecResult.status must be one of {STATUSES} (got {self.status!r})")


def failure(reason: str, isolation: str, duration_s: float = 0.0) -> ExecResult:
    """The result for a failure of the sandbox itself (not of the snippet); `reason` is for logs only."""
    return ExecResult(SANDBOX_ERROR, "", f"sandbox error: {reason}", duration_s, False, isolation)
