"""The generated arithmetic sets: seeded, pinned, disjoint, integer golds that the reward grades correctly."""

import random
import re
from pathlib import Path

import pytest

from data_prep import arithmetic, catalog
from data_prep.sources import RawDataError
from reward.zerotir import compute_score
from tir_rollout import templates


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


@pytest.mark.parametrize("tier", arithmetic.TIERS)
def test_ladder_golds_are_the_value_of_each_question(tier):
    for question, answer in arithmetic.generate_tier(tier, rows=200):
        if tier == "2step":
            a, b, c = map(int, re.fullmatch(r"Let x = (\d{3}) \* (\d{2})\. What is x \* ([2-9])\?", question).groups())
            assert answer == a * b * c
        else:
            a, b = map(int, re.fullmatch(r"What is (\d+) \* (\d+)\?", question).groups())
            assert answer == a * b
        assert arithmetic.tier_of(question) == tier


def test_the_tiers_set_the_operand_digits():
    rng = random.Random(0)
    assert re.fullmatch(r"What is \d{2} \* [2-9]\?", arithmetic.make_tier_problem(rng, "2x1")[0])
    assert re.fullmatch(r"What is \d{3} \* \d{3}\?", arithmetic.make_tier_problem(rng, "3x3")[0])
    with pytest.raises(ValueError, match="tier must be one of 2x1, 3x2, 3x3, 2step"):
        arithmetic.make_tier_problem(rng, "4x4")


def test_the_ladder_train_set_is_balanced_disjoint_from_every_tier_test_and_pinned():
    train = catalog.load("arith_ladder_train")
    tiers = [arithmetic.tier_of(p.question) for p in train]
    assert tiers[:4] == list(arithmetic.TIERS)  # interleaved: any prefix is balanced
    assert {t: tiers.count(t) for t in arithmetic.TIERS} == dict.fromkeys(
        arithmetic.TIERS, arithmetic.LADDER_TRAIN_ROWS
    )
    questions = {p.question for p in train}
    assert len(questions) == len(train)
    for name in arithmetic.LADDER_TESTS:
        test = catalog.load(name)
        assert len(test) == arithmetic.LADDER_TEST_ROWS and not questions & {p.question for p in test}
        assert {arithmetic.tier_of(p.question) for p in test} == {name.split("_")[1]}


def test_a_restated_question_earns_nothing_on_the_ladder():
    problem = catalog.load("arith_2step_test")[0]
    a, b, c = re.findall(r"\d+", problem.question)
    extra = {"tir_finish_reason": "stop", "answer_type": catalog.dataset("arith_2step_test").answer_type}
    for box in (f"{a} * {b} * {c}", problem.answer):
        score = compute_score("arith_2step_test", f"\\boxed{{{box}}}", problem.answer, extra, require_format=False)
        assert score["score"] == (1.0 if box == problem.answer else 0.0)


def test_prose_style_is_two_style_without_code():
    tool, prose = templates.render("two_style", "Q?"), templates.render("prose_style", "Q?")
    assert "```" not in prose and "python" not in prose.lower()
    for shared in (
        "Problem: What is 25 + 17?",
        "Problem: What is 418 * 37?",
        "\\boxed{15466}",
        "Problem: Q?\nSolution:",
    ):
        assert shared in tool and shared in prose
