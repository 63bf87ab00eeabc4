"""Answer grading shared by the RL reward and evaluation: is this response's final answer the gold answer?

math-verify (via `reward.symbolic`) decides single-expression equivalence; this module adds the structure it
misses: lists and solution sets in any order, ordered tuples, intervals vs inequalities, equations vs values,
renamed function variables, text and choice answers, percent and degree marks, golds that list alternatives,
and OlympiadBench golds given as lists. Each rule compares parts with the same strict equivalence, so no rule
can accept an answer whose parts differ. Every public call is bounded by `timeout_s` and never raises.
"""

from __future__ import annotations

import ast
import logging
import re
from fractions import Fraction
from functools import lru_cache

import sympy

from reward.answer_types import INTEGER, MATH, integer_equal
from reward.deadline import GradeTimeout, bounded
from reward.equations import assignment_groups, relation, split_equation
from reward.extract import answer_candidates, extract_answer, gold_answer
from reward.normalize import Normalized, normalize, strip_delimiters
from reward.splitting import bracketed as _bracketed
from reward.splitting import top_level_split as _top_level_split
from reward.symbolic import numeric_value, symbolic_equal

__all__ = ["extract_answer", "grade_answer", "grade_prediction", "grade_prediction_timed"]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 5.0
MAX_ANSWER_CHARS = 4000  # longer predictions are compared as strings only
MAX_ITEMS = 40  # list answers longer than this are compared as strings only

_CONNECTIVE = re.compile(r"\\(?:text|mbox|mathrm|textrm)\s*\{\s*(and|or)\s*\}|\s+(and|or)\s+")
_NUMBER = re.compile(r"^[-+]?(?:\d+(?:\.\d*)?|\.\d+)$")
_FRAC = re.compile(r"^(-?)\\frac(?:\{(-?\d+)\}|(\d))(?:\{(-?\d+)\}|(\d))$")
_MIXED = re.compile(r"^(-?)(\d+)\s*\\frac\{(\d+)\}\{(\d+)\}$")
_BASE = re.compile(r"^([0-9A-Za-z]+)_\{?(\d+)\}?$")  # a numeral with its base: 52_8, A3_{16}
_BARE_DIGITS = re.compile(r"^([0-9A-Z]+)$")
_PRED_CHOICE = re.compile(r"^(?:\\text\{\(?(?P<t>[A-Ea-e])\)?\}|\((?P<p>[A-Ea-e])\))")
_CHOICE = re.compile(r"^(?:\\text\{)?\(([A-Ea-e])\)\}?$|^\\text\{([A-E])\}$")
_TEXT = re.compile(r"^\\(?:text|mbox|mathrm|textrm|textit|mathit)\{([^{}]*)\}$")
_TEXT_WORDS = {"yes", "no", "true", "false", "none", "odd", "even", "neither", "both", "never", "always"}
_IN_SET = re.compile(r"^[a-zA-Z]\s*\\in\s*")
_INEQ = re.compile(r"(\\le|\\ge|<|>)")
_COMMA_DECIMAL = re.compile(r"(-?\d+),(\d+)")
_THOUSANDS_FORM = re.compile(r"-?[1-9]\d{0,2},\d{3}")
_VARIABLE = re.compile(r"[a-zA-Z]|[a-zA-Z]\([a-z]\)")  # what an interval is of: `x`, or the range of `f(x)`


def _items(s: str) -> list[str]:
    """A list answer split into items (top-level `,` `;` `and` `or`); `\\{...\\}` around the whole list is a set and is
    unwrapped; one `\\pm` gives two items (`3 \\pm 2\\sqrt2`, `x = \\pm 2`). Refuses to split inside brackets:
    `(1,2)` stays one item."""
    s = _CONNECTIVE.sub(lambda m: "," if (m.group(1) or m.group(2)) == "and" else " \\or ", s)
    b = _bracketed(s)
    if b and b[0] == "{":
        s = ",".join(b[2])
    items = _top_level_split(s, (",", ";", " \\or ", "\\or "))
    out: list[str] = []
    for item in items:  # a \pm gives two solutions: 3 \pm 2\sqrt{2}
        if item.count("\\pm") == 1 and (item.count("=") == 0 or _split_equation(item)[0]):
            out += [item.replace("\\pm", "+"), item.replace("\\pm", "-")]
        else:
            out.append(item)
    return out


def _alternatives(gold: str) -> list[str]:
    """The sides of a gold such as `3 \\text{ or } 5` (whether either alone is accepted: `_are_alternatives`)."""
    marked = _CONNECTIVE.sub(lambda m: "," if (m.group(1) or m.group(2)) == "and" else " \\or ", gold)
    alts = _top_level_split(marked, (" \\or ", "\\or "))
    return alts if len(alts) > 1 else []


# ---------------------------------------------------------------- single items


def _number(s: str) -> Fraction | None:
    if _NUMBER.match(s):
        return Fraction(s if not s.endswith(".") else s[:-1])
    m = _FRAC.match(s)
    if m:
        num, den = int(m.group(2) or m.group(3)), int(m.group(4) or m.group(5))
        if den == 0:
            return None
        return Fraction(num, den) * (-1 if m.group(1) else 1)
    m = _MIXED.match(s)  # MATH writes 137 1/2 as "137 \frac{1}{2}"
    if m and 0 < int(m.group(3)) < int(m.group(4)):
        value = int(m.group(2)) + Fraction(int(m.group(3)), int(m.group(4)))
        return -value if m.group(1) else value
    return None


_RADICAL = re.compile(
    # \sqrt23 is 3\sqrt2, so without braces the radicand is one digit
    r"^(?P<sign>-?)(?:(?P<a>\d+)\s*)?\\sqrt(?:\{(?P<b>\d+)\}|(?P<b1>\d))$"
    r"|^(?P<fsign>-?)\\frac\{(?:(?P<fa>\d+)\s*)?\\sqrt(?:\{(?P<fb>\d+)\}|(?P<fb1>\d))\}\{(?P<fc>\d+)\}$"
)


def _signed_square(s: str) -> tuple[int, Fraction] | None:
    """(sign, value^2) of a single-term radical `-3\\sqrt{2}`, `\\frac{\\sqrt{21}}{5}`, or a plain number; exact,
    so two such answers compare without sympy (the hot path of radicals in the benchmark)."""
    n = _number(s)
    if n is not None:
        return (n > 0) - (n < 0), n * n
    m = _RADICAL.match(s)
    if not m or len(s) > 60:
        return None
    if m.group("b") is not None or m.group("b1") is not None:
        sign, a, b, c = m.group("sign"), m.group("a"), m.group("b") or m.group("b1"), "1"
    else:
        sign, a, b, c = m.group("fsign"), m.group("fa"), m.group("fb") or m.group("fb1"), m.group("fc")
    coef = Fraction(int(a or 1), int(c)) if int(c) else None
    if coef is None:
        return None
    value = coef * coef * int(b)
    return (0 if value == 0 else (-1 if sign else 1)), value


def _plain_text(s: str) -> str | None:
    """The words of a text answer (`\\text{Evelyn}`, `yes`), lower-cased; None for math."""
    m = _TEXT.match(s)
    if m:
        return re.sub(r"\s+", " ", m.group(1)).strip().lower()
    if re.fullmatch(r"[A-Za-z]+(?: [A-Za-z]+)*", s):
        words = s.lower().split()
        if s.lower() in _TEXT_WORDS or (len(words) > 1 and all(len(w) >= 3 for w in words)):
            return s.lower()
    return None


_split_equation = split_equation


def _as_interval(s: str) -> str | None:
    """`\\frac12 \\le x \\le 8` -> `[\\frac12,8]`, `k<-5` -> `(-\\infty,-5)`, `x \\in [1,2)` -> `[1,2)`."""
    m = re.fullmatch(r"[a-zA-Z]\s*\\in\s*(.+)", s)
    if m:
        return m.group(1)
    parts = _INEQ.split(s)
    if len(parts) == 3:
        a, op, b = (p.strip() for p in parts)
        if _VARIABLE.fullmatch(a):
            bound = b
        elif _VARIABLE.fullmatch(b):  # 5 > x  ->  x < 5
            bound = a
            op = {"<": ">", ">": "<", "\\le": "\\ge", "\\ge": "\\le"}[op]
        else:
            return None
        if op in ("<", "\\le"):
            return "(-\\infty," + bound + (")" if op == "<" else "]")
        return ("(" if op == ">" else "[") + bound + ",\\infty)"
    if len(parts) == 5 and _VARIABLE.fullmatch(parts[2].strip()):
        lo, op1, _, op2, hi = (p.strip() for p in parts)
        if op1 in ("<", "\\le") and op2 in ("<", "\\le"):
            return ("(" if op1 == "<" else "[") + lo + "," + hi + (")" if op2 == "<" else "]")
        if op1 in (">", "\\ge") and op2 in (">", "\\ge"):
            return ("(" if op2 == ">" else "[") + hi + "," + lo + (")" if op1 == ">" else "]")
    return None


def _is_interval_like(s: str) -> bool:
    """Whether `s` reads as an interval or a union of them (`[1, \\infty)`, `(0,1) \\cup (2,3)`)."""
    return "\\cup" in s or "\\infty" in s or (_bracketed(s) is not None and _bracketed(s)[0] in "([")


def _match_unordered(preds: list[str], golds: list[str], equal) -> bool:
    """A perfect matching between equal-length lists under `equal` (Kuhn's augmenting paths: polynomial, so a
    list of 40 near-identical items cannot blow up the way naive backtracking would)."""
    if len(preds) != len(golds):
        return False
    memo: dict[tuple[int, int], bool] = {}

    def eq(i: int, j: int) -> bool:
        if (i, j) not in memo:
            memo[i, j] = bool(equal(preds[j], golds[i]))
        return memo[i, j]

    owner = [-1] * len(preds)  # pred j -> gold i it is matched to

    def augment(i: int, seen: list[bool]) -> bool:
        for j in range(len(preds)):
            if not seen[j] and eq(i, j):
                seen[j] = True
                if owner[j] < 0 or augment(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    return all(augment(i, [False] * len(preds)) for i in range(len(golds)))


def _values_equal(pred: Normalized, gold: Normalized, rename: dict[str, str] | None) -> bool:
    """Numbers and expressions. Accepts equal exact rationals (`27.0` = `27`, `\\frac{2}{4}` = `0.5`), a percent side
    meaning value/100 (`0.175` = `17.5\\%`), equal single-term radicals by sign and square (`\\frac{\\sqrt{21}}{5}`),
    degrees against radians with `\\pi`, and math-verify's verdict on the rest (decimals rounded to 6 places).
    Refuses `\\frac{3}{8}` for `\\frac{3}{7}` (exact rationals that differ never reach rounding), `-\\sqrt2` for
    `\\sqrt2`, `0.3333` for `\\frac13`."""
    p, g = pred.text, gold.text
    if p == g and pred.percent == gold.percent and not rename:
        return True
    pn, gn = _number(p), _number(g)
    if pn is not None and gn is not None:
        if pn == gn or (pred.percent and pn / 100 == gn) or (gold.percent and gn / 100 == pn):
            return True
        if "." not in p and "." not in g:  # exact rationals that differ; decimals go on to math-verify's rounding
            return False
    exact = "\\sqrt" in p + g and "." not in p + g  # decimals keep math-verify's rounding
    if exact and not (pred.percent or gold.percent or pred.degree or gold.degree or rename):
        ps, gs = _signed_square(p), _signed_square(g)
        if ps is not None and gs is not None:
            return ps == gs
    if pred.degree or gold.degree:  # 30^\circ vs \frac{\pi}{6}
        deg, other = (pn, g) if pred.degree else (gn, p)
        value = numeric_value(other)
        if deg is not None and value is not None and value.has(sympy.pi):
            return abs(float(value) - float(deg) * 3.141592653589793 / 180) < 1e-9
    return symbolic_equal(p, g, rename)


def _bare(s: str) -> str:
    """`x = (52_8)` -> `52_8`: the value without a simple left side or one pair of round brackets."""
    s = _split_equation(s)[2]
    return s[1:-1] if s.startswith("(") and s.endswith(")") and _bracketed(s) else s


@lru_cache(maxsize=65536)
def _item_equal(p: str, g: str) -> bool:
    """One answer item against one gold item (both already normalised). Base-n numerals (`52_8` = `52`, refuses
    `52_9`); choice letters (`(C)` = `\\text{C}` = `C`, refuses `(D)`; `\\textbf{(B)} 27` compares `27`); `\\approx`
    (`\\pi \\approx 3.14` accepts the exact side or the rounded one, refuses `\\frac{22}{7} \\approx 3.14` for
    `\\pi`); text answers by their words (`Evelyn` = `\\text{evelyn}`, refuses `\\text{Emily}`); then equations."""
    if p == g:
        return True
    gn, pn = (_bare(x) for x in (g, p))
    gbase, pbase = _BASE.match(gn), _BASE.match(pn)
    if gbase or pbase:  # 52_8 is a numeral in base 8: its digits must match, the base may be left implicit
        gd, pd = (gbase or _BARE_DIGITS.match(gn)), (pbase or _BARE_DIGITS.match(pn))
        return bool(gd and pd) and gd.group(1) == pd.group(1) and (not gbase or not pbase or gbase[2] == pbase[2])
    pc = _PRED_CHOICE.match(p) or re.fullmatch(r"(?P<t>[A-E])", p)
    gc = _CHOICE.match(g) or re.fullmatch(r"([A-E])", g)
    if gc and pc:  # choice letters: "(C)", "\text{(C)}", "C", "(C) 12"
        return (pc.group("t") or pc.group("p")).upper() == next(x for x in gc.groups() if x).upper()
    # AMC: "\\textbf{(B)} 27" against the gold value 27
    if pc and not gc and pc.end() < len(p) and not re.match(r"[,=]", p[pc.end() :]):
        return _item_equal(p[pc.end() :].strip(), g)
    if "\\approx" in p:  # "\\pi \\approx 3.14": the exact value before, or the rounded value after
        parts = _top_level_split(p, ("\\approx",))
        return len(parts) > 1 and any(_item_equal(x, g) for x in (parts[0], parts[-1]))
    pt, gt = _plain_text(p), _plain_text(g)
    if gt is not None and pt is None and re.fullmatch(r"[A-Za-z0-9 ]+", p):  # "June 20" vs \text{June 20}
        pt = p.lower()
    if pt is not None and gt is None and re.fullmatch(r"[A-Za-z0-9 ]+", g):
        gt = g.lower()
    if gt is not None or pt is not None:
        return gt is not None and pt is not None and re.sub(r"\W", "", gt) == re.sub(r"\W", "", pt)

    return _equations_equal(p, g)


def _equations_equal(p: str, g: str) -> bool:
    """Equation rules. Both labelled (`x=1`, `f(y)=y^2`): same quantity (`x` is not `y`; a one-variable function's
    argument is a dummy), then the stated values. A labelled gold (`(p,q)=(3,2)`, `M=2^{N-2}+1`) or a chain
    (`z=1+1=2`) against a value: the gold's last side. A pred equation against a value gold (`E(2020,1993)=76`
    vs `76`, `a+b=7` vs `7`, `5+5+1=11` vs `11`): the pred's last side. Refused: a gold relation between unknowns
    (`2x+z=1`, `7=11a+c`) against a value, and `x=1` against `y=1`."""
    gr, pr = relation(g), relation(p)
    if gr and pr:
        if gr.label and pr.label:
            if gr.name != pr.name:
                return False  # x = 1 is not y = 1
            rename = {pr.var: gr.var} if pr.var and gr.var and pr.var != gr.var else None
            return _structure_equal(pr.value, gr.value, rename)
        return _structure_equal(p, g, None)  # relations between unknowns: math-verify compares the equations
    if gr:
        return gr.states_value and _structure_equal(p, gr.value, None)
    if pr and (pr.chain or re.search(r"[A-Za-z]", pr.lhs)) and not _INEQ.search(g):
        return _structure_equal(pr.value, g, None)
    return _structure_equal(p, g, None)


def _structure_equal(p: str, g: str, rename: dict[str, str] | None) -> bool:
    """Sets, intervals and tuples. Accepts unions part by part in any order, an inequality as its interval
    (`k \\ge 2` = `[2, \\infty)`, `0 < f(x) < 1` = `(0,1)`, `5 \\ge x` = `x \\le 5`), a relation in `|z|` against
    `z \\in S` by math-verify's solving, tuples element by element in order, `\\{...\\}` sets in any order.
    Refuses `(4,2)` for `(2,4)`, `[1,2]` for `(1,2)`, `k > 2` for `k \\ge 2`, `5 \\le x` for `x \\le 5`."""
    if p == g and not rename:
        return True
    if _IN_SET.match(p) and _INEQ.search(g) and _as_interval(g) is None:  # 1 \le |z| \le 2 vs z \in [-2,-1] \cup [1,2]
        return symbolic_equal(p, g)  # math-verify solves the gold relation into a set
    p, g = _IN_SET.sub("", p), _IN_SET.sub("", g)  # x \in [1,2] is the interval [1,2]
    if "\\cup" in g or "\\cup" in p:
        gp, pp = _top_level_split(g, ("\\cup",)), _top_level_split(p, ("\\cup",))
        if len(gp) > 1 or len(pp) > 1:
            return _match_unordered(pp, gp, lambda a, b: _structure_equal(a, b, rename))
    both = bool(_INEQ.search(g) and _INEQ.search(p))  # x \le 5 vs 5 \ge x: both as intervals
    gi = _as_interval(g) if _INEQ.search(g) and (both or _is_interval_like(p)) else None
    pi = _as_interval(p) if _INEQ.search(p) and (both or _is_interval_like(g)) else None
    if both and not (gi and pi):
        gi = pi = None  # `-x > -1` vs `x < 1`: math-verify compares the relations
    if gi or pi:
        return _structure_equal(pi or p, gi or g, rename)
    gb, pb = _bracketed(g), _bracketed(p)
    if gb and pb:
        if gb[:2] != pb[:2] or len(gb[2]) != len(pb[2]):
            return False
        if len(gb[2]) > 1 or gb[0] == "{":
            if gb[0] == "{":
                return _match_unordered(pb[2], gb[2], _item_equal)
            return all(_item_equal(normalize(a).text, normalize(b).text) for a, b in zip(pb[2], gb[2]))
    return _values_equal(normalize(p), normalize(g), rename)


def _answers_equal(pred: str, gold: str) -> bool:
    """Whole answers, the gold deciding the shape. A gold list is a solution set (any order, same count); a list
    of assignments to distinct names (`x=1, y=2`) is ordered, as is a gold tuple against separate values
    (`10^{3},10` = `(1000, 10)`); a tuple against a gold list is read as its items (`(1,2,3)` = `1,2,3`);
    `p=5,q=2;p=7,q=2` is the tuples `(5,2),(7,2)`. Refuses a missing, extra or wrong item (`1, 3` for `1,3,5`),
    a reordered tuple (`10,10^{3}` for `(1000, 10)`), `[1, 2]` for `1, 2`."""
    pn, gn = normalize(pred), normalize(gold)
    if not gn.text or not pn.text:
        return False
    if pn.text == gn.text and pn.percent == gn.percent:
        return True
    if _decimal_comma(pn.text, gn.text) or _decimal_comma(gn.text, pn.text):
        return True
    gtext, ptext = assignment_groups(gn.text) or gn.text, assignment_groups(pn.text) or pn.text
    golds, preds = _items(gtext), _items(ptext)
    if len(golds) > MAX_ITEMS or len(preds) > MAX_ITEMS:
        return False
    if len(golds) == 1 and len(preds) == 1:
        return _item_equal(normalize(preds[0]).text if preds[0] != pn.text else pn.text, gn.text) or (
            (pn.percent or gn.percent or pn.degree or gn.degree) and _values_equal(pn, gn, None)
        )
    golds = [normalize(x).text for x in golds]
    preds = [normalize(x).text for x in preds]
    gb = _bracketed(gn.text)
    if (
        len(golds) == 1 and gb and gb[0] == "(" and len(preds) == len(gb[2]) > 1 and not _bracketed(pn.text)
    ):  # gold (2,3), boxes 2 and 3
        return all(_item_equal(normalize(a).text, normalize(b).text) for a, b in zip(preds, gb[2]))
    named = [_split_equation(x)[0] for x in golds]
    if len(preds) == 1 and len(golds) > 1:
        b = _bracketed(preds[0])
        if b and b[0] == "(" and len(b[2]) == len(golds):
            if all(named):  # gold "f(n)=n, g(n)=1" against pred "(n, 1)": an ordered reading
                return all(_item_equal(normalize(a).text, gi) for a, gi in zip(b[2], golds))
            preds = [normalize(a).text for a in b[2]]  # gold list "1, 2, 3" against the tuple (1, 2, 3)
    if all(named) and len(set(named)) == len(named) and not all(_split_equation(x)[0] for x in preds):
        return len(preds) == len(golds) and all(_item_equal(a, b) for a, b in zip(preds, golds))
    return _match_unordered(_as_solution_set(preds, golds), golds, _item_equal)


def _decimal_comma(a: str, b: str) -> bool:
    """`1000,99` is the decimal `1000.99` written with a decimal comma, when the other side is exactly that decimal.
    A comma with a space (`32, 349`), a thousands form (`1,000` vs `1.000`) or other digits (`1,22` vs `1.23`) is
    refused: then `a` is a list."""
    m = _COMMA_DECIMAL.fullmatch(a)
    return bool(m) and not _THOUSANDS_FORM.fullmatch(a) and b == f"{m.group(1)}.{m.group(2)}"


def _as_solution_set(preds: list[str], golds: list[str]) -> list[str]:
    """The pred's items read against a solution-set gold: separate sets are flattened (`\\{1,2\\}, \\{3\\}` against
    `1,2,3`), and, when the gold lists no item twice, an item written twice counts once. A gold that repeats an
    item (`-2,-2`, a double root) keeps counting: then `-2` alone is refused."""
    if not any(_bracketed(g) and _bracketed(g)[0] == "{" for g in golds):
        sets = [_bracketed(p) for p in preds]
        if len(preds) > 1 and all(b and b[0] == "{" for b in sets):
            preds = [normalize(x).text for b in sets for x in b[2]]
    if len(preds) > len(golds) and len(set(golds)) == len(golds):
        preds = list(dict.fromkeys(preds))
    return preds


def coerce_gold(gold: object) -> str:
    """A gold answer as one string: lists (OlympiadBench `final_answer`) are joined, numbers printed."""
    if isinstance(gold, str):
        s = gold.strip()
        if s.startswith("[") and s.endswith("]") and ("'" in s or '"' in s):
            try:
                value = ast.literal_eval(s)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                return s
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return coerce_gold(value)
        return s
    if isinstance(gold, (list, tuple)) or type(gold).__name__ == "ndarray":
        return ", ".join(strip_delimiters(str(x)) for x in list(gold))
    if isinstance(gold, bool) or gold is None:
        return ""
    return str(gold)


def _grade(pred: str, gold: str) -> bool:
    """`pred` against `gold`, or against one side of a gold that names one answer twice (`\\frac12 or 0.5`)."""
    if not pred or not gold:
        return False
    if len(pred) > MAX_ANSWER_CHARS:
        return strip_delimiters(pred) == strip_delimiters(gold)
    if _answers_equal(pred, gold):
        return True
    alts = _alternatives(normalize(gold).text)
    return bool(alts) and _are_alternatives(alts) and any(_answers_equal(pred, a) for a in alts)


def _are_alternatives(alts: list[str]) -> bool:
    """`\\text{(C)} or 12` and `\\frac12 or 0.5` name one answer twice; `3 or 5` and `x=1 or x=2` are solution
    sets (already graded as lists: every solution must be given)."""
    texts = [a for a in alts if _CHOICE.match(a) or re.fullmatch(r"[A-E]", a) or _plain_text(a) is not None]
    if texts:
        return True
    return all(_answers_equal(a, alts[0]) for a in alts[1:])


def _reset_sympy_flags() -> None:
    """An interrupted `with evaluate(False)` could leave sympy's thread-local switches off; put them back."""
    from sympy.core.parameters import global_parameters

    global_parameters.evaluate = True
    global_parameters.distribute = True


def _typed_grade(pred: str, gold: str, answer_type: str) -> bool:
    """`_grade`, or for an `integer` gold only the same integer written out (reward.answer_types: an expression
    that evaluates to the gold restates the question and earns nothing)."""
    if answer_type == INTEGER:
        return integer_equal(pred, gold)
    return _grade(pred, gold)


def grade_prediction_timed(
    pred: str | None, gold: object, timeout_s: float = DEFAULT_TIMEOUT_S, answer_type: str = MATH
) -> tuple[bool, bool]:
    """(correct, timed_out) for an extracted answer `pred` against `gold`. Gold and pred are not interchangeable:
    gold decides whether a list is ordered, whether alternatives are allowed, and which units are dropped; the
    gold's `answer_type` (reward.answer_types) whether an expression may stand for a number."""
    if not isinstance(pred, str):
        return False, False
    try:
        gold_s = coerce_gold(gold)
        verdict = bounded(lambda: _typed_grade(pred.strip(), gold_s, answer_type), timeout_s, False)
        if verdict[1]:
            _reset_sympy_flags()
        return verdict
    except GradeTimeout:  # insurance: `bounded` absorbs its own timeout
        return False, True
    except Exception:
        logger.warning("grading failed for pred=%.80r gold=%.80r", pred, gold, exc_info=True)
        return False, False


def grade_prediction(
    pred: str | None, gold: object, timeout_s: float = DEFAULT_TIMEOUT_S, answer_type: str = MATH
) -> bool:
    """True when the extracted answer `pred` is mathematically the gold answer (see `grade_prediction_timed`)."""
    return grade_prediction_timed(pred, gold, timeout_s, answer_type)[0]


def grade_answer(response_text: str, gold: str, timeout_s: float = DEFAULT_TIMEOUT_S, answer_type: str = MATH) -> bool:
    """True when the final answer of a whole response (lenient extraction, `reward.extract`) is mathematically
    `gold`; a gold that is itself a worked solution is read for its answer first (`gold_answer`). An `integer`
    gold takes only the final answer, written out (reward.answer_types)."""
    if not isinstance(response_text, str):
        return False

    def run() -> bool:
        candidates = answer_candidates(response_text)
        gold_s = gold_answer(coerce_gold(gold))
        if answer_type == INTEGER:
            return bool(candidates) and integer_equal(candidates[0], gold_s)
        gold_text = normalize(gold_s).text
        bracket = _bracketed(gold_text)
        multi = len(_items(gold_text)) > 1 or (bracket is not None and len(bracket[2]) > 1)
        for cand in candidates if multi else candidates[:1]:
            if _grade(cand, gold_s):
                return True
        return False

    try:
        correct, timed_out = bounded(run, timeout_s, False)
        if timed_out:
            _reset_sympy_flags()
        return correct
    except GradeTimeout:
        return False
    except Exception:
        logger.warning("grade_answer failed for gold=%.80r", gold, exc_info=True)
        return False
