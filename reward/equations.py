"""Answers written as equations: which left sides only name the answer, and what value the equation states.

A left side that *names* the asked quantity (a label: `x`, `m_{\\max}`, `f(n)`, `E(2020, 1993)`, `(p,q)`,
`V_1:V_2`, `|AB|`, `\\frac{NO}{BO}`, `\\angle ABC`) can be dropped: `(p,q)=(3,2)` states the value `(3,2)`. A left
side that is itself an expression (`2x+z = 1`, `7 = 11a+c`) makes the equation a relation between unknowns; a
gold written so is compared as a whole equation, never as its right side. A chain `x = 5+5+1 = 11` states its
last side. Strings here are already normalised (`reward.normalize`: no spaces around operators).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reward.splitting import top_level_split

_GREEK = (
    r"alpha|beta|gamma|delta|epsilon|varepsilon|zeta|eta|theta|vartheta|iota|kappa|lambda|mu|nu|xi|rho|sigma|tau"
    r"|upsilon|phi|varphi|chi|psi|omega|Gamma|Delta|Theta|Lambda|Xi|Sigma|Phi|Psi|Omega"
)
_NAME = (
    r"(?:m?\\angle[A-Za-z]+|\\overline\{[A-Za-z]+\}|\\(?:" + _GREEK + r")(?![A-Za-z])|[A-Za-z]+\d*)"
    r"(?:_\{[^{}=]*\}|_\\?[A-Za-z0-9]+)?'*"
)
_ATOM = (
    r"(?:\\(?:sin|cos|tan|cot|sec|csc|log|ln))?" + _NAME + r"(?:\([^()=]*\))?"
    r"|\|[A-Za-z]+\||\\frac\{[A-Za-z]+\}\{[A-Za-z]+\}"
)
# A label is one atom, a ratio of atoms, or a tuple of names: what a left side that only names the answer looks like.
_LABEL = re.compile(r"(?:" + _ATOM + r")(?::(?:" + _ATOM + r"))*|\((?:" + _NAME + r")(?:,(?:" + _NAME + r"))+\)")
_FUNCTION_OF_ONE = re.compile(r"^(?P<f>[A-Za-z]+)\((?P<var>[a-z])\)$")
_ORDER = ("<", ">", "\\le", "\\ge", "\\ne", "\\approx")


@dataclass(frozen=True)
class Relation:
    lhs: str  # the first side, spaces removed
    value: str  # the last side: what the equation states
    label: str | None  # lhs when it only names the answer
    var: str | None  # the argument letter of a one-variable function label `f(y)`: a renamable dummy
    chain: bool = False  # three sides or more (`x = 5+5+1 = 11`): a computation that ends in its value

    @property
    def states_value(self) -> bool:
        """Whether the equation states a value (its last side) rather than relating unknowns (`2x+z=1`)."""
        return self.label is not None or self.chain

    @property
    def name(self) -> str | None:
        """What two labels must share to be the same quantity: `f` for `f(x)`/`f(y)`, else the whole label."""
        if self.label is None:
            return None
        m = _FUNCTION_OF_ONE.match(self.label)
        return m.group("f") if m else self.label


def relation(s: str) -> Relation | None:
    """The equation `s` as (first side, last side, label), or None when `s` is not an equation (no top-level `=`,
    or an order relation such as `x \\le 5`)."""
    if "=" not in s or any(op in s for op in _ORDER):
        return None
    sides = top_level_split(s, ("=",))
    if len(sides) < 2:
        return None
    lhs = sides[0].replace(" ", "")
    label = lhs if _LABEL.fullmatch(lhs) else None
    m = _FUNCTION_OF_ONE.match(lhs) if label else None
    return Relation(lhs, sides[-1], label, m.group("var") if m else None, len(sides) > 2)


def split_equation(s: str) -> tuple[str | None, str | None, str]:
    """(label, function variable, stated value) for a labelled equation `x = 5`, `f(y) = y^2`; else (None, None, s)."""
    r = relation(s)
    if r is None or r.label is None:
        return None, None, s
    return r.label, r.var, r.value


def assignment_groups(s: str) -> str | None:
    """`p=5,q=2;p=7,q=2` -> `(5,2),(7,2)`: solutions given as `;`-separated groups of assignments to the same names
    in the same order, read as tuples in that order; None for anything else (`x=1;y=2` keeps its meaning)."""
    groups = top_level_split(s, (";",))
    if len(groups) < 2:
        return None
    names: list[str] | None = None
    tuples = []
    for group in groups:
        parts = [split_equation(x) for x in top_level_split(group, (",",))]
        labels = [p[0] for p in parts]
        if len(parts) < 2 or not all(labels) or len(set(labels)) != len(labels) or names not in (None, labels):
            return None
        names = labels
        tuples.append("(" + ",".join(p[2] for p in parts) + ")")
    return ",".join(tuples)
