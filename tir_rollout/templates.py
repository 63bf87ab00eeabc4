"""Prompt templates, the registry of the rollout node's `template` key: zero_tir (the paper's), zero_v2 (the same
without the Python sentence), chat, two_style, prose_style (two_style's no-tool twin).

They live with the rollout because a template is a rollout setting (conf/rollout/*.yaml) and two_style embeds the
stop machine's own output block; data_prep renders them into parquet prompts and imports them from here.

zero_tir and zero_v2 are raw base-model text, tokenised verbatim with NO chat template; the prompt ends
with "Assistant: <think>", so generation starts inside the thinking block. `chat` is our own variant for
instruct models: the same instructions, split into system and user messages for the tokenizer's chat
template (no <think> prefill is possible there). `two_style` is a laptop-scale setting, NOT the paper's
prompt: raw text with two worked examples, one in prose and one with a python block, so that a 135M instruct
model writes code on some problems and prose on others, and RL can choose between them (docs/cpu_trainer.md).
The question is inserted exactly where {query} is.
"""

from __future__ import annotations

from dataclasses import dataclass

from tir_rollout.stop_machine import output_block

# Text copied from the reference implementation yyht/openrlhf_async_pipline @ 63b6159
# (openrlhf/cli/template.py, TEMPLATE_DICT['ZERO_TIR'] and ['ZERO_V2']); the same texts are 'orz_tir' and
# 'orz_xinji' in evaluation/my_evaluation.py @ d154c0a. The reference fills them with
# str.replace('{query}', question) (openrlhf/datasets/prompts_dataset.py), so "\boxed{}" stays literal and
# there is no space after "This is the problem:".
_PREAMBLE = (
    "A conversation between User and Assistant. The User asks a question, and the Assistant solves it. "
    "The Assistant first thinks about the reasoning process in the mind and then provides the User with the "
    "answer. The reasoning process is enclosed within <think> </think> and answer is enclosed within "
    "<answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> "
    "<answer> answer here </answer>."
)
# paper §2 / reference: the only tool hint; it does not say how code is delimited or that it runs.
_PYTHON_SENTENCE = " In your reasoning-process, You can use python-code to solve your problem."
_USER = (
    "You must put your answer inside <answer> </answer> tags, i.e., <answer> answer here </answer>. "
    "And your final answer will be extracted automatically by the \\boxed{} tag.\nThis is the problem:{query}"
)

ZERO_TIR = _PREAMBLE + _PYTHON_SENTENCE + " User: " + _USER + "\nAssistant: <think>"
ZERO_V2 = _PREAMBLE + " User: " + _USER + "\nAssistant: <think>"
CHAT_SYSTEM = _PREAMBLE + _PYTHON_SENTENCE
CHAT_USER = _USER

# Ours, for small models (cpu_learn, make demo): both styles shown, neither required. The code example's output
# block is the stop machine's own output_block(), followed by one more newline, so that the example's tokens around
# the block are the ones the model will see after its own code runs: the block is tokenised on its own, ending in
# the single token "\n\n\n", which in running text would split as "\n\n" + "\n". With the split version the model
# never wrote an answer after a real output block (0 of 24 correct in a training step, though 7 printed the right
# product). Each example ends where the next "Problem:" starts, which is the template's stop.
TWO_STYLE = (
    "Solve the problem. You may answer in words, or write Python code in a ```python block; the code is run and "
    "its result is shown in an ```output block. Put the final answer in \\boxed{}.\n\n"
    "Problem: What is 25 + 17?\nSolution: 25 + 17 = 42. The answer is \\boxed{42}.\n\n"
    "Problem: What is 418 * 37?\nSolution:\n```python\nprint(418 * 37)\n```"
    + output_block("15466\n")
    + "\nThe answer is \\boxed{15466}.\n\n"
    "Problem: {query}\nSolution:"
)

# Ours, the no-tool arm of the paper in miniature (conf/experiment/cpu_mini_no_tool.yaml, the ZeroRL analogue of
# zero_v2): two_style with its python example replaced by the same product worked in prose, and no sentence about
# code. The same two problems, answers and layout, so that the arms differ by the tool and not by the examples.
PROSE_STYLE = (
    "Solve the problem. Show your working in words and numbers. Put the final answer in \\boxed{}.\n\n"
    "Problem: What is 25 + 17?\nSolution: 25 + 17 = 42. The answer is \\boxed{42}.\n\n"
    "Problem: What is 418 * 37?\nSolution: 418 * 37 = 418 * 30 + 418 * 7 = 12540 + 2926 = 15466. "
    "The answer is \\boxed{15466}.\n\n"
    "Problem: {query}\nSolution:"
)


@dataclass(frozen=True)
class TemplateSpec:
    """What the rollout needs to know about a template besides its text (its stop strings are the rollout config's
    base_stops, conf/rollout/*.yaml)."""

    name: str
    chat: bool  # True: `prompt` holds messages for the chat template; False: one user message of raw text


TEMPLATES: dict[str, TemplateSpec] = {
    "zero_tir": TemplateSpec("zero_tir", chat=False),
    "zero_v2": TemplateSpec("zero_v2", chat=False),
    "chat": TemplateSpec("chat", chat=True),
    "two_style": TemplateSpec("two_style", chat=False),
    "prose_style": TemplateSpec("prose_style", chat=False),
}
_RAW_TEXT = {"zero_tir": ZERO_TIR, "zero_v2": ZERO_V2, "two_style": TWO_STYLE, "prose_style": PROSE_STYLE}


def spec(template: str) -> TemplateSpec:
    if template not in TEMPLATES:
        raise ValueError(f"unknown template {template!r}; valid templates: {', '.join(TEMPLATES)}")
    return TEMPLATES[template]


def render(template: str, question: str) -> str | list[dict[str, str]]:
    """The raw prompt text (zero_tir, zero_v2) or the chat messages (chat) for one question."""
    if spec(template).chat:
        return [
            {"role": "system", "content": CHAT_SYSTEM},
            {"role": "user", "content": CHAT_USER.replace("{query}", question)},
        ]
    return _RAW_TEXT[template].replace("{query}", question)


def prompt_messages(template: str, question: str) -> list[dict[str, str]]:
    """The parquet `prompt` column: raw text wrapped as one user message, or the chat messages as they are."""
    rendered = render(template, question)
    return rendered if isinstance(rendered, list) else [{"role": "user", "content": rendered}]
