"""The log-prob pass's memory at each model group's budgets, padded vs packed, and the pre-flight's memory verdict."""

import statistics
from pathlib import Path

import pytest

from preflight import memory
from tests.recipes.compose import make_cfg

GROUPS = sorted(p.stem for p in (Path(memory.REPO_ROOT) / "conf" / "model").glob("*.yaml"))
PADDED = ("actor_rollout_ref.model.use_remove_padding=false", "critic.model.use_remove_padding=false")
PACKED = ("actor_rollout_ref.model.use_remove_padding=true", "critic.model.use_remove_padding=true")


def test_the_tir_mix_is_many_short_rows_and_a_few_at_the_cap():
    lengths = memory.tir_mix(256, 1024, 8192)
    assert lengths == memory.tir_mix(256, 1024, 8192)  # deterministic
    assert max(lengths) <= 1024 + 8192 and min(lengths) > 0
    assert statistics.median(lengths) < 0.2 * 9216
    responses = [r for _, r in memory.tir_rows(256, 1024, 8192)]
    assert 1 <= responses.count(8192) <= 0.05 * len(responses)
    assert statistics.mean(responses) == pytest.approx(0.22 * 8192, rel=0.1)


def test_micro_batches_are_cut_by_real_tokens():
    lengths = memory.tir_mix(256, 1024, 8192)
    parts = memory.micro_batches(lengths, 32768)
    assert sorted(n for p in parts for n in p) == sorted(lengths)
    assert all(sum(p) <= 32768 for p in parts)


@pytest.mark.parametrize("group", GROUPS)
def test_every_group_has_an_estimate_padded_above_packed(group):
    padded, packed = memory.estimate_logprob_memory(group)
    est = memory.estimate_logprob(group)
    cfg = memory.group_config(group)
    assert est.budget == cfg.actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu
    assert est.packed_tokens <= est.budget < est.padded_tokens
    assert packed == pytest.approx(3 * 2 * 151_936 * est.packed_tokens / 2**30)
    assert padded == pytest.approx(3 * 2 * 151_936 * est.padded_tokens / 2**30)
    assert padded > 2 * packed


def test_the_small_groups_pad_past_an_80_gb_gpu_and_pack_well_under_it():
    for group in ("qwen0.5b", "qwen1.5b"):
        padded, packed = memory.estimate_logprob_memory(group)
        assert padded > 80 and packed < 30, group
    padded, packed = memory.estimate_logprob_memory("qwen3b")
    assert padded > 70 and packed < 25


def test_an_unknown_group_names_the_known_ones():
    with pytest.raises(ValueError, match="qwen0.5b"):
        memory.estimate_logprob_memory("qwen9b")


def test_a_composed_run_is_estimated_at_its_own_budgets():
    cfg = make_cfg("+experiment=qwen0.5b_grpo_smoke", "attention=sdpa")  # 8,192 tokens, 8 x 4 rows on 1 GPU
    est = memory.estimate_logprob(cfg)
    assert (est.budget, est.rows_per_gpu) == (8192, 32)
    assert memory.estimate_logprob_memory(cfg) == (est.logprob_padded_gib, est.logprob_packed_gib)
    assert est == memory.estimate_pass(8192, 32, 1024, 2048)


def test_state_counts_what_is_not_offloaded():
    assert memory.state_gib("qwen0.5b") == pytest.approx(16 * 0.49e9 / 8 / 2**30)
    assert memory.state_gib("qwen32b") == 0.0  # param and optimizer offload


@pytest.fixture(scope="module")
def small_padded():
    return make_cfg("model=qwen0.5b", "attention=sdpa", *PADDED)


@pytest.fixture(scope="module")
def small_packed():
    return make_cfg("model=qwen0.5b", "attention=sdpa", *PACKED)


def test_padded_sdpa_fails_on_an_80_gb_gpu_and_names_remove_padding(small_padded):
    value, verdict, fix = memory.memory_check(small_padded, 79.2)
    assert verdict == "fail"
    assert "padded" in value and "log-prob" in value
    assert all(f"{key}=true" in fix for key in memory.REMOVE_PADDING_KEYS)


def test_packed_sdpa_fits_an_80_gb_gpu(small_packed):
    value, verdict, _ = memory.memory_check(small_packed, 79.2)
    assert verdict == "ok" and "packed" in value
    worst = memory.needs(small_packed)[0]
    assert worst.name == "update" and worst.mask > 0  # the update keeps the most; sdpa's mask is counted


def test_a_small_gpu_is_told_a_budget_that_fits(small_packed):
    _, verdict, fix = memory.memory_check(small_packed, 24.0)
    assert verdict == "fail"
    assert all(key in fix for key in memory.BUDGET_KEYS)
    budget = int(fix.split("=")[-1])
    assert 9216 <= budget < 32768 and budget % 1024 == 0
    overrides = [f"{key}={budget}" for key in memory.BUDGET_KEYS]
    assert memory.memory_check(make_cfg("model=qwen0.5b", "attention=sdpa", *PACKED, *overrides), 24.0)[1] == "ok"


def test_flash_needs_no_mask():
    cfg = make_cfg("model=qwen0.5b", "attention=flash")
    assert all(n.mask == 0 for n in memory.needs(cfg))


def test_the_headroom_band_warns(small_packed):
    need = memory.needs(small_packed)[0].total
    assert memory.memory_check(small_packed, need / 0.95)[1] == "warn"


def test_cpu_runs_and_unknown_gpus_are_skipped(small_packed):
    assert memory.memory_check(make_cfg("+experiment=cpu_smoke"), 79.2)[1] == "skip"
    assert memory.memory_check(small_packed, None)[1] == "skip"


def test_gpu_memory_comes_from_nvidia_smi_for_the_visible_gpus():
    csv = "0, 81559\n1, 81559\n2, 40960\n"
    assert memory.smallest_gpu_gib(csv) == pytest.approx(40.0)
    assert memory.smallest_gpu_gib(csv, "0,1") == pytest.approx(81559 / 1024)
    assert memory.smallest_gpu_gib(csv, "GPU-uuid") == pytest.approx(40.0)  # UUIDs: all GPUs, the smallest
    assert memory.smallest_gpu_gib("") is None
