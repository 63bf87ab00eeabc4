"""Builds SampleRecords for the evaluation tests with only the fields a test cares about."""

from dataclasses import fields

from evaluation.samples import SampleRecord
from tir_rollout.tool_use import ToolUse

_TOOL = {f.name for f in fields(ToolUse)}


def record(problem="p0", sample=0, correct=False, prediction=None, dataset="toy", max_tool_calls=2, **kw):
    base = {
        "dataset": dataset,
        "problem_id": problem,
        "index": 0,
        "max_tool_calls": max_tool_calls,
        "sample": sample,
        "response": f"answer {prediction}",
        "prediction": prediction,
        "gold": "1",
        "correct": correct,
        "code_calls": 0,
        "code_errors": 0,
        "code_timeouts": 0,
        "code_blocks": 0,
        "finish_reason": "stop",
        "response_tokens": 10,
        "generated_tokens": 10,
    }
    base.update(kw)
    tool = ToolUse(**{k: base.pop(k) for k in list(base) if k in _TOOL})
    return SampleRecord(**base, tool_use=tool)
