"""Public tests for the GMM / EM assignment: shapes, dtypes and small examples you can check by hand.

Run them with `gmgrade check gmm`. The hidden tests also check values on random mixtures,
points 1000 standard deviations from every component, that the M-step maximises the
expected complete-data log-likelihood, agreement with scikit-learn's GaussianMixture, the
stopping rule, and that EM recovers a well-separated mixture.
"""

from __future__ import annotations

import math

import torch

from autograder.testing import (expect, expect_close, expect_right_answer, expect_tensor, expect_tuple, fail, points,
                                upstream_mistakes)

F64 = torch.float64
LOG_2PI = math.log(2 * math.pi)


def _two_components(dtype=F64):
    weights = torch.tensor([0.25, 0.75], dtype=dtype)
    means = torch.tensor([[0.0, 0.0], [3.0, -1.0]], dtype=dtype)
    covs = torch.stack([torch.eye(2, dtype=dtype), torch.tensor([[2.0, 0.5], [0.5, 1.0]], dtype=dtype)])
    return weights, means, covs


@points(1)
def test_log_likelihood_single_standard_normal(student):
    """gmm_log_likelihood: one standard-normal component, log N(x; 0, I) by hand, shape (N,)"""
    x = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, -2.0]], dtype=F64)
    w, m, c = torch.ones(1, dtype=F64), torch.zeros(1, 3, dtype=F64), torch.eye(3, dtype=F64)[None]
    got = student.gmm_log_likelihood(x, w, m, c)
    call = "gmm_log_likelihood(x, weights=[1], means=[0], covs=[I])"
    expect_tensor(got, call=call, inputs={"x": x}, shape=(2,), dtype=F64, shape_note="(N,)")
    want = torch.tensor([-1.5 * LOG_2PI, -1.5 * LOG_2PI - 0.5 * 9.0], dtype=F64)
    expect_close(got, want, call=call, inputs={"x": x}, rtol=1e-6)


@points(1)
def test_log_likelihood_two_identical_components(student):
    """gmm_log_likelihood: two identical components give the density of one, whatever the weights"""
    x = torch.tensor([[0.5, -1.0], [2.0, 2.0], [0.0, 0.0]], dtype=F64)
    cov = torch.tensor([[2.0, 0.0], [0.0, 0.5]], dtype=F64)  # log det = 0
    w = torch.tensor([0.3, 0.7], dtype=F64)
    m = torch.tensor([[1.0, 0.0], [1.0, 0.0]], dtype=F64)
    c = torch.stack([cov, cov])
    maha = torch.tensor([0.25 / 2 + 1.0 / 0.5, 1.0 / 2 + 4.0 / 0.5, 1.0 / 2 + 0.0], dtype=F64)
    want = -LOG_2PI - 0.5 * maha
    expect_close(student.gmm_log_likelihood(x, w, m, c), want,
                 call="gmm_log_likelihood(x, weights, means, covs)", inputs={"x": x, "weights": w,
                 "means": m, "covs": c}, rtol=1e-6)


def _diag_mixture(x, const=True, logdet_factor=0.5, weights=True):
    """log(π_k) + log N(x_n; μ_k, diag(4, 1)) (N, K) for the mixture of test_log_likelihood_by_hand;
    the keywords describe the usual slips."""
    means = torch.tensor([[0.0, 0.0], [2.0, 1.0]], dtype=F64)
    maha = (((x[:, None] - means[None]) ** 2) / torch.tensor([4.0, 1.0], dtype=F64)).sum(-1)
    log_w = torch.log(torch.tensor([0.25, 0.75], dtype=F64)) if weights else 0.0
    return log_w - (LOG_2PI if const else 0.0) - logdet_factor * math.log(4.0) - 0.5 * maha


def _diag_mixture_params():
    cov = torch.diag(torch.tensor([4.0, 1.0], dtype=F64))
    return (torch.tensor([0.25, 0.75], dtype=F64), torch.tensor([[0.0, 0.0], [2.0, 1.0]], dtype=F64),
            torch.stack([cov, cov]))


@points(1)
def test_log_likelihood_by_hand(student):
    """gmm_log_likelihood: π = (¼, ¾), μ = (0,0), (2,1), Σ = diag(4, 1), by hand with logsumexp"""
    x = torch.tensor([[0.0, 0.0], [2.0, 1.0]], dtype=F64)
    w, m, c = _diag_mixture_params()
    call = "gmm_log_likelihood(x, weights, means, covs)"
    expect_close(student.gmm_log_likelihood(x, w, m, c), torch.logsumexp(_diag_mixture(x), 1), call=call,
                 inputs={"x": x, "weights": w, "means": m, "covs": c}, rtol=1e-5, atol=1e-6, mistakes={
                     "the mixture weights π_k are missing: log p(x) = logsumexp_k [log π_k + log N(x; μ_k, Σ_k)]":
                         torch.logsumexp(_diag_mixture(x, weights=False), 1),
                     "the log-determinant term is missing: log N contains −½ log det Σ_k":
                         torch.logsumexp(_diag_mixture(x, logdet_factor=0.0), 1),
                     "log det Σ_k needs the factor ½: log N = −½ [D log 2π + log det Σ + (x−μ)ᵀΣ⁻¹(x−μ)]":
                         torch.logsumexp(_diag_mixture(x, logdet_factor=1.0), 1),
                     "the constant −(D/2) log 2π of the Gaussian density is missing":
                         torch.logsumexp(_diag_mixture(x, const=False), 1)})


@points(1)
def test_far_point(student):
    """gmm_log_likelihood and e_step: x = (200, 0), 100 standard deviations away: about −4900 and (e^−99/3, 1)"""
    x = torch.tensor([[200.0, 0.0]], dtype=F64)
    w, m, c = _diag_mixture_params()
    inputs = {"x": x, "weights": w, "means": m, "covs": c}
    a = _diag_mixture(x)
    expect_close(student.gmm_log_likelihood(x, w, m, c), torch.logsumexp(a, 1),
                 call="gmm_log_likelihood(x, weights, means, covs)", inputs=inputs, rtol=1e-5, atol=1e-6,
                 mistakes={"log(Σ_k π_k exp(…)) underflows to log 0 = −inf for far points: use torch.logsumexp "
                           "over the components (log-sum-exp trick)": torch.tensor([-math.inf], dtype=F64)})
    expect_close(student.e_step(x, w, m, c), torch.softmax(a, 1), call="e_step(x, weights, means, covs)",
                 inputs=inputs, rtol=1e-6, atol=1e-12,
                 mistakes={"exp() of the log-densities underflows to 0/0 = NaN for far points: normalise in log "
                           "space (subtract torch.logsumexp over the components before exp)":
                           torch.full((1, 2), math.nan, dtype=F64)})


@points(1)
def test_e_step_shape_and_rows(student):
    """e_step: shape (N, K), float32 stays float32, rows sum to 1"""
    for dtype in (F64, torch.float32):
        w, m, c = _two_components(dtype)
        x = torch.tensor([[0.0, 0.0], [3.0, -1.0], [1.5, -0.5], [-1.0, 4.0], [2.0, 0.0]], dtype=dtype)
        call = f"e_step(x, weights, means, covs) in {str(dtype).replace('torch.', '')}"
        got = expect_tensor(student.e_step(x, w, m, c), call=call, inputs={"x": x}, shape=(5, 2),
                            dtype=dtype, shape_note="(N, K)")
        expect_close(got.sum(1), torch.ones(5, dtype=dtype), call=call + ", rows summed",
                     inputs={"x": x}, rtol=1e-5, atol=1e-5)


@points(1)
def test_e_step_equal_components_give_the_weights(student):
    """e_step: with two identical components the responsibilities are the mixture weights"""
    x = torch.randn(6, 2, dtype=F64, generator=torch.Generator().manual_seed(0))
    w = torch.tensor([0.2, 0.8], dtype=F64)
    m = torch.zeros(2, 2, dtype=F64)
    c = torch.eye(2, dtype=F64).repeat(2, 1, 1)
    expect_close(student.e_step(x, w, m, c), w.expand(6, 2),
                 call="e_step(x, weights=[0.2, 0.8], two identical components)", inputs={"x": x},
                 rtol=1e-6, atol=1e-9)


# Two clusters far apart: A = the square (0,0), (2,0), (0,2), (2,2); B = (10,10), (12,10).
CLUSTERS = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0], [10.0, 10.0], [12.0, 10.0]], dtype=F64)
ONE_HOT = torch.tensor([[1.0, 0.0]] * 4 + [[0.0, 1.0]] * 2, dtype=F64)
N_K = torch.tensor([4.0, 2.0], dtype=F64)
MEANS = torch.tensor([[1.0, 1.0], [11.0, 10.0]], dtype=F64)
SCATTER = torch.tensor([[[4.0, 0.0], [0.0, 4.0]], [[2.0, 0.0], [0.0, 0.0]]], dtype=F64)  # Σ_n γ (x − μ)(x − μ)ᵀ
SECOND = torch.tensor([[[8.0, 4.0], [4.0, 8.0]], [[244.0, 220.0], [220.0, 200.0]]], dtype=F64)  # Σ_n γ x xᵀ
EYE = torch.eye(2, dtype=F64)


def m_step_by_hand(reg, weights=N_K / 6, covs=None):
    """The M-step on the two clusters with one-hot responsibilities; the keywords let a test
    describe a slip."""
    return weights, MEANS, (SCATTER / N_K[:, None, None] + reg * EYE) if covs is None else covs


def m_step_slips(reg):
    """The usual M-step slips on the two clusters, as the pieces of m_step_by_hand they change."""
    return {
        "the weights must be π_k = N_k / N (they sum to 1), not N_k": {"weights": N_K},
        "the covariances divide by N; Σ_k = Σ_n γ_nk (x_n − μ_k)(x_n − μ_k)ᵀ / N_k":
            {"covs": SCATTER / 6 + reg * EYE},
        "the covariances divide by N_k − 1; the maximum-likelihood estimate divides by N_k":
            {"covs": SCATTER / (N_K[:, None, None] - 1) + reg * EYE},
        "reg_covar is missing: add reg_covar to the diagonal of every covariance":
            {"covs": SCATTER / N_K[:, None, None]},
        "reg_covar was added to every entry; add it only to the diagonal (reg_covar · I)":
            {"covs": SCATTER / N_K[:, None, None] + reg},
        "the covariance is not centred: use (x_n − μ_k)(x_n − μ_k)ᵀ with the new mean μ_k":
            {"covs": SECOND / N_K[:, None, None] + reg * EYE},
    }


@points(1)
def test_m_step_hard_assignments(student):
    """m_step: one-hot responsibilities give per-cluster fractions, means and 1/N_k covariances"""
    got = student.m_step(CLUSTERS, ONE_HOT, 0.1)
    expect_close(got, m_step_by_hand(0.1), call="m_step(x, resp, reg_covar=0.1) with one-hot resp",
                 inputs={"x": CLUSTERS, "resp": ONE_HOT}, rtol=1e-6, atol=1e-9,
                 mistakes={hint: m_step_by_hand(0.1, **slip) for hint, slip in m_step_slips(0.1).items()})


@points(1)
def test_m_step_default_reg_covar(student):
    """m_step: without reg_covar, 1e-6 is added to the diagonal (cluster B has zero variance in y)"""
    call = "m_step(x, resp) with one-hot resp"
    w, m, c = expect_tuple(student.m_step(CLUSTERS, ONE_HOT), 3, call=call, inputs={"x": CLUSTERS, "resp": ONE_HOT})
    expect_close(c, m_step_by_hand(1e-6)[2], call=call + " covariances", inputs={"x": CLUSTERS, "resp": ONE_HOT},
                 rtol=1e-6, atol=1e-12,
                 mistakes={"reg_covar's default must be 1e-6 (as in scikit-learn)": m_step_by_hand(0.0)[2]})


def _log_lik(x, weights, means, covs):
    """Mean log-likelihood of the two clusters under (weights, means, diagonal covs), by hand:
    the clusters are so far apart that each point's other component adds less than e^−50."""
    var = torch.diagonal(covs, dim1=1, dim2=2)[ONE_HOT.argmax(1)]  # (N, 2) of each point's cluster
    mu, w = means[ONE_HOT.argmax(1)], weights[ONE_HOT.argmax(1)]
    return (torch.log(w) - math.log(2 * math.pi) - 0.5 * torch.log(var).sum(1)
            - 0.5 * ((x - mu) ** 2 / var).sum(1)).mean()


@points(1)
def test_fit_gmm_one_iteration_by_hand(student):
    """fit_gmm: one EM iteration on two far-apart clusters is the M-step of one-hot responsibilities; history by hand"""
    w0, c0 = torch.tensor([0.5, 0.5], dtype=F64), EYE.repeat(2, 1, 1)
    call = "fit_gmm(x, weights, means, covs, n_iter=1, tol=0.0, reg_covar=0.1)"
    inputs = {"x": CLUSTERS, "weights": w0, "means": MEANS, "covs": c0}
    got = expect_tuple(student.fit_gmm(CLUSTERS, w0, MEANS, c0, n_iter=1, tol=0.0, reg_covar=0.1), 4,
                       call=call, inputs=inputs)
    history = expect_tensor(got[3], call=call + " history", inputs=inputs, shape=(2,), dtype=F64,
                            shape_note="n_iter=1 allows at most 1 iteration, so the history has 2 entries: "
                                       "the mean log-likelihood under the initial parameters, then after it")

    def expected(**slip):
        return m_step_by_hand(0.1, **slip)

    expect_close(tuple(got[:3]), expected(), call=call, inputs=inputs, rtol=1e-6, atol=1e-9,
                 mistakes={"fit_gmm must pass its reg_covar on to every m_step call":
                           expected(covs=SCATTER / N_K[:, None, None] + 1e-6 * EYE),
                           **upstream_mistakes("fit_gmm", expected, {
                               f"m_step: {hint}": slip for hint, slip in m_step_slips(0.1).items()})})
    ll0, ll1 = _log_lik(CLUSTERS, w0, MEANS, c0), _log_lik(CLUSTERS, *expected())
    expect_close(history, torch.stack([ll0, ll1]), call=call + " history", inputs=inputs, rtol=1e-5, atol=1e-6,
                 mistakes={"use the mean over the points, not the sum": torch.stack([ll0, ll1]) * 6,
                           "history[0] must be the mean log-likelihood under the *initial* parameters "
                           "(before the first E-step)": torch.stack([ll1, ll1])})
    got, mutated = student.call_checking_inputs("fit_gmm", CLUSTERS, w0, MEANS, c0, 1, 0.0, 0.1)
    expect(not mutated, f"fit_gmm() modified its input(s) at position(s) {mutated} in place; never write "
           "into an argument (copy the initial parameters before updating them).")
    # inputs left alone count only with the right answer for this call (the one worked out above)
    expect_right_answer(got, (*expected(), torch.stack([ll0, ll1])), inputs=inputs,
                        call="fit_gmm(x, weights, means, covs, 1, 0.0, 0.1)")


def overlapping_clusters():
    """(x, weights, means, covs): two overlapping clusters of 50 points at the scale 0.01 (covariances of
    about 1e-4) and a start on which EM improves the mean log-likelihood (≈ 6) slowly, for 100 iterations."""
    gen = torch.Generator().manual_seed(1)
    x = 0.01 * torch.cat([torch.randn(50, 2, generator=gen, dtype=F64),
                          torch.randn(50, 2, generator=gen, dtype=F64) + torch.tensor([1.5, 0.0], dtype=F64)])
    return (x, torch.tensor([0.5, 0.5], dtype=F64), 0.01 * torch.tensor([[0.0, 1.0], [0.0, -1.0]], dtype=F64),
            1e-4 * EYE.repeat(2, 1, 1))


@points(1)
def test_fit_gmm_defaults_example(student):
    """fit_gmm: without n_iter, tol and reg_covar it does what n_iter=100, tol=1e-6, reg_covar=1e-6 do"""
    # Two overlapping clusters at the scale 0.01 (covariances of about 1e-4, which reg_covar=1e-6
    # changes by a percent), on which EM still improves by more than 1e-5 at every one of 100
    # iterations: each of the three defaults changes the result.
    args = overlapping_clusters()
    x = args[0]
    call = "fit_gmm(x, weights, means, covs)"
    inputs = {"x": x}

    def fitted(call, **options):
        got = expect_tuple(student.fit_gmm(*args, **options), 4, call=call, inputs=inputs)
        return [expect_tensor(v, call=f"{call} {name}", inputs=inputs, dtype=F64)
                for name, v in zip(("weights", "means", "covs", "history"), got)]

    default = fitted(call)
    explicit = fitted("fit_gmm(x, weights, means, covs, n_iter=100, tol=1e-6, reg_covar=1e-6)",
                      n_iter=100, tol=1e-6, reg_covar=1e-6)
    runs = [default[3].numel() - 1, explicit[3].numel() - 1]
    same = runs[0] == runs[1] and all(a.shape == b.shape and torch.allclose(a, b, rtol=1e-9, atol=0.0)
                                      for a, b in zip(default, explicit))
    why = (f"it ran {runs[0]} iterations, and {runs[1]} with n_iter=100, tol=1e-6, reg_covar=1e-6"
           if runs[0] != runs[1] else "its parameters differ from those of n_iter=100, tol=1e-6, reg_covar=1e-6")
    expect(same, f"{call} on two overlapping clusters at the scale 0.01: {why}. Check the defaults in your "
           "signature: n_iter=100, tol=1e-6, reg_covar=1e-6 (and pass reg_covar on to every m_step).")


@points(1)
def test_fit_gmm_stops_on_the_absolute_improvement(student):
    """fit_gmm: tol bounds the improvement ℓ(θᵗ) − ℓ(θᵗ⁻¹) itself, not its size relative to |ℓ|"""
    # The clusters of test_fit_gmm_defaults_example, where |ℓ| ≈ 6: a relative rule stops about 6 times sooner.
    args = overlapping_clusters()
    x = args[0]
    inputs = {"x": x}
    call = "fit_gmm(x, weights, means, covs, n_iter=12, tol=0.0)"
    full = expect_tensor(expect_tuple(student.fit_gmm(*args, n_iter=12, tol=0.0), 4, call=call, inputs=inputs)[3],
                         call=f"{call} history", inputs=inputs, shape=(13,), dtype=F64,
                         shape_note="tol=0.0 never stops EM early: 12 iterations + 1")
    gains = (full[1:] - full[:-1]).tolist()  # your own improvements, iteration by iteration
    absolute = next((i + 1 for i, g in enumerate(gains) if g < 1e-3), 12)
    relative = next((i + 1 for i, g in enumerate(gains) if g / abs(float(full[i])) < 1e-3), 12)
    call = "fit_gmm(x, weights, means, covs, n_iter=12, tol=1e-3)"
    got = expect_tensor(expect_tuple(student.fit_gmm(*args, n_iter=12, tol=1e-3), 4, call=call, inputs=inputs)[3],
                        call=f"{call} history", inputs=inputs, dtype=F64)
    if got.numel() - 1 == absolute:
        return
    hint = ("\n  Hint: that is where a relative rule (improvement / |ℓ| < tol) stops; the rule is absolute, not "
            "relative: stop when ℓ(θᵗ) − ℓ(θᵗ⁻¹) < tol.") if got.numel() - 1 == relative else ""
    fail(f"{call}\n  ran {got.numel() - 1} iterations; your own history with tol=0.0 improves by "
         f"{[float(f'{g:.3g}') for g in gains]}, so EM stops after iteration {absolute}, the first whose "
         f"improvement is below 1e-3 (the history then has {absolute + 1} entries).{hint}")


@points(1)
def test_fit_gmm_stops_when_converged(student):
    """fit_gmm: on two far-apart clusters the 2nd iteration changes nothing: tol=1e-3 stops after it"""
    w0, c0 = torch.tensor([0.5, 0.5], dtype=F64), EYE.repeat(2, 1, 1)
    call = "fit_gmm(x, weights, means, covs, n_iter=50, tol=1e-3, reg_covar=0.1)"
    got = expect_tuple(student.fit_gmm(CLUSTERS, w0, MEANS, c0, n_iter=50, tol=1e-3, reg_covar=0.1), 4,
                       call=call, inputs={"x": CLUSTERS})
    history = expect_tensor(got[3], call=call + " history", inputs={"x": CLUSTERS}, dtype=F64)
    expect(tuple(history.shape) == (3,), f"{call}\n  returned a history of {history.numel()} entries, expected "
           "3: the first iteration improves the mean log-likelihood, the second improves it by less than "
           "tol (by 0) and stops EM, and the history includes it."
           + ("\n  Hint: all 50 iterations ran, as if tol were ignored: stop after the first iteration whose "
              "improvement ℓ(θᵗ) − ℓ(θᵗ⁻¹) is below tol" if history.numel() == 51 else ""))


@points(1)
def test_fit_gmm_returns_history(student):
    """fit_gmm: returns (weights, means, covs, history) with len(history) == iterations + 1"""
    gen = torch.Generator().manual_seed(1)
    x = torch.cat([torch.randn(20, 2, generator=gen, dtype=F64),
                   torch.randn(20, 2, generator=gen, dtype=F64) + 5.0])
    w0 = torch.tensor([0.5, 0.5], dtype=F64)
    m0 = torch.tensor([[1.0, 1.0], [3.0, 3.0]], dtype=F64)
    c0 = torch.eye(2, dtype=F64).repeat(2, 1, 1)
    call = "fit_gmm(x, weights, means, covs, n_iter=2, tol=0.0)"
    got = student.fit_gmm(x, w0, m0, c0, n_iter=2, tol=0.0)
    if not isinstance(got, (tuple, list)) or len(got) != 4:
        fail(f"{call}\n  expected a tuple (weights, means, covs, history) of 4 values.")
    w, m, c, history = got
    expect_tensor(w, call=call + " weights", shape=(2,), dtype=F64)
    expect_tensor(m, call=call + " means", shape=(2, 2), dtype=F64)
    expect_tensor(c, call=call + " covs", shape=(2, 2, 2), dtype=F64)
    expect_tensor(history, call=call + " history", shape=(3,), dtype=F64,
                  shape_note="2 iterations + 1 (the initial mean log-likelihood, then one per iteration)")
    expect(bool(history[1] >= history[0]) and bool(history[2] >= history[1]),
           f"{call}\n  history {history.tolist()} decreases; EM never decreases the mean "
           "log-likelihood.")
    expect_close(w.sum(), torch.tensor(1.0, dtype=F64), call=call + " weights summed", rtol=1e-9)
