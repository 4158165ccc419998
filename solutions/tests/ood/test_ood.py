"""Hidden tests for `ood`: analytic oracles, scikit-learn's AUROC, torch.quantile, sizes, gradients."""

from __future__ import annotations

import math

import torch
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from autograder.student import StudentError, StudentTimeout
from autograder.testing import expect, expect_close, expect_tensor, fail, points, timeout

F64 = torch.float64
F32 = torch.float32
LN2 = math.log(2)
LN_2PI = math.log(2 * math.pi)
DTYPES = st.sampled_from([F32, F64])


def _name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def _spd(d: int, cond: float, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A random rotation Q, eigenvalues from 1 to ``cond`` and Q diag(eig) Qᵀ (float64)."""
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=gen, dtype=F64))
    eig = torch.logspace(0, math.log10(cond), d, dtype=F64)
    a = (q * eig) @ q.T
    return q, eig, (a + a.T) / 2


def _closed_form(mu, cov, m, S):
    """The formula in float64, with an eigendecomposition (independent of the reference)."""
    mu, cov, m, S = (t.double() for t in (mu, cov, m, S))
    eig, v = torch.linalg.eigh(cov)
    diff = v.T @ (m - mu)
    trace = (torch.diagonal(v.T @ S @ v) / eig).sum()
    return -0.5 * (mu.numel() * LN_2PI + eig.log().sum() + trace + (diff * diff / eig).sum())


def _gelp_mistakes(mu, cov, m, S):
    d = mu.numel()
    want = _closed_form(mu, cov, m, S)
    log_det = torch.linalg.slogdet(cov.double())[1]
    diff = (m - mu).double()
    maha = diff @ torch.linalg.solve(cov.double(), diff)
    return {"ln|Σ| = 2 Σ_i ln L_ii for the Cholesky factor L: the factor 2 is missing": want + 0.25 * log_det,
            "that is ln N(m; μ, Σ), the log-density at the data's mean: the expectation over x ~ N(m, S) "
            "adds tr(Σ⁻¹S)": -0.5 * (d * LN_2PI + log_det + maha),
            "the trace term is tr(Σ⁻¹S) (the model's covariance inverted), not tr(S⁻¹Σ)":
            lambda: want + 0.5 * torch.trace(torch.linalg.solve(cov.double(), S.double()))
            - 0.5 * torch.trace(torch.linalg.solve(S.double(), cov.double())),
            "the constant is D·ln 2π, not ln 2π": want + (d - 1) * 0.5 * LN_2PI}


# --------------------------------------------------------------------------- bits_per_dim


@points(2)
@given(shape=st.sampled_from([(), (3,), (2, 5)]), d=st.integers(1, 5000),
       bin_width=st.sampled_from([None, 1 / 256, 1 / 255, 0.5, 2.0]), dtype=DTYPES)
def test_bits_per_dim_values(student, rng, shape, d, bin_width, dtype):
    """bits_per_dim: values for any shape, D, bin_width (or none) and dtype"""
    log_px = (torch.randn(shape, generator=rng, dtype=F64) * 3 * d).to(dtype)
    x = log_px.double()
    ln_bin = 0.0 if bin_width is None else math.log(bin_width)
    want = -(x + d * ln_bin) / (d * LN2)
    got = student.bits_per_dim(log_px, d, bin_width)
    expect_close(got, want.to(dtype), call=f"bits_per_dim(log_px, {d}, bin_width={bin_width!r})",
                 inputs={"log_px": log_px}, rtol=1e-5 if dtype == F32 else 1e-10, atol=1e-6,
                 mistakes={"that is nats per dimension: divide by D·ln 2 to get bits": -(x + d * ln_bin) / d,
                           "the bin term enters as ln p(x) + D·ln(bin_width); your sign of D·ln(bin_width) "
                           "is flipped": -(x - d * ln_bin) / (d * LN2),
                           "bin_width^D: the ln term is D·ln(bin_width), not ln(bin_width)":
                           -(x + ln_bin) / (d * LN2)})


@points(1)
def test_bits_per_dim_uniform_model(student):
    """bits_per_dim: the uniform density on [0, 1]^D needs exactly 8 bits/dim on a 1/256 grid, and 0 without bin_width"""
    log_px = torch.zeros(4, dtype=F64)  # ln p(x) = ln 1
    for args, bits in (((1 / 256,), 8.0), ((), 0.0)):  # the second call relies on the default
        call = "bits_per_dim(log_px=0, 3072" + "".join(f", bin_width={a!r}" for a in args) + ")"
        expect_close(student.bits_per_dim(log_px, 3072, *args), torch.full((4,), bits, dtype=F64),
                     call=call, inputs={"log_px": log_px},
                     atol=1e-9,
                     mistakes={"without bin_width the ln term is dropped (the default is None, not 1/256)":
                               torch.full((4,), 8.0, dtype=F64),
                               "the sign of D·ln(bin_width) is flipped: P(bin) ≈ p(x)·bin_width^D is "
                               "smaller than p(x), so bits/dim grow": torch.full((4,), -8.0, dtype=F64)})


# --------------------------------------------------------------------------- gaussian_expected_log_prob


@points(3)
@timeout(20)
def test_gaussian_expected_log_prob_d100_cond1e8(student, rng):
    """gaussian_expected_log_prob: D = 100, rotated covariances of condition number 1e8 (float64)"""
    d = 100
    q, eig, cov = _spd(d, 1e8, rng)
    sig = eig * (0.1 + 0.9 * torch.rand(d, generator=rng, dtype=F64))  # S in the same eigenbasis
    S = (q * sig) @ q.T
    S = (S + S.T) / 2
    z = torch.randn(d, generator=rng, dtype=F64)
    mu = torch.randn(d, generator=rng, dtype=F64)
    m = mu + q @ (eig.sqrt() * z)  # (m − μ)ᵀ Σ⁻¹ (m − μ) = |z|²
    want = -0.5 * (d * LN_2PI + eig.log().sum() + (sig / eig).sum() + (z * z).sum())
    got = student.gaussian_expected_log_prob(mu, cov, m, S)
    expect_close(got, want, call="gaussian_expected_log_prob(mu, cov, m, S) with D = 100, cond(cov) = 1e8",
                 inputs={"mu": mu, "m": m, "eigenvalues of cov": eig}, rtol=1e-9,
                 mistakes={"det Σ overflows to inf in float64 (≈ 1e400 here), so log(det(Σ)) is inf: take "
                           "ln|Σ| from a Cholesky factor (2 Σ ln L_ii) or torch.linalg.slogdet":
                           torch.tensor(-math.inf, dtype=F64)})


@points(2)
def test_gaussian_expected_log_prob_monte_carlo(student, rng):
    """gaussian_expected_log_prob: agrees with a Monte Carlo average of ln N(x; μ, Σ) over x ~ N(m, S)"""
    d, n = 5, 200_000
    _, _, cov = _spd(d, 20.0, rng)
    _, _, S = _spd(d, 5.0, rng)
    mu = torch.randn(d, generator=rng, dtype=F64)
    m = mu + torch.randn(d, generator=rng, dtype=F64)
    x = m + torch.randn(n, d, generator=rng, dtype=F64) @ torch.linalg.cholesky(S).T
    log_p = torch.distributions.MultivariateNormal(mu, cov).log_prob(x)
    estimate, se = log_p.mean(), log_p.std() / math.sqrt(n)
    got = student.gaussian_expected_log_prob(mu, cov, m, S)
    call = "gaussian_expected_log_prob(mu, cov, m, S)"
    expect_tensor(got, call=call, shape=(), dtype=F64)
    if abs(float(got) - float(estimate)) > 5 * float(se):
        hint = ""
        for text, value in _gelp_mistakes(mu, cov, m, S).items():
            value = value() if callable(value) else value
            if abs(float(got) - float(value)) < 1e-6 * abs(float(value)):
                hint = f"\n  Hint: {text}"
        fail(f"{call} on a random 5-D example\n  returned {float(got):.6g}; the average of ln N(x; mu, cov) "
             f"over {n} samples x ~ N(m, S) is {float(estimate):.6g} ± {float(se):.2g} (one standard "
             f"error), so your value is {abs(float(got) - float(estimate)) / float(se):.0f} standard "
             f"errors away.{hint}")


@points(2)
@given(n=st.integers(6, 12), d=st.integers(1, 5))
def test_gaussian_expected_log_prob_mean_log_likelihood(student, rng, n, d):
    """gaussian_expected_log_prob: with the data's mean and 1/N covariance it is the data's mean log-likelihood"""
    x = torch.randn(n, d, generator=rng, dtype=F64) * 2
    _, _, cov = _spd(d, 10.0, rng)
    mu = torch.randn(d, generator=rng, dtype=F64)
    m, S = x.mean(0), torch.cov(x.T, correction=0).reshape(d, d)
    want = torch.distributions.MultivariateNormal(mu, cov).log_prob(x).mean()
    expect_close(student.gaussian_expected_log_prob(mu, cov, m, S), want,
                 call="gaussian_expected_log_prob(mu, cov, m=x.mean(0), S=1/N covariance of x)",
                 inputs={"x": x, "mu": mu, "cov": cov}, rtol=1e-9, atol=1e-9,
                 mistakes=_gelp_mistakes(mu, cov, m, S))


@points(1)
@given(c=st.floats(0.05, 0.95), d=st.integers(2, 8))
def test_gaussian_expected_log_prob_shrinkage(student, rng, c, d):
    """gaussian_expected_log_prob: data shrunk to S = c·Σ (c < 1) score ½·D·(1 − c) nats higher than S = Σ"""
    _, _, cov = _spd(d, 50.0, rng)
    mu = torch.randn(d, generator=rng, dtype=F64)
    train = student.gaussian_expected_log_prob(mu, cov, mu, cov)
    shrunk = student.gaussian_expected_log_prob(mu, cov, mu, c * cov)
    expect_tensor(train, call="gaussian_expected_log_prob(mu, cov, mu, cov)", shape=(), dtype=F64)
    expect_tensor(shrunk, call="gaussian_expected_log_prob(mu, cov, mu, c·cov)", shape=(), dtype=F64)
    expect_close(shrunk - train, torch.tensor(0.5 * d * (1 - c), dtype=F64),
                 call=f"gaussian_expected_log_prob(mu, cov, mu, {c:.3g}·cov) − gaussian_expected_log_prob(mu, "
                 "cov, mu, cov)", inputs={"cov": cov}, rtol=1e-7, atol=1e-9,
                 mistakes={"the difference should be ½ tr(I − Σ⁻¹S) = ½·D·(1 − c): yours does not depend on "
                           "S; the expectation over x ~ N(m, S) adds tr(Σ⁻¹S)": 0.0})


@points(1)
def test_gaussian_expected_log_prob_float32(student, rng):
    """gaussian_expected_log_prob: float32 in, float32 out, accurate for condition number 1e2"""
    _, _, cov = _spd(8, 1e2, rng)
    _, _, S = _spd(8, 1e2, rng)
    mu, m = torch.randn(2, 8, generator=rng, dtype=F64)
    args = [t.to(F32) for t in (mu, cov, m, S)]
    want = _closed_form(*args)  # of the float32 numbers, in float64
    expect_close(student.gaussian_expected_log_prob(*args), want.to(F32),
                 call="gaussian_expected_log_prob(mu, cov, m, S) in float32", inputs=dict(zip("mu cov m S".split(), args)),
                 rtol=1e-4)


@points(2)
def test_gaussian_expected_log_prob_gradients(student, rng):
    """gaussian_expected_log_prob: gradients with respect to mu, cov, m and S (symmetric parts)"""
    d = 4
    _, _, cov = _spd(d, 10.0, rng)
    _, _, S = _spd(d, 3.0, rng)
    mu, m = torch.randn(2, d, generator=rng, dtype=F64)
    inv = torch.linalg.inv(cov)  # small and well conditioned: fine for the oracle
    diff = m - mu
    want = {"mu": inv @ diff, "m": -(inv @ diff),
            "cov": 0.5 * (-inv + inv @ S @ inv + inv @ torch.outer(diff, diff) @ inv), "S": -0.5 * inv}
    _, grads = student.grad("gaussian_expected_log_prob", mu, cov, m, S, wrt=(0, 1, 2, 3))
    for name, g in zip(("mu", "cov", "m", "S"), grads):
        if g is None:
            fail(f"gaussian_expected_log_prob(mu, cov, m, S): no gradient reaches {name}; keep every step "
                 "in torch (no .item(), .detach(), NumPy or torch.no_grad()).")
        if name in ("cov", "S"):
            g = (g + g.T) / 2  # only symmetric perturbations of a covariance are meaningful
        expect_close(g, want[name], call=f"∂/∂{name} gaussian_expected_log_prob(mu, cov, m, S)"
                     + (" (symmetric part)" if name in ("cov", "S") else ""),
                     inputs={"mu": mu, "cov": cov, "m": m, "S": S}, rtol=1e-6, atol=1e-9,
                     mistakes={"the ln|Σ| term passes no gradient to cov: keep it a tensor (no .item() or "
                               "float()), e.g. 2·log(diag(L)).sum() or torch.linalg.slogdet(cov)[1]":
                               want[name] + 0.5 * inv} if name == "cov" else None)


# --------------------------------------------------------------------------- auroc

AUROC_MISTAKES = {
    "ties must count ½: yours counts a tie as a loss":
        lambda s_in, s_out: (s_out[:, None] > s_in[None, :]).double().mean(),
    "ties must count ½: yours counts a tie as a win":
        lambda s_in, s_out: (s_out[:, None] >= s_in[None, :]).double().mean(),
    "that is 1 − AUROC: the out-of-distribution scores are the positives (a larger score means more "
    "out-of-distribution)": lambda s_in, s_out: 1 - roc_auc_score(_labels(s_in, s_out), _pooled(s_in, s_out)),
}


def _labels(s_in, s_out):
    return [0] * len(s_in) + [1] * len(s_out)


def _pooled(s_in, s_out):
    return torch.cat([s_in, s_out]).double().numpy()


@points(3)
@given(n_in=st.integers(1, 30), n_out=st.integers(1, 30), dtype=DTYPES)
def test_auroc_against_sklearn(student, rng, n_in, n_out, dtype):
    """auroc: equals sklearn.metrics.roc_auc_score (out = positive), with many ties"""
    s_in = torch.randint(0, 6, (n_in,), generator=rng).to(dtype) / 2  # few distinct values: ties
    s_out = (torch.randint(0, 6, (n_out,), generator=rng) + 1).to(dtype) / 2
    want = torch.tensor(roc_auc_score(_labels(s_in, s_out), _pooled(s_in, s_out)), dtype=F64)
    expect_close(student.auroc(s_in, s_out), want, call="auroc(scores_in, scores_out)",
                 inputs={"scores_in": s_in, "scores_out": s_out}, rtol=1e-12, atol=1e-12,
                 mistakes={k: (lambda f=f: f(s_in, s_out)) for k, f in AUROC_MISTAKES.items()})


TOO_BIG = ("\n  With 10⁵ scores per side there are 10¹⁰ pairs: an (N_out, N_in) comparison matrix needs "
           "10 GB even as booleans (over the memory cap), and a loop over pairs takes hours. Sort the "
           "in-distribution scores once and, for every out-of-distribution score, count the in-scores "
           "below it and equal to it with two binary searches (torch.searchsorted with right=False and "
           "right=True), or use the average ranks of the pooled scores: O((N_in + N_out) log N).")


@points(3)
@timeout(5)
def test_auroc_1e5_scores(student, rng):
    """auroc: 10⁵ + 10⁵ scores with ties, within a few seconds and the memory cap"""
    n = 100_000
    s_in = torch.round(torch.randn(n, generator=rng, dtype=F64) * 100) / 100
    s_out = torch.round((torch.randn(n, generator=rng, dtype=F64) + 0.3) * 100) / 100
    want = torch.tensor(roc_auc_score(_labels(s_in, s_out), _pooled(s_in, s_out)), dtype=F64)
    try:
        got = student.auroc(s_in, s_out)
    except StudentTimeout as e:
        raise StudentTimeout(e.feedback + TOO_BIG) from None
    except StudentError as e:
        if "memory" not in e.feedback.lower():
            raise
        fail(e.feedback + TOO_BIG)
    expect_close(got, want, call="auroc(scores_in, scores_out) with 10⁵ scores per side",
                 inputs={"scores_in": s_in, "scores_out": s_out}, rtol=1e-12, atol=1e-12,
                 mistakes={"that is 1 − AUROC: the out-of-distribution scores are the positives (a larger "
                           "score means more out-of-distribution)": 1 - want})


# --------------------------------------------------------------------------- typicality


def _entropy(kind: str, value: float, dtype: torch.dtype):
    """The entropy as a Python float, a float64 0-dim tensor or one of the data's dtype."""
    return {"float": value, "tensor64": torch.tensor(value, dtype=F64),
            "tensor": torch.tensor(value, dtype=dtype)}[kind]


def _score_mistakes(lp: torch.Tensor, h: float) -> dict:
    """The hint table of typicality_score for log-likelihoods ``lp`` (float64) and entropy ``h``."""
    return {"take the absolute value: a batch with a too HIGH likelihood (−mean log p below H) is atypical too":
            -lp.mean(-1) - h,
            "the entropy is H = −E[log p]: compare H with −mean log p, not with mean log p": (lp.mean(-1) - h).abs(),
            "average over the M inputs of a batch (mean, not sum)": (-lp.sum(-1) - h).abs()}


@points(2)
@given(b=st.integers(1, 6), m=st.integers(1, 7), kind=st.sampled_from(["float", "tensor64", "tensor"]),
       dtype=DTYPES)
def test_typicality_score_values(student, rng, b, m, kind, dtype):
    """typicality_score: values for (B, M) batches, entropy as a float or a 0-dim tensor, float32 and float64"""
    log_px = (torch.randn(b, m, generator=rng, dtype=F64) * 3 - 20).to(dtype)
    h = 20.0 + float(torch.randn((), generator=rng, dtype=F64))
    entropy = _entropy(kind, h, dtype)
    lp = log_px.double()
    want = (-lp.mean(-1) - h).abs()
    expect_close(student.typicality_score(log_px, entropy), want.to(dtype),
                 call=f"typicality_score(log_px, entropy={entropy!r})", inputs={"log_px": log_px},
                 rtol=1e-5 if dtype == F32 else 1e-10, atol=1e-5 if dtype == F32 else 1e-10,
                 mistakes=_score_mistakes(lp, h))


@points(3)
@given(alpha=st.sampled_from([0.01, 0.05, 0.1, 0.3]), kind=st.sampled_from(["float", "tensor64", "tensor"]),
       dtype=DTYPES)
def test_typicality_threshold_values(student, rng, alpha, kind, dtype):
    """typicality_threshold: the (1 − α) quantile of bootstrap batch scores, against torch.quantile"""
    n, r, m = 60, 100, 5  # (1 − α)(R − 1) is never a whole number: interpolation matters
    log_px_val = (torch.randn(n, generator=rng, dtype=F64) * 4 - 30).to(dtype)
    batch_idx = torch.randint(0, n, (r, m), generator=rng)
    h = 31.0  # the training entropy: not −mean(log_px_val), which is close to 30
    entropy = _entropy(kind, h, dtype)
    lp = log_px_val.double()
    scores = (-lp[batch_idx].mean(-1) - h).abs()
    want = torch.quantile(scores, 1 - alpha)
    per_example = (-lp - h).abs()
    expect_close(student.typicality_threshold(log_px_val, entropy, batch_idx, alpha), want.to(dtype),
                 call=f"typicality_threshold(log_px_val, entropy={entropy!r}, batch_idx, alpha={alpha})",
                 inputs={"log_px_val": log_px_val, "batch_idx": batch_idx},
                 rtol=1e-5 if dtype == F32 else 1e-10, atol=1e-6,
                 mistakes={"that is the alpha quantile; the threshold is the (1 − alpha) quantile":
                           torch.quantile(scores, alpha),
                           "use the entropy as given; yours looks re-estimated from log_px_val":
                           torch.quantile((-lp[batch_idx].mean(-1) + lp.mean()).abs(), 1 - alpha),
                           "score the bootstrap batches log_px_val[batch_idx], not single examples":
                           torch.quantile(per_example, 1 - alpha),
                           "interpolate linearly between the two neighbouring sorted scores (as "
                           "torch.quantile does), instead of picking one of them":
                           torch.sort(scores).values[min(int((1 - alpha) * r), r - 1)]})


@points(2)
@given(b=st.integers(2, 9), dtype=DTYPES, as_tensor=st.booleans())
def test_typicality_test_values(student, rng, b, dtype, as_tensor):
    """typicality_test: bool (B,) flags, threshold as a float or 0-dim tensor, both dtypes"""
    m = 4
    log_px = (torch.randn(b, m, generator=rng, dtype=F64) * 2 - 10).to(dtype)
    h = 10.0
    scores = (-log_px.double().mean(-1) - h).abs()
    # the threshold in the middle of the widest gap between two scores: rounding in float32
    # cannot move a score across it (the public test checks a score equal to the threshold)
    ordered = torch.sort(scores).values
    k = int(torch.argmax(ordered[1:] - ordered[:-1]))
    t = float(ordered[k] + ordered[k + 1]) / 2
    threshold = torch.tensor(t, dtype=dtype) if as_tensor else t
    want = scores > t
    call = f"typicality_test(log_px, entropy=10.0, threshold={threshold!r})"
    got = expect_tensor(student.typicality_test(log_px, h, threshold), call=call, inputs={"log_px": log_px},
                        shape=(b,), shape_note="(B,)")
    expect(got.dtype == torch.bool, f"{call}\n  returned dtype {_name(got.dtype)}; expected a bool tensor "
           "(True = out of distribution).")
    expect_close(got, want, call=call, inputs={"log_px": log_px},
                 mistakes={"True means out of distribution: the score is above the threshold": ~want})
