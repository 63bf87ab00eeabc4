"""Rewrite an answer string into a canonical LaTeX-ish form before any comparison.

It removes what human judges ignore: math delimiters, spacing macros, `\\left`/`\\right`, units in `\\text{}`
or as trailing words, thousands separators, and it records (rather than drops silently) a percent sign or a
degree mark, because those change the value. It never rewrites digits or operators, so a normalised string
that differs is still a different answer; equivalence is decided in `reward.grader`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNIT_WORDS = (
    r"(?:square\s+|sq\.?\s+|cubic\s+)?(?:"
    r"units?|inch(?:es)?|in|feet|foot|ft|yards?|yd|miles?|mi|meters?|metres?|m|km|cm|mm|kilometers?|centimeters?"
    r"|millimeters?|seconds?|secs?|s|minutes?|mins?|hours?|hrs?|h|days?|weeks?|months?|years?|grams?|g|kg"
    r"|kilograms?|pounds?|lbs?|ounces?|oz|liters?|litres?|l|ml|mph|km/h|m/s|cm/s|dollars?|cents?|degrees?|deg"
    r"|radians?|rad|people|persons?|students?|ways?|points?|times|percent|mL|L"
    r")(?:\^\{?[23]\}?|\s*squared|\s*cubed)?"
)
_UNIT_TEXT = re.compile(
    r"\\(?:text|mbox|mathrm|textrm|operatorname)\s*\{\s*~?\s*" + _UNIT_WORDS + r"\s*\.?\s*\}(?:\^\{?[23]\}?)?"
)
# Bare trailing unit words after a number or closing bracket ("45 minutes", "8 cm^2"); single letters are left
# alone unless wrapped in \text (a bare "m" may be a variable, as in the OlympiadBench gold "6m").
_UNIT_TAIL = re.compile(
    r"(?<=[\d}\)\s])\s*(?:square\s+|sq\.?\s+|cubic\s+)?(?:units?|inch(?:es)?|feet|foot|ft|yards?|miles?|meters?|metres?"
    r"|km|cm|mm|kilometers?|centimeters?|seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?|years?|grams?|kg|pounds?"
    r"|liters?|ml|mph|km/h|m/s|dollars?|cents?|degrees?|people|students?|ways?|points?)(?:\^\{?[23]\}?)?\.?\s*$",
    re.IGNORECASE,
)
_SPACING = re.compile(
    r"(?<!\\)\\[,;:!> ]|\\q?quad|\\displaystyle\b|\\limits\b|\\nolimits\b"
)  # `\quadx`: no other command starts so
_LEFT_RIGHT = re.compile(r"\\(?:left|right|big|Big|bigg|Bigg)(?![a-zA-Z])\s*")
_DEGREE = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°|\\circ\b|\\degree\b|\\text\{\s*°\s*\}")
_PERCENT = re.compile(r"\\%|%|\\text\{\s*(?:percent|percentage|pct)\s*\}|(?<=[\d\s}])\s*(?:percentage|percent|pct)\b")
# Thousands separators: `3,110,400`, `1 000`, never with a space after the comma (`32, 349` is a list) nor a
# leading 0 (`0,111` is not a thousands form).
_THOUSANDS = re.compile(r"^-?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?$|^-?[1-9]\d{0,2}(?: \d{3})+(?:\.\d+)?$")
# An escaped string's doubled backslash before a command (`\\\\frac`, from JSON or a raw string written twice).
_DOUBLED = re.compile(
    r"\\(?=\\(?:boxed|frac|dfrac|tfrac|left|right|text|mathrm|sqrt|pi|cdot|times|infty|in|cup|cap|pm|le|ge|leq|geq"
    r"|neq|circ|quad|qquad|alpha|beta|theta|angle)(?![a-zA-Z]))"
)
# "or"/"and" written without spaces between two answers: `(11,7)or(7,11)`, `W(x)=1orW(x)=-1`.
_GLUED_CONNECTIVE = re.compile(r"(?<=[\d)\]}])(or|and)(?=[A-Za-z(\\\-\d])")
_REPLACE = [
    ("\\dfrac", "\\frac"),
    ("\\tfrac", "\\frac"),
    ("\\cfrac", "\\frac"),
    ("\\geqslant", "\\ge"),
    ("\\leqslant", "\\le"),
    ("\\geq", "\\ge"),
    ("\\leq", "\\le"),
    ("\\neq", "\\ne"),
    ("≤", "\\le "),
    ("≥", "\\ge "),
    ("−", "-"),
    ("\\lbrace", "\\{"),
    ("\\rbrace", "\\}"),
    ("\\emptyset", "\\varnothing"),
    ("\\lt", "<"),
    ("\\gt", ">"),
    ("\\infinity", "\\infty"),
]


@dataclass(frozen=True)
class Normalized:
    text: str
    percent: bool = False  # a percent sign was removed: the value may mean text/100
    degree: bool = False  # a degree mark was removed: the value may mean text*pi/180


def strip_delimiters(s: str) -> str:
    """Drop math-mode delimiters and a trailing full stop: `$x$.` -> `x`."""
    s = s.strip()
    s = s.replace("\\$", "\x00")  # a dollar sign (currency) is not a delimiter
    s = s.replace("$", "")
    s = s.replace("\x00", "")
    for a, b in (("\\(", "\\)"), ("\\[", "\\]")):
        if s.startswith(a) and s.endswith(b):
            s = s[2:-2]
    s = s.strip()
    while len(s) > 1 and s[-1] in ".;":
        s = s[:-1].rstrip()
    return s


def normalize(s: str) -> Normalized:
    """Canonical form of one answer (a whole answer or one list item)."""
    s = strip_delimiters(_DOUBLED.sub("", s))
    s = re.sub(r"(\d)(?:,\\!|\{,\})\s*(?=\d{3})", "\\1", s)  # 3,\!110,\!400 and 14{,}916: LaTeX separators
    s = _GLUED_CONNECTIVE.sub(r" \1 ", s)
    s = re.sub(r"(?<![\d!])!=", r"\\ne ", s)  # `x != 3`; `5!=120` is a factorial
    s = s.replace(">=", "\\ge ").replace("<=", "\\le ")
    s = _SPACING.sub(" ", s)
    s = s.replace("~", " ")
    s = _LEFT_RIGHT.sub("", s)
    for a, b in _REPLACE:
        s = s.replace(a, b)
    s = re.sub(r"\\(?:textbf|mathbf|boldsymbol|bf)\s*\{([^{}]*)\}", r"\1", s)  # bold is emphasis only
    s = re.sub(r"\\(?:text|mbox|textrm|mathrm)\s*\{([^{}a-zA-Z]*)\}", r"\1", s)  # \text{5}, \text{(C)}: no words
    s = re.sub(r"^\\(?:text|mbox|textrm)\s*\{(\s*-?\d[^{}]*)\}$", r"\1", s)  # \text{5 cm}: a number with its unit
    s = re.sub(r"\\(?:text|mbox|mathrm|textrm)\s*\{\s*(and|or)\s*\}", r" \1 ", s)
    s = re.sub(r"\s+(and|or)\s+", r" \\text{\1} ", s)  # keep list connectives through the space clean-up
    degree = False
    if _DEGREE.search(s):
        bare = _DEGREE.sub("", s).strip()
        if re.fullmatch(r"-?(?:\d+\.?\d*|\.\d+|\\frac\{\d+\}\{\d+\})", bare):  # only a plain number loses its mark
            degree, s = True, bare
    percent = bool(_PERCENT.search(s))
    s = _PERCENT.sub("", s)
    before = s
    s = _UNIT_TEXT.sub("", s).strip()
    if not s:
        s = before
    s = _UNIT_TAIL.sub("", s).strip() or s
    # a trailing label after a number ("65 \text{children tickets}") is a unit-like noun, not part of the value
    s = re.sub(r"(?<=\d)\s*\\text\{\s*[A-Za-z][A-Za-z ]*\}\s*$", "", s) if re.search(r"\d", s.split("\\text")[0]) else s
    s = re.sub(r"\s+", " ", s).strip()
    s = _unwrap_group(s)
    if _THOUSANDS.match(s):
        s = s.replace(",", "").replace(" ", "")
    s = re.sub(r"\s*([=,+\-*/^_(){}\[\]<>|])\s*", r"\1", s)  # spaces around operators carry no meaning
    s = re.sub(r"(?<=[\d}\)\]])\s+(?=\\)", "", s)  # "2 \sqrt{2}": a space before a command is not a product sign
    s = re.sub(r"(\\[a-zA-Z]+)\s+(?=[{(\d])", r"\1", s)  # "\sqrt {3}", "\pi 2": a command name ends at a non-letter
    s = strip_delimiters(s)
    return Normalized(s, percent, degree)


def _unwrap_group(s: str) -> str:
    """`{2, 3, 5}` -> `2, 3, 5`: a plain LaTeX group around the whole answer only groups (`\\{...\\}` is a set)."""
    while len(s) > 1 and s[0] == "{" and s[-1] == "}":
        depth = 0
        for i, ch in enumerate(s):
            depth += (ch == "{") - (ch == "}")
            if depth == 0 and i < len(s) - 1:
                return s
        s = s[1:-1].strip()
    return s
