"""Public tests for variational Bayes on Gaussian mixtures: small inputs you can reproduce.

Run them with `gmgrade check vbgmm`. Every expected number below comes from the formulas of
the notebook on the five points X (print them with your own functions to compare). The
hidden tests also compare with scikit-learn's BayesianGaussianMixture, check the bound
against the exact marginal likelihood for K = 1 on random data, use points far from every
component, empty components, float32, the stopping rule, and a run on three clusters with
K = 6 that must switch off the three extra components.
"""

from __future__ import annotations

import math

import torch

from autograder.testing import expect, expect_close, expect_tensor, expect_tuple, fail, points

F64 = torch.float64


def _t(values, dtype=F64):
    return torch.tensor(values, dtype=dtype)


X = _t([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [4.0, 4.0], [5.0, 3.0]])  # N = 5, D = 2


def _prior(dtype=F64):
    """α0 = 0.5, β0 = 2, m0 = (1, 1), W0 = diag(0.5, 0.25) (so W0⁻¹ = diag(2, 4)), ν0 = 3."""
    return (_t(0.5, dtype), _t(2.0, dtype), _t([1.0, 1.0], dtype), _t([[0.5, 0.0], [0.0, 0.25]], dtype),
            _t(3.0, dtype))


def _posterior(dtype=F64):
    """A posterior with K = 3 that no M-step produced (the E-step and the bound take any)."""
    return (_t([2.0, 5.0, 0.7], dtype), _t([1.5, 3.0, 0.8], dtype),
            _t([[0.0, 0.0], [4.0, 3.0], [1.0, 2.0]], dtype),
            _t([[[0.5, 0.1], [0.1, 0.3]], [[0.2, 0.0], [0.0, 0.4]], [[1.0, -0.2], [-0.2, 0.5]]], dtype),
            _t([3.0, 4.5, 2.5], dtype))


PRIOR_TEXT = "prior = (α0=0.5, β0=2, m0=[1, 1], W0=diag(0.5, 0.25), ν0=3)"
POSTERIOR_TEXT = ("posterior = (alpha=[2, 5, 0.7], beta=[1.5, 3, 0.8], m=[[0, 0], [4, 3], [1, 2]], "
                  "W=[[[0.5, 0.1], [0.1, 0.3]], [[0.2, 0], [0, 0.4]], [[1, -0.2], [-0.2, 0.5]]], "
                  "nu=[3, 4.5, 2.5])")
HARD = _t([[1.0, 0.0]] * 3 + [[0.0, 1.0]] * 2)  # points 0–2 in component 0, points 3–4 in component 1

# --------------------------------------------------------------------------- vb_m_step

M_STEP_W = _t([[[0.31481481481481477, 0.018518518518518517], [0.018518518518518517, 0.14814814814814814]],
               [[0.11878453038674032, -0.09116022099447513], [-0.09116022099447513, 0.1629834254143646]]])
M_STEP_W_MISTAKES = {
    "W_k⁻¹ starts from W0⁻¹, the inverse of the prior's scale matrix, not from W0 itself "
    "(W0 is a Wishart scale matrix, not a covariance)":
        _t([[[0.6069651741293531, 0.07960199004975123], [0.07960199004975123, 0.33830845771144274]],
            [[0.28354430379746826, -0.3341772151898733], [-0.3341772151898733, 0.5367088607594935]]]),
    "W_k⁻¹ adds N_k S_k = Σ_n r_nk (x_n − x̄_k)(x_n − x̄_k)ᵀ (the scatter, not divided by N_k)":
        _t([[[0.36295503211991437, -0.00321199143468951], [-0.00321199143468951, 0.19914346895074944]],
            [[0.13124999999999998, -0.10624999999999998], [-0.10624999999999998, 0.18125]]]),
    "the term (x̄_k − m0)(x̄_k − m0)ᵀ is weighted by β0 N_k/(β0 + N_k), not by N_k":
        _t([[[0.25, 0.0], [0.0, 0.14285714285714285]], [[0.1, -0.1], [-0.1, 0.15882352941176472]]]),
}


@points(2)
def test_m_step_hard_assignments(student):
    """vb_m_step: one-hot responsibilities on five points, every parameter of the posterior"""
    call = f"vb_m_step(X, resp, prior) with points 0–2 in component 0, 3–4 in component 1, {PRIOR_TEXT}"
    inputs = {"X": X, "resp": HARD}
    got = expect_tuple(student.vb_m_step(X, HARD, _prior()), 5, call=call, inputs=inputs)
    alpha, beta, m, w, nu = got
    # N = (3, 2), x̄_0 = (1/3, 2/3), x̄_1 = (4.5, 3.5): α = α0 + N_k, β = β0 + N_k, ν = ν0 + N_k.
    expect_close(alpha, _t([3.5, 2.5]), call=call + ": alpha", inputs=inputs)
    expect_close(beta, _t([5.0, 4.0]), call=call + ": beta", inputs=inputs)
    expect_close(nu, _t([6.0, 5.0]), call=call + ": nu", inputs=inputs)
    expect_close(m, _t([[0.6, 0.8], [2.75, 2.25]]), call=call + ": m (m_k = (β0 m0 + N_k x̄_k)/β_k)",
                 inputs=inputs, rtol=1e-9,
                 mistakes={"m_k = (β0 m0 + N_k x̄_k)/β_k: the prior mean m0 pulls it away from x̄_k":
                           _t([[1 / 3, 2 / 3], [4.5, 3.5]])})
    expect_close(w, M_STEP_W, call=call + ": W", inputs=inputs, rtol=1e-9, atol=1e-12,
                 mistakes=M_STEP_W_MISTAKES)


@points(1)
def test_m_step_empty_component_keeps_the_prior(student):
    """vb_m_step: a component with no responsibility (N_k = 0) gets the prior back, no NaN"""
    resp = torch.cat([HARD, torch.zeros(5, 1, dtype=F64)], dim=1)  # component 2 owns nothing
    call = f"vb_m_step(X, resp, prior) with an all-zero column 2 (N_2 = 0), {PRIOR_TEXT}"
    inputs = {"X": X, "resp": resp}
    got = expect_tuple(student.vb_m_step(X, resp, _prior()), 5, call=call, inputs=inputs)
    names = ("alpha", "beta", "m", "W", "nu")
    for name, value in zip(names, got):
        value = expect_tensor(value, call=call + f": {name}", inputs=inputs, finite=False)
        if not bool(torch.isfinite(value).all()):
            fail(f"{call}\n  {name} has NaN or inf: {value.tolist()}.\n  Hint: with N_k = 0 the "
                 "weighted mean x̄_k = Σ_n r_nk x_n / N_k is 0/0. Every term it enters is multiplied "
                 "by N_k, so divide only where N_k > 0 (e.g. torch.where(nk > 0, nk, 1)).")
    alpha0, beta0, m0, w0, nu0 = _prior()
    want = (_t([3.5, 2.5, 0.5]), _t([5.0, 4.0, 2.0]), torch.cat([_t([[0.6, 0.8], [2.75, 2.25]]), m0[None]]),
            torch.cat([M_STEP_W, w0[None]]), _t([6.0, 5.0, 3.0]))
    for name, value, expected in zip(names, got, want):
        expect_close(value, expected, call=call + f": {name} (component 2 must equal the prior)",
                     inputs=inputs, rtol=1e-9, atol=1e-12)


# --------------------------------------------------------------------------- vb_e_step

E_STEP = _t([[0.9915698888640543, 1.3830286809971657e-06, 0.008428728107264695],
             [0.9773495773031877, 6.734514082414919e-05, 0.022583077555988148],
             [0.8053021043913908, 0.009101584963963405, 0.18559631064464574],
             [1.5086327923180434e-11, 0.9999988604333835, 1.1395515300786472e-06],
             [3.5479683021427047e-13, 0.9999999997234392, 2.76205868378331e-10]])
E_STEP_MISTAKES = {
    "E[ln π_k] = ψ(α_k) − ψ(Σ_j α_j) with the digamma function ψ, not the plug-in ln(α_k / Σ_j α_j)":
        _t([[0.9848513762060952, 1.162339167599201e-06, 0.015147461454737221],
            [0.9598156711024288, 5.596267846240522e-05, 0.04012836621910883],
            [0.7009830072666815, 0.006703783864136302, 0.2923132088691823],
            [1.7829068772409753e-11, 0.9999975632402739, 2.4367418970030643e-06],
            [4.193005297256604e-13, 0.9999999994089597, 5.906211933089097e-10]]),
    "ln ρ_nk contains −½ D/β_k (the uncertainty of the mean μ_k); it is missing":
        _t([[0.9849948747127206, 9.844122284709143e-07, 0.015004140875050805],
            [0.9601940321025461, 4.7407877397184856e-05, 0.039758560020056725],
            [0.7036816115353015, 0.0056986183027498295, 0.29061977016194857],
            [2.1054630686579707e-11, 0.9999971500338006, 2.849945144644711e-06],
            [4.9515886442285e-13, 0.9999999993087305, 6.90774307949194e-10]]),
    "E[ln |Λ_k|] sums ψ((ν_k + 1 − i)/2) for i = 1..D (an index is off by one)":
        _t([[0.9968801050047358, 2.53353830240637e-06, 0.003117361456961733],
            [0.9914478285039563, 0.00012448094911603685, 0.008427690546927782],
            [0.9046677926874559, 0.018630478611564548, 0.07670172870097955],
            [8.279559840322474e-12, 0.9999997699200253, 2.300716952455424e-07],
            [1.947166289138241e-13, 0.9999999999440403, 5.576500308757707e-11]]),
    "the quadratic term is ν_k (x_n − m_k)ᵀ W_k (x_n − m_k): E[Λ_k] = ν_k W_k, so the factor ν_k "
    "is needed":
        _t([[0.8002132386296344, 0.1643682469152926, 0.03541851445507302],
            [0.627380526978268, 0.3332138032884089, 0.03940566973332304],
            [0.33325104514018766, 0.6177767668444774, 0.048972188015335164],
            [6.65434395879908e-05, 0.9995755716657263, 0.00035788489468557047],
            [2.005032868108448e-05, 0.9999660675469362, 1.3882124382717256e-05]]),
}


@points(2)
def test_e_step_by_hand(student):
    """vb_e_step: responsibilities of five points under a K = 3 posterior, float64 and float32"""
    for dtype, rtol, atol in ((F64, 1e-7, 1e-12), (torch.float32, 1e-4, 1e-6)):
        name = str(dtype).replace("torch.", "")
        call = f"vb_e_step(X, posterior) in {name} with {POSTERIOR_TEXT}"
        x = X.to(dtype)
        got = expect_tensor(student.vb_e_step(x, _posterior(dtype)), call=call, inputs={"X": x},
                            shape=(5, 3), dtype=dtype, shape_note="(N, K)")
        expect_close(got, E_STEP.to(dtype), call=call, inputs={"X": x}, rtol=rtol, atol=atol,
                     mistakes={h: v.to(dtype) for h, v in E_STEP_MISTAKES.items()})


@points(1)
def test_e_step_far_point(student):
    """vb_e_step: a point 5000 units from every component gets a valid row (log-space normalisation)"""
    x = _t([[0.0, 0.0], [3e3, -4e3], [4.0, 3.0]])
    call = f"vb_e_step(x, posterior) with x = [[0, 0], [3000, -4000], [4, 3]], {POSTERIOR_TEXT}"
    want = _t([[0.9915698888640543, 1.3830286809971657e-06, 0.008428728107264695], [1.0, 0.0, 0.0],
               [4.752254690506373e-10, 0.9999993254166405, 6.741081340396452e-07]])
    naive = want.clone()
    naive[1] = math.nan
    expect_close(student.vb_e_step(x, _posterior()), want, call=call, inputs={"x": x}, rtol=1e-7,
                 atol=1e-12,
                 mistakes={"every ρ_nk = exp(ln ρ_nk) underflows to 0 for the far point, and 0/0 = NaN: "
                           "normalise in log space (torch.softmax over the components, or subtract "
                           "torch.logsumexp before exp)": naive})


# --------------------------------------------------------------------------- vb_elbo

ONE_COMPONENT = (_t([5.5]), _t([7.0]), _t([[1.7142857142857142, 1.5714285714285714]]),
                 _t([[[0.07073588134626353, -0.056474614945807175], [-0.056474614945807175, 0.10154021677124928]]]),
                 _t([8.0]))  # vb_m_step(X, ones(5, 1), prior)


@points(2)
def test_elbo_one_component_is_the_evidence(student):
    """vb_elbo: for K = 1 the bound is the exact log marginal likelihood ln p(X) of the Normal–Wishart model"""
    ones = torch.ones(5, 1, dtype=F64)
    call = (f"vb_elbo(X, ones(5, 1), posterior, prior) with {PRIOR_TEXT} and posterior = "
            "vb_m_step(X, ones(5, 1), prior)")
    # ln p(X) = ln Z(β_N, W_N, ν_N) − ln Z(β0, W0, ν0) − (N D/2) ln 2π, where
    # Z(β, W, ν) = (2π/β)^{D/2} 2^{νD/2} |W|^{ν/2} Γ_D(ν/2) normalises N(μ | m, (βΛ)⁻¹) W(Λ | W, ν).
    got = expect_tensor(student.vb_elbo(X, ones, ONE_COMPONENT, _prior()), call=call,
                        inputs={"X": X}, shape=(), dtype=F64, finite=False)
    expect_close(got, _t(-22.836429719475923), call=call, inputs={"X": X}, rtol=1e-9,
                 mistakes={"the bound keeps every constant: E[ln p(X | Z, μ, Λ)] contains −(D/2) ln 2π "
                           "for each point": -13.647044387429196,
                           "ln B(W, ν) contains the multivariate gamma function ln Γ_D(ν/2) "
                           "(torch.mvlgamma(ν/2, p=D)), not ln Γ(ν/2)": -24.037403321823})


RESP_SOFT = _t([[1.0, 0.0, 0.0], [0.7, 0.3, 0.0], [0.0, 0.6, 0.4], [0.0, 1.0, 0.0], [0.1, 0.2, 0.7]])


@points(2)
def test_elbo_three_components(student):
    """vb_elbo: K = 3, responsibilities with zeros (0 · ln 0 = 0) and a posterior no M-step produced"""
    call = f"vb_elbo(X, resp, posterior, prior) with resp = {RESP_SOFT.tolist()}, {POSTERIOR_TEXT}, {PRIOR_TEXT}"
    expect_close(student.vb_elbo(X, RESP_SOFT, _posterior(), _prior()), _t(-69.091385116712),
                 call=call, inputs={"X": X}, rtol=1e-9,
                 mistakes={"E[ln q(Z)] = Σ r ln r with 0 · ln 0 = 0: r * log(r) is NaN where r = 0; "
                           "use torch.xlogy(r, r)": math.nan,
                           "E[ln q(π)] includes ln C(α) = ln Γ(Σ_k α_k) − Σ_k ln Γ(α_k), the "
                           "normaliser of q(π) = Dir(α)": -64.6037648373226,
                           "E[ln π_k] = ψ(α_k) − ψ(Σ_j α_j) with the digamma function ψ, not the "
                           "plug-in ln(α_k / Σ_j α_j)": -68.40162521915995,
                           "E[ln |Λ_k|] sums ψ((ν_k + 1 − i)/2) for i = 1..D (an index is off by "
                           "one)": -74.33138511671201,
                           "the bound keeps every constant: E[ln p(X | Z, μ, Λ)] contains −(D/2) ln 2π "
                           "for each point": -59.90199978466528,
                           "ln B(W, ν) contains the multivariate gamma function ln Γ_D(ν/2) "
                           "(torch.mvlgamma(ν/2, p=D)), not ln Γ(ν/2)": -69.21026494712282})


@points(1)
def test_elbo_empty_component(student):
    """vb_elbo: a component with N_k = 0 adds nothing to the N_k-weighted terms (finite, no NaN)"""
    resp = _t([[1.0, 0.0, 0.0], [0.7, 0.0, 0.3], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [0.1, 0.0, 0.9]])
    call = (f"vb_elbo(X, resp, posterior, prior) with resp = {resp.tolist()} (column 1 all zero, "
            f"N_1 = 0), {POSTERIOR_TEXT}, {PRIOR_TEXT}")
    got = expect_tensor(student.vb_elbo(X, resp, _posterior(), _prior()), call=call, inputs={"X": X},
                        shape=(), dtype=F64, finite=False)
    if not bool(torch.isfinite(got)):
        fail(f"{call}\n  returned {got.item()}, expected -84.77436908179588.\n  Hint: two places "
             "give NaN here. With N_k = 0 the weighted mean x̄_k = Σ_n r_nk x_n / N_k is 0/0, "
             "but every term it enters is multiplied by N_k: divide only where N_k > 0. And "
             "0 · ln 0 = 0 in E[ln q(Z)] (torch.xlogy(r, r)).")
    expect_close(got, _t(-84.77436908179588), call=call, inputs={"X": X}, rtol=1e-9)


# --------------------------------------------------------------------------- fit_vbgmm

RESP_START = _t([[0.9, 0.1], [0.6, 0.4], [0.5, 0.5], [0.3, 0.7], [0.2, 0.8]])
FIT_HISTORY = _t([-26.12706697636532, -25.24627953444702, -24.188314269933834, -24.127436559188705])
FIT_RESP = _t([[0.6245283538254364, 0.37547164617456363], [0.6790290474225953, 0.3209709525774047],
               [0.6994588118872695, 0.3005411881127305], [3.1065407560523363e-06, 0.9999968934592439],
               [6.619705156709805e-08, 0.9999999338029483]])
FIT_ALPHA = _t([2.5030193858731087, 3.496980614126891])


@points(2)
def test_fit_three_iterations(student):
    """fit_vbgmm: three iterations return the last (posterior, resp) pair and the history of the bound"""
    call = f"fit_vbgmm(X, resp, prior, n_iter=3, tol=0.0) with resp = {RESP_START.tolist()}, {PRIOR_TEXT}"
    inputs = {"X": X, "resp": RESP_START}
    posterior, resp, history = expect_tuple(student.fit_vbgmm(X, RESP_START, _prior(), n_iter=3, tol=0.0),
                                            3, call=call, inputs=inputs)
    history = expect_tensor(history, call=call + ": history", inputs=inputs, dtype=F64)
    if tuple(history.shape) != (4,):
        fail(f"{call}\n  history has shape {tuple(history.shape)}, expected (4,) = 3 iterations + 1.\n"
             f"  Expected {FIT_HISTORY.tolist()}, got {history.tolist()}.\n  Hint: history[0] is the "
             "bound of the initial pair (resp, vb_m_step(x, resp, prior)), before any E-step; then "
             "one value per iteration.")
    expect_close(history, FIT_HISTORY, call=call + ": history", inputs=inputs, rtol=1e-9)
    expect_close(resp, FIT_RESP, call=call + ": resp", inputs=inputs, rtol=1e-7, atol=1e-12,
                 mistakes={"return the resp the last vb_m_step was given: no E-step follows the last "
                           "M-step (scikit-learn's fit does one more)":
                           _t([[0.6396168297217305, 0.3603831702782694], [0.6954732096617829, 0.30452679033821706],
                               [0.7384541845180526, 0.2615458154819475], [1.497937004486464e-06, 0.9999985020629957],
                               [2.6690524293282565e-08, 0.9999999733094758]])})
    alpha = expect_tuple(posterior, 5, call=call + ": posterior", inputs=inputs)[0]
    expect_close(alpha, FIT_ALPHA, call=call + ": posterior alpha", inputs=inputs, rtol=1e-7)


@points(1)
def test_fit_stops_on_absolute_tol(student):
    """fit_vbgmm: stops after the first iteration that raises the bound by less than tol (absolute)"""
    call = f"fit_vbgmm(X, resp, prior, tol=8e-4) with resp = {RESP_START.tolist()}, {PRIOR_TEXT}"
    inputs = {"X": X, "resp": RESP_START}
    history = expect_tuple(student.fit_vbgmm(X, RESP_START, _prior(), tol=8e-4), 3, call=call,
                           inputs=inputs)[2]
    history = expect_tensor(history, call=call + ": history", inputs=inputs, dtype=F64)
    # the increments are 0.88, 1.06, 0.061, 0.0088, 0.0057, 0.0039, 0.0026, 0.0017, 0.0010, 0.00060, …
    if history.dim() != 1 or history.shape[0] != 11:
        fail(f"{call}\n  history has {history.shape[0] if history.dim() == 1 else tuple(history.shape)} "
             "entries, expected 11: the increments are 0.88, 1.06, 0.061, 0.0088, 0.0057, 0.0039, "
             "0.0026, 0.0017, 0.0010, 0.00060, so iteration 10 is the first to raise the bound by "
             "less than tol = 8e-4, and it counts.\n  Hint: compare the absolute increase "
             "L_t − L_{t−1} with tol (not the increase relative to |L|).")
    expect(bool((history[1:] >= history[:-1] - 1e-9).all()),
           f"{call}\n  history {history.tolist()} decreases; each VB step maximises the bound over one "
           "factor, so it never decreases.")


# --------------------------------------------------------------------------- weights, components

@points(1)
def test_expected_weights_and_effective_components(student):
    """expected_weights and effective_components: E[π] = α/Σα and the count of E[π_k] > threshold"""
    alpha = _t([0.5, 2.0, 97.5])
    posterior = (alpha,) + _posterior()[1:]
    expect_close(student.expected_weights(posterior), _t([0.005, 0.02, 0.975]),
                 call="expected_weights(posterior) with alpha = [0.5, 2, 97.5]", rtol=1e-9,
                 mistakes={"E[π_k] is the mean α_k / Σ_j α_j of the Dirichlet, not its mode "
                           "(α_k − 1)/(Σ_j α_j − K)": _t([-0.5 / 97, 1 / 97, 96.5 / 97])})
    # The last threshold is your own E[π_1] (0.02 up to rounding): "strictly above" must not count it.
    weights = expect_tensor(student.expected_weights(posterior), call="expected_weights(posterior)",
                            shape=(3,), dtype=F64)
    for kwargs, want in (({}, 2), ({"threshold": 0.5}, 1), ({"threshold": float(weights[1])}, 1)):
        call = ("effective_components(posterior" + "".join(f", {k}={v!r}" for k, v in kwargs.items())
                + ") with E[π] = [0.005, 0.02, 0.975]")
        got = expect_tensor(student.effective_components(posterior, **kwargs), call=call, shape=(),
                            dtype=torch.int64)
        if int(got) != want:
            hint = ""
            if kwargs.get("threshold") == float(weights[1]):
                hint = ("\n  Hint: count E[π_k] strictly above the threshold (>): here the threshold is "
                        "your own expected_weights(posterior)[1], which must not count.")
            elif kwargs.get("threshold") == 0.5:
                hint = "\n  Hint: use the threshold= you are given (the default 0.01 only when none is)."
            fail(f"{call}\n  returned {int(got)}, expected {want}.{hint}")
