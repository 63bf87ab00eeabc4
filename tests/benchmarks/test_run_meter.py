"""benchmarks.run_meter: the peak PSS of a process tree, its children included, and a command that ends at once."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

from benchmarks.run_meter import PeakMeter, main

# a child that holds about 64 MiB, written so that the pages are really there, until it reads a line
HOLD = "import sys; b = bytearray(64 << 20); b[::4096] = b'x' * len(b[::4096]); sys.stdin.readline()"


def test_the_peak_counts_the_children_of_the_process():
    parent = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {HOLD!r}], stdin=sys.stdin)"
    proc = subprocess.Popen([sys.executable, "-c", parent], stdin=subprocess.PIPE)
    with PeakMeter(proc.pid, interval_s=0.05) as meter:
        threading.Event().wait(1.5)  # both interpreters up, the child holding its bytes
        proc.communicate(b"\n", timeout=30)
    assert meter.peak > 64 << 20  # the child's 64 MiB plus two interpreters: only the tree can reach it


def test_a_command_that_ends_before_the_first_sample_is_measured_without_error(tmp_path, monkeypatch):
    failures = []
    monkeypatch.setattr(threading, "excepthook", failures.append)
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # gone before the sampler looks for it
    with PeakMeter(proc.pid, interval_s=0.01) as meter:
        pass
    assert meter.peak == 0 and failures == []
    out = tmp_path / "meter" / "m.json"
    assert main(["--out", str(out), "--", sys.executable, "-c", "raise SystemExit(3)"]) == 3
    assert json.loads(out.read_text())["returncode"] == 3 and failures == []
