import shutil

import pytest

from recipes.zerotir import launch


@pytest.fixture(scope="session")
def tiny_qwen2_dir(tmp_path_factory):
    """A local Qwen2 model folder (config + the vendored tokenizer, no weights): verl's critic config loads
    the model's config and tokenizer when validated, which must not reach the Hub in tests."""
    from transformers import Qwen2Config

    path = tmp_path_factory.mktemp("tiny_qwen2")
    config = Qwen2Config(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        vocab_size=151936,
    )
    config.architectures = ["Qwen2ForCausalLM"]
    config.save_pretrained(path)
    for f in (launch.REPO_ROOT / "assets/tokenizers/qwen2").iterdir():
        shutil.copy(f, path)
    return path
