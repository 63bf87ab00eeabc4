"""Bad input to evaluation (issue 25): typed settings, an output folder that cannot be written, a corrupt run.json,
run.json only once a sample exists, and a resume pinned to the seed, the sandbox limits and the dtype
(docs/eval.md, "Bad input")."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evaluation.backends.hf import HFBackend, ModelSource, load_hf
from evaluation.config import EvalConfig
from evaluation.evaluate import evaluate
from evaluation.fingerprint import ADDED_KEYS, check_run_json, sampling_fingerprint, write_run_json
from tests.fakes import REPO_ROOT, FakeExecutor


def raw(tmp_path, **overrides):
    return {"model": "m", "datasets": ["aime24"], "out_dir": str(tmp_path / "out"), "backend": "hf", **overrides}


TYPES = [
    ({"n_samples": "abc"}, "eval.n_samples: an integer >= 1 is expected (got 'abc')"),
    ({"n_samples": True}, "eval.n_samples: an integer >= 1 is expected (got True)"),
    ({"response_length": 0}, "eval.response_length: an integer >= 1 is expected (got 0)"),
    ({"seed": 1.5}, "eval.seed: an integer is expected (got 1.5)"),
    ({"limit": "all"}, "eval.limit: an integer >= 1 or null is expected (got 'all')"),
    ({"concurrency": 0}, "eval.concurrency: an integer >= 1 or null is expected (got 0)"),
    ({"transcripts": -1}, "eval.transcripts: an integer >= 0 is expected (got -1)"),
    ({"temperature": "hot"}, "eval.temperature: a number is expected (got 'hot')"),
    ({"top_p": float("nan")}, "eval.top_p: a number is expected (got nan)"),
    ({"pass_k": "x"}, "eval.pass_k: a list of integers >= 1 is expected (got ['x'])"),
    ({"max_tool_calls": [1, "two"]}, "eval.max_tool_calls: a list of integers >= 0 is expected (got [1, 'two'])"),
    ({"datasets": [1]}, "eval.datasets: a list of names or paths is expected (got [1])"),
    ({"out_dir": ""}, "eval.out_dir: a non-empty string is expected (got '')"),
    ({"hf": "cpu"}, "eval.hf: a group of keys (eval.hf.<key>=...) is expected (got 'cpu')"),
]


@pytest.mark.parametrize(("override", "message"), TYPES, ids=[m.split(":")[0] for _, m in TYPES])
def test_a_value_of_the_wrong_type_is_refused_naming_its_key(tmp_path, override, message):
    with pytest.raises(ValueError) as err:
        EvalConfig.from_mapping(raw(tmp_path, **override))
    assert str(err.value) == message


def test_every_wrong_type_is_named_at_once_and_a_bare_list_value_is_one_entry(tmp_path):
    with pytest.raises(ValueError) as err:
        EvalConfig.from_mapping(raw(tmp_path, n_samples="abc", seed="x"))
    assert [line.split(":")[0] for line in str(err.value).splitlines()] == ["eval.n_samples", "eval.seed"]
    config = EvalConfig.from_mapping(raw(tmp_path, datasets="aime24", max_tool_calls=2))
    assert config.datasets == ("aime24",) and config.max_tool_calls == (2,)


def test_an_out_dir_that_is_a_file_or_cannot_be_written_is_refused_before_anything_loads(tmp_path, monkeypatch):
    blocker = tmp_path / "out"
    blocker.write_text("")
    with pytest.raises(ValueError, match=f"^eval.out_dir: {blocker} is a file, so {blocker / 'r'} cannot be made$"):
        evaluate(EvalConfig.from_mapping(raw(tmp_path, run_name="r")), backend_factory=None)
    monkeypatch.setattr("runs.atomic.os.access", lambda path, mode: Path(path) != tmp_path)  # root passes
    config = EvalConfig.from_mapping(raw(tmp_path, out_dir=str(tmp_path / "new"), run_name="r"))
    with pytest.raises(ValueError, match=f"^eval.out_dir: {tmp_path} cannot be written \\(permission denied\\)$"):
        evaluate(config, backend_factory=None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_corrupt_run_json_is_named(tmp_path):
    for text in ("{not json", "[1, 2]", "\xff"):
        (tmp_path / "run.json").write_bytes(text.encode("latin-1"))
        with pytest.raises(ValueError, match=f"^{tmp_path / 'run.json'}: not .*; it records the settings"):
            check_run_json(tmp_path, {"model": "m"})


def fingerprint(tmp_path, **overrides):
    return sampling_fingerprint(EvalConfig.from_mapping(raw(tmp_path, **overrides)), "m")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"seed": 7}, "eval.seed: 42 on disk, 7 now"),
        ({"rollout": {"sandbox": {"timeout_s": 5}}}, "eval.rollout.sandbox.timeout_s: 10 on disk, 5 now"),
        ({"rollout": {"sandbox": {"memory_mb": 1024}}}, "eval.rollout.sandbox.memory_mb: 4096 on disk, 1024 now"),
        ({"hf": {"dtype": "bfloat16"}}, "eval.hf.dtype (eval.vllm.dtype with vLLM): 'auto' on disk, 'bfloat16' now"),
    ],
)
def test_a_resume_must_match_the_seed_the_sandbox_limits_and_the_dtype(tmp_path, override, message):
    write_run_json(tmp_path, fingerprint(tmp_path))
    check_run_json(tmp_path, fingerprint(tmp_path))  # the same settings resume
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_run_json(tmp_path, fingerprint(tmp_path, **override))


def test_a_run_json_from_before_these_keys_still_resumes(tmp_path):
    old = {k: v for k, v in fingerprint(tmp_path).items() if k not in ADDED_KEYS}
    (tmp_path / "run.json").write_text(json.dumps(old))
    check_run_json(tmp_path, fingerprint(tmp_path, seed=7, hf={"dtype": "float32"}))  # not known then: not compared


@pytest.fixture(scope="module")
def tiny_factory(tiny_qwen2_dir):
    tokenizer, model = load_hf(ModelSource(str(tiny_qwen2_dir)), device="cpu", dtype="float32")
    return lambda config, path: HFBackend(tokenizer, model, config.temperature, config.top_p, config.in_flight())


def test_run_json_is_written_once_a_sample_is_saved_so_a_failed_command_pins_nothing(
    tmp_path, tiny_qwen2_dir, eval_data_dir, tiny_factory, monkeypatch
):
    settings = {
        "datasets": ["aime24"], "limit": 1, "n_samples": 1, "max_tool_calls": [0, 1], "response_length": 4,
        "pass_k": [1], "data_dir": str(eval_data_dir), "hf": {"device": "cpu", "dtype": "float32"}, "run_name": "r",
    }  # fmt: skip
    run_dir = tmp_path / "out" / "r"

    def typo(config, model):
        raise ValueError(f"eval.model: cannot load {model!r} from local files")

    with pytest.raises(ValueError, match="eval.model: cannot load"):
        evaluate(EvalConfig.from_mapping(raw(tmp_path, model=str(tmp_path / "typo"), **settings)), backend_factory=typo)
    assert not run_dir.exists()  # no run.json, not even the folder
    run_dir.mkdir(parents=True)  # a run.json an older version left after such a typo, with no sample beside it
    (run_dir / "run.json").write_text(json.dumps({"model": "a typo", "temperature": 0.1}))
    samples_when_written = []

    def watched(folder, fingerprint):
        samples_when_written.append(len((folder / "samples.jsonl").read_text().splitlines()))
        write_run_json(folder, fingerprint)

    monkeypatch.setattr("evaluation.fingerprint.write_run_json", watched)
    config = EvalConfig.from_mapping(raw(tmp_path, model=str(tiny_qwen2_dir), **settings))
    outcome = evaluate(config, backend_factory=tiny_factory, execute=FakeExecutor().run_async)
    assert outcome.finished == 2 and samples_when_written == [1]  # once, right after the first sample was saved
    saved = json.loads((run_dir / "run.json").read_text())
    assert saved["model"] == str(tiny_qwen2_dir) and saved["seed"] == 42 and saved["sandbox.timeout_s"] == 10
    assert saved["dtype"] == "float32"
    again = EvalConfig.from_mapping(raw(tmp_path, model=str(tiny_qwen2_dir), **settings | {"seed": 7}))
    with pytest.raises(ValueError, match="eval.seed: 42 on disk, 7 now"):
        evaluate(again, backend_factory=tiny_factory)


def run_eval(*args):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": ""}
    cmd = [sys.executable, "-m", "recipes.zerotir.eval", *args]
    return subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_the_cli_refuses_in_one_line_with_exit_1(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    out = run_eval("eval=demo", "eval.n_samples=abc", "eval.seed=x")
    assert out.returncode == 1 and out.stderr.splitlines() == [
        "zerotir eval: eval.n_samples: an integer >= 1 is expected (got 'abc')",
        "zerotir eval: eval.seed: an integer is expected (got 'x')",
    ]
    out = run_eval("eval=demo", f"eval.out_dir={blocker}", "eval.run_name=r")
    assert out.returncode == 1 and out.stderr.splitlines() == [
        f"zerotir eval: eval.out_dir: {blocker} is a file, so {blocker / 'r'} cannot be made"
    ]
