"""`tir/*` metric computation (pure) and the recipe trainer that logs it (registry, sync mode, TQ fetch)."""

from __future__ import annotations

import pytest

from tir_rollout.metrics import METRIC_NAMES, CumulativeCounters, ResponseRecord, is_correct, step_metrics
from tir_rollout.tool_use import RATE_NAMES, TOOL_USE_NAMES, ToolUse, ToolUseRates


def rec(calls=0, errors=0, timeouts=0, truncated=0, gen=10, length=10, finish="stop", correct=False):
    use = ToolUse(
        code_calls=calls,
        code_errors=errors,
        code_timeouts=timeouts,
        outputs_truncated=truncated,
        generated_tokens=gen,
        response_tokens=length,
        finish_reason=finish,
    )
    return ResponseRecord(use, correct)


# Hand-computed: 4 responses, 4 executions (1 error, 1 timeout, 1 truncated), 2 correct.
BATCH = [
    rec(calls=2, errors=1, truncated=1, gen=100, length=150, correct=True),
    rec(gen=80, length=80),
    rec(calls=1, timeouts=1, gen=60, length=70, finish="length"),
    rec(calls=1, gen=40, length=50, correct=True),
]
EXPECTED = {
    "tir/code_exec_ratio": 0.75,
    "tir/code_calls_mean": 1.0,
    "tir/code_calls_max": 2.0,
    "tir/code_error_rate": 0.25,
    "tir/code_timeout_rate": 0.25,
    "tir/sandbox_error_rate": 0.0,
    "tir/sandbox_errors": 0.0,
    "tir/code_calls": 4.0,
    "tir/output_truncated_rate": 0.25,
    "tir/finish_length_rate": 0.25,
    "tir/acc": 0.5,
    "tir/response_length/all": 87.5,
    "tir/response_length/correct": 100.0,
    "tir/response_length/wrong": 75.0,
    "tir/generated_tokens_mean": 70.0,
}


def test_step_metrics_hand_computed():
    assert step_metrics(BATCH) == pytest.approx(EXPECTED)
    assert set(EXPECTED) <= set(METRIC_NAMES)


def test_every_tool_use_number_is_logged_and_listed_under_its_field_name():
    rates = ToolUseRates.of([r.tool_use for r in BATCH])
    assert tuple(rates.as_dict()) == TOOL_USE_NAMES
    assert {f"tir/{name}" for name in TOOL_USE_NAMES} <= set(step_metrics(BATCH)) & set(METRIC_NAMES)


def test_rates_are_the_numbers_that_do_not_grow_with_the_group():
    """rates() (evaluation's summary columns) compare across cells of any size; the totals scale with the group."""
    once, twice = ToolUseRates.of([r.tool_use for r in BATCH]), ToolUseRates.of([r.tool_use for r in BATCH * 2])
    assert once.rates() == twice.rates() and tuple(once.rates()) == RATE_NAMES
    assert set(TOOL_USE_NAMES) - set(RATE_NAMES) == {"code_calls", "code_calls_max", "sandbox_errors"}
    assert (twice.code_calls, twice.code_calls_max) == (2 * once.code_calls, once.code_calls_max)


def test_tool_use_rates_need_a_response():
    with pytest.raises(ValueError, match="at least one response"):
        ToolUseRates.of([])


@pytest.mark.parametrize(
    "records,key,expected",
    [
        ([rec(), rec()], "tir/code_error_rate", 0.0),  # no execution: rates are 0, not NaN
        ([rec(correct=False)], "tir/response_length/correct", None),  # empty group: left out
        ([rec(correct=True)], "tir/response_length/wrong", None),
        ([], "tir/acc", None),
    ],
    ids=["no_calls_zero_rates", "no_correct_group", "no_wrong_group", "empty_step"],
)
def test_step_metrics_edges(records, key, expected):
    assert step_metrics(records).get(key) == expected


def test_cumulative_counters_accumulate():
    counters = CumulativeCounters()
    assert counters.update(BATCH) == {"tir/cum_generated_tokens": 280.0, "tir/cum_sandbox_calls": 4.0}
    assert counters.update(BATCH[:1]) == {"tir/cum_generated_tokens": 380.0, "tir/cum_sandbox_calls": 6.0}


@pytest.mark.parametrize(
    "extra,score,expected",
    [
        ({"reward_extra_info": {"acc": 1.0, "score": 0.0}}, 0.0, True),  # right answer, bad format
        ({"reward_extra_info": {"acc": 0.0}}, 1.0, False),
        ({}, 1.0, True),  # reward without `acc`: score > 0
        ({}, 0.0, False),
    ],
    ids=["acc_wins_over_score", "acc_zero", "score_fallback_pos", "score_fallback_zero"],
)
def test_is_correct(extra, score, expected):
    assert is_correct(extra, score) is expected


def test_record_from_extra_fields_defaults_missing_counts():
    r = ResponseRecord.from_extra_fields({"tir_code_calls": 2, "tir_finish_reason": "length"}, True, 33)
    u = r.tool_use
    assert (u.code_calls, u.code_errors, u.response_tokens, u.generated_tokens, u.finish_reason) == (
        2,
        0,
        33,
        33,
        "length",
    )


def test_sandbox_failures_are_their_own_rate_not_code_errors():
    """2 responses, 5 executions: 1 model error, 2 sandbox failures (one response's only call among them)."""
    records = [
        ResponseRecord.from_extra_fields(
            {"tir_code_calls": 4, "tir_code_errors": 1, "tir_sandbox_errors": 1, "tir_finish_reason": "stop"}, True, 9
        ),
        ResponseRecord.from_extra_fields({"tir_code_calls": 1, "tir_sandbox_errors": 1}, False, 9),
    ]
    m = step_metrics(records)
    assert (m["tir/code_error_rate"], m["tir/sandbox_error_rate"]) == (pytest.approx(1 / 5), pytest.approx(2 / 5))
    assert (m["tir/sandbox_errors"], m["tir/code_calls"]) == (2.0, 5.0)
    assert {"tir/sandbox_error_rate", "tir/sandbox_errors", "tir/code_calls"} <= set(METRIC_NAMES)
    assert step_metrics(BATCH)["tir/sandbox_error_rate"] == 0.0  # records without the field: none


# ---- the recipe trainer --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trainer_config():
    from hydra import compose, initialize_config_module
    from omegaconf import open_dict

    with initialize_config_module("verl.trainer.config", version_base=None):
        config = compose(
            "ppo_trainer",
            overrides=[
                "actor_rollout_ref.rollout.name=vllm",
                "algorithm.adv_estimator=grpo",
                "trainer.v1.trainer_mode=zerotir",
                "trainer.n_gpus_per_node=1",
            ],
        )
    with open_dict(config):
        config.tir = {"rollout": {"sandbox": {"backend": "local"}}}  # what the guard reads (conf/rollout/)
    return config


def test_registry_resolves_zerotir():
    from verl.trainer.ppo.v1 import PPOTrainerSync, get_trainer_cls

    from recipes.zerotir.trainer import ZeroTIRTrainer

    assert get_trainer_cls("zerotir") is ZeroTIRTrainer and issubclass(ZeroTIRTrainer, PPOTrainerSync)


def test_trainer_runs_verls_sync_paths(trainer_config):
    from verl.trainer.ppo.v1.replay_buffer import ReplayBuffer

    from recipes.zerotir.trainer import ZeroTIRTrainer

    trainer = ZeroTIRTrainer(trainer_config.copy())
    assert trainer.trainer_mode == "sync"
    assert type(trainer.replay_buffer) is ReplayBuffer  # not ReplayBufferAsync, which "zerotir" would pick


def _fill_transfer_queue(fake_tq):
    """The synthetic batch above as TransferQueue rows, plus one padding row that must be ignored."""
    import torch

    rows = [(2, 1, 0, 1, 100, 150, "stop", {"acc": 1.0}, 0.0), (0, 0, 0, 0, 80, 80, "stop", {"acc": 0.0}, 0.0)]
    rows += [(1, 0, 1, 0, 60, 70, "length", None, 0.0), (1, 0, 0, 0, 40, 50, "stop", None, 1.0)]
    rows += [(5, 5, 0, 0, 9, 9, "stop", None, 1.0)]  # padding
    keys, tags = [], []
    for i, (calls, errors, timeouts, trunc, gen, length, finish, info, score) in enumerate(rows):
        extra = {
            "tir_code_calls": calls,
            "tir_code_errors": errors,
            "tir_code_timeouts": timeouts,
            "tir_outputs_truncated": trunc,
            "tir_generated_tokens": gen,
            "tir_finish_reason": finish,
        }
        if info is not None:
            extra["reward_extra_info"] = info
        mask = torch.zeros(length, dtype=torch.int64)
        mask[:gen] = 1
        rm = torch.zeros(length)
        rm[-1] = score
        fake_tq.rows[("train", f"k{i}")] = {
            "prompts": torch.ones(7, dtype=torch.int64),
            "responses": torch.ones(length, dtype=torch.int64),
            "response_mask": mask,
            "rm_scores": rm,
            "token_level_rewards": rm,
            "advantages": rm,
            "returns": rm,
            "num_turns": 1 + 2 * calls + 1,
            "extra_fields": extra,
        }
        keys.append(f"k{i}")
        tags.append({"min_global_steps": 1, "max_global_steps": 1, "is_padding": i == 4})
    return keys, tags


class _OneGpuPool:
    def get_n_gpus(self) -> int:
        return 1


def test_step_adds_tir_metrics_from_transfer_queue(trainer_config, monkeypatch):
    from transfer_queue import KVBatchMeta
    from verl.trainer.ppo.v1 import trainer_base

    import recipes.zerotir.trainer as trainer_module
    from tests.fakes import FakeTransferQueue

    fake_tq = FakeTransferQueue()
    monkeypatch.setattr(trainer_base, "tq", fake_tq)
    monkeypatch.setattr(trainer_module, "tq", fake_tq)
    keys, tags = _fill_transfer_queue(fake_tq)
    trainer = trainer_module.ZeroTIRTrainer(trainer_config.copy())
    # the GPU stages of verl's step (dataloader refill, old/ref log-probs, advantages, update) are faked out
    trainer.resource_pool_manager = _OneGpuPool()
    trainer.prepare_step = dict
    trainer._step_once = lambda metrics, timing_raw, n: KVBatchMeta(keys=keys, tags=tags, partition_id="train")

    metrics: dict = {}
    batch = trainer.step(metrics, {})
    assert {k: metrics[k] for k in EXPECTED} == pytest.approx(EXPECTED)
    assert metrics["tir/cum_generated_tokens"] == 280.0 and metrics["tir/cum_sandbox_calls"] == 4.0
    # verl's own metric computation still runs on the same batch and leaves ours alone
    trainer._compute_metrics(batch, metrics, {"step": 2.0, "gen": 1.0}, global_steps=2, epoch=0)
    assert "critic/score/mean" in metrics and metrics["tir/acc"] == 0.5

    metrics = {}
    trainer.step(metrics, {})
    assert metrics["tir/cum_generated_tokens"] == 560.0 and metrics["tir/cum_sandbox_calls"] == 8.0


def test_cumulative_counters_survive_a_checkpoint(trainer_config, tmp_path, monkeypatch):
    import recipes.zerotir.trainer as trainer_module

    config = trainer_config.copy()
    config.trainer.default_local_dir = str(tmp_path)
    trainer = trainer_module.ZeroTIRTrainer(config)
    # verl's own save/load need the GPU worker groups; only our part runs here
    monkeypatch.setattr(trainer_module.PPOTrainerSync, "_save_checkpoint", lambda self: None)
    monkeypatch.setattr(trainer_module.PPOTrainerSync, "_load_checkpoint", lambda self: None)
    trainer.global_steps = 7
    trainer.tir_counters.update(BATCH)
    trainer._save_checkpoint()
    assert (tmp_path / "global_step_7" / trainer_module.COUNTERS_FILE).is_file()  # in verl's folder of the step
    resumed = trainer_module.ZeroTIRTrainer(config.copy())
    resumed.global_steps = 7  # what verl's _load_checkpoint sets from global_step_7
    resumed._load_checkpoint()
    assert (resumed.tir_counters.generated_tokens, resumed.tir_counters.sandbox_calls) == (280, 4)


def test_step_stops_the_run_when_the_sandbox_fails_too_often(trainer_config, monkeypatch):
    """The guard inside verl's step: 2 of 4 executions failed in the sandbox (50 % > 5 %); raised before returning,
    so verl's fit never reaches this step's _save_checkpoint."""
    from transfer_queue import KVBatchMeta
    from verl.trainer.ppo.v1 import trainer_base

    import recipes.zerotir.trainer as trainer_module
    from tests.fakes import FakeTransferQueue

    fake_tq = FakeTransferQueue()
    monkeypatch.setattr(trainer_base, "tq", fake_tq)
    monkeypatch.setattr(trainer_module, "tq", fake_tq)
    keys, tags = _fill_transfer_queue(fake_tq)
    fake_tq.rows[("train", "k0")]["extra_fields"]["tir_sandbox_errors"] = 1
    fake_tq.rows[("train", "k3")]["extra_fields"]["tir_sandbox_errors"] = 1
    trainer = trainer_module.ZeroTIRTrainer(trainer_config.copy())
    trainer.resource_pool_manager = _OneGpuPool()
    trainer.prepare_step = dict
    trainer._step_once = lambda metrics, timing_raw, n: KVBatchMeta(keys=keys, tags=tags, partition_id="train")
    trainer.global_steps = 3
    metrics: dict = {}
    with pytest.raises(trainer_module.SandboxFailureError, match=r"step 3: 2 of 4 code executions \(50\.0%\)"):
        trainer.step(metrics, {})
    assert metrics["tir/sandbox_error_rate"] == 0.5  # logged before the stop, for the error report


def test_the_collapse_alarm_fires_when_code_use_falls_well_below_its_peak():
    from tir_rollout.metrics import CollapseAlarm

    alarm = CollapseAlarm(window=3, drop=0.5, min_peak=0.2)
    fired = [alarm.update(r)["tir/code_use_collapse"] for r in (0.5, 0.9, 1.0, 0.95, 0.9, 0.2, 0.1, 0.1)]
    assert fired == [0, 0, 0, 0, 0, 0, 1, 1]  # smoothed: ... 0.93, 0.68, 0.40 (< 0.5 x 0.95), 0.13
    assert alarm.peak == pytest.approx(0.95)


def test_the_collapse_alarm_ignores_noise_and_runs_that_never_used_the_tool():
    from tir_rollout.metrics import CollapseAlarm

    noisy = CollapseAlarm()
    assert not any(noisy.update(r)["tir/code_use_collapse"] for r in (0.9, 0.6, 1.0, 0.7, 0.9, 0.5, 0.8))
    never = CollapseAlarm()
    assert not any(never.update(r)["tir/code_use_collapse"] for r in (0.1, 0.15, 0.0, 0.05, 0.0))


def test_the_collapse_alarm_state_survives_a_resume_as_json():
    import json

    from tir_rollout.metrics import CollapseAlarm

    alarm = CollapseAlarm()
    for r in (1.0, 1.0, 1.0):
        alarm.update(r)
    resumed = CollapseAlarm(**json.loads(json.dumps(vars(alarm))))
    assert resumed.update(0.0)["tir/code_use_collapse"] == 0  # smoothed 0.67: not yet
    assert resumed.update(0.0)["tir/code_use_collapse"] == 1  # 0.33 < 0.5 x 1.0
