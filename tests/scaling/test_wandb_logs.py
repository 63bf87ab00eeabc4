"""W&B: a real offline run folder written by wandb itself, a corrupt one, and the online path via a fake Api."""

from __future__ import annotations

import pytest

from scaling import discover, wandb_logs
from scaling.run import LogError
from tests.scaling.fakes import FakeApi, FakeRun


@pytest.fixture(scope="module")
def offline_run(tmp_path_factory):
    wandb = pytest.importorskip("wandb")
    root = tmp_path_factory.mktemp("wb") / "outputs" / "qwen7b_grpo" / "default"
    root.mkdir(parents=True)
    run = wandb.init(
        mode="offline",
        dir=root,
        project="zerotir",
        name="qwen7b_grpo__default",
        config={"tir": {"template": "zero_tir", "max_tool_calls": 2, "model_name": "qwen7b"}},
        settings=wandb.Settings(silent=True, console="off", x_disable_stats=True),
    )
    for step in range(1, 6):
        run.log({"tir/acc": 0.1 * step, "response_length/mean": 100.0 + step, "note": "text"}, step=step)
    run.log({"val-core/aime24/acc/mean@16": 0.25}, step=5)
    run.finish()
    wandb.teardown()  # stops wandb-core, which flushes the transaction log (finish alone may not, in-process)
    return root


def test_offline_folder_reads_history_config_and_identity(offline_run):
    folders = wandb_logs.offline_folders(offline_run)
    assert len(folders) == 1
    identity, config, _records = wandb_logs.read_offline(folders[0])
    assert identity["name"] == "qwen7b_grpo__default" and identity["project"] == "zerotir"
    assert config["tir"]["model_name"] == "qwen7b"
    table, _, _ = wandb_logs.offline_table(folders)
    assert table["tir/acc"].round(6).tolist() == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert table.loc[5, "val-core/aime24/acc/mean@16"] == 0.25
    assert "note" not in table.columns


def test_run_folder_with_only_wandb_is_a_run(offline_run):
    run = discover.read_run_dir(offline_run)
    assert (run.experiment, run.name) == ("qwen7b_grpo", "default")
    assert run.attributes["tool"] == "tool" and run.attributes["max_tool_calls"] == "2"
    assert len(run.table) == 5


def test_corrupt_transaction_log_names_the_file(offline_run, tmp_path):
    source = next(wandb_logs.offline_folders(offline_run)[0].glob("run-*.wandb"))
    broken = tmp_path / "offline-run-x"
    broken.mkdir()
    data = bytearray(source.read_bytes())
    data[200] ^= 0xFF
    (broken / source.name).write_bytes(bytes(data))
    with pytest.raises(LogError, match=f"{broken / source.name}: checksum mismatch"):
        wandb_logs.read_offline(broken)


def test_not_a_wandb_file_is_named(tmp_path):
    folder = tmp_path / "offline-run-y"
    folder.mkdir()
    (folder / "run-abc.wandb").write_bytes(b"hello world, not a log")
    with pytest.raises(LogError, match="run-abc.wandb: not a W&B transaction log"):
        wandb_logs.read_offline(folder)


def test_online_runs_through_an_api_like_object():
    rows = [{"_step": s, "tir/acc": 0.1 * s, "_runtime": 3.0, "media": {"_type": "image"}} for s in (1, 2, 3)]
    rows.append({"_runtime": 4.0})  # a row without a step (system metrics) is ignored
    api = FakeApi(
        {
            "me/zerotir": [
                FakeRun(
                    "id1", "qwen7b_zerorl_grpo__default", {"tir": {"template": "zero_v2", "max_tool_calls": 0}}, rows
                ),
                FakeRun("id2", "empty__default", {}, []),
            ]
        }
    )
    got = list(wandb_logs.online_runs(api, "me/zerotir", {"config.tir.model_name": "qwen7b"}))
    assert api.calls == [("me/zerotir", {"config.tir.model_name": "qwen7b"})]
    assert len(got) == 1  # the run with no history is skipped with a warning
    table, identity, config = got[0]
    run = discover.run_from_wandb(table, identity, config, "wandb:me/zerotir/id1")
    assert (run.experiment, run.name) == ("qwen7b_zerorl_grpo", "default")
    assert run.attributes["tool"] == "no tool"
    assert list(table.columns) == ["tir/acc"] and table["tir/acc"].round(6).tolist() == [0.1, 0.2, 0.3]
