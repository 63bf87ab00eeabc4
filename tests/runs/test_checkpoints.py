"""verl's checkpoint series: step folders, the tracker, and the one rule for a folder with Hugging Face weights."""

import pytest

from runs import checkpoints
from runs.layout import RunFolder


def make(folder, *names):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text("x")
    return folder


WEIGHTS = [
    (("config.json", "model.safetensors"), True),
    (("config.json", "model-00001-of-00002.safetensors"), True),
    (("config.json", "pytorch_model.bin"), True),
    (("config.json", "tokenizer.json"), False),  # what verl leaves without hf_model in save_contents
    (("model.safetensors",), False),  # weights with no config cannot be loaded
    (("config.json", "model_world_size_1_rank_0.pt"), False),  # an FSDP shard is not HF weights
]


@pytest.mark.parametrize(("files", "expected"), WEIGHTS, ids=["safetensors", "sharded", "bin", "config-only",
                                                             "no-config", "fsdp-shard"])  # fmt: skip
def test_has_hf_weights(tmp_path, files, expected):
    assert checkpoints.has_hf_weights(make(tmp_path / "m", *files)) is expected


def test_the_weights_of_a_step_are_found_from_the_step_its_actor_or_the_folder_itself(tmp_path):
    step = checkpoints.step_dir(tmp_path, 50)
    hf = make(checkpoints.hf_dir(step), "config.json", "model.safetensors")
    assert hf == tmp_path / "global_step_50" / "actor" / "huggingface"
    assert checkpoints.find_hf_weights(step) == checkpoints.find_hf_weights(step / "actor") == hf
    assert checkpoints.find_hf_weights(hf) == hf
    assert checkpoints.find_hf_weights(make(tmp_path / "shards_only" / "actor")) is None


def test_the_series_lists_step_folders_and_reads_verls_tracker(tmp_path):
    for name in ("global_step_10", "global_step_200", "global_step_7_tmp", "other"):
        (tmp_path / name).mkdir()
    (tmp_path / "global_step_30").write_text("a file, not a save")
    assert sorted(checkpoints.saved_steps(tmp_path)) == [10, 200]
    assert checkpoints.saved_steps(tmp_path / "absent") == {}
    assert checkpoints.latest_step(tmp_path) is None
    (tmp_path / "latest_checkpointed_iteration.txt").write_text("200\n")
    assert checkpoints.latest_step(tmp_path) == 200
    (tmp_path / "latest_checkpointed_iteration.txt").write_text("half-written")
    assert checkpoints.latest_step(tmp_path) is None


@pytest.mark.parametrize(
    ("path", "step"),
    [("outputs/e/r/checkpoints/global_step_50/actor", 50), ("a/global_step_1/b/global_step_200", 200), ("a/b", None)],
)
def test_the_step_of_a_path_is_its_last_global_step(path, step):
    assert checkpoints.step_in_path(path) == step


def test_the_run_folder_of_a_checkpoint(tmp_path):
    run = RunFolder(tmp_path / "outputs" / "qwen7b_grpo" / "default")
    step = checkpoints.step_dir(run.checkpoints, 50)
    assert RunFolder.of_checkpoint(checkpoints.hf_dir(step)) == run
    assert RunFolder.of_checkpoint(tmp_path / "models" / "Qwen2.5-7B") is None
    assert run.run_json == run.path / "run.json" and run.hydra_records == run.path / "hydra" / ".hydra"
