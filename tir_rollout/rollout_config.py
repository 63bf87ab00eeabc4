"""The rollout config node, one for training and evaluation: `tir.rollout` and `eval.rollout` (conf/rollout/*.yaml).

It holds the prompt template, the base stop strings, the tool budget, the output-block cap and the sandbox. Its keys
are the fields of the classes that parse them, and nothing else declares them: `StopMachineConfig.CONFIG_KEYS`
(max_tool_calls, max_output_tokens, base_stops), `tir_rollout.sandbox.SandboxConfig` (sandbox.*), plus `template`.
`schema()` builds Hydra's structured config from those classes, so an unknown key or a value of the wrong type
fails when Hydra composes; `parse()` hands the node to the two parsers, which check the values. Whether the prompt
goes through the tokenizer's chat template follows from the template (`uses_chat_template`). No verl import.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, List, Optional  # noqa: UP035 (OmegaConf's structured configs read typing's List, Optional)

from tir_rollout.sandbox.config import SandboxConfig, parse_config
from tir_rollout.stop_machine import StopMachineConfig
from tir_rollout.templates import TEMPLATES, spec

SCHEMA_GROUP, SCHEMA_NAME = "rollout", "schema"  # conf/rollout/*.yaml start from `defaults: [schema]`
DEFAULT_TEMPLATE = "zero_tir"  # the paper's ZERO_TIR prompt (docs/reference.md)


def _schema_type(tp: Any) -> Any:
    """An OmegaConf-typed annotation for a parser field's type (tuples become lists, `X | None` Optional[X])."""
    if dataclasses.is_dataclass(tp):
        return _schema_of(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (types.UnionType, typing.Union):
        (inner,) = [a for a in args if a is not type(None)]
        return Optional[_schema_type(inner)]  # noqa: UP045
    if origin in (tuple, list):
        return List[args[0]]  # noqa: UP006
    return tp


def _schema_field(f: dataclasses.Field, tp: Any) -> tuple[str, Any, Any]:
    if dataclasses.is_dataclass(tp):
        return f.name, _schema_type(tp), dataclasses.field(default_factory=_schema_type(tp))
    if isinstance(f.default, tuple):
        return f.name, _schema_type(tp), dataclasses.field(default_factory=lambda v=f.default: list(v))
    return f.name, _schema_type(tp), f.default


@cache
def _schema_of(cls: type, keys: tuple[str, ...] | None = None) -> type:
    hints = typing.get_type_hints(cls)
    specs = [_schema_field(f, hints[f.name]) for f in dataclasses.fields(cls) if keys is None or f.name in keys]
    return dataclasses.make_dataclass(f"{cls.__name__}Schema", specs)


@cache
def schema() -> type:
    """The rollout node's structured config: `template`, the stop machine's config keys, `sandbox`."""
    machine = _schema_of(StopMachineConfig, StopMachineConfig.CONFIG_KEYS)
    sandbox = _schema_of(SandboxConfig)
    specs = [
        ("template", str, DEFAULT_TEMPLATE),
        *((f.name, f.type, f) for f in dataclasses.fields(machine)),
        ("sandbox", sandbox, dataclasses.field(default_factory=sandbox)),
    ]
    return dataclasses.make_dataclass("RolloutSchema", specs)


def register() -> None:
    """Store the schema in Hydra's ConfigStore as `rollout/schema` (idempotent); call before composing."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(group=SCHEMA_GROUP, name=SCHEMA_NAME, node=schema())


def uses_chat_template(template: str) -> bool:
    """True when the template's prompt is chat messages for the tokenizer's chat template (templates.TemplateSpec);
    raw-text templates are tokenised verbatim, as the paper feeds its base models."""
    return spec(template).chat


@dataclass(frozen=True)
class Rollout:
    """The rollout node parsed: what the agent loop and the evaluation read."""

    template: str
    chat: bool  # the prompt goes through the tokenizer's chat template (derived from the template)
    machine: StopMachineConfig
    sandbox: SandboxConfig


def parse(node: Mapping[str, Any], where: str, eos_token_ids: typing.Sequence[int] = (), **machine: Any) -> Rollout:
    """Check a rollout node with the two parsers; every error starts with its full key path (`where`.<key>).
    `machine` overrides stop-machine keys (the evaluation's sweep of max_tool_calls)."""
    known = ("template", *StopMachineConfig.CONFIG_KEYS, "sandbox")
    for key in node:  # Hydra's schema refuses these at composition, except ones added with `+key=...`
        if key not in known:
            raise ValueError(f"{where}.{key}: unknown rollout key; known keys: {', '.join(known)}")
    template = node.get("template", DEFAULT_TEMPLATE)
    if template not in TEMPLATES:
        raise ValueError(f"{where}.template must be one of {', '.join(TEMPLATES)} (got {template!r})")
    return Rollout(
        template=template,
        chat=uses_chat_template(template),
        machine=StopMachineConfig.from_mapping(node, eos_token_ids, where=where, **machine),
        sandbox=parse_config(node.get("sandbox"), where=f"{where}.sandbox"),
    )
