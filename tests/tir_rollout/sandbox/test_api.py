"""The contract other parts rely on: names, config validation, ordering, asyncio, resilience, clean shutdown."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import threading
import time

import pytest
from omegaconf import OmegaConf

from tests.tir_rollout.sandbox.conftest import _children, leftovers, sandbox_processes
from tir_rollout.sandbox import (
    ExecResult,
    Executor,
    SandboxConfig,
    make_executor,
    parse_config,
    run_batch,
    run_code,
    run_code_async,
)
from tir_rollout.sandbox.backends import BACKENDS
from tir_rollout.sandbox.local import LocalExecutor
from tir_rollout.sandbox.ray_pool import RayExecutor
from tir_rollout.sandbox.sandbox_fusion import SandboxFusionExecutor

BAD_CONFIGS = [
    ("unknown_top_key", {"timeout": 5}, "sandbox.timeout"),
    ("unknown_nested_key", {"sandbox_fusion": {"uri": "x"}}, "sandbox.sandbox_fusion.uri"),
    ("unknown_ray_key", {"ray": {"nodes": 2}}, "sandbox.ray.nodes"),
    ("bad_backend", {"backend": "docker"}, "sandbox.backend"),
    ("zero_timeout", {"timeout_s": 0}, "sandbox.timeout_s"),
    ("negative_memory", {"memory_mb": -1}, "sandbox.memory_mb"),
    ("bool_is_not_a_number", {"max_processes": True}, "sandbox.max_processes"),
    ("zero_concurrency", {"concurrency": 0}, "sandbox.concurrency"),
    ("zero_pools", {"ray": {"pools_per_node": 0}}, "sandbox.ray.pools_per_node"),
    ("light_worker_not_a_bool", {"light_worker": "no"}, "sandbox.light_worker"),
    ("light_worker_int", {"light_worker": 1}, "sandbox.light_worker"),
]


@pytest.mark.parametrize(("cfg", "named"), [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_names_the_key(cfg, named):
    with pytest.raises(ValueError, match=named.replace(".", r"\.")):
        parse_config(cfg)


def test_config_defaults_and_dictconfig():
    conf = parse_config(OmegaConf.create({"backend": "sandbox_fusion", "sandbox_fusion": {"retries": 1}}))
    assert (conf.backend, conf.timeout_s, conf.memory_mb, conf.max_output_bytes) == ("sandbox_fusion", 10, 4096, 65536)
    assert (conf.max_processes, conf.max_file_mb, conf.concurrency) == (64, 64, None)
    assert conf.sandbox_fusion.retries == 1 and conf.sandbox_fusion.url == "http://127.0.0.1:8080/run_code"
    assert conf.sandbox_fusion.max_concurrency == 64 and conf.sandbox_fusion.request_timeout_s == 40
    assert conf.ray.pools_per_node == 1 and conf.workers == (os.cpu_count() or 1)
    assert conf.light_worker is True


@pytest.mark.parametrize(
    ("backend", "cls"), [("local", LocalExecutor), ("sandbox_fusion", SandboxFusionExecutor), ("ray", RayExecutor)]
)
def test_make_executor_picks_the_backend(backend, cls):
    ex = make_executor({"backend": backend})
    assert type(ex) is cls
    ex.close()


def test_make_executor_keeps_a_parsed_config():
    conf = parse_config({"backend": "sandbox_fusion", "timeout_s": 3})
    ex = make_executor(conf)
    assert ex.config is conf  # travelled as it was parsed, not parsed again
    ex.close()


def test_the_backend_table_is_the_one_list_of_backends_and_their_options():
    """Every row names an Executor class, and every options block of SandboxConfig belongs to one row."""
    blocks = {name for name, value in vars(SandboxConfig()).items() if dataclasses.is_dataclass(value)}
    assert {row.options for row in BACKENDS.values() if row.options} == blocks
    for name, row in BACKENDS.items():
        parsed = parse_config({"backend": name, **({row.options: {}} if row.options else {})})
        assert parsed.backend == name
        ex = make_executor(parsed)
        assert isinstance(ex, Executor) and type(ex).__name__ == row.cls
        ex.close()
    with pytest.raises(ValueError, match=r"sandbox\.backend must be one of \('local', 'sandbox_fusion', 'ray'\)"):
        parse_config({"backend": "docker"})


class _Recorder(Executor):
    isolation = "recorder"

    def __init__(self, config):
        super().__init__(config)
        self.calls = []

    def _run(self, code, timeout):
        self.calls.append((code, timeout))
        return ExecResult("ok", "", "", 0.0, isolation=self.isolation)


@pytest.mark.parametrize(
    ("code", "timeout", "says"),
    [
        (b"print(1)", 5, "code must be a str (got bytes)"),
        ("print(1)", "5", "timeout must be a number"),
        ("print(1)", True, "timeout must be a number"),
    ],
)
def test_the_base_class_checks_every_backends_arguments(code, timeout, says):
    ex = _Recorder(parse_config({}))
    res = ex.run(code, timeout)
    assert res.status == "sandbox_error" and f"_Recorder.run: {says}" in res.stderr and res.isolation == "recorder"
    assert ex.calls == []  # the backend never sees a bad call


def test_the_base_class_fills_in_the_default_timeout():
    ex = _Recorder(parse_config({"timeout_s": 7}))
    ex.run("a")
    ex.run("b", 2)
    assert ex.calls == [("a", 7.0), ("b", 2.0)] and all(type(t) is float for _, t in ex.calls)


def test_exec_result_is_frozen_with_the_agreed_fields():
    res = ExecResult("ok", "a", "", 0.1)
    assert [f.name for f in dataclasses.fields(res)] == [
        "status",
        "stdout",
        "stderr",
        "duration_s",
        "truncated",
        "isolation",
    ]
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.status = "error"
    with pytest.raises(ValueError, match="crashed"):
        ExecResult("crashed", "", "", 0.0)


def test_module_functions_run_batch_of_64_in_order():
    codes = [f"import math\nprint({i}, math.factorial({i % 20}))" for i in range(64)]
    results = run_batch(codes, timeout=10, concurrency=64)  # 64 threads contend for the pool
    import math

    assert [r.stdout for r in results] == [f"{i} {math.factorial(i % 20)}\n" for i in range(64)]
    assert all(r.status == "ok" for r in results)
    assert run_code("print('single')").stdout == "single\n"


async def test_run_code_async_does_not_block_the_event_loop():
    ticks = 0
    done = asyncio.Event()

    async def ticker():
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    results = await asyncio.gather(*(run_code_async(f"import time\ntime.sleep(0.3)\nprint({i})") for i in range(6)))
    done.set()
    await task
    assert [r.stdout for r in results] == [f"{i}\n" for i in range(6)]
    assert ticks >= 20  # six 0.3 s calls on two workers take >= 0.9 s; a blocked loop would tick about once


def test_a_killed_worker_is_replaced_and_the_call_gets_a_sandbox_error(executor):
    out = {}
    thread = threading.Thread(target=lambda: out.setdefault("r", executor.run("import time\ntime.sleep(4)", 8)))
    thread.start()
    time.sleep(1.0)
    old = executor.worker_pids()
    for top in old:  # kill every sandbox from outside, as a crash of the worker would
        for init in _children(top):
            os.kill(init, signal.SIGKILL)
    thread.join(30)
    end = time.monotonic() + 10
    while set(old) & set(executor.worker_pids()) and time.monotonic() < end:
        time.sleep(0.05)  # let the idle sandbox finish dying, so the batch below meets no half-dead worker
    busy = out["r"]
    assert busy.status == "sandbox_error" and "replaced" in busy.stderr, busy
    results = executor.run_batch(["print('after')"] * 4)
    assert [r.stdout for r in results] == ["after\n"] * 4
    assert leftovers(executor) == []


BAD_CALLS = [
    ("none_code", None, None, "code must be a str (got NoneType)"),
    ("bytes_code", b"print(1)", None, "code must be a str (got bytes)"),
    ("string_timeout", "print(1)", "10", "timeout must be a number"),
]


@pytest.mark.parametrize(("code", "timeout", "message"), [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS])
def test_a_bad_call_is_a_sandbox_error_result_not_an_exception(executor, code, timeout, message):
    before = executor.worker_pids()
    res = executor.run(code, timeout)
    assert res.status == "sandbox_error" and message in res.stderr  # a caller's bug, not the model's code
    assert executor.worker_pids() == before  # a caller's bug does not cost a worker


def test_health_check_and_close_leave_nothing_running():
    ex = make_executor({"concurrency": 1})
    ex.health_check()
    assert ex.run("print(1)").stdout == "1\n"
    procs = sandbox_processes(ex)
    assert len(procs) >= 3  # bwrap, its init, the worker (and its prepared child)
    ex.close()
    time.sleep(0.2)
    assert [p for p in procs if os.path.exists(f"/proc/{p}") and _state(p) not in ("Z", "X")] == []
    res = ex.run("print(1)")
    assert res.status == "sandbox_error" and "closed" in res.stderr


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0].decode()
    except OSError:
        return "X"


def test_a_worker_that_cannot_start_gives_sandbox_errors_and_a_failing_health_check():
    from unittest import mock

    from tir_rollout.sandbox import containment

    broken = ["/bin/sh", "-c", "echo 'cannot import numpy' >&2; exit 3"]
    with mock.patch.object(containment, "worker_argv", lambda cfg: broken):  # fault injection
        ex = make_executor({"concurrency": 1})
        res = ex.run("print(1)")
        assert res.status == "sandbox_error" and "failed to start" in res.stderr and "cannot import numpy" in res.stderr
        with pytest.raises(RuntimeError, match="unhealthy.*cannot import numpy"):
            ex.health_check()
        ex.close()
