"""Evaluation on GPUs with faked machines: the backend (vllm where CUDA and vLLM are both present), the tensor
parallel size from the visible GPUs and the model's size, data parallelism over the GPUs left; explicit keys win."""

import pytest

from evaluation import config as eval_config
from evaluation.config import EvalConfig, Machine, default_backend, tensor_parallel_for, vllm_engine_kwargs
from tests.evaluation.test_evaluate import compose_eval

MODELS = {"qwen0.5b": "Qwen/Qwen2.5-0.5B", "qwen7b": "Qwen/Qwen2.5-7B", "qwen14b": "Qwen/Qwen2.5-14B",
          "qwen32b": "Qwen/Qwen2.5-32B"}  # fmt: skip


def engine(model: str, machine: Machine, backend: str = "vllm", **vllm) -> dict:
    """The engine arguments of base.yaml's vllm node (gpu_memory_utilization 0.85) on a faked machine."""
    config = EvalConfig.from_mapping(
        {"model": model, "backend": backend, "vllm": {"gpu_memory_utilization": 0.85, **vllm}}
    )
    kwargs = vllm_engine_kwargs(config, model, machine)
    return {k: v for k, v in kwargs.items() if k in ("tensor_parallel_size", "data_parallel_size")}


@pytest.mark.parametrize(
    "group, gpus, memory_gb, expected",
    [
        ("qwen7b", 1, 80, {"tensor_parallel_size": 1}),  # a 7B fits one 80 GB GPU, though training uses TP 2
        ("qwen7b", 8, 80, {"tensor_parallel_size": 1, "data_parallel_size": 8}),
        ("qwen14b", 8, 80, {"tensor_parallel_size": 1, "data_parallel_size": 8}),  # training: TP 4
        ("qwen32b", 8, 80, {"tensor_parallel_size": 2, "data_parallel_size": 4}),  # training: TP 8
        ("qwen32b", 8, 40, {"tensor_parallel_size": 4, "data_parallel_size": 2}),  # smaller GPUs: more TP
        ("qwen32b", 1, 80, {"tensor_parallel_size": 1}),  # never more than the visible GPUs (vLLM says if it fits)
        ("qwen32b", 2, 24, {"tensor_parallel_size": 2}),
        ("qwen0.5b", 4, 80, {"tensor_parallel_size": 1, "data_parallel_size": 4}),
        ("qwen7b", 0, 80, {}),  # no GPU (vLLM's CPU build): vLLM's own defaults
    ],
)
def test_parallelism_from_the_visible_gpus_and_the_model_size(group, gpus, memory_gb, expected):
    assert engine(MODELS[group], Machine(gpus, vllm=True, memory_gb=memory_gb)) == expected


def test_the_offline_engine_gets_no_data_parallelism():
    """vLLM's LLM refuses data_parallel_size > 1 in one process (vllm/entrypoints/llm.py)."""
    assert engine(MODELS["qwen7b"], Machine(8, True), backend="vllm_offline") == {"tensor_parallel_size": 1}


def test_explicit_parallelism_wins():
    eight = Machine(8, True)
    assert engine(MODELS["qwen7b"], eight, tensor_parallel_size=2) == {
        "tensor_parallel_size": 2, "data_parallel_size": 4,
    }  # fmt: skip
    assert engine(MODELS["qwen7b"], eight, data_parallel_size=2) == {
        "tensor_parallel_size": 1, "data_parallel_size": 2,
    }  # fmt: skip
    assert engine(MODELS["qwen7b"], eight, tensor_parallel_size=8) == {"tensor_parallel_size": 8}


def test_a_local_folder_is_sized_by_its_weight_files(tmp_path):
    """No model group: the bytes on disk (sparse files here) stand for the weights."""
    eight = Machine(8, True)
    (tmp_path / "model-00001-of-00002.safetensors").open("wb").truncate(30 * 10**9)
    assert engine(str(tmp_path), eight) == {"tensor_parallel_size": 1, "data_parallel_size": 8}
    (tmp_path / "model-00002-of-00002.safetensors").open("wb").truncate(30 * 10**9)
    (tmp_path / "pytorch_model.bin").open("wb").truncate(60 * 10**9)  # the other format: not counted again
    assert engine(str(tmp_path), eight) == {"tensor_parallel_size": 2, "data_parallel_size": 4}


def test_an_unknown_size_leaves_vllms_defaults():
    assert engine("some/hub-model", Machine(8, True)) == {}


def test_tensor_parallel_is_a_power_of_two_within_the_gpus():
    assert tensor_parallel_for(65.0, gpus=6, memory_gb=24, utilization=0.85) == 4
    assert tensor_parallel_for(1.0, gpus=8, memory_gb=80, utilization=0.85) == 1


@pytest.mark.parametrize(
    "machine, backend",
    [(Machine(8, vllm=True), "vllm"), (Machine(8, vllm=False), "hf"), (Machine(0, vllm=True), "hf")],
)
def test_auto_backend_is_vllm_only_with_cuda_and_vllm(machine, backend):
    assert default_backend(machine) == backend


@pytest.mark.parametrize("gpus, importable, backend", [(2, True, "vllm"), (2, False, "hf"), (0, True, "hf")])
def test_the_default_backend_follows_the_machine(monkeypatch, gpus, importable, backend):
    monkeypatch.setattr(eval_config, "_cuda_gpus", lambda: gpus)
    monkeypatch.setattr(eval_config, "_vllm_importable", lambda: importable)
    composed = EvalConfig.from_mapping(compose_eval("eval.model=m").eval)  # base.yaml: backend auto
    assert composed.backend == backend
    assert composed.in_flight() == (512 if backend == "vllm" else 64)
    assert EvalConfig.from_mapping({"model": "m", "backend": "hf"}).backend == "hf"  # an explicit backend wins
    assert EvalConfig.from_mapping({"model": "m", "backend": "vllm_offline"}).backend == "vllm_offline"


def test_a_config_built_directly_resolves_auto_too(monkeypatch):
    monkeypatch.setattr(eval_config, "_vllm_importable", lambda: True)
    monkeypatch.setattr(eval_config, "_cuda_gpus", lambda: 0)
    assert EvalConfig(model="m").backend == "hf"
    monkeypatch.setattr(eval_config, "_cuda_gpus", lambda: 1)
    assert EvalConfig(model="m").backend == "vllm"
    with pytest.raises(ValueError, match=r"eval.backend must be one of .* or auto"):
        EvalConfig.from_mapping({"model": "m", "backend": "tgi"})
