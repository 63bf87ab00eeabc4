"""TEST PROBE, selected through `tir.executor_factory` by tests/e2e/test_distributed.py: the real sandbox executor,
built as in every run, plus a record of where it started and how wide.

In each agent-loop worker process it builds `tir_rollout.sandbox.make_executor(cfg)` (the default factory), runs
one snippet through it, and appends one JSON line (Ray node and job, pid, concurrency, this host's CPU count, the
snippet's output) to the file named by ZEROTIR_SANDBOX_PROBE (a test-only variable the test puts in the run's Ray
runtime_env). A random model rarely writes code, so without the probe nothing would show that each node's sandbox
runs. The executor it returns is the real one, unchanged."""

from __future__ import annotations

import json
import os

from tir_rollout.sandbox import make_executor as real_make_executor
from tir_rollout.sandbox.config import SandboxConfig

PROBE_ENV = "ZEROTIR_SANDBOX_PROBE"
SNIPPET = "print(6 * 7)"


def make_executor(cfg: SandboxConfig):
    """`tir.executor_factory`'s contract: the parsed sandbox config in, an executor out."""
    import ray

    executor = real_make_executor(cfg)
    result = executor.run(SNIPPET)
    record = {
        "node_id": ray.get_runtime_context().get_node_id() if ray.is_initialized() else None,
        # the launch: each is its own Ray job (driver), and both launches append to one file
        "job_id": ray.get_runtime_context().get_job_id() if ray.is_initialized() else None,
        "pid": os.getpid(),
        "concurrency": executor.concurrency,
        "configured": cfg.concurrency,  # after the agent loop's per-node share (tir_rollout.agent_loop.get_executor)
        "cpu_count": os.cpu_count(),
        "status": result.status,
        "stdout": result.stdout,
        "isolation": result.isolation,
    }
    with open(os.environ[PROBE_ENV], "a") as out:  # one short line per process: appends do not interleave
        out.write(json.dumps(record) + "\n")
    return executor
