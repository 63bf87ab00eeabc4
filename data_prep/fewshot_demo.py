"""The demo's few-shot prompt: two worked problems that each write a ```python block, read its ```output
block and box the answer. For `make demo` only, NOT the paper's prompt (that is zero_tir in templates.py).

Why few-shot: the demo's embedded model (SmolLM2-135M-Instruct) never writes code under the paper's one-line
hint or a plain instruction; shown two short examples in the exact fence format the stop machine reacts
to, it opens a python block on most problems, so the demo exercises the whole loop (stop, run, output, go on).
Raw text, no chat template; each example ends at the next "Problem:", which the demo config adds as a stop.
"""

from __future__ import annotations

NAME = "fewshot_demo"
STOP = "Problem:"  # the model starts a new example after answering; eval/demo.yaml stops there

TEMPLATE = """Solve the problem with Python. Write the code in a ```python block, read its output, then give the answer in \\boxed{}.

Problem: Tom has 3 boxes with 12 apples each. He eats 5 apples. How many apples are left?
Solution:
```python
apples = 3 * 12 - 5
print(apples)
```
```output
31
```
The answer is \\boxed{31}.

Problem: A shirt costs $20 and is on sale for 25% off. What is the sale price in dollars?
Solution:
```python
price = 20 * (1 - 0.25)
print(price)
```
```output
15.0
```
The answer is \\boxed{15}.

Problem: {question}
Solution:
"""


def render(question: str) -> str:
    """The prompt text for one question (inserted verbatim, like the data_prep templates)."""
    return TEMPLATE.replace("{question}", question.strip())
