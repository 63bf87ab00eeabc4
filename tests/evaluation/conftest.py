import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def qwen2_tokenizer():
    from tests.fakes import load_qwen2_tokenizer

    return load_qwen2_tokenizer()


@pytest.fixture(scope="session")
def tiny_qwen2_dir(tmp_path_factory, qwen2_tokenizer):
    """A random-weight 2-layer Qwen2 saved with the real tokenizer, as a local model directory."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=len(qwen2_tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,  # head_dim 16
        num_key_value_heads=2,
        max_position_embeddings=2048,
        eos_token_id=qwen2_tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    path = tmp_path_factory.mktemp("tiny_qwen2")
    Qwen2ForCausalLM(config).save_pretrained(path)
    qwen2_tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def eval_data_dir(tmp_path_factory):
    """One data_prep output folder for the session (aime24 is built into it on first use)."""
    return tmp_path_factory.mktemp("data")
