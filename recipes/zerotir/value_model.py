"""PPO's critic loaded with the attention the run configured, not always flash-attn.

verl 0.9.1 builds the critic with `verl.utils.model.load_valuehead_model`, which passes
`attn_implementation="flash_attention_2"` to `from_pretrained` on both of its paths, whatever
`critic.model.override_config.attn_implementation` says. Without the flash-attn package (every CPU run, and a GPU
install without the flash-attn wheel: `attention=sdpa`, or `attention=auto` where it is absent) the token-classification
load fails, the function falls through to its trl path, and the run dies at `critic_reset` with "is not a value head
model, please install trl" before step 1 (seen on CPU, docs/paper_mini.md; verl-project/verl issue #5210, open).

The configured attention is already in the critic's hf_config: verl's `HFModelConfig` builds it with
`AutoConfig.from_pretrained(..., attn_implementation=override_config.attn_implementation)`. So this loader reads it
there and loads the same `AutoModelForTokenClassification` verl's first path loads (one output label, verl's dropout
settings are already in the config), with that attention. When the configured attention is flash-attn, or none is
set, verl's own function runs unchanged. A model without a token-classification class under a non-flash attention is
refused with the key to change, not sent down the trl path that cannot succeed either.

`install` swaps the function on `verl.utils.model`; verl's FSDP engine imports it from there at call time
(`workers/engine/fsdp/transformer_impl.py`, `_build_module`), so every critic built in the process gets this one.
`recipes/zerotir/verl_plugin.py` calls it in each of verl's processes. Remove it when verl passes the configured
attention itself (the issue above).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

FLASH = "flash_attention_2"
ATTENTION_KEY = "critic.model.override_config.attn_implementation"


def configured_attention(model_config: Any) -> str | None:
    """The attention the hf_config was built with (`_attn_implementation`; None when nothing was asked)."""
    return getattr(model_config, "_attn_implementation", None)


def load_valuehead_model(
    local_path: str, torch_dtype: Any, model_config: Any, trust_remote_code: bool, *, verl_loader: Callable
) -> Any:
    """verl's loader's signature; the configured attention instead of flash-attn wherever another one is configured."""
    attention = configured_attention(model_config)
    if attention in (None, FLASH):
        return verl_loader(local_path, torch_dtype, model_config, trust_remote_code)

    from transformers import AutoModelForTokenClassification

    if type(model_config) not in AutoModelForTokenClassification._model_mapping:
        raise ValueError(
            f"the critic {local_path} ({type(model_config).__name__}) has no token-classification class, so it can "
            f"only be loaded through trl with flash-attn (verl's load_valuehead_model); {ATTENTION_KEY} is "
            f"{attention!r}: use attention=flash with flash-attn installed, or a critic model with such a class"
        )
    return AutoModelForTokenClassification.from_pretrained(
        pretrained_model_name_or_path=local_path,
        torch_dtype=torch_dtype,
        config=model_config,
        attn_implementation=attention,
        trust_remote_code=trust_remote_code,
    )


def install() -> None:
    """Make verl's critic builder use `load_valuehead_model` in this process (idempotent)."""
    from verl.utils import model as verl_model

    current = verl_model.load_valuehead_model
    if getattr(current, "zerotir_configured_attention", False):
        return

    def loader(local_path, torch_dtype, model_config, trust_remote_code):
        return load_valuehead_model(local_path, torch_dtype, model_config, trust_remote_code, verl_loader=current)

    loader.zerotir_configured_attention = True
    loader.__doc__ = load_valuehead_model.__doc__
    verl_model.load_valuehead_model = loader
