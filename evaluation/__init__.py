"""The evaluation harness: avg@k / pass@k / maj@k over an interaction-budget sweep, resumable from JSONL.

Generation goes through the same stop machine as training (tir_rollout.stop_machine) and grading through
the same grader as the reward (reward.grader). Entry point: `python -m recipes.zerotir.eval`; see docs/eval.md.
"""
