"""Hidden tests: fisher_diagonal, ewc_penalty, replay_samples, selective_amnesia_loss,
forgetting_report.

Oracles: the closed-form score of the class-conditional Gaussian helper (with
z = (x − μ_c)/σ_c, ∂ ln p/∂means[c] = ∂ ln p/∂shift = z/σ_c, ∂ ln p/∂log_std[c] = z² − 1);
its expected Fisher under its own samples (E z² = 1, E (z² − 1)² = 2: F_means[c] = π_c/σ_c²,
F_log_std[c] = 2π_c); per-example gradients by a loop of torch.autograd.grad; and
hand-computed gradients of the loss. A model passed with ``keep=`` is audited by
``amnesia_kept`` on the next call (assignments/amnesia/helpers.py).
"""

from __future__ import annotations

import math

import torch
from hypothesis import given
from hypothesis import strategies as st

from autograder.helpers.amnesia import amnesia_gaussian
from autograder.student import StudentError
from autograder.testing import (
    Helper,
    expect,
    expect_close,
    expect_right_answer,
    expect_tensor,
    expect_tuple,
    fail,
    points,
)

F64 = torch.float64
F32 = torch.float32
LOG_2PI = math.log(2 * math.pi)
FISHER_ADVICE = ("Leave the model as it was: compute gradients with torch.autograd.grad (or "
                 "torch.func), which touch neither the parameters nor their .grad; call neither "
                 "backward(), zero_grad() nor an optimizer, and draw no random numbers.")
LOSS_ADVICE = "Return the loss without calling backward(): the caller does that, then steps the optimizer."


def _params(rng, n_classes=3, dim=2):
    """Random parameters (means, log_std, shift) as float64 tensors, never zero."""
    means = 2.0 * torch.randn(n_classes, dim, generator=rng, dtype=F64)
    log_std = 0.6 * torch.rand(n_classes, dim, generator=rng, dtype=F64) - 0.4
    shift = 0.5 + torch.rand(dim, generator=rng, dtype=F64)
    return means, log_std, shift


def _spec(params, dtype="float64", **extra) -> Helper:
    means, log_std, shift = params
    return Helper("amnesia_gaussian", means=means, log_std=log_std, shift=shift, dtype=dtype, **extra)


def _scores(params, x, c) -> list:
    """Closed-form per-example gradients (N, *shape) of ln p(x_n | c_n) for each parameter."""
    means, log_std, shift = (p.to(F64) for p in params)
    x = x.to(F64)
    sigma = torch.exp(log_std[c])
    z = (x - means[c] - shift) / sigma
    onehot = torch.nn.functional.one_hot(c, means.shape[0]).to(F64)[:, :, None]
    return [onehot * (z / sigma)[:, None, :], onehot * (z * z - 1)[:, None, :], z / sigma]


def _log_prob(params, x, c):
    means, log_std, shift = params
    z = (x - means[c] - shift) * torch.exp(-log_std[c])
    return (-0.5 * LOG_2PI - log_std[c] - 0.5 * z * z).sum(-1)


def _data(rng, params, counts):
    c = torch.cat([torch.full((n,), k, dtype=torch.int64) for k, n in enumerate(counts)])
    means, log_std, shift = params
    x = means[c] + shift + torch.exp(log_std[c]) * torch.randn(len(c), means.shape[1], generator=rng, dtype=F64)
    return x, c


def _fisher_list(got, call, n_params=3):
    if not isinstance(got, (list, tuple)) or len(got) != n_params:
        fail(f"{call}\n  returned {type(got).__name__}; expected a list of {n_params} tensors, one "
             "per parameter in the order of model.parameters() (means, log_std, shift).")
    return list(got)


def _left_alone(student, fn, call, advice, *args, rng=True):
    try:
        student.call(fn, Helper("amnesia_kept", key=fn, rng=rng), *args)
    except StudentError as e:
        if e.exc_type != "ModelChanged":
            raise
        text = e.feedback.split("ModelChanged: ", 1)[-1].split("\n", 1)[0]
        fail(f"{call}\n  {text}\n  {advice}")


# --------------------------------------------------------------------------- fisher_diagonal


@points(2)
def test_fisher_diagonal_values(student, rng):
    """fisher_diagonal: per-example squared scores of a random 3-class model in 2-D, classes of 4, 1 and 2 points"""
    params = _params(rng)
    x, c = _data(rng, params, (4, 1, 2))
    perm = torch.randperm(7, generator=rng)  # the classes interleaved
    x, c = x[perm], c[perm]
    scores = _scores(params, x, c)
    call = "fisher_diagonal(model, x, c) with a random 3-class model, 7 points"
    got = _fisher_list(student.fisher_diagonal(_spec(params), x, c), call)
    counts = torch.bincount(c, minlength=3).to(F64)
    per_class = [(g * g).sum(0) / counts[:, None] for g in scores[:2]] + [(scores[2] ** 2).mean(0)]
    expect_close(got, [(g * g).mean(0) for g in scores], call=call, inputs={"x": x, "c": c},
                 rtol=1e-6, atol=1e-9,
                 mistakes={"looks like the square of the mean gradient; the Fisher is the mean of "
                           "each example's squared gradient": [g.mean(0) ** 2 for g in scores],
                           "looks like the sum over the examples; the Fisher is their mean (divide "
                           "by N)": [(g * g).sum(0) for g in scores],
                           "looks like a mean over each class's own examples; divide by N, the "
                           "number of all points": per_class})


@points(1)
def test_fisher_diagonal_float32(student, rng):
    """fisher_diagonal: a float32 model gives float32 tensors with the parameters' shapes"""
    params = _params(rng, 2, 3)
    x, c = _data(rng, params, (3, 4))
    call = "fisher_diagonal(model in float32, x, c)"
    got = _fisher_list(student.fisher_diagonal(_spec(params, "float32"), x.float(), c), call)
    want = [(g * g).mean(0).float() for g in _scores(params, x.float(), c)]
    for g, w, name in zip(got, want, ("means", "log_std", "shift")):
        expect_tensor(g, call=f"{call}: the entry for `{name}`", shape=tuple(w.shape), dtype=F32)
    expect_close(got, want, call=call, rtol=1e-4, atol=1e-5)


@points(2)
def test_fisher_diagonal_expected_fisher(student, rng):
    """fisher_diagonal: on 3000 samples of the model, F ≈ the expected Fisher π_c/σ² of the means and the shift"""
    params = _params(rng)
    x, c = _data(rng, params, (1500, 900, 600))
    pi = torch.tensor([0.5, 0.3, 0.2], dtype=F64)
    inv_var = torch.exp(-2 * params[1])
    # (z² − 1)² has heavy tails; the means' and shift's z²/σ² estimate to a few per cent
    want = [pi[:, None] * inv_var, (pi[:, None] * inv_var).sum(0)]
    call = "fisher_diagonal(model, x, c) on 3000 samples of the model itself"
    got = _fisher_list(student.fisher_diagonal(_spec(params), x, c), call)
    scores = _scores(params, x, c)
    expect_close([got[0], got[2]], want,
                 call=call + " (the entries for `means` and `shift`, against the expected Fisher, "
                 "15% tolerance)", rtol=0.15, atol=0.0,
                 mistakes={"looks like the square of the mean gradient, which is ≈ 0 at the model's "
                           "own samples; the Fisher squares each example's gradient":
                               [scores[0].mean(0) ** 2, scores[2].mean(0) ** 2]})


@points(1)
def test_fisher_diagonal_leaves_model_and_rng(student, reference, rng):
    """fisher_diagonal: parameters, .grad and the random generator untouched, on a float32 model too"""
    params = _params(rng)
    x, c = _data(rng, params, (2, 3, 2))
    for grad in ("values", "none"):
        for dtype in ("float64", "float32"):
            xs = x if dtype == "float64" else x.float()
            call = f"fisher_diagonal(model in {dtype}, x, c) on a model whose .grad " + (
                "holds values" if grad == "values" else "is None")
            got = student.fisher_diagonal(_spec(params, dtype, grad=grad, grad_seed=3, keep="fisher_diagonal"), xs, c)
            _left_alone(student, "fisher_diagonal", call, FISHER_ADVICE, xs, c)
            # the model left alone counts only with the right answer for the same call
            expect_right_answer(got, reference.fisher_diagonal(_spec(params, dtype), xs, c), call=call,
                                inputs={"x": xs, "c": c}, tol=1e-3 if dtype == "float32" else 1e-4)


@points(1)
def test_fisher_diagonal_no_graph_no_mutation(student, reference, rng):
    """fisher_diagonal: returns tensors without an autograd graph and leaves x and c unchanged"""
    params = _params(rng)
    x, c = _data(rng, params, (2, 2, 3))
    for i, name in enumerate(("means", "log_std", "shift")):
        _, grads = student.grad("fisher_diagonal", _spec(params), x, c, wrt=(1,), select=i)
        expect(grads[0] is None,
               f"fisher_diagonal(model, x, c) with x requiring grad: the entry for `{name}` carries "
               "an autograd graph. Return plain tensors: detach them (or compute per-example "
               "gradients from detached parameters without create_graph).")
    got, mutated = student.call_checking_inputs("fisher_diagonal", _spec(params), x, c)
    expect(not mutated, f"fisher_diagonal(model, x, c) modified its input(s) "
           f"{['x' if i == 1 else 'c' for i in mutated if i in (1, 2)]} in place; work on copies.")
    # inputs left alone count only with the right answer for the same call
    expect_right_answer(got, reference.fisher_diagonal(_spec(params), x, c), call="fisher_diagonal(model, x, c)",
                        inputs={"x": x, "c": c})


# --------------------------------------------------------------------------- ewc_penalty


@points(1)
def test_ewc_penalty_values(student, rng):
    """ewc_penalty: random tensors of shapes (3, 2), (4,), (); lam 0.7"""
    shapes = [(3, 2), (4,), ()]
    params = [torch.randn(s, generator=rng, dtype=F64) for s in shapes]
    old = [torch.randn(s, generator=rng, dtype=F64) for s in shapes]
    fisher = [torch.rand(s, generator=rng, dtype=F64) + 0.1 for s in shapes]
    terms = [(f * (p - o) ** 2).sum() for p, o, f in zip(params, old, fisher)]
    want = 0.35 * sum(terms)
    expect_close(student.ewc_penalty(params, old, fisher, 0.7), want,
                 call="ewc_penalty(params, old_params, fisher, lam=0.7) with three tensors",
                 inputs={"params": params, "old_params": old, "fisher": fisher}, rtol=1e-9,
                 mistakes={"missing the ½ in λ/2 · Σ F (θ − θ*)²": 2 * want,
                           "only the first parameter tensor counted; sum over every tensor": 0.35 * terms[0],
                           "looks like |θ − θ*|; the penalty squares the difference":
                               0.35 * sum((f * (p - o).abs()).sum() for p, o, f in zip(params, old, fisher))})


@points(1)
def test_ewc_penalty_lam_forms(student):
    """ewc_penalty: lam as int, float and 0-dim tensor of the other dtype; result in the params' dtype"""
    for dtype in (F64, F32):
        params = [torch.tensor([1.0, 3.0], dtype=dtype)]
        old = [torch.tensor([0.0, 1.0], dtype=dtype)]
        fisher = [torch.tensor([2.0, 0.5], dtype=dtype)]  # Σ F d² = 4
        other = F32 if dtype == F64 else F64
        for lam, text in ((3, "3"), (0.5, "0.5"), (torch.tensor(2.0, dtype=other), f"torch.tensor(2.0, dtype={other})")):
            got = student.ewc_penalty(params, old, fisher, lam)
            call = f"ewc_penalty(params in {str(dtype)[6:]}, …, lam={text})"
            expect_tensor(got, call=call, shape=(), dtype=dtype)
            expect_close(got, torch.tensor(2.0 * float(lam), dtype=dtype), call=call, rtol=1e-6)


@points(1)
def test_ewc_penalty_zero_at_old_params(student, reference, rng):
    """ewc_penalty: 0 at θ = θ*, whatever the Fisher and λ"""
    params = [torch.randn(2, 3, generator=rng, dtype=F64), torch.randn(5, generator=rng, dtype=F64)]
    fisher = [torch.rand(2, 3, generator=rng, dtype=F64) + 1, torch.rand(5, generator=rng, dtype=F64) + 1]
    got = student.ewc_penalty(params, [p.clone() for p in params], fisher, 4.0)
    expect_close(got, torch.tensor(0.0, dtype=F64), call="ewc_penalty(params, old_params=params, fisher, 4)",
                 atol=1e-12)
    # credited only with a right answer away from θ* too (a constant 0 is zero there as well)
    old = [p + 1 for p in params]
    expect_right_answer(student.ewc_penalty(params, old, fisher, 4.0), reference.ewc_penalty(params, old, fisher, 4.0),
                        call="ewc_penalty(params, old_params=params + 1, fisher, 4)")


@given(scale=st.sampled_from([0.5, 2.0, 10.0]), seed=st.integers(0, 50))
def test_ewc_penalty_linear_in_lam(student, reference, scale, seed):
    """ewc_penalty: multiplying lam by s multiplies the penalty by s"""
    gen = torch.Generator().manual_seed(seed)
    params = [torch.randn(3, generator=gen, dtype=F64)]
    old = [torch.randn(3, generator=gen, dtype=F64)]
    fisher = [torch.rand(3, generator=gen, dtype=F64)]
    one = student.ewc_penalty(params, old, fisher, 1.0)
    scaled = student.ewc_penalty(params, old, fisher, scale)
    expect_tensor(one, call="ewc_penalty(…, lam=1)", shape=(), dtype=F64)
    # credited only with a right answer (a constant 0 is linear in lam too)
    expect_right_answer(one, reference.ewc_penalty(params, old, fisher, 1.0), call="ewc_penalty(…, lam=1)")
    expect_close(scaled, one * scale, call=f"ewc_penalty(…, lam={scale}) against {scale} × ewc_penalty(…, lam=1)",
                 rtol=1e-9, atol=1e-12)


# --------------------------------------------------------------------------- replay_samples


@points(1)
def test_replay_samples_labels_and_types(student, rng):
    """replay_samples: classes as a list or an int64 tensor, in their order; x in the model's dtype"""
    params = _params(rng, 4, 3)
    for classes, text in (([3, 0, 2], "[3, 0, 2]"), (torch.tensor([2, 1]), "torch.tensor([2, 1])")):
        for dtype in ("float64", "float32"):
            call = f"replay_samples(model in {dtype}, classes={text}, n_per_class=4)"
            got = student.replay_samples(_spec(params, dtype), classes, 4)
            if not isinstance(got, (list, tuple)) or len(got) != 2:
                fail(f"{call}\n  returned {type(got).__name__}; expected a tuple (x, c).")
            x, c = got
            k = len(classes)
            expect_tensor(x, call=call + " x", shape=(4 * k, 3), dtype=getattr(torch, dtype), shape_note="(n·C, D)")
            want = torch.as_tensor(classes).repeat_interleave(4)
            expect_tensor(c, call=call + " c", shape=(4 * k,), dtype=torch.int64)
            expect_close(c, want, call=call + " c", rtol=0, atol=0,
                         mistakes={"the labels are sorted; keep the order of `classes`": want.sort().values,
                                   "looks like .repeat(n): use repeat_interleave":
                                       torch.as_tensor(classes).repeat(4)})


@points(1)
def test_replay_samples_no_grad_model_unchanged(student, rng):
    """replay_samples: draws under torch.no_grad(), not inference_mode; parameters and .grad untouched"""
    params = _params(rng)
    for dtype in ("float64", "float32"):
        call = f"replay_samples(model in {dtype} whose .grad holds values, [2, 1], 3)"
        student.replay_samples(_spec(params, dtype, grad="values", keep="replay_samples"), [2, 1], 3)
        _left_alone(student, "replay_samples", call, "Draw the samples inside `with torch.no_grad():` and "
                    "leave the model as it was.", [2, 1], 3, rng=False)


@points(1)
def test_replay_samples_distribution(student, rng):
    """replay_samples: each class's samples have the class's mean and standard deviation"""
    params = _params(rng)
    call = "replay_samples(model, [2, 0], 2000)"
    x, _ = expect_tuple(student.replay_samples(_spec(params), [2, 0], 2000), 2, call=call)
    x = expect_tensor(x, call=call + " x", shape=(4000, 2), dtype=F64)
    means, log_std, shift = params
    for k, rows in ((2, slice(0, 2000)), (0, slice(2000, 4000))):
        expect_close(x[rows].mean(0), means[k] + shift, call=f"{call}: the mean of the samples labelled {k}",
                     rtol=0, atol=0.1)
        expect_close(x[rows].std(0), torch.exp(log_std[k]), call=f"{call}: the standard deviation of "
                     f"the samples labelled {k}", rtol=0.1, atol=0)


@points(1)
def test_replay_samples_generator(student):
    """replay_samples: the same generator seed gives the same samples, another seed others"""
    params = _params(torch.Generator().manual_seed(5))
    call = "replay_samples(model, [0, 1], 5, generator)"
    runs = [expect_tuple(student.replay_samples(_spec(params), [0, 1], 5, Helper("amnesia_generator", seed=s)),
                         2, call=call)[0] for s in (7, 7, 8)]
    for r in runs:
        expect_tensor(r, call=call, shape=(10, 2), dtype=F64)
    expect(torch.equal(runs[0], runs[1]),
           "replay_samples(model, [0, 1], 5, generator=torch.Generator().manual_seed(7)) twice gave "
           "different samples: pass `generator` on to model.sample(c, generator=generator).")
    expect(not torch.equal(runs[0], runs[2]),
           "replay_samples(model, [0, 1], 5, generator) gave the same samples for seeds 7 and 8: pass "
           "`generator` on to model.sample.")


# --------------------------------------------------------------------------- selective_amnesia_loss


def _loss_case(rng, dtype=F64):
    params = _params(rng)
    old = [p + 0.3 * torch.randn(p.shape, generator=rng, dtype=F64) for p in params]
    fisher = [torch.rand(p.shape, generator=rng, dtype=F64) + 0.2 for p in params]
    x_f = torch.randn(6, 2, generator=rng, dtype=F64) - 3.0
    c_f = torch.zeros(6, dtype=torch.int64)
    x_r, c_r = _data(rng, params, (0, 5, 4))
    conv = (lambda t: t.to(dtype))
    return (params, [conv(o) for o in old], [conv(f) for f in fisher], conv(x_f), c_f, conv(x_r), c_r)


@points(2)
def test_selective_amnesia_loss_values(student, rng):
    """selective_amnesia_loss: the value on a random model, 6 surrogate and 9 replay points, lam 1.3"""
    params, old, fisher, x_f, c_f, x_r, c_r = _loss_case(rng)
    ewc = 0.65 * sum((f * (p - o) ** 2).sum() for p, o, f in zip(params, old, fisher))
    lp_f, lp_r = _log_prob(params, x_f, c_f), _log_prob(params, x_r, c_r)
    want = -lp_f.mean() - lp_r.mean() + ewc
    got = student.selective_amnesia_loss(_spec(params), old, fisher, 1.3, x_f, c_f, x_r, c_r)
    expect_close(got, want, call="selective_amnesia_loss(model, old_params, fisher, 1.3, x_forget, c_forget, "
                 "x_replay, c_replay)", inputs={"x_forget": x_f, "x_replay": x_r}, rtol=1e-9,
                 mistakes={"looks like one mean over both batches together; take two separate means":
                               -torch.cat([lp_f, lp_r]).mean() + ewc,
                           "the surrogate term has the wrong sign: the loss is minimised":
                               lp_f.mean() - lp_r.mean() + ewc,
                           "the EWC penalty is missing": -lp_f.mean() - lp_r.mean(),
                           "the replay term has the wrong sign: the loss is minimised":
                               -lp_f.mean() + lp_r.mean() + ewc})


@points(1)
def test_selective_amnesia_loss_float32(student, rng):
    """selective_amnesia_loss: a float32 model and float32 data give a float32 scalar"""
    params, old, fisher, x_f, c_f, x_r, c_r = _loss_case(rng, F32)
    p32 = [p.float() for p in params]
    want = (-_log_prob(p32, x_f, c_f).mean() - _log_prob(p32, x_r, c_r).mean()
            + 0.5 * sum((f * (p - o) ** 2).sum() for p, o, f in zip(p32, old, fisher)))
    got = student.selective_amnesia_loss(_spec(params, "float32"), old, fisher, 1.0, x_f, c_f, x_r, c_r)
    call = "selective_amnesia_loss(model in float32, …, lam=1.0)"
    expect_tensor(got, call=call, shape=(), dtype=F32)
    expect_close(got, want, call=call, rtol=1e-4)


@points(2)
def test_selective_amnesia_loss_gradients(student, rng):
    """selective_amnesia_loss: differentiable; its gradients in x_forget and x_replay match by hand"""
    params, old, fisher, x_f, c_f, x_r, c_r = _loss_case(rng)
    means, log_std, shift = params
    call = ("selective_amnesia_loss(model, …) differentiated in x_forget and x_replay (for this model "
            "they mirror the gradients in the means: ∂ ln p/∂x = −∂ ln p/∂μ)")
    _, grads = student.grad("selective_amnesia_loss", _spec(params), old, fisher, 0.8, x_f, c_f, x_r, c_r,
                            wrt=(4, 6))
    for g, name in zip(grads, ("x_forget", "x_replay")):
        if g is None:
            fail(f"{call}: no gradient reached `{name}`: the result must be differentiable; don't use "
                 ".detach(), .item(), float(), torch.no_grad() or NumPy on the way.")
    # ∂(−ln p)/∂x = (x − μ_c)/σ_c², averaged over each batch
    want_f = (x_f - means[c_f] - shift) * torch.exp(-2 * log_std[c_f]) / len(x_f)
    want_r = (x_r - means[c_r] - shift) * torch.exp(-2 * log_std[c_r]) / len(x_r)
    expect_close(list(grads), [want_f, want_r], call=call, rtol=1e-7, atol=1e-12)


@points(1)
def test_selective_amnesia_loss_no_backward_no_mutation(student, reference, rng):
    """selective_amnesia_loss: no backward() (.grad untouched) and no input modified in place"""
    params, old, fisher, x_f, c_f, x_r, c_r = _loss_case(rng)
    args = (old, fisher, 0.5, x_f, c_f, x_r, c_r)
    for grad in ("none", "values"):
        student.selective_amnesia_loss(_spec(params, grad=grad, keep="selective_amnesia_loss"), *args)
        _left_alone(student, "selective_amnesia_loss", "selective_amnesia_loss(model, …) on a model whose "
                    ".grad " + ("is None" if grad == "none" else "holds values"), LOSS_ADVICE, *args)
    got, mutated = student.call_checking_inputs("selective_amnesia_loss", _spec(params), *args)
    names = {4: "x_forget", 5: "c_forget", 6: "x_replay", 7: "c_replay"}
    expect(not mutated, f"selective_amnesia_loss modified {[names.get(i, i) for i in mutated]} in place; "
           "work on copies.")
    # inputs left alone count only with the right answer for the same call
    expect_right_answer(got, reference.selective_amnesia_loss(_spec(params), *args),
                        call="selective_amnesia_loss(model, old_params, fisher, 0.5, x_forget, c_forget, "
                             "x_replay, c_replay)",
                        inputs={"x_forget": args[3], "c_forget": args[4], "x_replay": args[5], "c_replay": args[6]})


# --------------------------------------------------------------------------- forgetting_report


@points(1)
def test_forgetting_report_values(student, rng):
    """forgetting_report: a random model, 4 classes with 3, 0, 5 and 2 examples, shuffled"""
    params = _params(rng, 4, 2)
    x, c = _data(rng, params, (3, 0, 5, 2))
    perm = torch.randperm(len(c), generator=rng)
    x, c = x[perm], c[perm]
    before = _log_prob(params, x, c) + torch.randn(len(c), generator=rng, dtype=F64)
    delta = _log_prob(params, x, c) - before
    want = torch.stack([delta[c == k].mean() for k in range(4)])
    call = "forgetting_report(model, x, c, log_px_before), 4 classes, class 1 without examples"
    got = student.forgetting_report(_spec(params), x, c, before)
    expect_tensor(got, call=call, shape=(4,), dtype=F64, finite=False, shape_note="(C,), C = int(c.max()) + 1")
    expect_close(got, want, call=call, inputs={"c": c}, rtol=1e-9,
                 mistakes={"the sign is reversed: report ln p(x | θ, c) − log_px_before": -want,
                           "a class without examples must be NaN (0/0), not 0": torch.nan_to_num(want, nan=0.0)})


@points(1)
def test_forgetting_report_float64_difference(student):
    """forgetting_report: a float32 model with log-likelihoods near −1e4, before near −3: the difference in float64"""
    # σ = 1 and whole-number offsets: every step of log_prob rounds the same way on any device
    params = ([[0.0, 0.0], [1.0, 1.0]], [[0.0, 0.0], [0.0, 0.0]], [0.0, 0.0])
    x = torch.tensor([[100.0, 90.0], [110.0, 80.0], [-95.0, -99.0], [-120.0, -71.0]])
    c = torch.tensor([0, 0, 1, 1])
    model = amnesia_gaussian(*params, dtype="float32")
    lp32 = model.log_prob(x, c).detach()
    # log-likelihoods before forgetting near −3, now near −1e4: a float32 difference rounds to
    # a multiple of 2⁻¹⁰ ≈ 0.001; the float64 difference of the same two float32 numbers is exact
    before = torch.tensor([-3.1416, -2.7183, -1.4142, -1.7321])
    want = torch.stack([(lp32.double() - before.double())[c == k].mean() for k in range(2)])
    sloppy = torch.stack([(lp32 - before).double()[c == k].mean() for k in range(2)])
    call = "forgetting_report(model in float32, x, c, log_px_before in float32) with ln p ≈ −1e4"
    got = student.forgetting_report(Helper("amnesia_gaussian", means=params[0], log_std=params[1],
                                           shift=params[2], dtype="float32"), x, c, before)
    expect_tensor(got, call=call, shape=(2,), dtype=F64)
    expect_close(got, want, call=call, rtol=1e-12, atol=0,
                 mistakes={"the difference was taken in float32 and converted afterwards; convert "
                           "ln p and log_px_before to float64 first, then subtract": sloppy})


@points(1)
def test_forgetting_report_no_mutation(student, reference, rng):
    """forgetting_report: x, c and log_px_before are left unchanged"""
    params = _params(rng)
    x, c = _data(rng, params, (2, 2, 2))
    before = _log_prob(params, x, c) + 1.0
    got, mutated = student.call_checking_inputs("forgetting_report", _spec(params), x, c, before)
    names = {1: "x", 2: "c", 3: "log_px_before"}
    expect(not mutated, f"forgetting_report modified {[names.get(i, i) for i in mutated]} in place; "
           "work on copies.")
    # inputs left alone count only with the right answer for the same call
    expect_right_answer(got, reference.forgetting_report(_spec(params), x, c, before),
                        call="forgetting_report(model, x, c, log_px_before)",
                        inputs={"x": x, "c": c, "log_px_before": before})
