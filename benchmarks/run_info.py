"""What a benchmark number was measured on: commit, interpreter, processor, package versions (the JSON tail)."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib.metadata import version


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    except OSError:
        return ""
    return out.stdout.strip()


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        return platform.processor() or platform.machine()


def run_info(*packages: str) -> dict:
    return {
        "commit": _commit(),
        "versions": {p: version(p) for p in packages},
        "python": platform.python_version(),
        "cpu": _cpu(),
        "cores": os.cpu_count(),
        "kernel": platform.release(),
    }
