"""The one value every sandbox backend returns: ExecResult.

Callers (the agent loop, the eval harness) branch on `status` only; they never see an exception from a
backend, so a failure of the sandbox itself is also an ExecResult (status "error", the reason in stderr).
"""

from __future__ import annotations

from dataclasses import dataclass

STATUSES = ("ok", "error", "timeout", "killed")


@dataclass(frozen=True)
class ExecResult:
    """Outcome of one snippet.

    status: "ok" (exit 0), "error" (raised, exited non-zero, crashed, or the sandbox failed),
    "timeout" (wall or CPU time limit), "killed" (memory or output-size limit).
    stdout/stderr: decoded as UTF-8 with replacement characters, each at most the output cap.
    truncated: an output stream hit the cap. isolation: the mechanism that contained the call.
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
    """An error result for a failure of the sandbox itself (not of the snippet)."""
    return ExecResult("error", "", f"sandbox error: {reason}", duration_s, False, isolation)
