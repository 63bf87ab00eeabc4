"""The reward: answer grading (`reward.grader`) and the ZeroTIR verl reward (`reward.zerotir`)."""

from reward.extract import extract_answer
from reward.grader import grade_answer, grade_prediction
from reward.zerotir import compute_score

__all__ = ["compute_score", "extract_answer", "grade_answer", "grade_prediction"]
