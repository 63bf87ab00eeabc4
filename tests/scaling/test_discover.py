"""Run identity and comparison attributes from Hydra configs and run paths; finding runs under a root."""

from __future__ import annotations

import pytest

from scaling import discover
from tests.scaling.runs import law_run, write_launch

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
