"""LocalExecutor: a pool of warm fork-server workers (worker.py), on this machine.

A slot is one call at a time; it owns a full worker and, unless `light_worker` is off, a light one (stdlib
only; routing.py says which snippets it gets, for speed only). A call takes a free slot, sends the snippet to
the slot's worker of that kind, and waits at most the timeout plus a grace period. A worker that dies, hangs or
talks nonsense is killed and replaced in the background, and the call gets an error result. Workers exit when
the host process goes away (EOF on their request pipe), and close() / atexit kill them. Thread-safe; the
asyncio form comes from Executor.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import tempfile
import threading
import time

from . import containment, routing
from .config import SandboxConfig
from .executor import Executor
from .guest import framing, procfs
from .result import ExecResult, failure

logger = logging.getLogger(__name__)

START_TIMEOUT_S = 120.0  # warm-up imports sympy/numpy/matplotlib; slow when many workers start on few cores
GRACE_S = 5.0  # past the limit before a worker counts as hung: its answer comes within ~0.05 s of the limit, but a
# call may first wait for the clean-up of the slot's previous call (its killed processes' exit, the wipe)


class WorkerError(RuntimeError):
    """A worker failed to start or to answer; the message carries its stderr tail."""


FULL, LIGHT = "full", "light"


class _Worker:
    def __init__(
        self,
        slot: int,
        config: SandboxConfig,
        mech: containment.Mechanism,
        kind: str = FULL,
        light_modules: list[str] | None = None,
    ) -> None:
        self.slot = slot
        self.kind = kind
        self.mech = mech
        uid = containment.run_uid(slot, light=kind == LIGHT)
        self._host_tmp = None
        as_root = os.geteuid() == 0
        if mech.name == "bwrap":
            tmp_root, pid_ns, protected = "/tmp", True, []
            nproc_slack = 0 if as_root else 2  # the user namespace also counts bwrap's init and the worker
        else:
            self._host_tmp = tempfile.mkdtemp(prefix=f"zerotir-sandbox-{slot}-{kind}-")
            tmp_root, pid_ns, protected = self._host_tmp, False, [os.getpid(), os.getpgrp()]
            nproc_slack = 0 if as_root else procfs.owned_by(os.getuid()) + 16
            if as_root:
                os.chown(self._host_tmp, uid, uid)
        wcfg = {
            "tmp_root": tmp_root,
            "pid_ns": pid_ns,
            "protected_pids": protected,
            "run_uid": uid,
            "light_modules": light_modules if kind == LIGHT else None,
            "seccomp": True,
            "memory_mb": config.memory_mb,
            "max_output_bytes": config.max_output_bytes,
            "max_processes": config.max_processes,
            "max_file_mb": config.max_file_mb,
            "nproc_slack": nproc_slack,
            "env": containment.snippet_env(tmp_root),
        }
        argv = containment.worker_argv(json.dumps(wcfg))
        if mech.name == "bwrap":
            argv = containment.bwrap_argv(max(256, 4 * config.max_file_mb), as_root) + argv
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the worker; kill() closes it
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            start_new_session=True,
            env=containment.snippet_env(tmp_root),
            cwd=self._host_tmp or "/",
        )
        self.rfd, self.wfd = self.proc.stdout.fileno(), self.proc.stdin.fileno()
        self.ns_init = None
        try:
            hello = self._recv(time.monotonic() + START_TIMEOUT_S)
            if not hello.get("ready"):
                raise WorkerError(f"worker {self.name} sent {hello!r} instead of a ready message")
        except Exception:
            self.kill()  # never leave a half-started sandbox behind
            raise
        self.seccomp = bool(hello.get("seccomp"))
        # A full worker's warm standard-library modules, which its light sibling imports (routing.py).
        self.stdlib = [name for name in hello.get("stdlib") or () if name.partition(".")[0] in routing.STDLIB]
        self.ns_init = _ns_init(self.proc.pid) if mech.name == "bwrap" else None
        if hello.get("missing"):
            logger.info("sandbox worker %s: modules not installed, not pre-imported: %s", self.name, hello["missing"])

    @property
    def name(self) -> str:
        return f"{self.slot} ({self.kind})"

    def call(self, code: str, timeout: float) -> dict:
        self._send({"code": code, "timeout": timeout})
        return self._recv(time.monotonic() + timeout + GRACE_S)

    def ping(self, timeout: float = 10.0) -> bool:
        self._send({"ping": True})
        return bool(self._recv(time.monotonic() + timeout).get("pong"))

    def _send(self, obj: dict) -> None:
        try:
            framing.send(self.wfd, obj)
        except OSError as exc:
            raise WorkerError(f"worker {self.name} is gone ({exc}); {self.stderr_tail()}") from exc

    def _recv(self, deadline: float) -> dict:
        try:
            answer = framing.recv(self.rfd, deadline)
        except TimeoutError:
            raise WorkerError(f"worker {self.name} did not answer in time; {self.stderr_tail()}") from None
        if answer is None:
            raise WorkerError(f"worker {self.name} died (exit {self.proc.poll()}); {self.stderr_tail()}")
        return answer

    def stderr_tail(self, n: int = 600) -> str:
        try:
            self.stderr.seek(0, os.SEEK_END)
            size = self.stderr.tell()
            self.stderr.seek(max(0, size - n))
            tail = self.stderr.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            tail = ""
        return f"worker stderr: {tail!r}" if tail else "no worker stderr"

    def kill(self) -> None:
        """Kill the worker and everything it contains (for bwrap, pid 1 of its namespace takes the rest)."""
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        init = self.ns_init or (_ns_init(self.proc.pid) if self.mech.name == "bwrap" else None)
        if init is not None and procfs.parent(init) == self.proc.pid:
            try:  # pid 1 of the namespace: when it dies the kernel kills everything inside
                os.kill(init, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            logger.error("sandbox worker %s (pid %d) did not die after SIGKILL", self.name, self.proc.pid)
        self.stderr.close()
        if self._host_tmp:
            import shutil

            shutil.rmtree(self._host_tmp, ignore_errors=True)


def _ns_init(outer: int) -> int | None:
    """bwrap's pid 1 inside the new namespace: the child of the bwrap process we started (it has its own session)."""
    kids = procfs.children(outer)
    return kids[0] if len(kids) == 1 else None


class LocalExecutor(Executor):
    """Pool of `config.workers` slots, each with its warm workers (full, and light unless `light_worker` is
    off); started on first use.

    `mechanism` overrides the probe (tests use it to exercise the fallback on a machine that has bwrap).
    """

    def __init__(self, config: SandboxConfig, mechanism: containment.Mechanism | None = None) -> None:
        super().__init__(config)
        self.kinds = (FULL, LIGHT) if config.light_worker else (FULL,)
        self._idle: queue.Queue[int] = queue.Queue()  # free slots
        self._workers: dict[tuple[int, str], _Worker] = {}  # (slot, kind) -> live worker; absent: start at use
        self._light_modules: list[str] | None = None  # from the first full worker up; until then no light one
        self._lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._started = False
        self._closed = False
        self.mechanism: containment.Mechanism | None = mechanism

    @property
    def isolation(self) -> str:
        return self.mechanism.isolation if self.mechanism else "unstarted"

    def start(self) -> None:
        """Start every worker, slots in parallel (idempotent); a worker that fails is retried at its first call."""
        with self._start_lock:
            if self._started:
                return
            if self._closed:
                raise RuntimeError("LocalExecutor.start: the executor was closed; make a new one")
            self.mechanism = self.mechanism or containment.choose()
            threads = [threading.Thread(target=self._spawn, args=(i, self.kinds)) for i in range(self.concurrency)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self._started = True

    def _spawn(self, slot: int, kinds: tuple[str, ...]) -> None:
        """Start these workers of the slot, then free the slot (whatever failed: a missing worker starts at use)."""
        for kind in kinds:
            if self._closed:
                break
            try:
                self._start_worker(slot, kind)
            except Exception as exc:  # noqa: BLE001 - whatever failed, the slot must go back to the queue
                logger.error("sandbox worker %d (%s) failed to start: %s", slot, kind, exc)
        self._idle.put(slot)

    def _start_worker(self, slot: int, kind: str) -> _Worker:
        """Start the slot's worker of this kind and register it; raises what the start raised."""
        if kind == LIGHT and self._light_modules is None:
            raise WorkerError("no full worker has started yet to say which modules a light one imports")
        worker = _Worker(slot, self.config, self.mechanism, kind, self._light_modules)
        with self._lock:
            if self._closed:
                worker.kill()
                raise WorkerError("the executor was closed")
            if kind == FULL and self._light_modules is None:
                self._light_modules = worker.stdlib
            self._workers[(slot, kind)] = worker
        return worker

    def _run(self, code: str, timeout: float) -> ExecResult:
        if self._closed:
            return failure("LocalExecutor.run: the executor was closed; make a new one", self.isolation)
        try:
            self.start()
        except RuntimeError as exc:
            return failure(str(exc), self.isolation)
        light = LIGHT in self.kinds and self._light_modules is not None
        kind = LIGHT if light and not routing.needs_full(code) else FULL
        slot = self._idle.get()
        if self._closed:  # closed while this call waited for a slot
            self._idle.put(slot)
            return failure("LocalExecutor.run: the executor was closed; make a new one", self.isolation)
        t0 = time.monotonic()
        with self._lock:
            worker = self._workers.get((slot, kind))
        if worker is not None and worker.proc.poll() is not None:  # died while idle: replace it before use
            logger.warning(
                "sandbox worker %s died while idle (exit %s); starting a new one", worker.name, worker.proc.poll()
            )
            self._forget(worker)
            worker = None
        if worker is None:  # its last start failed, or it died while idle: start it now, in this call
            try:
                worker = self._start_worker(slot, kind)
            except Exception as exc:  # noqa: BLE001 - the caller gets a result, the slot goes back
                self._idle.put(slot)
                return failure(f"worker {slot} ({kind}) failed to start: {exc}", self.isolation, time.monotonic() - t0)
        try:
            raw = worker.call(code, timeout)
            self._idle.put(slot)
            return ExecResult(
                raw["status"],
                raw["stdout"],
                raw["stderr"],
                raw["duration_s"],
                raw["truncated"],
                self.isolation if worker.seccomp else self.isolation.replace("+seccomp", ""),
            )
        except Exception as exc:  # noqa: BLE001 - never raise into the caller; the worker is suspect, replace it
            logger.warning("sandbox worker %s failed during a call, replacing it: %s", worker.name, exc)
            self._forget(worker)
            with self._lock:
                closed = self._closed
            if closed:
                self._idle.put(slot)
            else:  # the slot is free again once its replacement is up
                threading.Thread(target=self._spawn, args=(slot, (worker.kind,)), daemon=True).start()
            return failure(
                f"the worker running this snippet failed and was replaced: {exc}", self.isolation, time.monotonic() - t0
            )

    def _forget(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            if self._workers.get((worker.slot, worker.kind)) is worker:
                del self._workers[(worker.slot, worker.kind)]

    def worker_pids(self) -> list[int]:
        """Host pids of the live workers' top processes (bwrap, or the worker itself in the fallback)."""
        with self._lock:
            return [w.proc.pid for w in self._workers.values() if w.proc.poll() is None]

    def health_check(self) -> None:
        """Raise RuntimeError unless a trivial snippet runs and prints the right answer, in each kind of worker."""
        probes = {LIGHT: "print(6 * 7)", FULL: 'exec("print(6 * 7)")'}  # exec: routing.py sends it to the full one
        for kind in self.kinds:
            res = self.run(probes[kind], timeout=30)
            if res.status != "ok" or res.stdout.strip() != "42":
                raise RuntimeError(
                    f"local sandbox ({self.isolation}, {kind} worker) is unhealthy: {probes[kind]!r} gave "
                    f"status={res.status!r} stdout={res.stdout!r} stderr={res.stderr[-500:]!r}"
                )

    def close(self) -> None:
        super().close()
        with self._lock:
            self._closed = True
            workers, self._workers = list(self._workers.values()), {}
        for worker in workers:
            worker.kill()
