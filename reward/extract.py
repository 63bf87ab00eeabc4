"""Find the final answer in a model response: `\\boxed{}` contents, or a prose ending when there is no box.

Strict mode is what the RL reward reads (paper §5.3 and the reference: the last brace-matched `\\boxed{}`).
Lenient mode is for evaluation: it also joins adjacent boxes (`\\boxed{1}, \\boxed{3}`) and reads prose
endings ("The answer is 5", "#### 5", "**5**", `<answer>5</answer>`, "Therefore, ... $12$."). Both modes skip
tool output and code blocks. Every scan is linear in the text, so a 100 KB response costs milliseconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PROSE_TAIL_CHARS = 3000
# A tool output block as the agent loop writes it: "```output\n" + result + "```" (reference §3.4). It is
# environment text: a box printed by code is never the model's answer.
_OUTPUT_BLOCK = re.compile(r"```output\n.*?(?:```|\Z)", re.DOTALL)
_CODE_BLOCK = re.compile(r"```python\n.*?(?:```|\Z)", re.DOTALL)
_BOX_CMD = re.compile(r"\\(boxed|fbox)\b\s*")
_BRACES = re.compile(r"\\.|[{}]", re.DOTALL)
# What may sit between two boxes that together give one answer ("\boxed{1}, \boxed{3}", "$\boxed{a}$ and $\boxed{b}$").
_BOX_GAP = re.compile(
    r"^(?:\s|\$|,|;|\.|&|\\quad|\\qquad|\\\\|\\text\{\s*(?:and|or)\s*\}|\band\b|\bor\b|[A-Za-z](?:_\{?\w+\}?)?\s*=|\\\]|\\\[|\\\(|\\\))*$"
)


@dataclass(frozen=True)
class Box:
    start: int  # index of the backslash of \boxed
    end: int  # index just past the closing brace
    content: str


def strip_tool_output(text: str) -> str:
    """The text without tool output blocks (what the model itself wrote)."""
    return _OUTPUT_BLOCK.sub("", text) if "```output" in text else text


def answer_text(text: str) -> str:
    """Where an answer may be read: the model's prose, without tool output and without its own code blocks."""
    text = strip_tool_output(text)
    return _CODE_BLOCK.sub("", text) if "```python" in text else text


def _brace_partners(text: str, start: int) -> dict[int, int]:
    """Map each '{' at or after `start` to its matching '}' (escaped braces like `\\{` are skipped)."""
    partners: dict[int, int] = {}
    stack: list[int] = []
    for m in _BRACES.finditer(text, start):
        tok = m.group()
        if tok == "{":
            stack.append(m.start())
        elif tok == "}" and stack:
            partners[stack.pop()] = m.start()
    return partners


def find_boxes(text: str, lenient: bool = False) -> list[Box]:
    """Outermost brace-matched `\\boxed{...}` in order (lenient: also `\\fbox{}` and `\\boxed 5`)."""
    first = text.find("\\boxed")
    if lenient:
        f = text.find("\\fbox")
        first = f if first < 0 or 0 <= f < first else first
    if first < 0:
        return []
    partners = _brace_partners(text, first)
    boxes: list[Box] = []
    covered = -1
    for m in _BOX_CMD.finditer(text, first):
        if m.start() < covered or (m.group(1) == "fbox" and not lenient):
            continue
        open_at = m.end()
        if open_at < len(text) and text[open_at] == "{":
            close_at = partners.get(open_at)
            if close_at is None:
                continue
            boxes.append(Box(m.start(), close_at + 1, text[open_at + 1 : close_at].strip()))
            covered = close_at + 1
        elif lenient:
            token = re.match(r"[^\s$]+", text[open_at : open_at + 100])
            if token and m.end() > m.start() + len("\\boxed"):  # `\boxed 5` needs the space
                boxes.append(Box(m.start(), open_at + token.end(), token.group().rstrip(".,")))
    return boxes


def _last_group(text: str, boxes: list[Box]) -> list[Box]:
    group = [boxes[-1]]
    for box in reversed(boxes[:-1]):
        if not _BOX_GAP.match(text[box.end : group[0].start]):
            break
        group.insert(0, box)
    return group


_PROSE = [
    re.compile(r"final answer is\s*:?\s*(.+?)\.?\s*I hope it is correct", re.IGNORECASE | re.DOTALL),
    re.compile(r"(?:final answer|the answer)\s*(?:is|:)\s*:?\s*(.+?)(?=\.\s|\.?\s*$)", re.IGNORECASE | re.MULTILINE),
    re.compile(r"^#### *(.+)$", re.MULTILINE),
    re.compile(r"<answer>(.*?)</answer>", re.DOTALL),
    re.compile(r"\*\*(?:final answer|answer)?:?\s*([^*\n]+?)\s*\*\*", re.IGNORECASE),
]


def _clean_prose(ans: str) -> str:
    ans = ans.strip()
    ans = re.sub(r"^\*\*|\*\*$", "", ans).strip()
    ans = re.sub(r"^(?:final answer|answer)\s*:\s*", "", ans, flags=re.IGNORECASE)
    if ans.startswith("$") and ans.count("$") >= 2:
        ans = ans[1 : ans.index("$", 1)] if not ans.startswith("$$") else ans.strip("$")
    return ans.strip().rstrip(".").strip()


_CONCLUSION = re.compile(r"\b(?:therefore|thus|hence|so|finally|in conclusion|in summary)\b", re.IGNORECASE)
_MATH = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\[(.+?)\\\]|\\\((.+?)\\\)", re.DOTALL)


def _conclusion_answer(tail: str) -> str | None:
    """Last resort: the last math in a finished closing sentence ("Therefore, the sum is $12$.")."""
    lines = [ln.strip() for ln in tail.strip().splitlines() if ln.strip()]
    if not lines:
        return None
    last = lines[-1]
    if len(lines) > 1 and re.fullmatch(r"\$\$.*\$\$|\\\[.*\\\]\.?", last):  # "Therefore,\n\[x = 5.\]"
        last = lines[-2] + " " + last
    if not _CONCLUSION.search(last) or not re.search(r"(?:[.!]|\$|\\\]|\\\))\s*$", last):
        return None
    maths = [next(g for g in m.groups() if g is not None) for m in _MATH.finditer(last)]
    return _clean_prose(maths[-1]) if maths and maths[-1].strip() else None


def _prose_answer(text: str) -> str | None:
    tail = text[-PROSE_TAIL_CHARS:]
    best: tuple[int, str] | None = None
    for pattern in _PROSE:
        for m in pattern.finditer(tail):
            if best is None or m.start() > best[0]:
                best = (m.start(), m.group(1))
    if best is None:
        return _conclusion_answer(tail)
    ans = _clean_prose(best[1])
    return ans or None


def extract_answer(text: str, strict: bool = False) -> str | None:
    """The final answer of `text` (tool output and code blocks ignored), or None.

    strict: the content of the last brace-matched `\\boxed{}` (nothing else counts).
    lenient: the last box, joined with the boxes right before it (", "), else a prose ending.
    """
    if not isinstance(text, str) or not text:
        return None
    text = answer_text(text)
    boxes = find_boxes(text, lenient=not strict)
    if strict:
        return boxes[-1].content if boxes else None
    if boxes:
        return ", ".join(b.content for b in _last_group(text, boxes) if b.content) or None
    return _prose_answer(text)


def answer_candidates(text: str) -> list[str]:
    """Lenient readings of `text`, most specific first: the last box alone, then the joined group."""
    if not isinstance(text, str) or not text:
        return []
    text = answer_text(text)
    boxes = find_boxes(text, lenient=True)
    if not boxes:
        prose = _prose_answer(text)
        return [prose] if prose else []
    out = [boxes[-1].content] if boxes[-1].content else []
    group = _last_group(text, boxes)
    if len(group) > 1:
        out.append(", ".join(b.content for b in group if b.content))
    return out
