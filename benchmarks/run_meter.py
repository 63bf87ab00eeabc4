"""Wall time and peak memory of one command and every process it starts (Ray, vLLM and verl workers included).

Peak memory is the largest sum of PSS over the command's process tree, sampled every 2 s: PSS shares pages among
processes fairly, so forked workers are not counted twice. Used by `make train-cpu-learn`:

    python -m benchmarks.run_meter --out outputs/cpu_learn/meter.json -- python -m recipes.zerotir +experiment=cpu_learn
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from data_prep.atomic import write_atomic


def tree_pss(root: psutil.Process) -> int:
    """Bytes of PSS of `root` and all its descendants (processes that vanish meanwhile count 0)."""
    total = 0
    for proc in [root, *root.children(recursive=True)]:
        try:
            total += proc.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def run(command: list[str], interval_s: float = 2.0) -> dict:
    """Run `command` to the end; its exit code, wall seconds and peak tree PSS in GiB."""
    start = time.monotonic()
    proc = subprocess.Popen(command)
    peak, done = 0, threading.Event()

    def sample() -> None:
        nonlocal peak
        root = psutil.Process(proc.pid)
        while not done.wait(interval_s):
            try:
                peak = max(peak, tree_pss(root))
            except psutil.NoSuchProcess:
                return

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        returncode = proc.wait()
    finally:
        done.set()
        sampler.join()
    return {
        "command": command,
        "returncode": returncode,
        "wall_s": round(time.monotonic() - start, 1),
        "peak_pss_gib": round(peak / 2**30, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run_meter", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the result as JSON here")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given (use: -- CMD ARGS...)")
    result = run(command)
    text = json.dumps(result)
    print(f"run_meter: {text}", flush=True)
    if args.out:
        write_atomic(args.out, text + "\n")
    return result["returncode"]


if __name__ == "__main__":
    sys.exit(main())
