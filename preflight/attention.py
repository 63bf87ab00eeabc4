"""The attention knob (`attention=auto|flash|sdpa`, conf/attention/*.yaml) in one place: what `auto` becomes on this
machine, the check that actor/ref and critic load the same kernel, and the pre-flight's `attention` row.

`auto` is flash where `import flash_attn` works (and not on CPU), else sdpa. Both pack sequences (remove-padding) on
GPUs: padded sdpa needs ~4x the logits memory at the small groups' budgets (docs/gpu.md "Memory under sdpa"). CPU
runs stay padded: the CPU trainer and its end-to-end test were measured that way, and packed sdpa there has not run
end to end. verl's remove-padding path runs flash-attn's varlen kernels on CUDA.
"""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf, open_dict

from preflight.probes import Probes
from preflight.verdict import Check

ATTENTION = {"flash": ("flash_attention_2", True), "sdpa": ("sdpa", True)}  # conf/attention/*.yaml
FLASH_INSTALL = "install flash-attn built for this torch (docs/gpu.md, 'flash-attn'), or run with attention=sdpa"

VERL_DEFAULT = "flash_attention_2"  # verl's attn_implementation when override_config names none


def flash_importable(probes: Probes | None = None) -> tuple[bool, str]:
    try:
        return True, (probes or Probes()).flash_attn()
    except Exception as err:  # noqa: BLE001 - ImportError, or an OSError/undefined symbol from a mismatched build
        return False, f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"


def resolve_attention(cfg: DictConfig, flash_ok: tuple[bool, str] | None = None) -> str:
    """Write the choice for `attention=auto` to actor/ref (actor_rollout_ref.model) and critic alike; returns a line
    saying what was chosen. `flash_ok` stands for `flash_importable()` (tests)."""
    choice = cfg.tir.get("attention", "auto")
    if choice != "auto":
        return f"{choice} (attention={choice})"
    if cfg.trainer.device == "cpu":
        choice, why = "sdpa", "CPU run"
    else:
        ok, detail = flash_ok or flash_importable()
        choice, why = ("flash", f"flash-attn {detail}") if ok else ("sdpa", f"flash-attn not importable ({detail})")
    impl, remove_padding = ATTENTION[choice]
    remove_padding = remove_padding and cfg.trainer.device != "cpu"
    with open_dict(cfg):
        cfg.tir.attention = choice
        for model in (cfg.actor_rollout_ref.model, cfg.critic.model):
            model.use_remove_padding = remove_padding
            model.override_config = OmegaConf.merge(model.get("override_config") or {}, {"attn_implementation": impl})
    return f"{choice} (attention=auto: {why})"


def check_attention(cfg: DictConfig) -> list[str]:
    """Actor/ref and critic load the same attention kernel and padding mode (conf/attention sets both); one
    `<full key>: <reason>` line per mismatch."""
    actor, critic = cfg.actor_rollout_ref.model, cfg.critic.model
    impl = actor.get("override_config", {}).get("attn_implementation", VERL_DEFAULT)
    critic_impl = critic.get("override_config", {}).get("attn_implementation", VERL_DEFAULT)
    found = []
    if impl != critic_impl:
        found.append(
            f"critic.model.override_config.attn_implementation: {critic_impl!r} differs from the actor's {impl!r}; "
            "use attention=flash|sdpa"
        )
    if actor.use_remove_padding != critic.use_remove_padding:
        found.append(
            "critic.model.use_remove_padding: differs from actor_rollout_ref.model.use_remove_padding; "
            "use attention=flash|sdpa"
        )
    return found


def attention_row(cfg: DictConfig, probes: Probes) -> Check:
    """The pre-flight's `attention` row: flash-attn must import where the config asks for it."""
    model = cfg.actor_rollout_ref.model
    impl = model.get("override_config", {}).get("attn_implementation", VERL_DEFAULT)
    value = f"{cfg.tir.get('attention', '?')}: {impl}, remove_padding={model.use_remove_padding}"
    if cfg.trainer.device == "cpu":
        return Check("attention", value, "skip", "CPU run: flash-attn is not used")
    if impl != "flash_attention_2":
        return Check("attention", value, "ok", "sdpa: slower than flash; attention=flash when installed")
    ok, detail = flash_importable(probes)
    if ok:
        return Check("attention", f"{value}, flash-attn {detail}", "ok")
    return Check("attention", f"{value}; import flash_attn: {detail}", "fail", FLASH_INSTALL)
