"""Public tests for the Selective Amnesia assignment: small examples you can check by hand.

Run them with `gmgrade check amnesia`. The model in every test is the grader's
class-conditional Gaussian (`autograder.helpers.amnesia.ClassGaussian`):

    x | c ~ N(means[c] + shift, diag(exp(log_std[c]))²),  parameters [means, log_std, shift],

whose score is known by hand: with z = (x − μ_c) / σ_c, ∂ ln p / ∂means[c] = ∂ ln p / ∂shift
= z / σ_c and ∂ ln p / ∂log_std[c] = z² − 1. The hidden tests also check float32, random
models and the Fisher of many samples against its expectation, gradients, the replay
distribution and generator, float64 differences, and an end-to-end forgetting of class 0.
"""

from __future__ import annotations

import math

import torch

from autograder.student import StudentError
from autograder.testing import Helper, expect_close, expect_right_answer, expect_tensor, fail, points

F64 = torch.float64
LOG_2PI = math.log(2 * math.pi)
MEANS = [[0.0, 1.0], [2.0, -1.0]]
LOG_STD = [[0.0, math.log(2.0)], [-math.log(2.0), 0.0]]
SHIFT = [0.5, 0.0]
X = torch.tensor([[0.5, 1.0], [1.5, 3.0], [2.5, -1.0], [1.5, -2.0], [0.5, -1.0]], dtype=F64)
C = torch.tensor([0, 0, 1, 1, 0])


def _model(**extra) -> Helper:
    return Helper("amnesia_gaussian", means=MEANS, log_std=LOG_STD, shift=SHIFT, **extra)


def _scores(x: torch.Tensor, c: torch.Tensor) -> list:
    """Per-example gradients (N, *shape) of ln p(x_n | c_n) for [means, log_std, shift]."""
    means, log_std, shift = (torch.tensor(v, dtype=F64) for v in (MEANS, LOG_STD, SHIFT))
    sigma = torch.exp(log_std[c])
    z = (x - means[c] - shift) / sigma
    onehot = torch.nn.functional.one_hot(c, len(MEANS)).to(F64)[:, :, None]  # (N, C, 1)
    return [onehot * (z / sigma)[:, None, :], onehot * (z * z - 1)[:, None, :], z / sigma]


def _log_prob(x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    means, log_std, shift = (torch.tensor(v, dtype=F64) for v in (MEANS, LOG_STD, SHIFT))
    z = (x - means[c] - shift) * torch.exp(-log_std[c])
    return (-0.5 * LOG_2PI - log_std[c] - 0.5 * z * z).sum(-1)


def _left_alone(student, fn: str, call: str, advice: str, *args, rng: bool = True) -> None:
    """A second call with the same model, which the grader checks first (see the helper)."""
    try:
        student.call(fn, Helper("amnesia_kept", key=fn, rng=rng), *args)
    except StudentError as e:
        if e.exc_type != "ModelChanged":
            raise
        text = e.feedback.split("ModelChanged: ", 1)[-1].split("\n", 1)[0]
        fail(f"{call}\n  {text}\n  {advice}")


@points(2)
def test_fisher_diagonal_by_hand(student):
    """fisher_diagonal: the mean of per-example squared scores of a class-conditional Gaussian"""
    got = student.fisher_diagonal(_model(), X, C)
    call = "fisher_diagonal(model, x, c) with 5 points of 2 classes"
    scores = _scores(X, C)
    want = [(g * g).mean(0) for g in scores]
    counts = torch.tensor([3.0, 2.0], dtype=F64)[:, None]  # examples of class 0 and 1
    per_class = [(g * g).sum(0) / counts for g in scores[:2]] + [want[2]]
    if not isinstance(got, (list, tuple)) or len(got) != 3:
        fail(f"{call}\n  returned {type(got).__name__}; expected a list of 3 tensors, one per "
             "parameter in the order of model.parameters() (means, log_std, shift).")
    expect_close(list(got), want, call=call, inputs={"x": X, "c": C}, rtol=1e-6, atol=1e-9,
                 mistakes={"looks like the square of the mean gradient; the Fisher is the mean of "
                           "each example's squared gradient": [g.mean(0) ** 2 for g in scores],
                           "looks like the sum over the examples; the Fisher is their mean (divide "
                           "by N)": [(g * g).sum(0) for g in scores],
                           "looks like the mean gradient, not squared": [g.mean(0) for g in scores],
                           "looks like a mean over each class's own examples; divide by N, the "
                           "number of all points": per_class})


@points(1)
def test_fisher_diagonal_without_graph(student):
    """fisher_diagonal: returns plain tensors, without an autograd graph (x requiring grad reaches none of them)"""
    call = "fisher_diagonal(model, x, c) with 5 points of 2 classes, x requiring grad"
    for i, name in enumerate(("means", "log_std", "shift")):
        _, grads = student.grad("fisher_diagonal", _model(), X, C, wrt=(1,), select=i)
        if grads[0] is not None:
            fail(f"{call}: the entry for `{name}` carries an autograd graph. Return plain tensors: detach them (or "
                 "compute per-example gradients from detached parameters without create_graph).")
    # no graph counts only with the right answer (that of test_fisher_diagonal_by_hand): a constant has none
    expect_right_answer(student.fisher_diagonal(_model(), X, C), [(g * g).mean(0) for g in _scores(X, C)],
                        call="fisher_diagonal(model, x, c)", inputs={"x": X, "c": C})


@points(1)
def test_fisher_diagonal_leaves_the_model_alone(student):
    """fisher_diagonal: the model's parameters and .grad (None or not) come back unchanged"""
    for grad in ("none", "values"):
        call = (f"fisher_diagonal(model, x, c) on a model whose .grad "
                f"{'is None' if grad == 'none' else 'holds values'}")
        got = student.fisher_diagonal(_model(grad=grad, keep="fisher_diagonal"), X, C)
        _left_alone(student, "fisher_diagonal", call, "Leave the model as it was: compute gradients "
                    "with torch.autograd.grad (or torch.func), which touch neither the parameters "
                    "nor their .grad; call neither backward(), zero_grad() nor an optimizer.", X, C)
        # the model left alone counts only with the right answer (that of test_fisher_diagonal_by_hand)
        expect_right_answer(got, [(g * g).mean(0) for g in _scores(X, C)], call=call, inputs={"x": X, "c": C})


@points(1)
def test_ewc_penalty_by_hand(student):
    """ewc_penalty: λ/2 · Σ F (θ − θ*)² over every entry of two tensors"""
    params = [torch.tensor([1.0, 2.0], dtype=F64), torch.tensor([[0.0, -1.0], [3.0, 1.0]], dtype=F64)]
    old = [torch.tensor([0.0, 0.0], dtype=F64), torch.tensor([[1.0, 1.0], [1.0, 1.0]], dtype=F64)]
    fisher = [torch.tensor([2.0, 0.5], dtype=F64), torch.tensor([[1.0, 0.0], [0.25, 4.0]], dtype=F64)]
    # F (θ − θ*)²: [2, 2] and [[1, 0], [1, 0]]: Σ = 6
    got = student.ewc_penalty(params, old, fisher, 3.0)
    expect_close(got, torch.tensor(9.0, dtype=F64), call="ewc_penalty(params, old_params, fisher, lam=3)",
                 inputs={"params": params, "old_params": old, "fisher": fisher}, rtol=1e-9,
                 mistakes={"missing the ½ in λ/2 · Σ F (θ − θ*)²": 18.0,
                           "looks like |θ − θ*|; the penalty squares the difference": 6.75,
                           "only the first parameter tensor counted; sum over every tensor": 6.0,
                           "looks like a mean over the entries; EWC sums over every entry": 9.0 / 6,
                           "looks like F² (θ − θ*)²; the Fisher enters once": 9.375})


@points(1)
def test_ewc_penalty_dtype(student):
    """ewc_penalty: float32 params with lam a float64 0-dim tensor give a float32 scalar"""
    params = [torch.tensor([1.0, -1.0]), torch.tensor([2.0])]
    old = [torch.zeros(2), torch.zeros(1)]
    fisher = [torch.ones(2), torch.ones(1)]
    got = student.ewc_penalty(params, old, fisher, torch.tensor(0.5, dtype=F64))
    call = "ewc_penalty(params in float32, …, lam=torch.tensor(0.5, dtype=float64))"
    expect_tensor(got, call=call, shape=(), dtype=torch.float32)
    expect_close(got, torch.tensor(1.5), call=call, rtol=1e-6)


@points(1)
def test_replay_samples_labels(student):
    """replay_samples: c is classes repeated n_per_class times each, in the given order; x (n·C, D)"""
    got = student.replay_samples(_model(), [1, 0], 3)
    call = "replay_samples(model, classes=[1, 0], n_per_class=3)"
    if not isinstance(got, (list, tuple)) or len(got) != 2:
        fail(f"{call}\n  returned {type(got).__name__}; expected a tuple (x, c).")
    x, c = got
    expect_tensor(x, call=call + " x", shape=(6, 2), dtype=F64, shape_note="(n·C, D)")
    want = torch.tensor([1, 1, 1, 0, 0, 0])
    expect_close(c, want, call=call + " c", rtol=0, atol=0,
                 mistakes={"the labels are sorted; keep the order of `classes`": torch.tensor([0, 0, 0, 1, 1, 1]),
                           "looks like .repeat(n): use repeat_interleave, so each class's samples are "
                           "together": torch.tensor([1, 0, 1, 0, 1, 0])})


@points(1)
def test_replay_samples_follow_the_generator(student):
    """replay_samples: the same generator seed gives the same samples, another seed others"""
    call = "replay_samples(model, [0, 1], 5, generator=torch.Generator().manual_seed(SEED))"
    runs = []
    for seed in (7, 7, 8):
        got = student.replay_samples(_model(), [0, 1], 5, Helper("amnesia_generator", seed=seed))
        if not isinstance(got, (list, tuple)) or len(got) != 2:
            fail(f"{call}\n  returned {type(got).__name__}; expected a tuple (x, c).")
        runs.append(expect_tensor(got[0], call=f"{call} x", shape=(10, 2), dtype=F64))
    if not torch.equal(runs[0], runs[1]):
        fail(f"{call} with SEED = 7 twice gave different samples: pass `generator` on to "
             "model.sample(c, generator=generator).")
    if torch.equal(runs[0], runs[2]):
        fail(f"{call} gave the same samples for SEED = 7 and SEED = 8: pass `generator` on to model.sample.")


@points(1)
def test_replay_samples_under_no_grad(student):
    """replay_samples: samples drawn under torch.no_grad() (not inference_mode), the model unchanged"""
    # no value gate: the samples are random draws (the replay tests judge their distribution)
    student.replay_samples(_model(keep="replay_samples"), [0, 1], 2)
    _left_alone(student, "replay_samples", "replay_samples(model, [0, 1], 2)", "Draw the samples inside "
                "`with torch.no_grad():` — they are data for a later loss, not part of its graph.", [0, 1], 2,
                rng=False)


@points(2)
def test_selective_amnesia_loss_by_hand(student):
    """selective_amnesia_loss: −mean ln p(forget) − mean ln p(replay) + EWC, batches of different sizes"""
    x_f, c_f = X[:2] + 0.25, torch.tensor([0, 0])
    x_r, c_r = X[2:], C[2:]
    old = [torch.tensor(MEANS, dtype=F64) + 0.5, torch.tensor(LOG_STD, dtype=F64), torch.tensor(SHIFT, dtype=F64) - 1.0]
    fisher = [torch.full((2, 2), 0.5, dtype=F64), torch.ones(2, 2, dtype=F64), torch.tensor([2.0, 1.0], dtype=F64)]
    lam = 2.0
    ewc = lam / 2 * (0.5 * 4 * 0.25 + 2.0 * 1.0 + 1.0 * 1.0)  # θ − θ* = −0.5, 0, +1
    lp_f, lp_r = _log_prob(x_f, c_f), _log_prob(x_r, c_r)
    want = -lp_f.mean() - lp_r.mean() + ewc
    got = student.selective_amnesia_loss(_model(), old, fisher, lam, x_f, c_f, x_r, c_r)
    expect_close(got, want, call="selective_amnesia_loss(model, old_params, fisher, lam=2, x_forget (2 "
                 "points), c_forget, x_replay (3 points), c_replay)",
                 inputs={"x_forget": x_f, "x_replay": x_r}, rtol=1e-9,
                 mistakes={"looks like one mean over both batches together; take two separate means "
                           "(the batches differ in size)": -torch.cat([lp_f, lp_r]).mean() + ewc,
                           "the surrogate term has the wrong sign: the loss is minimised, so "
                           "−mean ln p(x_forget) raises their likelihood": lp_f.mean() - lp_r.mean() + ewc,
                           "the EWC penalty is missing": -lp_f.mean() - lp_r.mean(),
                           "missing the ½ in the EWC penalty": -lp_f.mean() - lp_r.mean() + 2 * ewc,
                           "looks like sums over the batches; the loss uses means":
                               -lp_f.sum() - lp_r.sum() + ewc})


@points(1)
def test_selective_amnesia_loss_leaves_the_model_alone(student):
    """selective_amnesia_loss: returns the loss without calling backward() (.grad stays None)"""
    old = [torch.tensor(v, dtype=F64) for v in (MEANS, LOG_STD, SHIFT)]
    fisher = [torch.ones_like(p) for p in old]
    args = (old, fisher, 1.0, X[:2], C[:2], X[2:], C[2:])
    got = student.selective_amnesia_loss(_model(keep="selective_amnesia_loss"), *args)
    _left_alone(student, "selective_amnesia_loss", "selective_amnesia_loss(model, …) on a model whose "
                ".grad is None", "Return the loss without calling backward(): the caller does that, "
                "then steps the optimizer.", *args)
    # the model left alone counts only with the right answer: θ = θ*, so the EWC term is 0
    expect_right_answer(got, -_log_prob(X[:2], C[:2]).mean() - _log_prob(X[2:], C[2:]).mean(),
                        call="selective_amnesia_loss(model, old_params, fisher, 1.0, x_forget, c_forget, "
                             "x_replay, c_replay)",
                        inputs={"x_forget": X[:2], "c_forget": C[:2], "x_replay": X[2:], "c_replay": C[2:]})


@points(2)
def test_forgetting_report_by_hand(student):
    """forgetting_report: per-class mean of ln p − log_px_before, float64, NaN for a class without examples"""
    c = torch.tensor([0, 1, 0, 1, 1])
    before = _log_prob(X, c) + torch.tensor([2.0, 1.0, 4.0, -1.0, 0.5], dtype=F64)
    got = student.forgetting_report(_model(), X, c, before)
    call = "forgetting_report(model, x, c=[0, 1, 0, 1, 1], log_px_before)"
    expect_tensor(got, call=call, shape=(2,), dtype=F64, shape_note="(C,) with C = int(c.max()) + 1")
    want = torch.tensor([-3.0, -0.5 / 3], dtype=F64)
    expect_close(got, want, call=call, inputs={"log_px_before": before}, rtol=1e-9,
                 mistakes={"the sign is reversed: report ln p(x | θ, c) − log_px_before": -want,
                           "looks like a sum per class; report the mean over the class's examples":
                               torch.tensor([-6.0, -0.5], dtype=F64),
                           "looks like one mean over all examples; report one mean per class":
                               torch.full((2,), -1.3, dtype=F64)})
    c1 = torch.tensor([1, 1])
    before1 = _log_prob(X[:2], c1) - 1.0
    call = "forgetting_report(model, x, c=[1, 1], log_px_before): class 0 has no examples"
    got = student.forgetting_report(_model(), X[:2], c1, before1)
    expect_tensor(got, call=call, shape=(2,), dtype=F64, finite=False,
                  shape_note="(C,) with C = int(c.max()) + 1 = 2, class 0 included")
    expect_close(got, torch.tensor([math.nan, 1.0], dtype=F64), call=call, rtol=1e-9,
                 mistakes={"a class without examples must be NaN (0/0), not 0": torch.tensor([0.0, 1.0], dtype=F64)})


@points(1)
def test_forgetting_report_no_graph_example(student):
    """forgetting_report: a measurement, evaluated without an autograd graph (none reaches x)"""
    c = torch.tensor([0, 1, 0, 1, 1])
    before = _log_prob(X, c) + torch.tensor([2.0, 1.0, 4.0, -1.0, 0.5], dtype=F64)
    got, grads = student.grad("forgetting_report", _model(), X, c, before, wrt=(1,))
    if grads[0] is not None:
        fail("forgetting_report(model, x, c, log_px_before) with x requiring grad: the report carries an autograd "
             "graph back to x (and to the model's parameters). It is a measurement, evaluated without a graph: "
             "compute ln p(x | θ, c) under torch.no_grad() (or detach it) before taking the difference.")
    # no graph counts only with the right answer (that of test_forgetting_report_by_hand): a constant has none
    expect_right_answer(got, torch.tensor([-3.0, -0.5 / 3], dtype=F64), call="forgetting_report(model, x, c, "
                        "log_px_before)", inputs={"log_px_before": before})


@points(1)
def test_forgetting_report_float32_model_example(student):
    """forgetting_report: a float32 model with ln p ≈ −1e4 and log_px_before ≈ −3: the difference in float64"""
    # σ = 1 and whole-number offsets: ln p ≈ −1e4 in float32, before ≈ −3; a float32 difference rounds to a
    # multiple of 2⁻¹⁰ ≈ 0.001, the float64 difference of the same two float32 numbers is exact
    model = Helper("amnesia_gaussian", means=[[0.0, 0.0], [1.0, 1.0]], log_std=[[0.0, 0.0], [0.0, 0.0]],
                   shift=[0.0, 0.0], dtype="float32")
    x = torch.tensor([[100.0, 90.0], [110.0, 80.0], [-95.0, -99.0], [-120.0, -71.0]])
    c = torch.tensor([0, 0, 1, 1])
    before = torch.tensor([-3.1416, -2.7183, -1.4142, -1.7321])
    with torch.no_grad():
        lp32 = model.build().log_prob(x, c)
    call = "forgetting_report(model in float32, x, c, log_px_before in float32) with ln p ≈ −1e4"
    got = expect_tensor(student.forgetting_report(model, x, c, before), call=call, shape=(2,), dtype=F64)
    expect_close(got, torch.stack([(lp32.double() - before.double())[c == k].mean() for k in range(2)]), call=call,
                 rtol=1e-12, atol=0, mistakes={
                     "the difference was taken in float32 and converted afterwards; convert ln p and "
                     "log_px_before to float64 first, then subtract":
                         torch.stack([(lp32 - before).double()[c == k].mean() for k in range(2)])})
