"""Templates render exactly the reference implementation's text (yyht/openrlhf_async_pipline@63b6159)."""

import pytest

from tir_rollout import templates

# Copied by hand from openrlhf/cli/template.py @ 63b6159 (TEMPLATE_DICT['ZERO_TIR'] / ['ZERO_V2']) as Python
# source, then filled the way the reference does: .replace('{query}', question).
REFERENCE_ZERO_TIR = """A conversation between User and Assistant. The User asks a question, and the Assistant solves it. The Assistant first thinks about the reasoning process in the mind and then provides the User with the answer. The reasoning process is enclosed within <think> </think> and answer is enclosed within <answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. In your reasoning-process, You can use python-code to solve your problem. User: You must put your answer inside <answer> </answer> tags, i.e., <answer> answer here </answer>. And your final answer will be extracted automatically by the \\boxed{} tag.\nThis is the problem:{query}\nAssistant: <think>"""
REFERENCE_ZERO_V2 = """A conversation between User and Assistant. The User asks a question, and the Assistant solves it. The Assistant first thinks about the reasoning process in the mind and then provides the User with the answer. The reasoning process is enclosed within <think> </think> and answer is enclosed within <answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. User: You must put your answer inside <answer> </answer> tags, i.e., <answer> answer here </answer>. And your final answer will be extracted automatically by the \\boxed{} tag.\nThis is the problem:{query}\nAssistant: <think>"""
QUESTION = "Find $x$ if $2^{x} = 8$.\nGive \\boxed{} the value."


@pytest.mark.parametrize(
    ("name", "reference"),
    [("zero_tir", REFERENCE_ZERO_TIR), ("zero_v2", REFERENCE_ZERO_V2)],
    ids=["zero_tir", "zero_v2"],
)
def test_raw_templates_match_the_reference_text(name, reference):
    assert templates.render(name, QUESTION) == reference.replace("{query}", QUESTION)


def test_zero_tir_is_zero_v2_plus_the_python_sentence():
    sentence = " In your reasoning-process, You can use python-code to solve your problem."
    assert templates.render("zero_tir", QUESTION).replace(sentence, "") == templates.render("zero_v2", QUESTION)
    assert sentence not in templates.render("zero_v2", QUESTION)


@pytest.mark.parametrize("name", ["zero_tir", "zero_v2"])
def test_raw_prompt_is_one_user_message_ending_in_the_think_prefill(name):
    messages = templates.prompt_messages(name, QUESTION)
    assert [m["role"] for m in messages] == ["user"]
    assert messages[0]["content"].endswith(f"This is the problem:{QUESTION}\nAssistant: <think>")
    assert "\\boxed{} tag" in messages[0]["content"]  # literal braces, not a str.format slot


def test_chat_template_splits_the_same_instructions_into_system_and_user():
    messages = templates.render("chat", QUESTION)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[0]["content"].endswith("In your reasoning-process, You can use python-code to solve your problem.")
    assert messages[1]["content"].endswith(f"\\boxed{{}} tag.\nThis is the problem:{QUESTION}")
    assert "Assistant:" not in messages[1]["content"]


@pytest.mark.parametrize(
    ("name", "chat"), [("zero_tir", False), ("zero_v2", False), ("chat", True), ("two_style", False)]
)
def test_spec_says_whether_the_prompt_goes_through_the_chat_template(name, chat):
    assert templates.spec(name).chat is chat


def test_unknown_template_names_the_valid_ones():
    with pytest.raises(ValueError, match="unknown template 'zero'.*zero_tir, zero_v2, chat"):
        templates.render("zero", QUESTION)
