"""Failure injection per backend: an infrastructure failure is status "sandbox_error", the model sees the fixed
neutral text (no URL, stack or retry count), and it counts in tir/sandbox_error_rate, not tir/code_error_rate."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from tests.tir_rollout.sandbox.conftest import _children
from tests.tir_rollout.sandbox.test_sandbox_fusion import FakeSandboxFusion, client
from tir_rollout.metrics import ResponseRecord, step_metrics
from tir_rollout.sandbox import ExecResult, parse_config
from tir_rollout.sandbox.ray_pool import RayExecutor
from tir_rollout.stop_machine import SANDBOX_ERROR_TEXT, Segment, StopMachine, StopMachineConfig


class CharTokenizer:
    """One token per character: enough for the stop machine's decode/encode round trip."""

    def encode(self, text, add_special_tokens=False):
        return [ord(c) for c in text]

    def decode(self, ids, skip_special_tokens=True):
        return "".join(chr(i) for i in ids)


def as_the_model_sees_it(result) -> tuple[str, dict]:
    """Run one code block through the stop machine with `result`: the output block text and the step metrics."""
    tok = CharTokenizer()
    machine = StopMachine(StopMachineConfig(), tok, [1], 4096)
    for text in ("Let me compute.\n```python", "\nprint(6 * 7)\n```"):
        machine.next_request()
        call = machine.feed(Segment(tok.encode(text)))
    assert call is not None and call.code == "print(6 * 7)"
    machine.feed_result(result)
    machine.next_request()
    machine.feed(Segment(tok.encode(" <answer>42</answer>")))
    done = machine.result()
    shown = tok.decode([i for i, m in zip(done.response_ids, done.response_mask, strict=True) if m == 0])
    record = ResponseRecord.from_extra_fields(done.extra_fields(), False)
    return shown, step_metrics([record])


def assert_reported_as_sandbox_failure(result, *hidden: str) -> None:
    assert result.status == "sandbox_error", result
    shown, metrics = as_the_model_sees_it(result)
    assert SANDBOX_ERROR_TEXT in shown
    assert not any(h in shown for h in hidden)  # our diagnosis stays in stderr / the logs
    assert (metrics["tir/sandbox_error_rate"], metrics["tir/code_error_rate"]) == (1.0, 0.0)


def test_local_workers_killed_mid_batch(executor):
    out: dict = {}
    batch = threading.Thread(target=lambda: out.setdefault("r", executor.run_batch(["import time\ntime.sleep(3)"] * 2)))
    batch.start()
    time.sleep(1.0)
    old = executor.worker_pids()
    for top in old:  # a crash of every worker while both calls run
        for init in _children(top):
            os.kill(init, signal.SIGKILL)
    batch.join(30)
    for res in out["r"]:
        assert_reported_as_sandbox_failure(res, "worker", "replaced")
    end = time.monotonic() + 30
    while set(old) & set(executor.worker_pids()) and time.monotonic() < end:
        time.sleep(0.05)
    assert [r.status for r in executor.run_batch(["print(1)"] * 2)] == ["ok", "ok"]  # the pool recovered


def test_sandbox_fusion_unreachable_url():
    server = FakeSandboxFusion()
    url = server.url
    server.close()  # nothing listens there now
    assert_reported_as_sandbox_failure(client(url, retries=1).run("print(6 * 7)"), "127.0.0.1", "attempt")


def test_sandbox_fusion_answering_5xx():
    server = FakeSandboxFusion(failures_before_ok=100)
    try:
        res = client(server.url, retries=2).run("HTTP500")
        assert "HTTP 500" in res.stderr and "after 3 attempts" in res.stderr  # for the logs...
        assert_reported_as_sandbox_failure(res, "HTTP", "500", "attempt", "127.0.0.1")  # ...never for the model
    finally:
        server.close()


class DeadActorPool:
    """A Ray pool whose actor died: Ray raises ActorDiedError from ray.get."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def run(self, code, timeout=None):
        raise self.error

    def health_check(self):
        raise self.error

    def close(self):
        pass


@pytest.mark.parametrize("kind", ["actor_died", "get_timeout"])
def test_ray_dead_actor(kind):
    import ray.exceptions

    error = ray.exceptions.ActorDiedError() if kind == "actor_died" else ray.exceptions.GetTimeoutError("30 s")
    ex = RayExecutor(parse_config({"backend": "ray"}), pools=[DeadActorPool(error)])
    assert_reported_as_sandbox_failure(ex.run("print(6 * 7)"), "ray", "pool", "Error")


def test_the_models_own_error_is_still_a_code_error():
    res = ExecResult("error", "", "Traceback (most recent call last):\nZeroDivisionError: division by zero\n", 0.01)
    shown, metrics = as_the_model_sees_it(res)
    assert "ZeroDivisionError" in shown and SANDBOX_ERROR_TEXT not in shown
    assert (metrics["tir/sandbox_error_rate"], metrics["tir/code_error_rate"]) == (0.0, 1.0)


SETUP_FAILS = """
import json, sys, tempfile
sys.path.insert(0, sys.argv[1])
import snippet, worker

def broken():
    raise OSError("injected: the child's setup failed")

snippet.reset_python = broken  # the last setup step of the prepared child, before it may receive code
cfg = {"tmp_root": tempfile.mkdtemp(), "pid_ns": False, "seccomp": False, "run_uid": None, "memory_mb": 4096,
       "max_output_bytes": 65536, "max_processes": 64, "max_file_mb": 64, "env": {}}
w = worker.Worker(cfg)
w.prepare()
w.make_workdir()
print(json.dumps(w.run("print(1)", 5)))
"""


def test_local_child_that_fails_its_setup_is_a_sandbox_error_not_the_snippets():
    """Driven in a subprocess: the fallback worker kills every descendant of its process after a call."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from tir_rollout import sandbox

    here = str(Path(sandbox.__file__).parent / "guest")
    proc = subprocess.run(
        [sys.executable, "-c", SETUP_FAILS, here], check=True, capture_output=True, text=True, timeout=120
    )
    raw = json.loads(proc.stdout.strip().splitlines()[-1])
    assert raw["status"] == "sandbox_error" and "injected" in raw["stderr"], raw
    res = ExecResult(raw["status"], raw["stdout"], raw["stderr"], raw["duration_s"], raw["truncated"])
    assert_reported_as_sandbox_failure(res, "injected", "setup")
