"""What the machine can run, decided before Ray starts: the pre-flight table (`run_checks`, `table`, `failed`), the
attention choice (`preflight.attention`) and the GPU memory estimate (`preflight.memory`). The launcher
(recipes/zerotir/launch.py) wires them in; nothing here imports the recipe or starts Ray.
"""

from preflight.checks import run_checks
from preflight.probes import Probes
from preflight.verdict import Check, failed, table

__all__ = ["Check", "Probes", "failed", "run_checks", "table"]
