"""The backend table: each backend's name (the config's `sandbox.backend`), the module and class that implement it,
and the field of SandboxConfig that holds its own options block, if it has one.

config.py checks `backend` against this table (and parses each options block from its field's type);
`make_executor` (the package's __init__) imports the chosen module only when it builds that executor (ray is slow
to import). A new backend is a row here plus its module (and, if it takes options, their dataclass as a field of
SandboxConfig). The table is data and imports nothing of the package, so the config that checks a name against it
and the builder that follows a row both stand on it, and neither stands on the other's side of it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backend:
    module: str  # relative to this package
    cls: str
    options: str | None = None  # the SandboxConfig field holding this backend's own options


BACKENDS: dict[str, Backend] = {
    "local": Backend(".local", "LocalExecutor"),
    "sandbox_fusion": Backend(".sandbox_fusion", "SandboxFusionExecutor", options="sandbox_fusion"),
    "ray": Backend(".ray_pool", "RayExecutor", options="ray"),
}
