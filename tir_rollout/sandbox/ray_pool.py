"""RayExecutor: local sandbox pools spread over a Ray cluster, `pools_per_node` actors on every alive node.

Each actor owns a LocalExecutor (so each node gives the same isolation as the local backend) and serves
calls from many threads. The driver sends each call to the pool with the fewest calls in flight. An actor
that dies turns its calls into error results; it is not restarted here (Ray's max_restarts does that).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from typing import Any, Protocol

from .config import SandboxConfig
from .executor import Executor
from .result import ExecResult, failure

logger = logging.getLogger(__name__)
ISOLATION = "ray+local"


class Pool(Protocol):
    def run(self, code: str, timeout: float | None = None) -> ExecResult: ...

    def health_check(self) -> None: ...

    def close(self) -> None: ...


class _PoolActor:
    """Runs inside a Ray actor on one node: a LocalExecutor with that node's CPU count as its concurrency."""

    def __init__(self, config: SandboxConfig) -> None:
        from .local import LocalExecutor

        self.executor = LocalExecutor(config)

    def run(self, code: str, timeout: float | None) -> ExecResult:
        return self.executor.run(code, timeout)

    def health_check(self) -> str:
        self.executor.health_check()
        return self.executor.isolation


class _RayPool:
    """Driver-side handle to one _PoolActor, with the Pool interface."""

    def __init__(self, handle: Any, node_id: str, grace_s: float) -> None:
        self.handle, self.node_id, self.grace_s = handle, node_id, grace_s

    def run(self, code: str, timeout: float | None = None) -> ExecResult:
        import ray

        return ray.get(self.handle.run.remote(code, timeout), timeout=(timeout or 0) + self.grace_s)

    def health_check(self) -> None:
        import ray

        ray.get(self.handle.health_check.remote(), timeout=self.grace_s)

    def close(self) -> None:
        import ray

        ray.kill(self.handle)


def _start_pools(config: SandboxConfig) -> list[Pool]:
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    if not ray.is_initialized():
        ray.init()  # joins the running cluster (RAY_ADDRESS / ray start) or starts a local one
    local_cfg = dataclasses.replace(config, backend="local")
    pools: list[Pool] = []
    for node in ray.nodes():
        if not node.get("Alive"):
            continue
        cpus = int(node.get("Resources", {}).get("CPU", 1)) or 1
        slots = config.concurrency or cpus
        actor_cls = ray.remote(_PoolActor).options(
            num_cpus=0,  # the sandbox workers are plain processes; do not starve the trainer's CPU requests
            max_concurrency=slots,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False),
        )
        for _ in range(config.ray.pools_per_node):
            handle = actor_cls.remote(dataclasses.replace(local_cfg, concurrency=slots))
            pools.append(_RayPool(handle, node["NodeID"], grace_s=180.0))
    if not pools:
        raise RuntimeError("sandbox.backend=ray: the Ray cluster has no alive node")
    return pools


class RayExecutor(Executor):
    """Pass `pools` to run the scheduling logic over other Pool objects (tests use LocalExecutors)."""

    isolation = ISOLATION

    def __init__(self, config: SandboxConfig, pools: list[Pool] | None = None) -> None:
        super().__init__(config)
        self._pools = pools
        self._inflight: list[int] = []
        self._lock = threading.Lock()
        self._closed = False

    @property
    def concurrency(self) -> int:
        return max(1, self.config.workers * max(1, len(self._pools or [None])))

    def _ensure(self) -> list[Pool]:
        with self._lock:
            if self._closed:
                raise RuntimeError("the executor was closed; make a new one")
            if self._pools is None:
                self._pools = _start_pools(self.config)
            if len(self._inflight) != len(self._pools):
                self._inflight = [0] * len(self._pools)
            return self._pools

    def _run(self, code: str, timeout: float) -> ExecResult:
        try:
            pools = self._ensure()
        except Exception as exc:  # noqa: BLE001 - Ray raises many types; the caller must get a result
            return failure(f"ray backend could not start its pools: {exc!r}", ISOLATION)
        with self._lock:
            i = min(range(len(pools)), key=self._inflight.__getitem__)
            self._inflight[i] += 1
        try:
            res = pools[i].run(code, timeout)
            if not isinstance(res, ExecResult):
                return failure(f"ray pool {i} returned {type(res).__name__}, not ExecResult", ISOLATION)
            return dataclasses.replace(res, isolation=f"ray+{res.isolation}")
        except Exception as exc:  # noqa: BLE001 - actor death, get timeout, serialization: all become results
            logger.warning("sandbox ray pool %d failed: %r", i, exc)
            return failure(f"ray pool {i} failed: {exc!r}", ISOLATION)
        finally:
            with self._lock:
                self._inflight[i] -= 1

    def health_check(self) -> None:
        try:
            pools = self._ensure()
        except Exception as exc:
            raise RuntimeError(f"sandbox.backend=ray: could not start the sandbox pools: {exc!r}") from exc
        for i, pool in enumerate(pools):
            try:
                pool.health_check()
            except Exception as exc:
                raise RuntimeError(f"sandbox.backend=ray: pool {i} is unhealthy: {exc}") from exc

    def close(self) -> None:
        super().close()
        with self._lock:
            pools, self._pools, self._closed = self._pools or [], None, True
        for pool in pools:
            try:
                pool.close()
            except Exception as exc:  # noqa: BLE001 - closing must not raise
                logger.warning("sandbox ray pool close failed: %r", exc)
