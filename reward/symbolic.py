"""Symbolic equality of two single answers through math-verify, made safe to call from any thread.

math-verify does the parsing (LaTeX -> sympy) and the comparison; we call it with its signal timeouts off
(they fail off the main thread, docs/verl.md §3.3) and rely on `reward.deadline` instead. Before any sympy
evaluation, `is_safe` refuses expressions whose evaluation is one long C call the deadline cannot interrupt
(`10^{10^{10}}`, `100000!`), and `MAX_LATEX_CHARS`/`MAX_DEPTH` refuse inputs whose parse alone takes seconds.
Refused inputs are compared as strings only, so they can never be accepted by accident.
"""

from __future__ import annotations

import logging
import math
from functools import lru_cache

import sympy
from math_verify import LatexExtractionConfig, parse, verify

logger = logging.getLogger(__name__)

MAX_LATEX_CHARS = 400  # the longest gold item in OlympiadBench/MATH is ~250 chars
MAX_DEPTH = 24  # brace nesting; antlr parse time grows steeply with depth
MAX_DIGITS = 2000  # largest number an expression may evaluate to, in decimal digits
MAX_SYMBOLIC_EXPONENT = 1000
MAX_FACTORIAL_ARG = 2000

_CONFIG = [LatexExtractionConfig(boxed_match_priority=0)]
logging.getLogger("math_verify").setLevel(logging.ERROR)  # silence "Timeout is disabled" warnings: we bound it


def _depth(s: str) -> int:
    depth = best = 0
    for ch in s:
        if ch in "{([":
            depth += 1
            best = max(best, depth)
        elif ch in "})]":
            depth -= 1
    return best


def _log10_abs(expr: sympy.Basic, budget: list[int]) -> float:
    """Upper estimate of log10|expr| for a numeric expression, without evaluating big powers."""
    budget[0] -= 1
    if budget[0] < 0:
        return math.inf
    if isinstance(expr, sympy.Rational):
        # Integer included; |p|/q < 2^(bits(p) - bits(q) + 1), so sqrt's exponent 1/2 stays small
        return max(abs(int(expr.p)).bit_length() - int(expr.q).bit_length() + 1, 0) * 0.30103
    if isinstance(expr, sympy.Float):
        return max(math.log10(abs(float(expr)) + 1.0), 0.0)
    if isinstance(expr, sympy.Pow):
        if expr.base.is_Integer and expr.base != 0 and isinstance(expr.exp, sympy.Rational) and expr.exp < 0:
            return 0.0  # 6^{-1}: at most 1 in size
        lb = _log10_abs(expr.base, budget)
        le = _log10_abs(expr.exp, budget)
        if le > 9:
            return math.inf
        return lb * 10**le + 1
    if isinstance(expr, (sympy.factorial, sympy.gamma, sympy.factorial2)):
        le = _log10_abs(expr.args[0], budget)
        if le > 7:
            return math.inf
        n = 10**le
        return n * math.log10(n + 1) + 1
    if isinstance(expr, sympy.Mul):
        return sum(_log10_abs(a, budget) for a in expr.args)
    if not expr.args:
        return 1.0
    return max(_log10_abs(a, budget) for a in expr.args) + math.log10(len(expr.args) + 1)


def is_safe(expr: object) -> bool:
    """False when evaluating `expr` might run one long uninterruptible C call (huge powers, factorials)."""
    if not isinstance(expr, sympy.Basic):
        return True
    budget = [5000]
    try:
        for node in sympy.preorder_traversal(expr):
            budget[0] -= 1
            if budget[0] < 0:
                return False
            if isinstance(node, sympy.Pow):
                if node.exp.is_number:
                    if not node.free_symbols:
                        if _log10_abs(node, budget) > MAX_DIGITS:
                            return False
                    elif (
                        node.exp.is_Integer
                        and abs(int(node.exp)) > MAX_SYMBOLIC_EXPONENT
                        or not node.exp.is_Integer
                        and _log10_abs(node.exp, budget) > 3
                    ):
                        return False
            elif isinstance(node, (sympy.factorial, sympy.gamma, sympy.binomial, sympy.factorial2)):
                if any(a.is_number and _log10_abs(a, budget) > math.log10(MAX_FACTORIAL_ARG) for a in node.args):
                    return False
            elif isinstance(node, sympy.Integer) and abs(int(node)).bit_length() > MAX_DIGITS * 3.33:
                return False
    except Exception:  # noqa: BLE001 - a screen that cannot decide refuses
        return False
    return True


@lru_cache(maxsize=65536)
def parse_latex(latex: str) -> tuple:
    """math-verify's reading of one answer: (sympy expr, original string), or () when unparseable or refused."""
    if len(latex) > MAX_LATEX_CHARS or _depth(latex) > MAX_DEPTH:
        return ()
    try:
        parsed = parse("\\boxed{" + latex + "}", extraction_config=_CONFIG, parsing_timeout=None)
    except Exception:
        logger.debug("parse failed", exc_info=True)
        return ()
    if not parsed or not all(is_safe(p) for p in parsed):
        return ()
    return tuple(parsed)


def symbolic_equal(pred: str, gold: str, rename: dict[str, str] | None = None) -> bool:
    """math-verify's verdict on `pred` against `gold` (order matters: gold first), with variables renamed."""
    g = parse_latex(gold)
    p = parse_latex(pred)
    if not g or not p:
        return False
    if rename:  # a swap by symbol name, so f(y)=x^2 does not become f(x)=x^2
        names = {**rename, **{b: a for a, b in rename.items()}}
        subs = {}
        for x in p:
            if isinstance(x, sympy.Basic):
                for sym in x.free_symbols:
                    if isinstance(sym, sympy.Symbol) and sym.name in names:
                        subs[sym] = sympy.Symbol(names[sym.name], **sym.assumptions0)
        p = tuple(x.xreplace(subs) if isinstance(x, sympy.Basic) else x for x in p if not isinstance(x, str))
    try:
        return bool(verify(list(g), list(p), timeout_seconds=None))
    except Exception:
        logger.debug("verify failed", exc_info=True)
        return False


def numeric_value(latex: str) -> sympy.Basic | None:
    """The parsed value of `latex` when it is a plain number (no free symbols), else None."""
    parsed = parse_latex(latex)
    if not parsed or not isinstance(parsed[0], sympy.Expr) or parsed[0].free_symbols:
        return None
    return parsed[0]
