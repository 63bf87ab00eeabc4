"""Find the final answer in a model response: `\\boxed{}` contents, or, in lenient mode, what else states it.

Strict mode is what the RL reward reads (docs/reference.md §5.3: the last brace-matched `\\boxed{}`).
Lenient mode is for evaluation, in this order: the last box (joined with the boxes next to it or in the same
math span: `\\boxed{1}, \\boxed{3}`), the project's prose markers ("The answer is 5", "#### 5", "**Answer: 5**",
`<answer>5</answer>`), a response that is itself a bare answer (`$-5$`, `1,000.99`), and last what math-verify
reads from the response (its own `parse` with `LatexExtractionConfig`/`ExprExtractionConfig`: the last LaTeX span
or plain expression, "so x = 3" -> `3`). Both modes skip tool output and code blocks. Box scans are linear in
the text; math-verify's regexes see only the last `MV_TAIL_CHARS` characters, which bounds their cost.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse

from tir_rollout.stop_machine import OUTPUT_PREFIX, OUTPUT_SUFFIX

PROSE_TAIL_CHARS = 3000
# math-verify's extraction regexes are quadratic on some inputs (`\\[` repeated: ~0.3 s for 2000 characters on a
# loaded core) and run as one C call the deadline cannot interrupt, so they read only the end of a response.
MV_TAIL_CHARS = 2000
MAX_GROUP = 40  # boxes joined into one answer at most (the grader compares lists of up to 40 items)
MV_MAX_DEPTH = 24  # bracket nesting beyond this makes latex2sympy's parse of the span take seconds
_MV_CONFIG = (LatexExtractionConfig(), ExprExtractionConfig())  # math-verify's own default targets
logging.getLogger("math_verify").setLevel(logging.ERROR)  # "Timeout is disabled": reward.deadline bounds it
# A tool output block as the stop machine writes it (OUTPUT_PREFIX + result + OUTPUT_SUFFIX), from its opening
# fence to its closing one; the newlines around the fences stay in the text. It is environment text: a box
# printed by code is never the model's answer. An unclosed block runs to the end.
_OUTPUT_OPEN, _OUTPUT_CLOSE = OUTPUT_PREFIX.lstrip("\n"), OUTPUT_SUFFIX.strip("\n")  # "```output\n", "```"
_OUTPUT_BLOCK = re.compile(f"{re.escape(_OUTPUT_OPEN)}.*?(?:{re.escape(_OUTPUT_CLOSE)}|\\Z)", re.DOTALL)
_CODE_BLOCK = re.compile(r"```python\n.*?(?:```|\Z)", re.DOTALL)
# Chat-template tokens a model sometimes emits after its answer ("... is 2/3. <|im_start|>user").
_CHAT_TOKENS = re.compile(r"<\|[a-z_]+\|>(?:user|assistant|system)?|</s>")
_MATH_DELIM = re.compile(r"\$|\\[\[\]()]")
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
    return _OUTPUT_BLOCK.sub("", text) if _OUTPUT_OPEN in text else text


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
    """The last box with the boxes before it that form one answer: only separators between them (`_BOX_GAP`), or
    all inside one math span. Refuses to join boxes separated by prose outside math ("\\boxed{3}. Next, \\boxed{5}")."""
    group = [boxes[-1]]
    for box in reversed(boxes[max(0, len(boxes) - MAX_GROUP) : -1]):
        gap = text[box.end : group[0].start]
        if not (_BOX_GAP.match(gap) or (not _MATH_DELIM.search(gap) and _in_math(text, box.start))):
            break
        group.insert(0, box)
    return group


def _in_math(text: str, pos: int) -> bool:
    """Whether `pos` lies inside a `$...$`, `$$...$$`, `\\[...\\]` or `\\(...\\)` span (delimiter parity; `\\$` is a
    dollar sign, not a delimiter)."""
    head = text[:pos].replace("\\$", "")
    doubles = head.count("$$")
    if doubles % 2 or (head.count("$") - 2 * doubles) % 2:
        return True
    return head.rfind("\\[") > head.rfind("\\]") or head.rfind("\\(") > head.rfind("\\)")


_PROSE = [
    re.compile(r"final answer is\s*:?\s*(.+?)\.?\s*I hope it is correct", re.IGNORECASE | re.DOTALL),
    re.compile(r"(?:final answer|the answer)\s*(?:is|:)\s*:?\s*(.+?)(?=\.\s|\.?\s*$)", re.IGNORECASE | re.MULTILINE),
    re.compile(r"^#### *(.+)$", re.MULTILINE),
    re.compile(r"<answer>(.*?)</answer>", re.DOTALL),
    re.compile(r"\*\*(?:final answer|answer)?:?\s*([^*\n]+?)\s*\*\*", re.IGNORECASE),
    re.compile(r"\*\*(?:final answer|answer):?\*\*:?[ \t]*([^\n]+)", re.IGNORECASE),  # **Answer:** 45°
]


def _clean_prose(ans: str) -> str:
    ans = re.sub(r'^(?:\\?")+|(?:\\?")+$', "", ans.strip()).strip()  # quoted: `"$12$ and $13$"`
    ans = re.sub(r"^\*\*|\*\*$", "", ans).strip()
    ans = re.sub(r"^(?:final answer|answer)\s*:\s*", "", ans, flags=re.IGNORECASE)
    ans = ans.strip().rstrip(".").strip()
    one_span = re.fullmatch(r"\$\$([^$]+)\$\$|\$([^$]+)\$", ans)  # `$x$` alone; `$12$ and $13$` stays whole
    return (one_span.group(1) or one_span.group(2)).strip() if one_span else ans


# Words that do not make a text prose: list connectives, units and percent words that normalisation removes.
_NOT_PROSE = {"and", "or", "percent", "pct", "percentage", "degrees", "units", "unit", "cm", "km", "mm", "ft", "in"}
_WORD = re.compile(r"(?<![\\A-Za-z0-9])[A-Za-z]{2,}(?![A-Za-z0-9(])")
_TEXT_GROUP = re.compile(r"\\(?:text|mbox|mathrm|textrm|textbf|mathbf|operatorname)\s*\{[^{}]*\}")
_SHORT_NAME = re.compile(r"[A-Za-z][A-Za-z'\-]*(?: [A-Za-z][A-Za-z'\-]*){0,2}\.?")


def prose_words(text: str) -> list[str]:
    """The words of `text` outside math and `\\text{}` groups (`so x = 3` -> ["so"]); units, connectives and
    function applications (`W(x)`) are not prose."""
    bare = _TEXT_GROUP.sub(" ", text)
    bare = re.sub(r"\$[^$]*\$|\\\(.*?\\\)|\\\[.*?\\\]", " ", bare, flags=re.DOTALL)
    return [w for w in _WORD.findall(bare) if w.lower() not in _NOT_PROSE]


def _bare_answer(text: str) -> str | None:
    """The whole text when it is itself an answer: no prose words (`$-5$`, `1,000.99`, `x \\ge 5`, `28 percent`), or a
    name of at most three words (`Evelyn`, `Yes`); None for "so x = 3" or "The answer depends on x"."""
    s = text.strip()
    if not s or len(s) > 400:
        return None
    if not prose_words(s) or _SHORT_NAME.fullmatch(s):
        return s
    return None


def mv_reading(text: str) -> str | None:
    """What math-verify reads as the answer of `text` (its `parse` with its default Latex and Expr targets, first
    match only): the string of the last LaTeX span or plain expression, in its priority order ("final answer is",
    "answer:", then anything). None when it finds nothing, or when the tail is nested too deep to parse in time."""
    tail = text[-MV_TAIL_CHARS:]
    depth = best = 0
    for ch in tail:
        depth += ch in "{(["
        depth -= ch in "})]"
        best = max(best, depth)
    if best > MV_MAX_DEPTH:
        return None
    try:
        found = parse(
            tail, _MV_CONFIG, fallback_mode="first_match", extraction_mode="first_match", parsing_timeout=None
        )
    except Exception:  # noqa: BLE001 - math-verify failing to read is "no answer"
        return None
    strings = [x.strip().rstrip(".,;").strip() for x in found if isinstance(x, str)]
    return strings[-1] if strings and strings[-1] else None


def _marker_answer(text: str, patterns: list[re.Pattern] = _PROSE) -> str | None:
    """The last prose marker's answer ("The answer is x", "#### x", "**Answer: x**", `<answer>x</answer>`); a marker
    followed by a sentence ("Final Answer: The volume is 120") gives math-verify's reading of that sentence."""
    tail = text[-PROSE_TAIL_CHARS:]
    best: tuple[int, str] | None = None
    for pattern in patterns:
        for m in pattern.finditer(tail):
            if not re.search(r"\w", _clean_prose(m.group(1))):
                continue  # "**Answer:**" read as bold text ":"
            if best is None or m.start() > best[0]:
                best = (m.start(), m.group(1))
    if best is None:
        return None
    ans = _clean_prose(best[1])
    if ans and prose_words(ans) and not _SHORT_NAME.fullmatch(ans):
        ans = mv_reading(ans) or ans
    return ans or None


def _unboxed_answer(text: str) -> str | None:
    """Lenient reading without a box: a prose marker, else the text itself when it is a bare answer, else
    math-verify's reading of the response."""
    text = _CHAT_TOKENS.sub(" ", text).strip()
    return _marker_answer(text) or _bare_answer(text) or mv_reading(text)


def _final_after_box(text: str, boxes: list[Box]) -> str | None:
    """A "final answer is x" sentence after the last box overrides it: the boxes were intermediate results
    ("... = \\boxed{255}. So he has $10,455. Final Answer: The final answer is $10,455$.")."""
    after = text[boxes[-1].end :]
    return _marker_answer(after, _PROSE[:2]) if "answer" in after.lower() else None


def extract_answer(text: str, strict: bool = False) -> str | None:
    """The final answer of `text` (tool output and code blocks ignored), or None.

    strict: the content of the last brace-matched `\\boxed{}` (nothing else counts).
    lenient: the last box, joined with the boxes that belong with it (", "), else `_unboxed_answer`.
    """
    if not isinstance(text, str) or not text:
        return None
    text = answer_text(text)
    boxes = find_boxes(text, lenient=not strict)
    if strict:
        return boxes[-1].content if boxes else None
    if boxes:
        final = _final_after_box(text, boxes)
        return final or ", ".join(b.content for b in _last_group(text, boxes) if b.content) or None
    return _unboxed_answer(text)


def answer_candidates(text: str) -> list[str]:
    """Lenient readings of `text`, most specific first: the last box alone, then the joined group."""
    if not isinstance(text, str) or not text:
        return []
    text = answer_text(text)
    boxes = find_boxes(text, lenient=True)
    final = _final_after_box(text, boxes) if boxes else _unboxed_answer(text)
    if final or not boxes:
        return [final] if final else []
    out = [boxes[-1].content] if boxes[-1].content else []
    group = _last_group(text, boxes)
    if len(group) > 1:
        out.append(", ".join(b.content for b in group if b.content))
    return out


_OPEN_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
# A gold's boxes joined by a connective in one sentence (`\\boxed{1} papers and \\boxed{2} bins`),
# not `\\boxed{1} no \\boxed{2}`.
_SAME_SENTENCE = re.compile(r"(?=.*(?:\band\b|\bor\b|,))[^.!?\n]{0,40}")


def gold_answer(gold: str) -> str:
    """The answer a gold states. A plain gold (`\\frac12`, `$x=1$`, `45 minute`) is itself; a gold that holds boxes
    (a worked solution, `\\boxed{1}\\boxed{2}`) is its last box group, read as a response is, with the boxes a few
    words before it in the same sentence (a reference answer's boxes are all answer); a box left open at
    the end (`\\boxed{W(n) = 1`) runs to the end of the gold; a worked solution without a box (four prose words
    or more) gives its prose marker ("The final answer is x"), else it is kept whole: an OlympiadBench gold such as
    `f(x)=ax+b, where b is an arbitrary integer` is an answer with words, not a response."""
    if "\\boxed" in gold or "\\fbox" in gold:
        boxes = find_boxes(gold, lenient=True)
        if boxes:
            group = _last_group(gold, boxes)
            for box in reversed(boxes[: boxes.index(group[0])]):  # `\\boxed{1} papers and \\boxed{2} bins`
                if not _SAME_SENTENCE.fullmatch(gold[box.end : group[0].start]):
                    break
                group.insert(0, box)
            return ", ".join(b.content for b in group if b.content)
        opened = list(_OPEN_BOX.finditer(gold))
        if opened:
            return gold[opened[-1].end() :].rstrip().rstrip("$.").rstrip().rstrip("}").strip()
    if len(prose_words(gold)) >= 4:  # "... Final Answer: The final answer is $28\\%$. I hope it is correct."
        return _marker_answer(_CHAT_TOKENS.sub(" ", gold)) or gold
    return gold
