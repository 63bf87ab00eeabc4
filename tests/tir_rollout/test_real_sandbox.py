"""The stop machine with the project's real local sandbox: the ExecResult contract, end to end."""

from __future__ import annotations

import asyncio

import pytest

from tests.fakes import FakeServer, scripted_generate
from tir_rollout.stop_machine import OUTPUT_PREFIX, OUTPUT_SUFFIX, StopMachine, StopMachineConfig, run_stop_machine

SCRIPT = (
    "Factor it.\n```python\nimport sympy\nprint(sympy.factorint(360))\n```\nNow:\n```python\nprint(1/0)\n```"
    "\nDone.</answer>"
)


@pytest.fixture(scope="module")
def executor():
    sandbox = pytest.importorskip("tir_rollout.sandbox")
    ex = sandbox.make_executor({"backend": "local", "timeout_s": 20, "concurrency": 1})
    yield ex
    close = getattr(ex, "close", None)
    if close is not None:
        close()


def test_real_sandbox_outputs_and_counts(tokenizer, executor):
    config = StopMachineConfig(eos_token_ids=(tokenizer.eos_token_id,))
    machine = StopMachine(config, tokenizer, [1], 1000)
    result = asyncio.run(
        run_stop_machine(machine, scripted_generate(FakeServer(tokenizer, [SCRIPT])), executor.run_async)
    )
    assert (
        result.tool_use.code_calls,
        result.tool_use.code_errors,
        result.tool_use.code_timeouts,
        result.tool_use.finish_reason,
    ) == (2, 1, 0, "stop")
    text = tokenizer.decode(result.response_ids)
    assert OUTPUT_PREFIX + "{2: 3, 3: 2, 5: 1}\n" + OUTPUT_SUFFIX in text
    error_block = text.split("print(1/0)\n```\n")[1]
    assert error_block.startswith(OUTPUT_PREFIX) and "ZeroDivisionError: division by zero" in error_block
    assert 'File "' not in error_block
