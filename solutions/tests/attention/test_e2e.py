"""Hidden end-to-end test for `attention`: a one-layer attention model built from the student's
multi_head_attention, trained by the grader, learns to reverse a sequence."""


import pytest
import torch
import torch.nn.functional as F

from autograder.testing import expect, expect_tensor, fail, points, timeout

F64 = torch.float64
V, L, D, H = 6, 5, 12, 2      # vocabulary, length, width, heads
MHA = "multi_head_attention(x, x, w_q, w_k, w_v, w_o, n_heads=2)"


def encode(tokens):
    """(B, L) tokens → (B, L, D): one-hot token ⊕ one-hot position ⊕ one zero feature."""
    B = tokens.shape[0]
    pos = F.one_hot(torch.arange(L), L).expand(B, L, L)
    pad = torch.zeros(B, L, D - V - L, dtype=torch.int64)
    return torch.cat([F.one_hot(tokens, V), pos, pad], dim=-1).to(F64)


def readout():
    """(D, V): the logits are the first V output features."""
    r = torch.zeros(D, V, dtype=F64)
    r[:V] = torch.eye(V, dtype=F64)
    return r


@pytest.mark.slow
@timeout(60)
@points(2)
def test_one_layer_attention_learns_to_reverse(student, rng):
    """multi_head_attention: a one-layer self-attention model trained through it learns to reverse sequences"""
    R = readout()
    ws = [torch.randn(D, D, generator=rng, dtype=F64) * 0.3 for _ in range(4)]
    opt = torch.optim.Adam([w.requires_grad_() for w in ws], lr=0.05)
    steps = 30
    for step in range(steps):
        tokens = torch.randint(0, V, (64, L), generator=rng)
        x = encode(tokens)
        target = tokens.flip(-1)
        current = [w.detach().clone() for w in ws]
        out = student.multi_head_attention(x, x, *current, H)
        out = expect_tensor(out, call=MHA, inputs={"x": x}, shape=(64, L, D), dtype=F64)
        # gradient of the cross-entropy with respect to the attention output (grader side) …
        o = out.clone().requires_grad_()
        loss = F.cross_entropy((o @ R).reshape(-1, V), target.reshape(-1))
        (d_out,) = torch.autograd.grad(loss, o)
        # … then through the student's function to the weights
        _, grads = student.grad("multi_head_attention", x, x, *current, H, wrt=(2, 3, 4, 5), grad_output=d_out)
        if any(g is None for g in grads):
            fail(f"{MHA}: no gradient reaches the weights, so the model cannot be trained. Keep the "
                 "computation in torch operations (no .item(), .numpy(), .detach() or torch.no_grad()).")
        for w, g in zip(ws, grads):
            w.grad = g.to(F64)
        opt.step()
        if not all(torch.isfinite(w).all() for w in ws):
            fail(f"training through {MHA} made the weights non-finite after {step + 1} steps.")
    tokens = torch.randint(0, V, (256, L), generator=rng)
    x = encode(tokens)
    out = expect_tensor(student.multi_head_attention(x, x, *[w.detach() for w in ws], H), call=MHA,
                        inputs={"x": x}, shape=(256, L, D), dtype=F64)
    acc = ((out @ R).argmax(-1) == tokens.flip(-1)).to(F64).mean().item()
    expect(acc >= 0.9,
           f"a one-layer self-attention model (tokens and positions one-hot, D = {D}, {H} heads) trained "
           f"for {steps} Adam steps through your {MHA} should learn to reverse length-{L} sequences; it "
           f"reverses only {100 * acc:.1f}% of the tokens of held-out sequences correctly (a correct "
           "implementation reaches > 95%). Check the gradients and that every query can attend to "
           "every position.")
