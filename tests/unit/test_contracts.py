"""Contracts: a contract.toml read against its skeleton, and the tests generated from it
failing (with the student-facing message) exactly where a function breaks the contract."""

import textwrap
from types import SimpleNamespace

import pytest
import torch

from autograder import contracts, testing
from autograder.contracts import ContractError
from autograder.protocol import Helper
from autograder.testing import GradingFailure

SKELETON = textwrap.dedent('''\
    def scale(x, w, k=2):
        raise NotImplementedError


    def count(x):
        raise NotImplementedError
    ''')

CONTRACT = '''
[scale]
args = { x = "randn(4, 3)", w = "positive(3)", k = 2 }
differentiable_in = ["x", "w"]
'''


def write(tmp_path, contract=CONTRACT, skeleton=SKELETON):
    folder = tmp_path / "toy" / "tests"
    folder.mkdir(parents=True)
    (tmp_path / "toy" / "toy.py").write_text(skeleton)
    (folder / "contract.toml").write_text(contract)
    return folder / "contract.toml"


class LocalStudent:
    """The student's functions run in this process, with the worker's conventions: mutated
    positions reported, gradients ``None`` where none reaches an input."""

    def __init__(self, **functions):
        self.functions = functions

    def call(self, fn, *args):
        return self.functions[fn](*args)

    def call_checking_inputs(self, fn, *args):
        before = [a.clone() if isinstance(a, torch.Tensor) else None for a in args]
        value = self.functions[fn](*args)
        return value, [i for i, (a, b) in enumerate(zip(args, before)) if b is not None and not torch.equal(a, b)]

    def grad(self, fn, *args, wrt, select=None):
        args = list(args)
        for i in wrt:
            args[i] = args[i].detach().clone().requires_grad_(True)
        out = self.functions[fn](*args)
        out = out if select is None else out[select]
        if not out.requires_grad:
            return out, [None] * len(wrt)
        return out, list(torch.autograd.grad(out.sum(), [args[i] for i in wrt], allow_unused=True))


def generated(path):
    module = contracts.module(path)
    return {n: getattr(module, n) for n in vars(module) if n.startswith("test_")}


class NoReference:
    """The ``request`` of a `gmgrade check` run: no reference to compare the answers with."""

    def getfixturevalue(self, name):
        pytest.skip("the reference solution is not available here")


class WithReference:
    """The ``request`` of a grading run: the answers must match this reference."""

    def __init__(self, functions):
        self.functions = functions

    def getfixturevalue(self, name):
        assert name == "reference"
        return SimpleNamespace(**self.functions)


def run(test, student, request=None, **params):
    test(student, torch.Generator().manual_seed(0), request=request or NoReference(), **params)


def good_scale(x, w, k):
    return x * w * k


def test_defaults_follow_the_spec_and_the_literals_pass_through(tmp_path):
    (f,) = contracts.load(write(tmp_path))
    assert f.call == "scale(x, w, k)"
    assert f.keeps_dtype_of == ("x", "w") and f.not_modified == ("x", "w")
    inputs = f.inputs(torch.Generator().manual_seed(0), torch.float32)
    assert inputs["x"].shape == (4, 3) and inputs["x"].dtype == torch.float32
    assert bool((inputs["w"] >= 0.5).all()) and inputs["k"] == 2
    assert sorted(generated(write(tmp_path / "b"))) == [
        "test_scale_gradients", "test_scale_keeps_dtype", "test_scale_not_modified"]


@pytest.mark.parametrize("contract, why", [
    ('[scale]\nargs = { w = "randn(3)" }', "leading parameters in order"),
    ('[shift]\nargs = { x = "randn(3)" }', "no function shift"),
    ('[scale]\nargs = { x = "randn(3)" }\nnot_modified = ["k"]', "not built tensors"),
    ('[scale]\nargs = { x = "randn(3)" }\ndiferentiable_in = ["x"]', "unknown key"),
])
def test_a_contract_that_does_not_fit_the_skeleton_is_refused(tmp_path, contract, why):
    with pytest.raises(ContractError, match=why):
        contracts.load(write(tmp_path, contract))


def test_a_correct_function_passes_every_generated_test(tmp_path):
    student = LocalStudent(scale=good_scale)
    tests = generated(write(tmp_path))
    for dtype in (torch.float32, torch.float64):
        run(tests["test_scale_keeps_dtype"], student, dtype=dtype)
    run(tests["test_scale_not_modified"], student)
    run(tests["test_scale_gradients"], student)


def test_junk_that_leaves_its_inputs_alone_earns_nothing_when_graded(tmp_path):
    """Grading (the reference at hand): a property is credited only with a right answer."""
    student = LocalStudent(scale=lambda x, w, k: torch.zeros_like(x * w))
    tests = generated(write(tmp_path))
    graded = WithReference({"scale": good_scale})
    run(tests["test_scale_not_modified"], student)  # `gmgrade check`: the property alone
    for name, params in (("test_scale_not_modified", {}), ("test_scale_keeps_dtype", {"dtype": torch.float64}),
                         ("test_scale_gradients", {})):
        with pytest.raises(GradingFailure, match=r"scale\(x, w, k\)"):
            run(tests[name], student, graded, **params)
    for dtype in (torch.float32, torch.float64):  # a right answer passes with the reference too
        run(tests["test_scale_keeps_dtype"], LocalStudent(scale=good_scale), graded, dtype=dtype)
    run(tests["test_scale_not_modified"], LocalStudent(scale=good_scale), graded)


def test_a_hard_coded_dtype_fails_the_float32_case_only(tmp_path):
    student = LocalStudent(scale=lambda x, w, k: good_scale(x, w, k).double())
    test = generated(write(tmp_path))["test_scale_keeps_dtype"]
    run(test, student, dtype=torch.float64)
    with pytest.raises(GradingFailure, match=r"(?s)scale\(x, w, k\) with x, w in float32\n  on input:\n"
                       r"    x = tensor\(float32.*returned dtype float64, expected float32"):
        run(test, student, dtype=torch.float32)


def test_an_in_place_update_is_named_by_its_argument(tmp_path):
    student = LocalStudent(scale=lambda x, w, k: x.mul_(w) * k)
    with pytest.raises(GradingFailure, match=r"scale\(x, w, k\) modified its input x in place"):
        run(generated(write(tmp_path))["test_scale_not_modified"], student)


def test_a_detached_argument_is_named_as_the_one_no_gradient_reaches(tmp_path):
    student = LocalStudent(scale=lambda x, w, k: x * w.detach() * k)
    with pytest.raises(GradingFailure, match=r"no gradient of scale\(x, w, k\) reaches w\n"):
        run(generated(write(tmp_path))["test_scale_gradients"], student)


def test_a_function_returning_no_float_fails_the_dtype_test_with_what_came_back(tmp_path):
    student = LocalStudent(count=lambda x: int(x.numel()))
    path = write(tmp_path, '[count]\nargs = { x = "bits(5)" }')
    with pytest.raises(GradingFailure, match="returned 5, with no floating-point tensor"):
        run(generated(path)["test_count_keeps_dtype"], student, dtype=torch.float32)


def test_a_call_is_described_with_the_skeletons_parameter_names(tmp_path, monkeypatch):
    write(tmp_path)
    params = contracts.signatures(tmp_path / "toy" / "toy.py")
    x, w = torch.zeros(2), torch.ones(2)
    assert contracts.describe_call("scale", (x, w), {"k": 3}, params) == ("scale(x, w, k)", {"x": x, "w": w, "k": 3})
    assert contracts.describe_call("other", (x,), {}, params) == ("other(argument 1)", {"argument 1": x})
    # a check given no call= names the test's last call, and its arguments as the input
    monkeypatch.setattr(testing, "last_call", lambda: contracts.describe_call("scale", (x, w), {}, params))
    with pytest.raises(GradingFailure, match=r"(?s)^scale\(x, w\)\n  on input:\n    x = tensor.*    w = "
                       r".*returned shape \(2,\), expected \(3,\)"):
        testing.expect_close(x, torch.zeros(3))


def test_tuples_helpers_and_fixed_dtype_builders(tmp_path):
    skeleton = "def fit(x, prior, net, t, mask):\n    raise NotImplementedError\n"
    contract = ('[fit.args]\nx = "randn(4, 2)"\nprior = ["positive()", "spd(2, 2)"]\n'
                'net = { helper = "mlp", sizes = [2, 3], dtype = "input" }\n'
                't = "randint(10, 4)"\nmask = "mask(4, 4)"\n')
    (f,) = contracts.load(write(tmp_path, contract, skeleton))
    # only tensors passed as arguments are watched; only floating-point ones follow the dtype
    assert f.not_modified == ("x", "t", "mask") and f.keeps_dtype_of == ("x", "prior", "net")
    inputs = f.inputs(torch.Generator().manual_seed(0), torch.float32)
    assert [p.dtype for p in inputs["prior"]] == [torch.float32, torch.float32]
    assert inputs["net"] == Helper("mlp", sizes=[2, 3], dtype="float32")
    assert inputs["t"].dtype == torch.int64 and inputs["mask"].dtype == torch.bool
    assert bool(inputs["mask"][:, 0].all())
    with pytest.raises(ContractError, match="not built tensors"):
        contracts.load(write(tmp_path / "b", '[fit]\ndifferentiable_in = ["t"]\n' + contract, skeleton))
