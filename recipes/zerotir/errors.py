"""One line on stderr per refusal, `zerotir <tool>: <key or file>: <reason>`, exit code 1 (issue 25).

The entry points (training, evaluation) turn expected failures into these lines; a traceback is left for a bug.
Some messages come from parsers shared with other code (the rollout node's, the sandbox's), written as
`<key> must be ...`: the key is set off with a colon here, so every line reads the same way.
"""

from __future__ import annotations

import re
import sys

# `eval.top_p must be in (0, 1]` -> `eval.top_p: must be in (0, 1]`: a dotted key, then a verb
_KEY_THEN_VERB = re.compile(r"^([A-Za-z_][\w@-]*(?:\.[\w@\[\]-]+)+) (?=(?:must|is|are|has|needs|should) )")


def line(tool: str, problem: object) -> str:
    """`zerotir <tool>: <problem>` on one line, the problem's key set off with a colon."""
    text = _KEY_THEN_VERB.sub(r"\1: ", " ".join(str(problem).split()))
    return f"zerotir {tool}: {text}"


def refuse(tool: str, *problems: object) -> int:
    """Print each problem as one line on stderr; the exit code of a refused command (1)."""
    for problem in problems:
        print(line(tool, problem), file=sys.stderr)
    return 1
