"""Gold-answer normalisation, one pure function per source format.

The gold string feeds the reward grader (math-verify), so these rules strip only formatting and never
change the mathematical content: no unit stripping, no LaTeX rewriting (\\dfrac stays \\dfrac), no
rounding. Every rule raises ValueError on input it does not understand; loaders add the file and row.
Each rule has rows in tests/data_prep/test_gold.py.
"""

from __future__ import annotations

import math
import re

_AIME = re.compile(r"\d{1,3}")
_GSM8K_NUMBER = re.compile(r"-?\d{1,3}(,\d{3})+(\.\d+)?|-?\d+(\.\d+)?")
_UNESCAPED_DOLLAR = re.compile(r"(?<!\\)\$")


def aime_integer(answer: str) -> str:
    """AIME answers are integers 0-999, sometimes zero-padded ("025" -> "25")."""
    text = answer.strip()
    if not _AIME.fullmatch(text):
        raise ValueError(f"AIME answer should be an integer 0-999, got {answer!r}")
    return str(int(text))


def float_integer(answer: float | str) -> str:
    """AMC answers stored as floats: 27.0 -> "27"; a non-integral value keeps Python's shortest repr."""
    if isinstance(answer, str):
        answer = float(answer.strip())
    if isinstance(answer, bool) or not isinstance(answer, (int, float)) or not math.isfinite(answer):
        raise ValueError(f"expected a finite number, got {answer!r}")
    if float(answer).is_integer():
        return str(int(answer))
    return repr(float(answer))


def gsm8k_final(solution: str) -> str:
    """The number after the last "####" in a GSM8K solution, thousands commas removed ("1,234" -> "1234")."""
    if "####" not in solution:
        raise ValueError("GSM8K solution has no '####' final-answer marker")
    final = solution.rsplit("####", 1)[1].strip()
    if not _GSM8K_NUMBER.fullmatch(final):
        raise ValueError(f"GSM8K final answer should be a number, got {final!r}")
    return final.replace(",", "")


def last_boxed(solution: str) -> str:
    """Contents of the last \\boxed{...} (or \\fbox{...}) in a solution, braces matched, e.g. MATH and Minerva."""
    start = max(solution.rfind("\\boxed"), solution.rfind("\\fbox"))
    if start < 0:
        raise ValueError("solution has no \\boxed{...}")
    brace = start + len("\\boxed" if solution.startswith("\\boxed", start) else "\\fbox")
    while brace < len(solution) and solution[brace] == " ":
        brace += 1
    if brace >= len(solution) or solution[brace] != "{":
        raise ValueError(f"\\boxed is not followed by '{{' near {solution[start : start + 40]!r}")
    depth = 0
    for end in range(brace, len(solution)):
        if solution[end] == "{":
            depth += 1
        elif solution[end] == "}":
            depth -= 1
            if depth == 0:
                content = solution[brace + 1 : end].strip()
                if not content:
                    raise ValueError("the last \\boxed{} is empty")
                return content
    raise ValueError(f"unbalanced braces after \\boxed near {solution[start : start + 40]!r}")


def drop_math_delimiters(text: str) -> str:
    """Unescaped "$" are math-mode delimiters, not content ("\\$5" is kept): "$69$,$84$" -> "69,84"."""
    return _UNESCAPED_DOLLAR.sub("", text).strip()


def minerva_answer(solution: str) -> str:
    """Minerva: the last \\boxed{} of the solution, minus stray "$" delimiters (idx 72 has "+$ $" inside)."""
    answer = drop_math_delimiters(last_boxed(solution))
    if not answer:
        raise ValueError("the last \\boxed{} holds only '$' delimiters")
    return answer


def olympiad_answer(final_answer: list[str]) -> str:
    """OlympiadBench final_answer list: drop unescaped "$" delimiters, join several answers with ", "."""
    if not final_answer or not all(isinstance(part, str) for part in final_answer):
        raise ValueError(f"final_answer should be a non-empty list of strings, got {final_answer!r}")
    parts = [drop_math_delimiters(part) for part in final_answer]
    if not all(parts):
        raise ValueError(f"final_answer has an empty entry: {final_answer!r}")
    return ", ".join(parts)


def plain(answer: str) -> str:
    """An answer field that is already the gold answer (MATH, SimpleRL, MathArena LaTeX): outer whitespace only."""
    text = answer.strip()
    if not text:
        raise ValueError("answer is empty")
    return text
