"""Splitting answers at the top level: list separators and brackets that enclose a whole answer.

`\\{`/`\\}` count as brackets, so a separator inside a set, tuple or interval never splits the answer.
"""

from __future__ import annotations

_OPEN = "([{"
_CLOSE = ")]}"


def top_level_split(s: str, seps: tuple[str, ...]) -> list[str]:
    """Split `s` at separators that sit outside every bracket (`\\{` counts as a bracket)."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(s):
        ch = s[i]
        if ch == "\\" and i + 1 < len(s) and s[i + 1] in "{}":
            depth += 1 if s[i + 1] == "{" else -1
            i += 2
            continue
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
        elif depth == 0:
            for sep in seps:
                if s.startswith(sep, i):
                    parts.append(s[start:i])
                    start = i + len(sep)
                    i = start - 1
                    break
        i += 1
    parts.append(s[start:])
    return [p.strip() for p in parts if p.strip()]


def bracketed(s: str) -> tuple[str, str, list[str]] | None:
    """(open, close, items) when the whole of `s` is one bracket pair: `(1,2)`, `[a,b)`, `\\{1,2\\}`."""
    if s.startswith("\\{") and s.endswith("\\}"):
        inner, kind = s[2:-2], ("{", "}")
    elif len(s) >= 2 and s[0] in "([" and s[-1] in ")]":
        inner, kind = s[1:-1], (s[0], s[-1])
    else:
        return None
    depth = 0
    for ch in inner:  # the first bracket must close at the very end: reject "(1)+(2)"
        depth += ch in _OPEN
        depth -= ch in _CLOSE
        if depth < 0:
            return None
    if depth != 0:
        return None
    items = top_level_split(inner, (",",))
    if len(items) == 1 and kind[0] == "(" and ";" in inner:  # (0;-2;6): semicolons as the tuple's separator
        items = top_level_split(inner, (";",))
    return kind[0], kind[1], items
