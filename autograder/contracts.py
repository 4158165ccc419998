"""Per-assignment contracts: what the spec says of every function, declared once and checked
by tests the engine generates.

``assignments/NAME/tests/contract.toml`` is public (it only restates the spec's conventions) and
has one table per function, its arguments in the skeleton's order::

    [mvn_log_pdf]
    args = { x = "randn(6, 3)", mu = "randn(3)", cov = "spd(3, 3)" }
    # differentiable_in = ["x"]         # default: none
    # keeps_dtype_of = ["x"]            # default: every floating-point argument
    # not_modified = ["x"]              # default: every tensor argument

An argument is a builder call (see :data:`BUILDERS` and :data:`FIXED_BUILDERS`), a list of
them (passed as a tuple, e.g. a prior's parameters), a table ``{ helper = "mlp", ... }`` for
a grader-provided object (:class:`Helper`; ``dtype = "input"`` builds it in the dtype of the
inputs) or a literal passed as it is. From each table the grading session collects
(:class:`ContractFile`) up to three tests, each worth one point and named after the
function, so ``check("NAME", "fn")`` selects them:

- ``test_FN_keeps_dtype[float32|float64]``: the arguments of ``keeps_dtype_of`` are built in
  that dtype (the others in float64) and every floating-point tensor returned must have it;
- ``test_FN_not_modified``: no argument of ``not_modified`` is changed in place;
- ``test_FN_gradients``: a gradient reaches every argument of ``differentiable_in`` (through
  ``output[select]`` when the function returns a tuple) and is finite.

Device needs no test of its own: the worker already fails every call whose result lies on
another device than its inputs.
"""

from __future__ import annotations

import ast
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
import torch

from autograder.i18n import N_
from autograder.protocol import Helper
from autograder.testing import describe, expect, expect_right_answer, expect_tensor, fail, points

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

FILENAME = "contract.toml"
F64 = torch.float64


def _spd(rng: torch.Generator, dtype: torch.dtype, *s: int) -> torch.Tensor:
    a = torch.randn(s, generator=rng, dtype=F64)
    return (a @ a.mT / s[-1] + torch.eye(s[-1], dtype=F64)).to(dtype)


def _with_zero(p: torch.Tensor) -> torch.Tensor:
    p = p.clone()
    p.reshape(-1, p.shape[-1])[0, -1] = 0
    return p / p.sum(-1, keepdim=True)


# Floating-point builders take (generator, dtype, *shape) and return a tensor of that dtype.
BUILDERS: dict[str, Callable[..., torch.Tensor]] = {
    "randn": lambda rng, dtype, *s: torch.randn(s, generator=rng, dtype=F64).to(dtype),
    # uniform in (0.05, 0.95): probabilities away from 0 and 1
    "rand": lambda rng, dtype, *s: (0.05 + 0.9 * torch.rand(s, generator=rng, dtype=F64)).to(dtype),
    # uniform in (0.5, 2): variances and scales
    "positive": lambda rng, dtype, *s: (0.5 + 1.5 * torch.rand(s, generator=rng, dtype=F64)).to(dtype),
    "bits": lambda rng, dtype, *s: torch.randint(0, 2, s, generator=rng).to(dtype),
    # rows on the probability simplex (the last dimension sums to 1)
    "simplex": lambda rng, dtype, *s: torch.randn(s, generator=rng, dtype=F64).softmax(-1).to(dtype),
    # the same with the first row's last entry exactly 0 (as responsibilities often are): 0·log 0
    "simplex_with_zero": lambda rng, dtype, *s: _with_zero(BUILDERS["simplex"](rng, dtype, *s)),
    "spd": _spd,  # spd(..., D, D): symmetric positive definite matrices
}
# Builders of tensors whose dtype is their own (never the dtype under test): (generator, *args).
FIXED_BUILDERS: dict[str, Callable[..., torch.Tensor]] = {
    # randint(HIGH, *shape): int64 in [0, HIGH), e.g. time steps or token ids
    "randint": lambda rng, high, *s: torch.randint(0, high, s, generator=rng),
    # mask(*shape): bool, random, with the first entry of the last dimension True (a row of an
    # attention mask with at least one key allowed)
    "mask": lambda rng, *s: (torch.rand(s, generator=rng) < 0.5).index_fill(-1, torch.tensor([0]), True),
}
_BUILDER = re.compile(r"^(\w+)\(([\d,\s]*)\)$")


class ContractError(ValueError):
    """A contract that does not fit its skeleton; the message names the file and the function."""


@dataclass(frozen=True)
class Function:
    name: str
    args: dict[str, Any]  # argument name -> builder call, list of them or literal, in the skeleton's order
    keeps_dtype_of: tuple[str, ...]
    not_modified: tuple[str, ...]
    differentiable_in: tuple[str, ...]
    select: int | None

    @property
    def call(self) -> str:
        return f"{self.name}({', '.join(self.args)})"

    def inputs(self, rng: torch.Generator, dtype: torch.dtype = F64) -> dict[str, Any]:
        """The example arguments, those of ``keeps_dtype_of`` in ``dtype``, other floats in float64."""
        return {arg: _build(spec, rng, dtype if arg in self.keeps_dtype_of else F64)
                for arg, spec in self.args.items()}


def _builder(spec: Any) -> tuple[str, tuple[int, ...]] | None:
    """``("randn", (6, 3))`` for ``"randn(6, 3)"``; None for anything else."""
    m = _BUILDER.match(spec) if isinstance(spec, str) else None
    if m is None or (m.group(1) not in BUILDERS and m.group(1) not in FIXED_BUILDERS):
        return None
    return m.group(1), tuple(int(n) for n in m.group(2).replace(",", " ").split())


def _build(spec: Any, rng: torch.Generator, dtype: torch.dtype) -> Any:
    """A builder call's tensor, a list's tuple of what its items build, a helper table's
    :class:`Helper` (``dtype = "input"`` becoming ``dtype``), or the literal itself."""
    if isinstance(spec, list):
        return tuple(_build(s, rng, dtype) for s in spec)
    if isinstance(spec, dict):
        params = {k: v for k, v in spec.items() if k != "helper"}
        if _floating(spec):
            params["dtype"] = str(dtype).replace("torch.", "")
        return Helper(spec["helper"], **params)
    built = _builder(spec)
    if built is None:
        return spec
    kind, shape = built
    if kind in FIXED_BUILDERS:
        return FIXED_BUILDERS[kind](rng, *shape)
    return BUILDERS[kind](rng, dtype, *shape)


def _floating(spec: Any) -> bool:
    """True when ``spec`` builds floating-point tensors (one, or a tuple of them)."""
    if isinstance(spec, list):
        return bool(spec) and all(_floating(s) for s in spec)
    if isinstance(spec, dict):
        return spec.get("dtype") == "input"  # a grader-provided network in the inputs' dtype
    built = _builder(spec)
    return built is not None and built[0] in BUILDERS


def signatures(skeleton: Path) -> dict[str, list[str]]:
    """Each top-level function of ``skeleton`` with its parameter names, in order."""
    tree = ast.parse(skeleton.read_text(encoding="utf-8"))
    return {node.name: [a.arg for a in node.args.posonlyargs + node.args.args]
            for node in tree.body if isinstance(node, ast.FunctionDef)}


def describe_call(fn: str, args: tuple, kwargs: dict, params: dict[str, list[str]]) -> tuple[str, dict[str, Any]]:
    """``("mvn_log_pdf(x, mu, cov)", {"x": …, …})`` for a call of ``fn``, its positional
    arguments named as in ``params`` (the skeleton's :func:`signatures`)."""
    names = params.get(fn, [])
    named = {(names[i] if i < len(names) else N_(f"argument {i + 1}")): a for i, a in enumerate(args)}
    named.update(kwargs)
    return f"{fn}({', '.join(named)})", named


def load(path: Path) -> list[Function]:
    """The functions declared in the contract ``path``, checked against the assignment's skeleton."""
    folder = path.parent.parent  # assignments/NAME
    name = folder.name
    params = signatures(folder / f"{name}.py")
    functions = []
    for fn, table in tomllib.loads(path.read_text(encoding="utf-8")).items():
        def bad(why: str) -> ContractError:
            return ContractError(f"{path}: [{fn}] {why}")

        for arg, spec in table.get("args", {}).items():
            if isinstance(spec, dict) and "helper" not in spec:
                raise bad(f"argument {arg}: a table must name its helper (helper = \"mlp\", ...)")
        if fn not in params:
            raise bad(f"the skeleton {name}.py has no function {fn}")
        unknown = set(table) - {"args", "keeps_dtype_of", "not_modified", "differentiable_in", "select"}
        if unknown:
            raise bad(f"unknown key(s) {', '.join(sorted(unknown))}")
        args = dict(table.get("args", {}))
        if list(args) != params[fn][:len(args)] or len(args) == 0:
            raise bad(f"args must name the skeleton's leading parameters in order {params[fn]}; "
                      f"got {list(args)}")
        floats = [a for a, s in args.items() if _floating(s)]
        # the worker watches the tensors passed as arguments, not those inside a tuple
        tensors = [a for a, s in args.items() if _builder(s) is not None]

        def names(key: str, default: list[str], allowed: list[str]) -> tuple[str, ...]:
            chosen = table.get(key, default)
            if not set(chosen) <= set(allowed):
                raise bad(f"{key} names {sorted(set(chosen) - set(allowed))}, which are not built tensors")
            return tuple(chosen)

        float_tensors = [a for a in tensors if a in floats]
        functions.append(Function(fn, args, names("keeps_dtype_of", floats, floats),
                                  names("not_modified", tensors, tensors),
                                  names("differentiable_in", [], float_tensors), table.get("select")))
    return functions


# --------------------------------------------------------------------------- the generated tests


def _floats(value: Any, part: str = "") -> list[tuple[str, torch.Tensor]]:
    """Every floating-point tensor in ``value`` (tuples, lists, dicts), with where it lies."""
    if isinstance(value, torch.Tensor):
        return [(part, value)] if value.is_floating_point() else []
    if isinstance(value, (tuple, list)):
        return [t for i, v in enumerate(value) for t in _floats(v, f"{part}[{i}]")]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in _floats(v, f"{part}[{k!r}]")]
    return []


def _on_input(inputs: dict[str, Any]) -> str:
    return "\n  on input:\n" + "\n".join(f"    {k} = {describe(v)}" for k, v in inputs.items())


def _answer_is_right(request: pytest.FixtureRequest, f: Function, inputs: dict[str, Any], got: Any,
                     dtype: torch.dtype = F64) -> None:
    """A property earns its points only with a right answer. Where the reference is at hand
    (grading), the value must match it, loosely (float32 internals and broadcastable shapes
    pass), so that code returning junk without modifying its inputs, or in the right dtype,
    gains nothing. Under ``gmgrade check`` (no reference) the public value tests judge the
    values, as they do for a function that draws random numbers (any order of drawing is right)."""
    if "generator" in inputs:
        return
    try:
        reference = request.getfixturevalue("reference")
    except pytest.skip.Exception:
        return
    want = getattr(reference, f.name)(*inputs.values())
    expect_right_answer(got, want, call=f.call, inputs=inputs, tol=1e-3 if dtype == torch.float32 else 1e-4)


def _keeps_dtype(f: Function) -> Callable[..., None]:
    def test(student: Any, rng: torch.Generator, dtype: torch.dtype, request: pytest.FixtureRequest) -> None:
        inputs = f.inputs(rng, dtype)
        got = student.call(f.name, *inputs.values())
        call = f"{f.call} with {', '.join(f.keeps_dtype_of)} in {str(dtype).replace('torch.', '')}"
        found = _floats(got)
        if not found:
            fail(f"{call}{_on_input(inputs)}\n  returned {describe(got)}, with no floating-point tensor; "
                 "the docstring says what it returns")
        for part, t in found:
            expect_tensor(t, call=call + (N_(f", output {part}") if part else ""), inputs=inputs, dtype=dtype,
                          finite=False)
        _answer_is_right(request, f, inputs, got, dtype)

    test.__doc__ = f"{f.name}: returns the dtype of {', '.join(f.keeps_dtype_of)}"
    return pytest.mark.parametrize("dtype", [torch.float32, F64], ids=["float32", "float64"])(
        points(0.5)(test))


def _not_modified(f: Function) -> Callable[..., None]:
    def test(student: Any, rng: torch.Generator, request: pytest.FixtureRequest) -> None:
        inputs = f.inputs(rng)
        got, mutated = student.call_checking_inputs(f.name, *inputs.values())
        names = list(inputs)
        changed = [names[i] for i in mutated if i < len(names) and names[i] in f.not_modified]
        expect(not changed,
               f"{f.call} modified its input {' and '.join(changed)} in place{_on_input(inputs)}\n  "
               "The caller's tensors must stay as they were: write `x = x - mu` rather than "
               "`x -= mu`, and call .clone() before an in-place operation (add_, [...] =, clamp_).")
        _answer_is_right(request, f, inputs, got)

    test.__doc__ = f"{f.name}: does not modify its inputs ({', '.join(f.not_modified)})"
    return points(1)(test)


def _gradients(f: Function) -> Callable[..., None]:
    def test(student: Any, rng: torch.Generator, request: pytest.FixtureRequest) -> None:
        inputs = f.inputs(rng)
        names = list(inputs)
        got, grads = student.grad(f.name, *inputs.values(),
                                wrt=tuple(names.index(a) for a in f.differentiable_in), select=f.select)
        out = f"{f.call}" + (f"[{f.select}]" if f.select is not None else "")
        missing = [a for a, g in zip(f.differentiable_in, grads) if g is None]
        expect(not missing,
               f"no gradient of {out} reaches {' or '.join(missing)}{_on_input(inputs)}\n  Keep the "
               "whole computation in torch: no .item(), float(), .numpy(), .detach() or "
               "torch.no_grad() between these inputs and the result.")
        for a, g in zip(f.differentiable_in, grads):
            expect_tensor(g, call=N_(f"the gradient of {out} with respect to {a}"), inputs=inputs)
        _answer_is_right(request, f, inputs, got)

    test.__doc__ = f"{f.name}: gradients reach {', '.join(f.differentiable_in)}"
    return points(1)(test)


def module(path: Path) -> types.ModuleType:
    """A test module holding the tests generated from the contract ``path``."""
    mod = types.ModuleType(f"gmgrade_contract_{path.parent.parent.name}")
    mod.__file__ = str(path)
    for f in load(path):
        tests = {"keeps_dtype": _keeps_dtype(f) if f.keeps_dtype_of else None,
                 "not_modified": _not_modified(f) if f.not_modified else None,
                 "gradients": _gradients(f) if f.differentiable_in else None}
        for kind, test in tests.items():
            if test is not None:
                test.__name__ = f"test_{f.name}_{kind}"
                setattr(mod, test.__name__, test)
    return mod


class ContractFile(pytest.Module):
    """pytest's collector for a ``contract.toml``: the tests :func:`module` generates from it."""

    def _getobj(self) -> types.ModuleType:
        return module(self.path)
