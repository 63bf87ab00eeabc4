"""RayExecutor's scheduling and failure handling, with local pools substituted for Ray actors.

A real `ray.init` costs about 20 s on the 2-core test machine, so the actors are replaced by Pool objects here;
the Ray-specific part (_start_pools, _RayPool) is exercised by hand (see docs/sandbox.md).
"""

from __future__ import annotations

import threading
import time

import pytest

from tir_rollout.sandbox import ExecResult, parse_config
from tir_rollout.sandbox.ray_pool import RayExecutor


class CountingPool:
    def __init__(self, name: str, fail: bool = False) -> None:
        self.name, self.fail, self.calls, self.closed = name, fail, 0, False
        self.lock = threading.Lock()

    def run(self, code, timeout=None):
        with self.lock:
            self.calls += 1
        if self.fail:
            raise ConnectionError(f"actor {self.name} died")
        time.sleep(0.05)
        return ExecResult("ok", f"{self.name}:{code}\n", "", 0.05, False, "bwrap+rlimit+seccomp")

    def health_check(self):
        if self.fail:
            raise RuntimeError(f"{self.name} down")

    def close(self):
        self.closed = True


class SharedLocal:
    """The session's LocalExecutor as a pool, without letting RayExecutor close it."""

    def __init__(self, ex) -> None:
        self.ex = ex

    def run(self, code, timeout=None):
        return self.ex.run(code, timeout)

    def health_check(self):
        self.ex.health_check()

    def close(self):
        pass


def test_calls_spread_over_pools_and_keep_order():
    pools = [CountingPool("a"), CountingPool("b")]
    ex = RayExecutor(parse_config({"backend": "ray", "concurrency": 2}), pools=pools)
    results = ex.run_batch([str(i) for i in range(8)], concurrency=4)
    assert [r.stdout.split(":")[1] for r in results] == [f"{i}\n" for i in range(8)]
    assert pools[0].calls >= 2 and pools[1].calls >= 2
    assert all(r.isolation == "ray+bwrap+rlimit+seccomp" for r in results)
    ex.close()
    assert [p.closed for p in pools] == [True, True]
    assert ex.run("x").status == "sandbox_error"


def test_a_dead_actor_gives_sandbox_errors_and_an_unhealthy_check():
    ex = RayExecutor(parse_config({"backend": "ray"}), pools=[CountingPool("dead", fail=True)])
    res = ex.run("print(1)")
    assert res.status == "sandbox_error" and "actor dead died" in res.stderr
    with pytest.raises(RuntimeError, match="pool 0 is unhealthy: dead down"):
        ex.health_check()


def test_with_a_real_local_pool(executor):
    ex = RayExecutor(parse_config({"backend": "ray"}), pools=[SharedLocal(executor)])
    ex.health_check()
    results = ex.run_batch([f"print({i} ** 2)" for i in range(10)])
    assert [r.stdout for r in results] == [f"{i * i}\n" for i in range(10)]
    assert results[0].isolation.startswith("ray+bwrap")
