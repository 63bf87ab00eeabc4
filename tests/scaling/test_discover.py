"""Run identity and comparison attributes from Hydra configs and run paths; finding runs under a root."""

from __future__ import annotations

from pathlib import Path

import pytest

from scaling import discover
from tests.scaling.runs import law_run, write_launch

REPO = Path(__file__).resolve().parents[2]

NAMES = [
    ("tool-7b-grpo", "qwen7b_grpo", "default", {"model": "qwen7b", "algorithm": "grpo", "tool": "tool"}),
    ("no-tool-baseline", "qwen7b_zerorl_grpo", "default", {"model": "qwen7b", "algorithm": "grpo", "tool": "no tool"}),
    ("reinforce-pp-not-ppo", "qwen7b_reinforce_pp", "default", {"model": "qwen7b", "algorithm": "reinforce_pp"}),
    ("smoke-model-size", "qwen0.5b_grpo_smoke", "default", {"model": "qwen0.5b", "algorithm": "grpo"}),
    ("sweep-calls", "max_calls_sweep", "tir.rollout.max_tool_calls=4", {"max_tool_calls": "4", "tool": "tool"}),
    ("sweep-calls-old-key", "max_calls_sweep", "tir.max_tool_calls=4", {"max_tool_calls": "4", "tool": "tool"}),
    ("rollout-variant", "qwen7b_grpo", "rollout@tir.rollout=zero_v2", {"tool": "no tool"}),
    ("sweep-zero-calls", "max_calls_sweep", "tir.max_tool_calls=0", {"max_tool_calls": "0", "tool": "no tool"}),
    ("model-sweep", "model_size_sweep", "model=qwen3b", {"model": "qwen3b"}),
    ("two-overrides", "qwen7b_grpo", "algorithm=ppo,tir.template=zero_v2", {"algorithm": "ppo", "tool": "no tool"}),
    ("synthetic-prefix", "synthetic_qwen1.5b_grpo", "default", {"model": "qwen1.5b", "algorithm": "grpo"}),
]


@pytest.mark.parametrize("exp,run,expected", [r[1:] for r in NAMES], ids=[r[0] for r in NAMES])
def test_attributes_from_names(exp, run, expected):
    got = discover.attributes_from_names(exp, run)
    assert {k: got.get(k) for k in expected} == expected


CONFIGS = [
    ("tool", {"tir": {"template": "zero_tir", "max_tool_calls": 2}}, {"tool": "tool", "max_tool_calls": "2"}),
    (
        "rollout-node",
        {"tir": {"rollout": {"template": "zero_v2", "max_tool_calls": 0}}},
        {"tool": "no tool", "max_tool_calls": "0"},
    ),
    ("zero-v2-is-no-tool", {"tir": {"template": "zero_v2", "max_tool_calls": 2}}, {"tool": "no tool"}),
    ("zero-calls-is-no-tool", {"tir": {"template": "zero_tir", "max_tool_calls": 0}}, {"tool": "no tool"}),
    ("names", {"tir": {"model_name": "qwen32b", "algorithm_name": "ppo"}}, {"model": "qwen32b", "algorithm": "ppo"}),
    ("unresolved-interpolation-ignored", {"tir": {"model_name": "${oops}"}}, {"model": None}),
    ("no-tir-section", {"trainer": {}}, {"tool": None}),
]


@pytest.mark.parametrize("config,expected", [r[1:] for r in CONFIGS], ids=[r[0] for r in CONFIGS])
def test_attributes_from_config(config, expected):
    got = discover.attributes_from_config(config)
    assert {k: got.get(k) for k in expected} == expected


def test_hydra_config_overrides_the_path(tmp_path):
    run = law_run(tmp_path / "qwen7b_grpo" / "default", range(1, 10), tool=False)  # config says zero_v2
    assert discover.read_run_dir(run).attributes["tool"] == "no tool"


def test_find_under_a_root(tmp_path):
    law_run(tmp_path / "outputs" / "a" / "default", range(1, 5))
    write_launch(tmp_path / "outputs" / "b" / "x=1", "20260101-000000", [(1, {"v": 1.0})])
    ev = tmp_path / "outputs" / "eval" / "e1"
    ev.mkdir(parents=True)
    (ev / "accuracy_vs_step.json").write_text("[]")
    (ev / "accuracy_vs_step.csv").write_text("")  # the .json twin wins
    (tmp_path / "outputs" / "eval" / "e2").mkdir()
    (tmp_path / "outputs" / "eval" / "e2" / "accuracy_vs_step.csv").write_text("step\n")
    runs, evals = discover.find_under(tmp_path / "outputs")
    assert [p.relative_to(tmp_path / "outputs").as_posix() for p in runs] == ["a/default", "b/x=1"]
    assert [p.relative_to(tmp_path / "outputs").as_posix() for p in evals] == [
        "eval/e1/accuracy_vs_step.json",
        "eval/e2/accuracy_vs_step.csv",
    ]


@pytest.mark.parametrize(
    "rel,identity",
    [
        ("qwen7b_grpo/default/metrics/20260101-000000.jsonl", ("qwen7b_grpo", "default")),
        ("logs/x.jsonl", ("logs", "x")),
    ],
    ids=["launch-file-in-run-folder", "loose-file"],
)
def test_a_single_jsonl_file_is_a_run_named_by_its_path(tmp_path, rel, identity):
    path = tmp_path / rel
    path.parent.mkdir(parents=True)
    path.write_text('{"step": 1, "data": {"tir/acc": 0.5}}\n')
    (run,) = discover.load([path], [])
    assert (run.experiment, run.name) == identity


# Issue 25: a run's identity and attributes come from what its launch recorded, never from its folder's name.
MISLEADING = "tir.rollout.max_tool_calls=0"  # the folder says: no tool, in an experiment of qwen7b, GRPO


def _metrics(folder):
    write_launch(folder, "20260101-000000", [(s, {"tir/acc": 0.1 * s}) for s in range(1, 6)])
    return folder


def _yaml(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_a_folder_whose_name_misleads_keeps_its_recorded_identity_and_attributes(tmp_path):
    run = _metrics(tmp_path / "outputs" / "qwen7b_zerorl_grpo" / MISLEADING)
    _yaml(
        run / "hydra" / ".hydra" / "config.yaml",
        "tir:\n  experiment: qwen1.5b_ppo\n  run_name: tir.seed=3\n  seed: 3\n  model_name: qwen1.5b\n"
        "  algorithm_name: ppo\n  rollout:\n    template: zero_tir\n    max_tool_calls: 4\n",
    )
    (loaded,) = discover.load([run], [])
    assert (loaded.experiment, loaded.name) == ("qwen1.5b_ppo", "tir.seed=3")
    assert loaded.attributes == {
        "model": "qwen1.5b",
        "algorithm": "ppo",
        "template": "zero_tir",
        "max_tool_calls": "4",
        "seed": "3",
        "tool": "tool",
    }
    assert loaded.notes == []  # nothing came from the path


def _launch_records(run_folder, *overrides):
    """A launch's records exactly as the launcher writes them: Hydra's three files, taken before the config is
    resolved (recipes/zerotir/__main__.py), then run.json and hydra/.hydra/*.yaml (runs.record_run, record_hydra)."""
    from hydra.core.hydra_config import HydraConfig

    from recipes.zerotir import __main__ as entry
    from recipes.zerotir import launch, runs
    from tests.recipes.compose import compose_raw

    cfg = compose_raw(*overrides)
    records = entry.hydra_records(cfg, HydraConfig.get())
    cfg = launch.finalize(cfg)
    name = cfg.tir.run_name
    cfg.tir.run_dir = str(run_folder)
    runs.record_run(cfg, list(overrides))
    runs.record_hydra(cfg, records)
    return name


PATH_OVERRIDES = ("+experiment=qwen7b_grpo", "actor_rollout_ref.model.path=/data/models/Qwen2.5-7B/", "tir.seed=3")
ESCAPED = "actor_rollout_ref.model.path=%2Fdata%2Fmodels%2FQwen2.5-7B%2F,tir.seed=3"


@pytest.mark.parametrize("removed", [(), ("run.json",), ("run.json", "hydra/.hydra/hydra.yaml")])
def test_a_launch_with_a_path_override_is_named_from_its_records_in_any_folder(tmp_path, removed):
    """The launcher's own records, in a folder renamed after the launch: the name and attributes survive, from
    run.json, else Hydra's hydra.yaml, else (no record of the run name left) the folder, with a note."""
    run = tmp_path / "outputs" / "renamed" / "copy"
    assert _launch_records(run, *PATH_OVERRIDES) == ESCAPED
    for rel in removed:
        (run / rel).unlink()
    (loaded,) = discover.load([_metrics(run)], [])
    expected = {"model": "qwen7b", "algorithm": "grpo", "template": "zero_tir", "max_tool_calls": "2", "seed": "3"}
    assert {k: loaded.attributes.get(k) for k in expected} == expected and loaded.attributes["tool"] == "tool"
    assert loaded.experiment == "qwen7b_grpo"  # run.json, hydra.yaml's choice, else overrides.yaml's +experiment
    if len(removed) < 2:
        assert loaded.name == ESCAPED and loaded.notes == []
    else:
        assert loaded.name == "copy"
        assert loaded.notes == ["the records name no run: 'copy' read from the path"]


def test_a_run_nested_by_a_path_before_names_escaped_it_keeps_its_identity(tmp_path):
    """Before commit 96cf67c a path in an override nested the run folder (`.../model.path=/data/models/Qwen2.5-7B/`),
    and the analysis named the run `models/Qwen2.5-7B` with no model or algorithm; Hydra's records still name it."""
    root = tmp_path / "outputs"
    run = _metrics(root / "qwen7b_grpo" / "actor_rollout_ref.model.path=" / "data" / "models" / "Qwen2.5-7B")
    _yaml(
        run / "hydra" / ".hydra" / "config.yaml",
        "tir:\n  experiment: ${zerotir_experiment:}\n  run_name: ${zerotir_run_name:${hydra:job.override_dirname}}\n"
        "  model_name: qwen7b\n  algorithm_name: grpo\n  seed: 42\n  rollout:\n    template: zero_tir\n"
        "    max_tool_calls: 2\n",
    )
    _yaml(
        run / "hydra" / ".hydra" / "hydra.yaml",
        "hydra:\n  runtime:\n    choices:\n      experiment: qwen7b_grpo\n      model: qwen7b\n"
        "  job:\n    override_dirname: actor_rollout_ref.model.path=/data/models/Qwen2.5-7B/\n",
    )
    (run / "run.json").write_text('{"overrides": ["actor_rollout_ref.model.path=/data/models/Qwen2.5-7B/"]}')
    found, _ = discover.find_under(root)
    (loaded,) = discover.load(found, [])
    assert (loaded.experiment, loaded.name) == (
        "qwen7b_grpo",
        "actor_rollout_ref.model.path=%2Fdata%2Fmodels%2FQwen2.5-7B%2F",
    )
    assert loaded.attributes["model"] == "qwen7b" and loaded.attributes["algorithm"] == "grpo"


def test_a_copied_run_is_named_by_its_overrides_not_its_folder():
    """examples/logs/real/paper_mini keeps each run as config.yaml, overrides.yaml and run.json beside metrics/, in a
    folder named `seed=2`: the experiment is the `+experiment` override, the run name Hydra's from run.json."""
    run = REPO / "examples" / "logs" / "real" / "paper_mini" / "runs" / "cpu_mini_no_tool" / "seed=2"
    (loaded,) = discover.load([run], [])
    assert (loaded.experiment, loaded.name) == ("cpu_mini_no_tool", "tir.seed=2")
    assert loaded.attributes["seed"] == "2" and loaded.attributes["model"] == "qwen0.5b"
    assert not any("from the path" in n for n in loaded.notes)


def test_runs_that_record_the_same_identity_are_told_apart_by_their_paths():
    """Both runs of examples/logs/real/cpu_learn were launched as cpu_learn/default; one folder was renamed later."""
    folder = REPO / "examples" / "logs" / "real" / "cpu_learn"
    runs = discover.load([folder / "default", folder / "lr2e-5_first5"], [])
    assert [r.run_id for r in runs] == ["cpu_learn/default (default)", "cpu_learn/default (lr2e-5_first5)"]
    assert (
        runs[1].notes[0]
        == f"{folder / 'default'} records the same run, cpu_learn/default: this one is told apart by its path"
    )


def test_a_run_that_recorded_nothing_is_read_from_its_path_with_a_note(tmp_path):
    run = _metrics(tmp_path / "qwen7b_zerorl_grpo" / "tir.rollout.max_tool_calls=0")
    (loaded,) = discover.load([run], [])
    assert (loaded.experiment, loaded.name) == ("qwen7b_zerorl_grpo", "tir.rollout.max_tool_calls=0")
    assert loaded.attributes["tool"] == "no tool" and loaded.attributes["model"] == "qwen7b"
    assert loaded.notes[0].startswith("no recorded config (hydra/.hydra/config.yaml, run.json): experiment, run name")


def test_an_unreadable_record_is_a_note_not_a_crash(tmp_path):
    run = _metrics(tmp_path / "qwen7b_grpo" / "default")
    _yaml(run / "hydra" / ".hydra" / "config.yaml", "tir: [unclosed\n")
    (run / "run.json").write_text('{"experiment": "qwen7b_grpo", "run_name": "default"')
    (loaded,) = discover.load([run], [])
    assert loaded.notes[0].startswith("config.yaml: unreadable (")
    assert loaded.notes[1].startswith("run.json: unreadable (")


@pytest.mark.parametrize("dirname", [None, "", "a=1,b=/x/y/", "x=50%/y", "lr=1e-05,data.train_batch_size=4"])
def test_the_run_name_from_override_dirname_is_the_launchers(dirname):
    from recipes.zerotir import launch

    assert discover.folder_name(dirname) == launch.run_name(dirname)
