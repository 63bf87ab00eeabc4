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

from runs.atomic import write_atomic


def tree_pss_by_process(root: psutil.Process) -> list[tuple[psutil.Process, int]]:
    """(process, bytes of PSS) for `root` and each of its descendants readable now (one that vanishes meanwhile is
    left out; `root` itself ended: psutil.NoSuchProcess)."""
    out = []
    for proc in [root, *root.children(recursive=True)]:
        try:
            out.append((proc, proc.memory_full_info().pss))
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return out


def tree_pss(root: psutil.Process) -> int:
    """Bytes of PSS of `root` and all its descendants (processes that vanish meanwhile count 0)."""
    return sum(pss for _, pss in tree_pss_by_process(root))


class PeakMeter:
    """`with PeakMeter(pid) as meter:` samples the PSS of the process tree of `pid` every `interval_s` on a thread
    until the block ends; `meter.peak` is the largest sum seen, in bytes (0 if the process ended first)."""

    def __init__(self, pid: int, interval_s: float = 2.0):
        self.pid, self.interval_s, self.peak = pid, interval_s, 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        try:
            root = psutil.Process(self.pid)
            while not self._done.wait(self.interval_s):
                self.peak = max(self.peak, tree_pss(root))
        except psutil.NoSuchProcess:  # the process ended (possibly before the first sample)
            return

    def __enter__(self):  # -> PeakMeter (typing.Self needs Python 3.11)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()


def run(command: list[str], interval_s: float = 2.0) -> dict:
    """Run `command` to the end; its exit code, wall seconds and peak tree PSS in GiB."""
    start = time.monotonic()
    proc = subprocess.Popen(command)
    with PeakMeter(proc.pid, interval_s) as meter:
        returncode = proc.wait()
    return {
        "command": command,
        "returncode": returncode,
        "wall_s": round(time.monotonic() - start, 1),
        "peak_pss_gib": round(meter.peak / 2**30, 2),
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
