"""Hidden tests for `mle`: values against the reference, properties, stability."""

import math

import torch
from hypothesis import given
from hypothesis import strategies as st

from autograder.testing import (describe, expect, expect_close, expect_tensor, expect_tuple, fail, points,
                                timeout)

F64 = torch.float64
UNBIASED = "looks like the unbiased N−1 variance; the MLE divides by N"


def bits(min_size=1, max_size=12):
    return st.lists(st.sampled_from([0.0, 1.0]), min_size=min_size, max_size=max_size)


def reals(min_size=2, max_size=12):
    return st.lists(st.floats(-1e3, 1e3, allow_nan=False, width=64), min_size=min_size, max_size=max_size)


# --------------------------------------------------------------------------- Bernoulli


@points(2)
@given(xs=bits(), theta=st.floats(0.01, 0.99))
def test_bernoulli_log_likelihood_values(student, reference, xs, theta):
    """bernoulli_log_likelihood: values for θ in (0, 1)"""
    x = torch.tensor(xs, dtype=F64)
    th = torch.tensor(theta, dtype=F64)
    got = student.bernoulli_log_likelihood(th, x)
    want = reference.bernoulli_log_likelihood(th, x)
    n = len(xs)
    expect_close(got, want, call="bernoulli_log_likelihood(theta, x)", inputs={"theta": th, "x": x},
                 rtol=1e-7, atol=1e-10,
                 mistakes={"that is the sum over the data; the contract asks for the mean (1/N)": want * n,
                           "θ and 1 − θ are swapped: x = 1 has probability θ":
                           lambda: reference.bernoulli_log_likelihood(1 - th, x)})


@points(2)
def test_bernoulli_log_likelihood_zero_log_zero(student):
    """bernoulli_log_likelihood: 0·log 0 = 0 at θ = 0 and θ = 1"""
    cases = [(1.0, torch.ones(5, dtype=F64), 0.0), (0.0, torch.zeros(4, dtype=F64), 0.0),
             (1.0, torch.tensor([1.0, 0.0], dtype=F64), -math.inf)]
    for theta, x, want in cases:
        th = torch.tensor(theta, dtype=F64)
        got = student.bernoulli_log_likelihood(th, x)
        if want == 0.0:
            expect_close(got, torch.tensor(0.0, dtype=F64), call="bernoulli_log_likelihood(theta, x)",
                         inputs={"theta": th, "x": x},
                         mistakes={"NaN comes from 0·log 0: use torch.xlogy or torch.where so "
                                   "that 0·log 0 = 0": math.nan})
        else:
            expect_tensor(got, call="bernoulli_log_likelihood(theta, x)", inputs={"theta": th, "x": x},
                          shape=(), finite=False)
            expect(bool(got == -math.inf), f"bernoulli_log_likelihood(theta=1, x=[1, 0]) should be −inf "
                   f"(a 0 is impossible when θ = 1); got {describe(got)}")


@points(1)
def test_bernoulli_log_likelihood_gradient(student):
    """bernoulli_log_likelihood: differentiable in θ (d/dθ = mean(x/θ − (1−x)/(1−θ)))"""
    x = torch.tensor([1.0, 0, 1, 1, 0], dtype=F64)
    th = torch.tensor(0.3, dtype=F64)
    _, (g,) = student.grad("bernoulli_log_likelihood", th, x, wrt=(0,))
    if g is None:
        fail("no gradient reaches theta: keep the computation in torch (no .item(), no float())")
    want = (x / th - (1 - x) / (1 - th)).mean()
    expect_close(g, want, call="d/dθ bernoulli_log_likelihood(theta, x)", inputs={"theta": th, "x": x})


@points(2)
@given(xs=bits())
def test_bernoulli_mle_values(student, xs):
    """bernoulli_mle: the fraction of ones"""
    x = torch.tensor(xs, dtype=F64)
    got = student.bernoulli_mle(x)
    expect_close(got, x.mean(),
                 mistakes={"that is the fraction of zeros; θ is the probability of a 1": 1 - x.mean()})


@points(2)
@given(xs=bits(min_size=2), delta=st.sampled_from([-0.05, -0.01, 0.01, 0.05]))
def test_bernoulli_mle_maximises(student, xs, delta):
    """bernoulli_mle: no nearby θ has a higher log-likelihood"""
    x = torch.tensor(xs, dtype=F64)
    th = student.bernoulli_mle(x)
    expect_tensor(th, call="bernoulli_mle(x)", inputs={"x": x}, shape=(), dtype=F64)
    other = (th + delta).clamp(0, 1)
    ll = lambda t: (torch.xlogy(x, t) + torch.xlogy(1 - x, 1 - t)).mean()  # noqa: E731
    expect(ll(th) >= ll(other) - 1e-12,
           f"bernoulli_mle(x) returned θ = {th.item():.6g}, but θ = {other.item():.6g} has a higher "
           f"log-likelihood on x = {describe(x)}")


# --------------------------------------------------------------------------- Gaussian


@points(2)
@given(x=st.floats(-50, 50), mu=st.floats(-50, 50), var=st.floats(1e-3, 1e3))
def test_gaussian_log_pdf_values(student, x, mu, var):
    """gaussian_log_pdf: values"""
    args = [torch.tensor(v, dtype=F64) for v in (x, mu, var)]
    got = student.gaussian_log_pdf(*args)
    want = torch.distributions.Normal(args[1], args[2].sqrt()).log_prob(args[0])
    expect_close(got, want, call="gaussian_log_pdf(x, mu, var)", inputs=dict(zip(("x", "mu", "var"), args)),
                 rtol=1e-9, atol=1e-9,
                 mistakes={"var is the variance σ², not the standard deviation σ":
                           torch.distributions.Normal(args[1], args[2]).log_prob(args[0])})


@points(1)
def test_gaussian_log_pdf_broadcasts(student):
    """gaussian_log_pdf: broadcasts x (N, 1) against mu, var (K,)"""
    x = torch.linspace(-2, 2, 5, dtype=F64).reshape(5, 1)
    mu = torch.tensor([0.0, 1.0, -1.0], dtype=F64)
    var = torch.tensor([1.0, 0.5, 2.0], dtype=F64)
    got = student.gaussian_log_pdf(x, mu, var)
    want = torch.distributions.Normal(mu, var.sqrt()).log_prob(x)
    expect_close(got, want)


@points(2)
@given(xs=reals())
def test_gaussian_mle_values(student, reference, xs):
    """gaussian_mle: sample mean and 1/N variance"""
    x = torch.tensor(xs, dtype=F64)
    got = student.gaussian_mle(x)
    want = reference.gaussian_mle(x)
    expect_close(got, want, rtol=1e-7, atol=1e-7,
                 mistakes={UNBIASED: (x.mean(), x.var(unbiased=True)),
                           "that is the standard deviation; return the variance σ²":
                           (x.mean(), x.var(unbiased=False).sqrt())})


@points(1)
@given(xs=reals(min_size=3), a=st.floats(-5, 5).filter(lambda v: abs(v) > 0.1), b=st.floats(-10, 10))
def test_gaussian_mle_affine_equivariance(student, xs, a, b):
    """gaussian_mle: x → a·x + b maps (μ, σ²) to (a·μ + b, a²·σ²)"""
    x = torch.tensor(xs, dtype=F64)
    mu, var = expect_tuple(student.gaussian_mle(x), 2, call="gaussian_mle(x)", inputs={"x": x})
    got = student.gaussian_mle(a * x + b)
    expect_close(got, (a * mu + b, a * a * var), call="gaussian_mle(a*x + b)",
                 inputs={"x": x, "a": a, "b": b}, rtol=1e-6, atol=1e-6)


@points(1)
def test_gaussian_mle_single_and_float32(student):
    """gaussian_mle: float32 in, float32 out; a single point has variance 0"""
    x = torch.tensor([3.5], dtype=torch.float32)
    got = student.gaussian_mle(x)
    expect_close(got, (torch.tensor(3.5), torch.tensor(0.0)), call="gaussian_mle(x)", inputs={"x": x},
                 mistakes={f"{UNBIASED} (with N = 1 the N−1 formula divides by zero)":
                           (torch.tensor(3.5), torch.tensor(math.nan))})
    x = torch.randn(20, dtype=torch.float32) * 3 + 1
    expect_close(student.gaussian_mle(x), (x.mean(), x.var(unbiased=False)), call="gaussian_mle(x)",
                 inputs={"x": x}, rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- multivariate


def _random_spd(d, cond, gen, dtype=F64):
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=gen, dtype=F64))
    eig = torch.logspace(0, math.log10(cond), d, dtype=F64)
    return ((q * eig) @ q.T).to(dtype)


@points(2)
@given(n=st.integers(2, 9), d=st.integers(1, 5))
def test_mvn_mle_values(student, reference, rng, n, d):
    """mvn_mle: mean and 1/N covariance for N ≠ D"""
    x = torch.randn(n, d, generator=rng, dtype=F64) * 2 + 1
    got = student.mvn_mle(x)
    want = reference.mvn_mle(x)
    expect_close(got, want, call="mvn_mle(x)", inputs={"x": x}, rtol=1e-7, atol=1e-9,
                 mistakes={UNBIASED: (x.mean(0), torch.cov(x.T, correction=1).reshape(d, d)),
                           "the covariance is (D, D): center the data and use centered.T @ centered":
                           (x.mean(0), (x - x.mean(0)) @ (x - x.mean(0)).T / n),
                           "looks like the second moment (1/N) Σ x xᵀ: subtract the mean before the "
                           "outer product": (x.mean(0), x.T @ x / n)})


@points(1)
def test_mvn_mle_permutation_invariant(student, rng):
    """mvn_mle: reordering the data points changes nothing"""
    x = torch.randn(11, 3, generator=rng, dtype=F64)
    perm = torch.randperm(11, generator=rng)
    a = student.mvn_mle(x)
    b = student.mvn_mle(x[perm])
    expect_close(b, a, call="mvn_mle(x[perm]) vs mvn_mle(x)", inputs={"x": x, "perm": perm},
                 rtol=1e-10, atol=1e-12)


@points(2)
@given(d=st.integers(1, 6), batch=st.sampled_from([(), (4,), (2, 3)]))
def test_mvn_log_pdf_values(student, rng, d, batch):
    """mvn_log_pdf: values and batch shapes against torch.distributions"""
    cov = _random_spd(d, 10.0, rng)
    mu = torch.randn(d, generator=rng, dtype=F64)
    x = torch.randn(*batch, d, generator=rng, dtype=F64)
    got = student.mvn_log_pdf(x, mu, cov)
    want = torch.distributions.MultivariateNormal(mu, cov).log_prob(x)
    expect_close(got, want, call="mvn_log_pdf(x, mu, cov)", inputs={"x": x, "mu": mu, "cov": cov},
                 rtol=1e-8, atol=1e-8,
                 mistakes={"the log-determinant term needs the factor ½ (−½ log det Σ)":
                           want - 0.5 * torch.logdet(cov),
                           "the constant is −(D/2)·log 2π, not −½·log 2π":
                           want + (d - 1) * 0.5 * math.log(2 * math.pi)})


@points(2)
@timeout(20)
def test_mvn_log_pdf_stable_d100_cond1e8(student, rng):
    """mvn_log_pdf: accurate for D = 100 and condition number 1e8 (no explicit inverse)"""
    d = 100
    cov = _random_spd(d, 1e8, rng)
    cov = (cov + cov.T) / 2
    chol = torch.linalg.cholesky(cov)
    mu = torch.randn(d, generator=rng, dtype=F64)
    z = torch.randn(6, d, generator=rng, dtype=F64)
    x = mu + z @ chol.T  # exact Mahalanobis term: |z|²
    want = -0.5 * (d * math.log(2 * math.pi) + 2 * torch.log(torch.diagonal(chol)).sum() + (z**2).sum(-1))
    got = student.mvn_log_pdf(x, mu, cov)
    expect_close(got, want, call="mvn_log_pdf(x, mu, cov) with D = 100, cond(cov) = 1e8",
                 inputs={"x": x}, rtol=1e-6, atol=1e-6,
                 mistakes={"explicit inverses lose accuracy for ill-conditioned Σ; use "
                           "torch.linalg.cholesky and torch.linalg.solve_triangular":
                           lambda: -0.5 * (d * math.log(2 * math.pi) + torch.logdet(cov)
                                           + (((x - mu) @ torch.inverse(cov)) * (x - mu)).sum(-1))})


@points(1)
@given(n=st.integers(3, 8))
def test_mvn_mle_maximises(student, rng, n):
    """mvn_mle: perturbing the estimate never increases the log-likelihood"""
    x = torch.randn(n + 3, 2, generator=rng, dtype=F64)
    mu, cov = expect_tuple(student.mvn_mle(x), 2, call="mvn_mle(x)", inputs={"x": x})
    expect_tensor(mu, call="mvn_mle(x)[0]", inputs={"x": x}, shape=(2,), dtype=F64)
    expect_tensor(cov, call="mvn_mle(x)[1]", inputs={"x": x}, shape=(2, 2), dtype=F64)
    best = torch.distributions.MultivariateNormal(mu, cov).log_prob(x).mean() if bool(
        torch.linalg.eigvalsh(cov).min() > 0) else None
    expect(best is not None, f"mvn_mle(x) returned a covariance that is not positive definite: {describe(cov)}")
    for dm, s in [(0.05, 1.0), (0.0, 1.1), (0.0, 0.9), (-0.05, 1.0)]:
        other = torch.distributions.MultivariateNormal(mu + dm, cov * s).log_prob(x).mean()
        expect(best >= other - 1e-10, f"mvn_mle(x): (μ + {dm}, {s}·Σ) has a higher log-likelihood than "
               "your estimate, so it is not the maximum")
