"""A pre-flight verdict: one row of the table (check, verdict, value, and the key or command that fixes it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    name: str
    value: str
    verdict: str  # ok | warn | fail | skip
    fix: str = ""


def table(checks: list[Check]) -> str:
    """A plain-text table: check, verdict, value, and the fix when there is one."""
    width = max(len(c.name) for c in checks)
    lines = [f"{'check':<{width}}  verdict  value", f"{'-' * width}  -------  -----"]
    for c in checks:
        lines.append(f"{c.name:<{width}}  {c.verdict.upper():<7}  {c.value}")
        if c.fix and c.verdict in ("fail", "warn"):
            lines.append(f"{'':<{width}}           -> {c.fix}")
    return "\n".join(lines)


def failed(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.verdict == "fail"]
