"""PPO's critic under the configured attention (recipes/zerotir/value_model.py), on a tiny random-weight Llama saved
to disk (SmolLM2's architecture, no download): verl 0.9.1's own loader fails on this machine (no flash-attn), the
installed one loads a one-label token classifier with sdpa that runs forward; flash-attn configs still go to verl's."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from transformers import AutoConfig, LlamaConfig, LlamaForCausalLM

from recipes.zerotir import value_model

HAS_FLASH = importlib.util.find_spec("flash_attn") is not None


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny_llama")
    config = LlamaConfig(hidden_size=32, intermediate_size=64, num_attention_heads=4, num_key_value_heads=2,
                         num_hidden_layers=2, vocab_size=128, max_position_embeddings=64)  # fmt: skip
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(path)
    return str(path)


def critic_config(path: str, attention: str):
    """The critic's hf_config as verl 0.9.1 builds it (HFModelConfig, then FSDPEngine._build_module)."""
    config = AutoConfig.from_pretrained(path, attn_implementation=attention)
    config.num_labels = 1
    config.classifier_dropout = 0.0
    return config


@pytest.fixture
def installed(monkeypatch):
    from verl.utils import model as verl_model

    monkeypatch.setattr(verl_model, "load_valuehead_model", verl_model.load_valuehead_model)  # restored after
    value_model.install()
    return verl_model


@pytest.mark.skipif(HAS_FLASH, reason="verl's loader only fails where flash-attn is missing")
def test_verls_own_loader_asks_for_flash_attn_whatever_the_config_says(tiny_llama):
    """The bug the shim is for (verl issue #5210): once this fails, verl loads sdpa critics itself; drop the shim."""
    from verl.utils.model import load_valuehead_model

    with pytest.raises(RuntimeError, match="not a value head model"):
        load_valuehead_model(tiny_llama, torch.float32, critic_config(tiny_llama, "sdpa"), False)


def test_installed_loader_builds_a_one_label_critic_with_the_configured_attention(installed, tiny_llama):
    critic = installed.load_valuehead_model(tiny_llama, torch.float32, critic_config(tiny_llama, "sdpa"), False)

    assert type(critic).__name__ == "LlamaForTokenClassification"
    assert critic.config._attn_implementation == "sdpa"
    ids = torch.randint(0, 128, (2, 7))
    values = critic(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
    assert values.shape == (2, 7, 1) and torch.isfinite(values).all()
    # the backbone is the saved model's, not a fresh init: its embeddings are the checkpoint's
    base = LlamaForCausalLM.from_pretrained(tiny_llama)
    assert torch.equal(critic.model.embed_tokens.weight, base.model.embed_tokens.weight)


def test_install_twice_wraps_once(installed):
    first = installed.load_valuehead_model
    value_model.install()
    assert installed.load_valuehead_model is first


@pytest.mark.parametrize("attention", [value_model.FLASH, None])
def test_flash_attn_or_no_choice_goes_to_verls_loader_unchanged(attention):
    config = LlamaConfig(num_hidden_layers=1)
    config._attn_implementation = attention
    calls = []
    out = value_model.load_valuehead_model(
        "m", torch.bfloat16, config, True, verl_loader=lambda *args: calls.append(args) or "verl's"
    )
    assert out == "verl's" and calls == [("m", torch.bfloat16, config, True)]


def test_a_model_without_a_token_classifier_is_refused_with_the_key(monkeypatch):
    class OddConfig(LlamaConfig):
        model_type = "odd"

    config = OddConfig(num_hidden_layers=1)
    config._attn_implementation = "sdpa"
    with pytest.raises(
        ValueError, match=r"critic m \(OddConfig\).*critic\.model\.override_config\.attn_implementation"
    ):
        value_model.load_valuehead_model("m", torch.float32, config, False, verl_loader=None)
