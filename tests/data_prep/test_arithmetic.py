"""The generated arithmetic sets: seeded, pinned, disjoint, integer golds that the reward grades correctly."""

import random
import re
from pathlib import Path

import pytest

from data_prep import arithmetic, catalog, templates
from data_prep.sources import RawDataError
from reward.zerotir import compute_score


@pytest.mark.parametrize("difficulty", [1, 2, 3])
def test_golds_are_the_value_of_the_question(difficulty):
    for question, answer in arithmetic.generate(difficulty, rows=300):
        expression = re.fullmatch(r"What is ([0-9 *+]+)\?", question).group(1)
        assert eval(expression) == answer  # digits, spaces, * and + only (matched above)


def test_difficulty_sets_the_operand_digits():
    rng = random.Random(0)
    assert re.fullmatch(r"What is \d{3} \* \d{2}\?", arithmetic.make_problem(rng, 1)[0])
    assert re.fullmatch(r"What is \d{3} \* \d{3}\?", arithmetic.make_problem(rng, 2)[0])
    with pytest.raises(ValueError, match="difficulty must be 1, 2 or 3"):
        arithmetic.make_problem(rng, 4)


def test_train_and_test_are_disjoint_and_deterministic():
    train, test = catalog.load("arith_mul_train"), catalog.load("arith_mul_test")
    assert (len(train), len(test)) == (arithmetic.TRAIN_ROWS, arithmetic.TEST_ROWS)
    assert not {p.question for p in train} & {p.question for p in test}
    assert len({p.question for p in train}) == len(train)
    assert catalog.load("arith_mul_test") == test  # same seed, same problems


def test_a_changed_generator_is_refused(monkeypatch):
    monkeypatch.setattr(arithmetic, "SEED", arithmetic.SEED + 1)
    with pytest.raises(RawDataError, match="arith_mul_test.*the generator changed"):
        arithmetic.load("arith_mul_test")


def test_two_style_template_shows_both_styles_and_stops_at_the_next_problem():
    text = templates.render("two_style", "What is 123 * 45?")
    assert text.endswith("Problem: What is 123 * 45?\nSolution:")
    assert text.count("```python\n") == 1 and "Solution: 25 + 17 = 42." in text  # one code, one prose example
    assert templates.spec("two_style").chat is False  # raw text; its stop is conf/rollout/two_style.yaml's base_stops
    # the stop string starts each example and nothing else: the model's next example is where it stops
    assert text.count("Problem:") == 3 and all(
        line.startswith("Problem: ") for line in text.split("\n") if "Problem:" in line
    )


def test_the_reward_switch_grades_a_two_style_answer():
    problem = catalog.load("arith_mul_test")[0]
    a, b = map(int, re.findall(r"\d+", problem.question))
    response = f"\n```python\nprint({a} * {b})\n```\n```output\n{a * b}\n```\nThe answer is \\boxed{{{a * b}}}.\n\n"
    extra = {"tir_finish_reason": "stop"}
    assert compute_score("arith_mul_test", response, problem.answer, extra, require_format=False)["score"] == 1.0
    assert compute_score("arith_mul_test", response, problem.answer, extra)["score"] == 0.0  # the paper's gate


def test_two_style_example_has_the_runtime_tokens_of_an_output_block():
    """The model sees an output block tokenised on its own (the stop machine appends its ids); the example in the
    prompt must contain that same token sequence, or the model meets an unseen token boundary after its code."""
    from transformers import AutoTokenizer

    from tir_rollout.stop_machine import output_block

    # the tokenizer of the model the prompt is written for (cpu_learn, make demo): token boundaries are per-tokenizer
    tokenizer = AutoTokenizer.from_pretrained(Path(__file__).parents[2] / "assets" / "tokenizers" / "smollm2")
    prompt = tokenizer.encode(templates.render("two_style", "What is 1 * 2?"), add_special_tokens=False)
    block = tokenizer.encode(output_block("15466\n"), add_special_tokens=False)
    windows = {tuple(prompt[i : i + len(block)]) for i in range(len(prompt) - len(block) + 1)}
    assert tuple(block) in windows
