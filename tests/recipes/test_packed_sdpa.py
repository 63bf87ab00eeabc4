"""Packed sequences under sdpa: what verl's remove-padding path feeds the model without flash-attn.

verl's engine (`FSDPEngineWithLMHead.prepare_model_inputs`, use_remove_padding=true) concatenates a micro-batch's
rows into one `(1, total)` sequence with `attention_mask=None` and position ids restarting at 0 for each row;
transformers (masking_utils `find_packed_sequence_indices`) turns the restarts into a block-diagonal causal mask
for sdpa. These tests run that very code (benchmarks/packed_sdpa_memory.py: verl's engine without FSDP) on a
random-weight 2-layer Qwen2 in fp32 and compare it with verl's padded path (use_remove_padding=false): log-probs,
entropy and every parameter's gradient agree to 1e-5, each row sees only itself, and position ids that do not
restart make the rows attend to each other (the control: the restart is what isolates them).
"""

import pytest
import torch

from benchmarks.packed_sdpa_memory import forward, micro_batch, tiny_qwen2, verl_lm_engine

TOL = 1e-5
LENGTHS = [37, 5, 120, 1, 64, 9, 1, 88]  # mixed, with one-token rows back to back
SMALL = {"hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4, "num_key_value_heads": 2,
         "head_dim": 16, "vocab_size": 1000, "num_hidden_layers": 2}  # fmt: skip


@pytest.fixture(scope="module")
def engine():
    return verl_lm_engine()


@pytest.fixture(scope="module")
def rows():
    gen = torch.Generator().manual_seed(0)
    return [torch.randint(0, SMALL["vocab_size"], (n,), generator=gen) for n in LENGTHS]


def model(**kw):
    return tiny_qwen2(torch.float32, **SMALL, **kw)


def weights(lengths) -> torch.Tensor:
    """A fixed per-token loss weight, 0 on each row's last token (its label is the next row's first token)."""
    gen = torch.Generator().manual_seed(1)
    w = [torch.rand(n, generator=gen) * (torch.arange(n) < n - 1) for n in lengths]
    return torch.cat(w)


def run(engine, net, rows, packed, entropy=True, position_ids=None):
    return forward(engine, net, micro_batch(rows, packed, entropy, position_ids))


def test_verl_packs_the_rows_into_one_sequence_without_a_mask(engine, rows):
    inputs, _ = engine.prepare_model_inputs(micro_batch(rows, True, True))
    assert inputs["attention_mask"] is None
    assert inputs["input_ids"].shape == (1, sum(LENGTHS))
    assert inputs["position_ids"][0].tolist() == [p for n in LENGTHS for p in range(n)]
    padded, _ = engine.prepare_model_inputs(micro_batch(rows, False, True))
    assert padded["input_ids"].shape == (len(LENGTHS), max(LENGTHS))


def test_transformers_builds_a_block_diagonal_mask_from_restarting_positions():
    from transformers import Qwen2Config
    from transformers.masking_utils import create_causal_mask

    config = Qwen2Config(**SMALL)
    config._attn_implementation = "sdpa"
    lengths = [3, 1, 2]
    positions = torch.tensor([[p for n in lengths for p in range(n)]])
    mask = create_causal_mask(config, torch.zeros(1, sum(lengths), 8), None, None, position_ids=positions)
    row = torch.repeat_interleave(torch.arange(len(lengths)), torch.tensor(lengths))
    expected = (row[:, None] == row[None, :]) & torch.ones(6, 6, dtype=torch.bool).tril()
    assert torch.equal(mask[0, 0], expected)


def test_packed_log_probs_and_entropy_equal_padded(engine, rows):
    net = model()
    with torch.no_grad():
        packed, padded = run(engine, net, rows, True), run(engine, net, rows, False)
    for key in ("log_probs", "entropy"):
        a, b = packed[key].values(), padded[key].values()
        assert a.shape == b.shape == (sum(LENGTHS),)
        assert (a - b).abs().max().item() < TOL, key


@pytest.mark.parametrize("checkpointing", [False, True], ids=["plain", "gradient-checkpointing"])
def test_packed_gradients_equal_padded(engine, rows, checkpointing):
    w = weights(LENGTHS)
    grads = {}
    for packed in (True, False):
        net = model(gradient_checkpointing=checkpointing)
        net.train()
        lp = run(engine, net, rows, packed, entropy=False)["log_probs"].values()
        (-(lp * w).sum() / w.sum()).backward()
        grads[packed] = {name: p.grad.clone() for name, p in net.named_parameters()}
    assert grads[True].keys() == grads[False].keys()
    for name, g in grads[True].items():
        assert torch.isfinite(g).all(), name
        assert g.abs().max() > 0, name
        assert (g - grads[False][name]).abs().max().item() < TOL, name


def test_each_packed_row_sees_only_itself(engine, rows):
    net = model()
    changed = [torch.randint(0, SMALL["vocab_size"], (LENGTHS[0],)), *rows[1:]]
    with torch.no_grad():
        before = run(engine, net, rows, True)["log_probs"]
        after = run(engine, net, changed, True)["log_probs"]
    assert (before[0] - after[0]).abs().max() > 1e-3  # the changed row moved
    for i in range(1, len(LENGTHS) - 1):  # the last row's wrap-around label is row 0's first token
        assert torch.equal(before[i], after[i]), i


def test_positions_that_do_not_restart_let_rows_attend_to_each_other(engine, rows):
    """The control: the same packed stream with position ids running on across rows (as a packer that forgot the
    restart would send) is one sequence to transformers. Row 0 has nothing before it and still matches (RoPE is
    relative); every later row then attends to the rows before it and its log-probs move."""
    net = model()
    starts = torch.tensor([0, *LENGTHS]).cumsum(0)
    running = [torch.arange(s, s + n) for s, n in zip(starts.tolist(), LENGTHS, strict=False)]
    with torch.no_grad():
        padded = run(engine, net, rows, False)["log_probs"]
        leaked = run(engine, net, rows, True, position_ids=running)["log_probs"]
    assert (leaked[0] - padded[0]).abs().max().item() < TOL
    for i in (2, 4, 7):  # the long rows after the first
        assert (leaked[i] - padded[i]).abs().max().item() > 1e-3, i
