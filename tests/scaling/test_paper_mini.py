"""The paper-in-miniature report: verdicts from intervals over seeds, missing runs listed, the sigmoid's kinds."""

import json
import math

import numpy as np
import pytest

from scaling import paper_mini
from scaling.sigmoid import difference_interval, fit_sigmoid, seed_interval

STEPS = 12


def _write_run(logs, experiment, seed, code, acc, length, total=STEPS, extra=lambda s: {}):
    folder = logs / "runs" / experiment / f"seed={seed}"
    (folder / "metrics").mkdir(parents=True)
    lines = [
        json.dumps(
            {
                "step": s,
                "data": {
                    "tir/code_exec_ratio": code(s),
                    "tir/acc": acc(s),
                    "tir/response_length/all": length(s),
                    **extra(s),
                },
            }
        )
        for s in range(1, STEPS + 1)
    ]
    (folder / "metrics" / "20261206-000000.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "config.yaml").write_text(f"trainer:\n  total_training_steps: {total}\n")
    (folder / f"meter-{seed}.json").write_text(json.dumps({"wall_s": 600.0 + seed, "peak_pss_gib": 13.0}))
    return folder


def _summary(logs, name, acc_by_budget):
    folder = logs / "eval" / name
    folder.mkdir(parents=True)
    rows = [
        {"dataset": t, "max_tool_calls": b, "problems": 50, "avg_at_k": acc, "finish_length_rate": 0.1,
         "code_calls_mean": 1.0, "code_error_rate": 0.0}
        for b, acc in acc_by_budget.items() for t in paper_mini.TIERS
    ]  # fmt: skip
    (folder / "summary.json").write_text(json.dumps({"complete": True, "rows": rows}))


@pytest.fixture
def logs(tmp_path):
    rng = np.random.default_rng(0)
    for seed in (1, 2, 3):

        def noise(rng=rng):
            return float(rng.normal(0, 0.02))

        _write_run(tmp_path, "cpu_mini_tool", seed, lambda s: 0.4 + 0.5 * s / STEPS + noise(),
                   lambda s: 0.1 + 0.6 * s / STEPS + noise(), lambda s: 40 + s + noise())  # fmt: skip
        _write_run(tmp_path, "cpu_mini_no_tool", seed, lambda s: 0.0, lambda s: 0.2 + noise(), lambda s: 60 + noise())
        sweep = {0: 0.05, 1: 0.6 + 0.01 * seed, 2: 0.7 + 0.01 * seed, 4: 0.7, 8: 0.69 + 0.005 * seed}
        _summary(tmp_path, f"paper_mini__cpu_mini_tool__seed={seed}", sweep)
        _summary(tmp_path, f"paper_mini_no_tool__cpu_mini_no_tool__seed={seed}", {0: 0.2 + 0.02 * seed})
    return tmp_path


def test_claims_follow_the_intervals_over_seeds(logs):
    report = paper_mini.build(logs)
    verdicts = {c.claim: c.verdict for c in report.claims}
    assert verdicts["(a) code use rises with training steps (tool arm)"] == "supported"
    assert verdicts["(a) accuracy rises with training steps (tool arm)"] == "supported"
    assert verdicts["(b) the tool arm beats the no-tool arm (held-out, all tiers)"] == "supported"
    assert verdicts["(c) running code helps (tool arm)"] == "supported"
    peak = next(c for c in report.claims if c.claim.startswith("(c) accuracy peaks"))
    assert "(4 calls)" in peak.claim or "(2 calls)" in peak.claim
    gap = next(c for c in report.claims if c.claim.startswith("(b)")).value
    assert gap.mean == pytest.approx(0.72 - 0.24, abs=1e-9) and gap.n == 3
    assert report.missing == []


def test_a_missing_or_unfinished_run_is_listed_and_its_claims_are_inconclusive(tmp_path):
    _write_run(tmp_path, "cpu_mini_tool", 1, lambda s: 0.5, lambda s: s / STEPS, lambda s: 50.0, total=20)
    report = paper_mini.build(tmp_path, expected=[("cpu_mini_tool", 1), ("cpu_mini_no_tool", 1)])
    assert "run cpu_mini_no_tool seed 1: not started" in report.missing
    assert "run cpu_mini_tool seed 1: trained to step 12 of 20" in report.missing
    assert all(c.verdict.startswith("inconclusive") for c in report.claims)
    assert any("**missing**" in line for line in report.lines)


def test_one_seed_never_gives_a_verdict(logs):
    for seed in (2, 3):
        for arm in ("cpu_mini_tool", "cpu_mini_no_tool"):
            import shutil

            shutil.rmtree(logs / "runs" / arm / f"seed={seed}")
    report = paper_mini.build(logs)
    assert all(c.verdict.startswith("inconclusive") for c in report.claims)


def test_write_produces_one_set_and_notes_a_figure_it_cannot_draw(logs, tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    (out / "stale.png").write_bytes(b"old")
    paper_mini.write(logs, out)
    assert not (out / "stale.png").exists() and (out / "curves.png").is_file() and (out / "budget_sweep.png").is_file()
    claims = json.loads((out / "claims.json").read_text())
    text = (out / "report.md").read_text()
    assert len(claims["claims"]) == 6 and "| (b) the tool arm beats" in text
    assert "| tool arm | 2 | 0.72 [" in text and "| 0.10 | 1.00 | 0.00 |" in text  # the budget table reads the rows
    empty = tmp_path / "empty"
    (empty / "runs").mkdir(parents=True)
    paper_mini.write(empty, empty / "report")
    assert "draw_budget_sweep: not drawn" in (empty / "report" / "report.md").read_text()


def test_the_printed_gold_but_wrong_count_reads_output_blocks(tmp_path):
    samples = tmp_path / "samples.jsonl"
    base = {"dataset": "d", "max_tool_calls": 1, "gold": "123"}
    records = [
        base | {"correct": False, "response": "```output\n123\n```\n\\boxed{12}"},
        base | {"correct": True, "response": "```output\n123\n```\n\\boxed{123}"},
        base | {"correct": False, "response": "```output\n1234\n```"},
    ]
    samples.write_text("\n".join(map(json.dumps, records)))
    assert paper_mini.derived_counts(samples)["d|1"] == {"samples": 3, "printed_gold_but_wrong": pytest.approx(1 / 3)}


def test_the_sigmoid_recovers_a_law_and_names_a_step_and_an_out_of_range_fit():
    x = np.arange(1, 16, dtype=float)
    fit = fit_sigmoid(x, 0.2 + 0.7 / (1 + (5 / x) ** 3))
    assert fit.kind == "law" and fit.a == pytest.approx(0.9, abs=0.01) and fit.c_mid == pytest.approx(5, rel=0.02)
    assert fit_sigmoid(x, np.where(x < 3, 0.3, 0.95)).kind == "step change"
    assert fit_sigmoid(x, 0.1 * x - 0.3).kind == "out of range"  # a linear rise past 1: no ceiling in range
    assert fit_sigmoid(x[:4], x[:4]) is None and fit_sigmoid(x, np.ones_like(x)) is None


def test_seed_intervals():
    one = seed_interval([0.5])
    assert (one.n, one.cell()) == (1, "0.50 (1 seed)")
    three = seed_interval([0.8, 0.9, float("nan"), 0.85])
    assert three.n == 3 and three.low < 0.85 < three.high
    diff = difference_interval([0.8, 0.9, 0.85], [0.1, 0.2, 0.15])
    assert diff.mean == pytest.approx(0.7) and diff.low > 0.5
    assert math.isnan(seed_interval([]).mean)


def test_a_run_trained_past_its_last_log_line_is_complete_with_a_note(tmp_path):
    folder = _write_run(tmp_path, "cpu_mini_tool", 1, lambda s: 0.5, lambda s: 0.5, lambda s: 50.0, total=13)
    (folder / "status.json").write_text(json.dumps({"trained_to": 13, "total_steps": 13, "final_weights": True}))
    (folder / "launch_state-a.txt").write_text("abc\n")
    (folder / "launch_state-b.txt").write_text("abc\n")
    (run,) = paper_mini.load_runs(tmp_path)
    assert run.complete and run.steps == 12
    assert run.notes == [
        "1 of 2 launches have no meter (killed before it wrote)",
        "trained to step 13 but logged 12 steps (a launch died after a checkpoint, before its log line)",
    ]


def test_claim_d_rows_appear_with_a_second_algorithm(logs):
    assert not any("Claim (d)" in line for line in paper_mini.build(logs).lines)  # GRPO alone: no comparison
    for seed in (1, 2):
        _write_run(logs, "cpu_mini_rloo", seed, lambda s: 0.3 + 0.05 * s, lambda s: 0.04 * s, lambda s: 50.0 + s)
    report = paper_mini.build(logs)
    text = "\n".join(report.lines)
    assert "## Claim (d)" in text and "| grpo | 3 |" in text and "| rloo | 2 |" in text
    assert "code use and accuracy rise under every algorithm: **supported**" in text
    assert paper_mini.arm_of("cpu_mini_rloo") == "algorithm"  # never pooled into the tool arm's claims
    assert all(r.experiment != "cpu_mini_rloo" for r in report.runs if paper_mini.arm_of(r.experiment) == "tool")


def test_the_problem_level_interval_pairs_by_problem_and_can_overrule_a_lucky_seed_interval(tmp_path):
    def samples(name, correct_at):  # correct_at: budget -> set of problem indices answered right
        folder = tmp_path / "eval" / name
        lines = [
            json.dumps({"dataset": "arith_2x1_test", "problem_id": str(i), "max_tool_calls": b, "sample": 0,
                        "correct": i in right, "gold": "1", "response": ""})
            for b, right in correct_at.items() for i in range(50)
        ]  # fmt: skip
        (folder / "samples.jsonl").write_text("\n".join(lines) + "\n")
        return paper_mini.correct_by_problem(folder / "samples.jsonl")

    for name in ("a", "b"):
        (tmp_path / "eval" / name).mkdir(parents=True)
    a = {"correct": samples("a", {1: set(range(30)), 8: set(range(28))})}
    b = {"correct": samples("b", {1: set(range(31)), 8: set(range(29))})}
    interval = paper_mini.problem_interval([a, b], 1, [a, b], 8)
    assert interval.n == 50 and interval.mean == pytest.approx(0.04)
    assert interval.low <= 0 < interval.high  # 2 of 50 problems differ: not beyond problem sampling
    assert paper_mini.problem_interval([a], 3, [b], 8).n == 0


def test_the_time_in_all_sums_every_metered_launch_of_the_two_arms_and_names_what_has_no_meter(logs):
    (logs / "eval" / "paper_mini__cpu_mini_tool__seed=1" / "meter-a.json").write_text(json.dumps({"wall_s": 100.0}))
    (logs / "eval" / "paper_mini__cpu_mini_tool__seed=1" / "meter-b.json").write_text(json.dumps({"wall_s": 20.0}))
    for meter in (logs / "runs" / "cpu_mini_no_tool" / "seed=3").glob("meter-*.json"):
        meter.unlink()  # a launch killed before its meter was written
    _write_run(logs, "cpu_mini_rloo", 1, lambda s: 0.5, lambda s: 0.5, lambda s: 50)  # claim (d): not in (a)-(c)
    t = paper_mini.build(logs).data["time_in_all"]
    assert t["training_s"] == pytest.approx(3 * 600 + 6 + 2 * 600 + 3)  # tool seeds 1-3, no-tool seeds 1-2
    assert t["evaluation_s"] == pytest.approx(120.0) and t["evaluation_launches"] == 2
    assert "cpu_mini_no_tool seed 3" in t["unmetered"] and "paper_mini__cpu_mini_tool__seed=2" in t["unmetered"]
    assert not any("rloo" in name for name in t["unmetered"])


def test_claim_d_at_matched_cost_reads_every_run_at_the_cost_the_cheapest_paid(tmp_path):
    """RLOO here spends twice GRPO's tokens and 3x its time per step: at GRPO's total it has done half (a third) of
    its steps, so it is read at steps 4-6 (2-4) of its curve, GRPO at its last three."""

    def costs(tokens, seconds):
        return lambda s: {"tir/cum_generated_tokens": tokens * s, "timing_s/step": seconds}

    for seed in (1, 2):
        _write_run(tmp_path, "cpu_mini_tool", seed, lambda s: s / 100, lambda s: s / 100, lambda s: 50.0,
                   extra=costs(100, 60))  # fmt: skip
        _write_run(tmp_path, "cpu_mini_rloo", seed, lambda s: s / 100, lambda s: s / 100, lambda s: 50.0,
                   extra=costs(200, 180))  # fmt: skip
    runs = paper_mini.load_runs(tmp_path)
    rloo = next(r for r in runs if r.experiment == "cpu_mini_rloo")
    assert paper_mini.cost_curve(rloo, "tir/acc", "training time")[0].tolist() == [3.0 * s for s in range(1, 13)]
    assert paper_mini.within_budget(rloo, "tir/acc", "generated tokens", 1200) == pytest.approx(0.05)  # steps 4-6
    assert paper_mini.within_budget(rloo, "tir/acc", "training time", 12.0) == pytest.approx(0.03)  # steps 2-4
    assert math.isnan(paper_mini.within_budget(rloo, "tir/acc", "training time", 6.0))  # two steps: fewer than EDGE

    text = "\n".join(paper_mini.build(tmp_path).lines)
    assert "| code use at 1200 generated tokens | accuracy at 1200 generated tokens |" in text
    assert "| code use at 12.0 min of training | accuracy at 12.0 min of training |" in text
    assert "| grpo | 2 | 100 [100, 100] | 1.00 [1.00, 1.00] | 0.11 [0.11, 0.11] | 0.11 [0.11, 0.11] |" in text
    assert "| rloo | 2 | 200 [200, 200] | 3.00 [3.00, 3.00] | 0.05 [0.05, 0.05] | 0.05 [0.05, 0.05] | 0.03" in text


def test_the_algorithms_figure_is_drawn_from_the_reports_curves(tmp_path):
    for experiment in ("cpu_mini_tool", "cpu_mini_rloo"):
        _write_run(tmp_path, experiment, 1, lambda s: s / 20, lambda s: s / 30, lambda s: 50.0,
                   extra=lambda s: {"tir/cum_generated_tokens": 10.0 * s, "timing_s/step": 30.0})  # fmt: skip
    out = tmp_path / "report"
    report = paper_mini.write(tmp_path, out)
    curves = report.data["algorithms"]
    assert sorted(curves) == ["grpo", "rloo"]
    assert curves["rloo"][0]["tir/acc"]["training time"][0][:2] == [0.5, 1.0]
    assert (out / "algorithms.png").stat().st_size > 10_000
    text = (out / "report.md").read_text()
    assert "![algorithms](algorithms.png)" in text and "draw_algorithms: not drawn" not in text


def test_ceilings_differ_only_where_their_intervals_are_disjoint():
    from scaling.sigmoid import SeedInterval

    ceilings = {"grpo": SeedInterval(0.5, 0.4, 0.6, 3), "rloo": SeedInterval(0.9, 0.8, 1.0, 2),
                "ppo": SeedInterval(0.55, 0.3, 0.9, 2), "reinforce_pp": SeedInterval(0.5, 0.5, 0.5, 1)}  # fmt: skip
    assert paper_mini.ceiling_verdict(ceilings) == (
        "differ beyond their intervals: grpo < rloo (not compared, under 2 law fits: reinforce_pp)"
    )
    del ceilings["rloo"]
    assert paper_mini.ceiling_verdict(ceilings).startswith("no two of grpo, ppo differ beyond their intervals")
