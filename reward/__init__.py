"""The reward: answer grading shared by RL and evaluation (`reward.grader`) and the ZeroTIR verl reward
(`reward.zerotir`). Pure functions, no I/O; nothing here reads files at run time."""

from reward.extract import extract_answer
from reward.grader import grade_answer, grade_prediction
from reward.zerotir import compute_score

__all__ = ["compute_score", "extract_answer", "grade_answer", "grade_prediction"]
