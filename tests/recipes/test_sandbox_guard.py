"""The trainer's sandbox guard on logged step metrics: stop above the threshold, name the backend and count."""

from __future__ import annotations

import pytest

from recipes.zerotir.trainer import SandboxFailureError, check_sandbox_errors, sandbox_guard
from tests.recipes.compose import make_cfg
from tir_rollout.metrics import ResponseRecord, step_metrics
from tir_rollout.sandbox import parse_config


def logged(calls: int, sandbox_errors: int, code_errors: int = 0) -> dict:
    """A step's `tir/*` metrics as the trainer logs them, from one response per execution."""
    records = [
        ResponseRecord.from_extra_fields(
            {
                "tir_code_calls": 1,
                "tir_sandbox_errors": int(i < sandbox_errors),
                "tir_code_errors": int(i >= calls - code_errors),
            },
            False,
            10,
        )
        for i in range(calls)
    ]
    return step_metrics(records)


def test_above_the_threshold_the_run_stops_naming_backend_and_count():
    with pytest.raises(SandboxFailureError) as err:
        check_sandbox_errors(logged(calls=40, sandbox_errors=3), 0.05, "sandbox_fusion", step=12)
    message = str(err.value)
    assert "step 12: 3 of 40 code executions (7.5%)" in message
    assert "tir.rollout.sandbox.backend=sandbox_fusion" in message
    assert "tir.rollout.sandbox.max_sandbox_error_rate=0.05" in message


@pytest.mark.parametrize(
    ("calls", "sandbox_errors", "code_errors", "max_rate"),
    [
        (40, 2, 0, 0.05),  # exactly 5 %: not above
        (40, 0, 40, 0.05),  # every execution failed, but in the model's code: not the sandbox's problem
        (40, 40, 0, 0.0),  # 0 disables the guard
        (0, 0, 0, 0.05),  # a step without executions
    ],
    ids=["at_threshold", "model_errors_only", "disabled", "no_executions"],
)
def test_the_run_goes_on(calls, sandbox_errors, code_errors, max_rate):
    check_sandbox_errors(logged(calls, sandbox_errors, code_errors), max_rate, "local", step=1)


def test_the_switch_is_a_validated_sandbox_config_key():
    assert parse_config({}).max_sandbox_error_rate == 0.05
    assert parse_config({"max_sandbox_error_rate": 0}).max_sandbox_error_rate == 0
    with pytest.raises(ValueError, match=r"tir\.sandbox\.max_sandbox_error_rate must be a number in \[0, 1\]"):
        parse_config({"max_sandbox_error_rate": 5}, "tir.sandbox")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ((), ("local", 0.05)),
        (("tir.rollout.sandbox.max_sandbox_error_rate=0",), ("local", 0.0)),
        (
            ("tir.rollout.sandbox.backend=sandbox_fusion", "tir.rollout.sandbox.max_sandbox_error_rate=0.2"),
            ("sandbox_fusion", 0.2),
        ),
    ],
)
def test_the_trainer_reads_the_guard_from_the_rollout_node(overrides, expected):
    """The guard's switch is the composed config's `tir.rollout.sandbox`, as the user sets it (0 disables)."""
    assert sandbox_guard(make_cfg("+experiment=cpu_smoke", *overrides)) == expected


def test_a_config_without_the_rollout_sandbox_is_refused():
    """A config from before conf/rollout/ (the sandbox under `tir.sandbox`) must not run with a default guard."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.create({"tir": {"sandbox": {"backend": "local", "max_sandbox_error_rate": 0}}})
    with pytest.raises(ValueError, match=r"tir\.rollout\.sandbox: missing"):
        sandbox_guard(cfg)
