"""evaluate() in-process with the tiny Qwen2: outputs, resume pinning, checkpoint series, config errors."""

import json
import shutil

import pytest
from hydra import compose, initialize_config_dir

from evaluation import step_series as ckpt
from evaluation.backends.hf import HFBackend, ModelSource, load_hf
from evaluation.config import EvalConfig
from evaluation.evaluate import evaluate
from tests.fakes import REPO_ROOT, FakeExecutor
from tir_rollout import rollout_config


@pytest.fixture(scope="module")
def tiny_factory(tiny_qwen2_dir):
    """A backend factory that reuses one loaded tiny model (loading is tested once, in the first test)."""
    tokenizer, model = load_hf(ModelSource(str(tiny_qwen2_dir)), device="cpu", dtype="float32")
    return lambda config, path: HFBackend(tokenizer, model, config.temperature, config.top_p, config.concurrency)


def tiny_config(tmp_path, model, data_dir, **overrides):
    raw = {
        "model": str(model), "datasets": ["aime24"], "limit": 2, "n_samples": 2, "max_tool_calls": [0, 1],
        "response_length": 8, "concurrency": 8, "pass_k": [1, 2], "out_dir": str(tmp_path / "out"),
        "data_dir": str(data_dir), "hf": {"device": "cpu", "dtype": "float32"},
    }  # fmt: skip
    return EvalConfig.from_mapping({**raw, **overrides})


def test_a_run_writes_samples_summary_and_plot_and_a_rerun_loads_no_model(tmp_path, tiny_qwen2_dir, eval_data_dir):
    config = tiny_config(tmp_path, tiny_qwen2_dir, eval_data_dir, run_name="tiny")
    outcome = evaluate(config, execute=FakeExecutor().run_async)
    run_dir = tmp_path / "out" / "tiny"
    assert outcome.run_dir == run_dir and outcome.finished == 2 * 2 * 2
    assert {p.name for p in run_dir.iterdir()} >= {"samples.jsonl", "summary.json", "summary.md", "run.json"}
    assert (run_dir / "accuracy_vs_interactions.png").read_bytes()[:4] == b"\x89PNG"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert [(r["dataset"], r["max_tool_calls"], r["samples_per_problem"]) for r in summary["rows"]] == [
        ("aime24", 0, 2),
        ("aime24", 1, 2),
    ]
    assert summary["complete"] and summary["settings"]["response_length"] == 8

    def no_backend(*args):
        raise AssertionError("a finished run must not load the model")

    again = evaluate(config, backend_factory=no_backend)
    assert again.finished == 0 and json.loads((run_dir / "summary.json").read_text()) == summary


def test_resuming_with_other_sampling_settings_is_refused(tmp_path, tiny_qwen2_dir, eval_data_dir, tiny_factory):
    config = tiny_config(tmp_path, tiny_qwen2_dir, eval_data_dir, run_name="r")
    evaluate(config, backend_factory=tiny_factory, execute=FakeExecutor().run_async)
    with pytest.raises(ValueError, match=r"run.json: .*eval.temperature: 1.0 on disk, 0.5 now.*eval.run_name"):
        evaluate(tiny_config(tmp_path, tiny_qwen2_dir, eval_data_dir, run_name="r", temperature=0.5))


OLD_RUN_JSON = {  # as written before eval shared the rollout node with training (keys max_new_tokens, apply_...)
    "template": "zero_tir", "apply_chat_template": None, "temperature": 1.0, "top_p": 1.0, "max_new_tokens": 8,
    "max_output_tokens": 256, "base_stops": ["User:", "Human:", "Assistant:", "</answer>"],
}  # fmt: skip


def test_a_run_json_with_the_old_key_names_still_resumes(tmp_path, tiny_qwen2_dir, eval_data_dir, tiny_factory):
    config = tiny_config(tmp_path, tiny_qwen2_dir, eval_data_dir, run_name="old")
    first = evaluate(config, backend_factory=tiny_factory, execute=FakeExecutor().run_async)
    run_json = tmp_path / "out" / "old" / "run.json"
    run_json.write_text(json.dumps({"model": str(tiny_qwen2_dir), **OLD_RUN_JSON}))

    def no_backend(*args):
        raise AssertionError("every sample is on disk: nothing to generate")

    again = evaluate(config, backend_factory=no_backend)
    assert first.finished == 8 and again.finished == 0
    with pytest.raises(ValueError, match=r"eval.response_length: 8 on disk, 16 now"):
        evaluate(tiny_config(tmp_path, tiny_qwen2_dir, eval_data_dir, run_name="old", response_length=16))


def test_a_run_json_that_forced_the_chat_template_is_refused_naming_the_key(tmp_path, tiny_qwen2_dir, eval_data_dir):
    config = tiny_config(tmp_path, tiny_qwen2_dir, eval_data_dir, run_name="forced")
    (tmp_path / "out" / "forced").mkdir(parents=True)
    forced = {"model": str(tiny_qwen2_dir), **OLD_RUN_JSON, "apply_chat_template": True}
    (tmp_path / "out" / "forced" / "run.json").write_text(json.dumps(forced))
    (tmp_path / "out" / "forced" / "samples.jsonl").write_text("{}\n")  # samples beside it: run.json pins them
    with pytest.raises(ValueError, match=r"eval.apply_chat_template=True for template 'zero_tir'; that key is gone"):
        evaluate(config, backend_factory=lambda *a: None)


def make_checkpoint(root, step, model_dir, merged=True):
    actor = root / "outputs" / "exp" / "run1" / "checkpoints" / f"global_step_{step}" / "actor"
    (actor / "huggingface").mkdir(parents=True)
    for f in model_dir.iterdir():
        if merged or not f.name.endswith(".safetensors"):
            shutil.copy(f, actor / "huggingface" / f.name)
    return actor.parent


def test_a_checkpoint_series_writes_accuracy_vs_step(tmp_path, tiny_qwen2_dir, eval_data_dir, tiny_factory):
    steps = [make_checkpoint(tmp_path, s, tiny_qwen2_dir) for s in (20, 10)]
    config = tiny_config(tmp_path, None, eval_data_dir, checkpoints=[str(p) for p in steps], max_tool_calls=[1])
    assert config.resolved_run_name() == "eval__exp__run1"
    models = []

    def factory(config, path):
        models.append(path)
        return tiny_factory(config, path)

    outcome = evaluate(config, backend_factory=factory, execute=FakeExecutor().run_async)
    assert models == [str(steps[1] / "actor" / "huggingface"), str(steps[0] / "actor" / "huggingface")]
    run_dir = tmp_path / "out" / "eval__exp__run1"
    rows = json.loads((run_dir / "accuracy_vs_step.json").read_text())["rows"]
    assert [(r["step"], r["dataset"], r["max_tool_calls"], r["k"]) for r in rows] == [
        (10, "aime24", 1, 2),
        (20, "aime24", 1, 2),
    ]
    assert all(0.0 <= r["avg_at_k"] <= 1.0 for r in rows) and rows == outcome.step_rows
    csv_lines = (run_dir / "accuracy_vs_step.csv").read_text().splitlines()
    assert csv_lines[0].split(",") == list(ckpt.STEP_FIELDS) and len(csv_lines) == 3
    assert (run_dir / "step_10" / "samples.jsonl").exists() and (run_dir / "accuracy_vs_step.png").exists()


def test_a_checkpoint_without_merged_weights_says_how_to_merge(tmp_path, tiny_qwen2_dir):
    shards_only = make_checkpoint(tmp_path, 30, tiny_qwen2_dir, merged=False)
    with pytest.raises(ValueError, match=r"only verl shards; merge them first: python -m verl.model_merger merge"):
        ckpt.hf_model_dir(shards_only)


STEP_CASES = [
    ("outputs/e/r/checkpoints/global_step_50/actor", 50),
    ("global_step_7", 7),
    ("a/global_step_1/b/global_step_200", 200),
]


@pytest.mark.parametrize(("path", "step"), STEP_CASES, ids=["verl-layout", "bare", "last-wins"])
def test_step_is_parsed_from_the_path(path, step):
    assert ckpt.parse_step(path) == step


def test_steps_are_ordered_and_duplicates_refused():
    assert [s for s, _ in ckpt.order(["x/global_step_20", "x/global_step_3"])] == [3, 20]
    with pytest.raises(ValueError, match="both step 5"):
        ckpt.order(["a/global_step_5", "b/global_step_5"])
    with pytest.raises(ValueError, match="no global_step_<N>"):
        ckpt.order(["a/final"])


def compose_eval(*overrides):
    rollout_config.register()  # the schema conf/rollout/*.yaml start from (recipes.zerotir registers it too)
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base=None):
        return compose(config_name="eval", overrides=list(overrides))


@pytest.mark.parametrize("preset", ["paper", "sweep", "demo"])
def test_every_preset_composes_into_a_valid_config(preset):
    config = EvalConfig.from_mapping(compose_eval(f"eval={preset}", "eval.model=some/dir").eval)
    assert config.name == preset and config.rollout.sandbox.backend == "local"


def test_the_sweep_preset_sweeps_powers_of_two_at_the_paper_protocol():
    config = EvalConfig.from_mapping(compose_eval("eval=sweep", "eval.model=m").eval)
    assert (config.max_tool_calls, config.n_samples, config.temperature, config.top_p) == (
        (1, 2, 4, 8, 16),
        32,
        1.0,
        1.0,
    )


CONFIG_ERRORS = [
    ({"modle": "x"}, "eval.modle: unknown key"),
    ({"model": None}, "eval.model: required"),
    ({"backend": "tgi"}, "eval.backend must be one of"),
    ({"rollout": {"template": "nope"}}, "eval.rollout.template must be one of"),
    ({"rollout": {"max_output_tokens": 0}}, "eval.rollout.max_output_tokens must be an integer >= 1"),
    ({"rollout": {"sandbox": {"timeout_s": -1}}}, "eval.rollout.sandbox.timeout_s must be a positive number"),
    ({"max_tool_calls": [2, -1]}, r"eval.max_tool_calls: a list of integers >= 0 is expected \(got \[2, -1\]\)"),
    ({"max_new_tokens": 64}, "eval.max_new_tokens: no longer a key; use eval.response_length"),
    ({"rollout": {"max_tool_call": 4}}, "eval.rollout.max_tool_call: unknown rollout key"),
    ({"apply_chat_template": True}, "eval.apply_chat_template: no longer a key; use nothing: it follows"),
    ({"datasets": ["aime2099"]}, "eval.datasets: unknown dataset 'aime2099'"),
    ({"top_p": 0}, "eval.top_p must be in"),
    ({"max_tool_calls": []}, "eval.max_tool_calls must be a non-empty list"),
    ({"n_samples": 0}, "eval.n_samples: an integer >= 1 is expected \\(got 0\\)"),
]


@pytest.mark.parametrize(
    ("override", "message"), CONFIG_ERRORS, ids=[m.split(":")[0].split()[0] for _, m in CONFIG_ERRORS]
)
def test_config_errors_name_the_key(override, message):
    raw = {**compose_eval("eval=paper", "eval.model=m").eval, **override}
    with pytest.raises(ValueError, match=message):
        EvalConfig.from_mapping(raw)


def test_wandb_logging_runs_when_enabled(tmp_path, tiny_qwen2_dir, eval_data_dir, tiny_factory, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "disabled")  # the ecosystem's own switch: no network, no files
    config = tiny_config(tmp_path, tiny_qwen2_dir, eval_data_dir, run_name="wb", wandb={"enabled": True})
    outcome = evaluate(config, backend_factory=tiny_factory, execute=FakeExecutor().run_async)
    assert outcome.finished == 8 and (tmp_path / "out" / "wb" / "summary.json").exists()


def test_a_model_reads_its_samples_once_plans_once_and_never_reparses_the_rollout(
    tmp_path, tiny_qwen2_dir, eval_data_dir, tiny_factory, monkeypatch
):
    """Before: samples.jsonl read three times, the plan made twice, the rollout node parsed again in every
    trajectory's stop machine; now one read, one plan, one stop-machine config per sweep point."""
    from evaluation import evaluate as evaluate_module
    from evaluation.samples import SampleStore

    config = tiny_config(tmp_path, tiny_qwen2_dir, eval_data_dir, run_name="once")  # the one parse happens here
    counts = {"load": 0, "plan": 0, "parse": 0, "machine": 0}

    def counted(name, function):
        def wrapper(*args, **kwargs):
            counts[name] += 1
            return function(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(SampleStore, "load", counted("load", SampleStore.load))
    monkeypatch.setattr(evaluate_module, "plan", counted("plan", evaluate_module.plan))
    monkeypatch.setattr(rollout_config, "parse", counted("parse", rollout_config.parse))
    monkeypatch.setattr(EvalConfig, "machine_config", counted("machine", EvalConfig.machine_config))
    outcome = evaluate(config, backend_factory=tiny_factory, execute=FakeExecutor().run_async)
    assert outcome.finished == 2 * 2 * 2  # 2 problems x 2 samples x 2 sweep points
    assert counts == {"load": 1, "plan": 1, "parse": 0, "machine": 2}
