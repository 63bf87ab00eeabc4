"""The checkpoint policy: which steps stay whole, which keep only HF weights, what is deleted, the disk estimate."""

from pathlib import Path

import pytest

from evaluation.step_series import hf_model_dir
from recipes.zerotir import checkpoints
from recipes.zerotir.checkpoints import KeepPolicy, estimate, plan, save_steps
from tests.recipes.compose import make_cfg


def fake_checkpoint(root: Path, step: int, hf: bool = True) -> Path:
    folder = root / f"global_step_{step}"
    (folder / "actor").mkdir(parents=True)
    (folder / "actor" / "model_world_size_1_rank_0.pt").write_bytes(b"w")
    (folder / "actor" / "optim_world_size_1_rank_0.pt").write_bytes(b"o")
    (folder / "data.pt").write_bytes(b"d")
    if hf:
        (folder / "actor" / "huggingface").mkdir()
        (folder / "actor" / "huggingface" / "config.json").write_text("{}")
        (folder / "actor" / "huggingface" / "model.safetensors").write_bytes(b"s")
    return folder


def test_plan_keeps_the_newest_whole_and_the_series_as_hf():
    result = plan([25, 50, 75, 100, 125, 150], keep_last=2, series_every=50)
    assert result == checkpoints.Plan(full=(125, 150), hf_only=(50, 100), delete=(25, 75))
    assert plan([50, 100], keep_last=2, series_every=None).delete == ()
    assert plan([10, 20, 30], keep_last=1, series_every=None, latest=20).full == (20, 30)  # verl's tracker stays
    with pytest.raises(ValueError, match="tir.checkpoint.keep_last"):
        plan([10], keep_last=0, series_every=None)


def test_keep_policy_prunes_after_a_save_and_eval_still_reads_the_series(tmp_path):
    cfg = make_cfg("+experiment=qwen7b_grpo", "tir.checkpoint.keep_last=1", "tir.checkpoint.series_every=20")
    for step in (10, 20, 30, 40):
        fake_checkpoint(tmp_path, step, hf=step != 40)
    (tmp_path / "latest_checkpointed_iteration.txt").write_text("40")
    KeepPolicy(config=cfg).on_save(trainer=None, global_step=40, checkpoint_dir=str(tmp_path / "global_step_40"))
    assert sorted(p.name for p in tmp_path.glob("global_step_*")) == ["global_step_20", "global_step_40"]
    assert sorted(p.name for p in (tmp_path / "global_step_20").rglob("*")) == [
        "actor", "config.json", "huggingface", "model.safetensors"
    ]  # fmt: skip
    assert hf_model_dir(tmp_path / "global_step_20") == tmp_path / "global_step_20" / "actor" / "huggingface"
    assert (tmp_path / "global_step_40" / "actor" / "optim_world_size_1_rank_0.pt").exists()  # resumable


def test_a_series_step_without_hf_weights_is_kept_whole(tmp_path):
    fake_checkpoint(tmp_path, 50, hf=False)
    fake_checkpoint(tmp_path, 60)
    checkpoints.apply(tmp_path, keep_last=1, series_every=50)
    assert (tmp_path / "global_step_50" / "actor" / "optim_world_size_1_rank_0.pt").exists()


def test_async_saves_are_not_pruned(tmp_path):
    cfg = make_cfg("+experiment=qwen7b_grpo", "tir.checkpoint.keep_last=1", "tir.checkpoint.series_every=null")
    for step in (10, 20):
        fake_checkpoint(tmp_path, step)
    KeepPolicy(config=cfg).on_save(trainer=None, global_step=20, checkpoint_dir=str(tmp_path / "x"), async_save=True)
    assert len(list(tmp_path.glob("global_step_*"))) == 2


def test_estimate_counts_what_the_policy_keeps():
    assert save_steps(550, 50)[-2:] == [500, 550] and len(save_steps(550, 50)) == 11
    assert save_steps(130, 50) == [50, 100, 130]  # verl also saves the last step
    grpo = estimate(7.61, 550, 50, keep_last=2, series_every=50)
    assert (grpo.kept_full, grpo.kept_hf) == (2, 9)
    assert grpo.end_gb == pytest.approx(2 * grpo.full_gb + 9 * grpo.hf_gb)
    assert grpo.peak_gb == pytest.approx(grpo.end_gb + grpo.full_gb)
    ppo = estimate(7.61, 550, 50, keep_last=2, series_every=50, critic=True)
    assert ppo.full_gb > grpo.full_gb and ppo.hf_gb == grpo.hf_gb  # the critic is never evaluated
    keep_all = estimate(7.61, 550, 50, keep_last=11, series_every=None, hf_weights=False)
    assert keep_all.end_gb == pytest.approx(11 * keep_all.full_gb) and keep_all.end_gb > grpo.peak_gb
