"""The snippet mixes the sandbox benchmark runs: its own mix, mixes with a set share of heavy imports, and one
written the way models write.

Why several: a call's cost is a fork of the warm worker plus the snippet, while naive `python -c` pays an
interpreter start plus every import. A snippet that imports sympy costs naive about 0.4 s more; one that does
not costs it about 20 ms. So the ratio sandbox/naive depends on the share of heavy imports (sympy, numpy,
matplotlib) in the mix, and a change that helps one mix can hurt another (issue #26).
Every snippet prints a deterministic result (or raises), so the sandbox's output can be checked against naive's.
"""

from __future__ import annotations

import random

HEAVY_MODULES = ("sympy", "numpy", "matplotlib")

# The bench's own mix since issue #17 (arithmetic, loops, sympy, numpy, fractions, itertools, two that raise).
OWN = [
    "import sympy as sp\nx = sp.symbols('x')\nprint(sp.solve(x**2 - {a}*x + {b}, x))",
    "import sympy as sp\nx = sp.symbols('x')\nprint(sp.factor(x**{n} - 1))",
    "import sympy as sp\nx, y = sp.symbols('x y')\nprint(sp.solve([x + {a}*y - {b}, {a}*x - y - 1], [x, y]))",
    "import sympy as sp\nn = sp.symbols('n', integer=True)\nprint(sp.summation(n**2, (n, 1, {n})), sp.isprime({big}))",
    (
        "import numpy as np\nA = np.random.default_rng({a}).random((60, 60)) + 60 * np.eye(60)\n"
        "print(round(float(np.linalg.solve(A, np.ones(60)).sum()), 6), round(float(np.linalg.det(A[:4, :4])), 6))"
    ),
    "import numpy as np\nM = np.array([[{a}, 1], [1, {b}]], dtype=float)\nprint(np.linalg.eigvalsh(M))",
    (
        "from fractions import Fraction\nfrom itertools import combinations\n"
        "print(sum(Fraction(1, p * q) for p, q in combinations(range(1, {m}), 2)))"
    ),
    "from itertools import permutations\nprint(sum(1 for p in permutations(range({k})) if p[0] < p[-1]))",
    "s = 0\nfor i in range(1, {loop}):\n    s += (i * i) % 7\nprint(s)",
    (
        "n = {t}\n"
        "print([(a, b, c) for a in range(1, n) for b in range(a, n) for c in range(b, n) if a*a + b*b == c*c][:4])"
    ),
    "import math\nprint(math.comb({n2}, {k2}), math.gcd({a}*12, {b}*18), math.isqrt({big}))",
    "from collections import Counter\nprint(Counter(d for i in range(1, {loop2}) for d in str(i * i)).most_common(3))",
    "a, b = {a} * {big}, {b} ** 5\nprint(a + b, a * b, a // b, a % b, round(a / b, 6))",
    "import sympy as sp\nx = sp.symbols('x')\nprint(sp.simplify((x**2 - {a}**2) / (x - {a})), sp.expand((x + {b})**3))",
    "vals = [{a}, {b}, 0]\nprint(sum(v / vals[-1] for v in vals))",  # raises ZeroDivisionError, as models' code does
    "import math\nprint(math.sqrt(-{a}))",  # raises ValueError
]

# For the mixes with a set share: the heavy snippets are the own mix's sympy and numpy ones plus a plot.
PLOT = (
    "import io\nimport matplotlib.pyplot as plt\nxs = list(range({n}))\nplt.plot(xs, [x * x for x in xs])\n"
    "buf = io.BytesIO()\nplt.savefig(buf, format='png')\nprint(len(xs), buf.getvalue()[:4])"
)
# What a model writes in a math TIR rollout: small functions, loops and comprehensions over a search space,
# exact fractions, a check at the end; 4 of the 15 reach for sympy or numpy (the share is printed).
TYPICAL = [
    "def f(n):\n    return n * (n + 1) // 2\n\ntotal = sum(f(k) for k in range(1, {n2} + 1))\nprint(total)",
    (
        "count = 0\nfor a in range(1, {t}):\n    for b in range(1, {t}):\n        if (a * b) % {a} == 1:\n"
        "            count += 1\nprint(count)"
    ),
    "from fractions import Fraction\np = Fraction({a}, {b} + 10)\nq = 1 - p\nprint(p * q, p ** 3 + q ** 3)",
    "import math\nr = {a}\narea = math.pi * r ** 2\nprint(f'{{area:.4f}}', round(2 * math.pi * r, 4))",
    (
        "def is_prime(n):\n    if n < 2:\n        return False\n    i = 2\n    while i * i <= n:\n"
        "        if n % i == 0:\n            return False\n        i += 1\n    return True\n\n"
        "primes = [p for p in range(2, {loop2}) if is_prime(p)]\nprint(len(primes), primes[-3:])"
    ),
    "digits = [int(c) for c in str(2 ** {n2})]\nprint(sum(digits), len(digits))",
    "from math import comb\nprobability = comb({k2} + 5, 3) / comb({n2} + 10, 3)\nprint(round(probability, 6))",
    "seq = [1, 1]\nwhile len(seq) < {n2}:\n    seq.append(seq[-1] + seq[-2])\nprint(seq[-1] % 1000, len(seq))",
    "from itertools import product\nprint(sum(1 for t in product(range(1, 7), repeat={k2} % 4 + 2) if sum(t) == 10))",
    "x = {a}\ny = {b}\nprint(x ** 2 + y ** 2, (x + y) ** 2 - 2 * x * y, x / y)",
    "from sympy import symbols, solve\nx = symbols('x')\nsolutions = solve(x**2 - {a}*x - {b}, x)\nprint(solutions)",
    "from sympy import Rational, simplify, sqrt\nexpr = Rational({a}, {b}) + sqrt({a})\nprint(simplify(expr**2))",
    "import sympy as sp\nn = sp.symbols('n')\nprint(sp.factorint({big}), sp.simplify(sp.binomial(n, 2) - n*(n-1)/2))",
    "import numpy as np\nv = np.arange(1, {n2})\nprint(int(v.sum()), float(v.mean()), int((v ** 2).sum()))",
    "result = {a} * (3 + {b}\nprint(result)",  # a SyntaxError, as models write now and then
]


def is_heavy(code: str) -> bool:
    return any(m in code for m in HEAVY_MODULES)


LIGHT = [t for t in OWN if not is_heavy(t)]
HEAVY = [t for t in OWN if is_heavy(t)] + [PLOT]


def _fill(template: str, rng: random.Random) -> str:
    return template.format(
        a=rng.randint(2, 9),
        b=rng.randint(1, 20),
        n=rng.randint(4, 12),
        m=rng.randint(20, 40),
        k=rng.randint(6, 8),
        loop=rng.randint(20_000, 80_000),
        t=rng.randint(25, 45),
        n2=rng.randint(20, 60),
        k2=rng.randint(2, 10),
        big=rng.randint(10**9, 10**12),
        loop2=rng.randint(2_000, 8_000),
    )


def cycle(templates: list[str], n: int, seed: int = 0) -> list[str]:
    """n snippets, the templates in turn, their numbers drawn from `seed`."""
    rng = random.Random(seed)
    return [_fill(templates[i % len(templates)], rng) for i in range(n)]


def with_share(share: float, n: int, seed: int = 0) -> list[str]:
    """n snippets of which round(share * n) are heavy, spread evenly (every block of the mix has its share)."""
    rng = random.Random(seed)
    heavy_at = {int((k + 0.5) / share) for k in range(round(share * n))} if share > 0 else set()
    out, h, light = [], 0, 0
    for i in range(n):
        if i in heavy_at:
            out.append(_fill(HEAVY[h % len(HEAVY)], rng))
            h += 1
        else:
            out.append(_fill(LIGHT[light % len(LIGHT)], rng))
            light += 1
    return out


def mixes(n_own: int, n: int, shares: tuple[float, ...] = (0.0, 0.1, 0.3)) -> dict[str, list[str]]:
    """Name -> snippets: the own mix, one mix per heavy share, and the typical model snippets."""
    out = {"own": cycle(OWN, n_own)}
    out.update({f"heavy {round(100 * s)}%": with_share(s, n) for s in shares})
    out["typical"] = cycle(TYPICAL, n, seed=1)
    return out


def heavy_share(codes: list[str]) -> float:
    return sum(map(is_heavy, codes)) / len(codes)
