"""What grading tests import: metadata decorators and layered checks with student-facing messages.

A test looks like::

    from autograder.testing import points, expect_close

    @points(2)
    def test_gaussian_mle_values(student, reference):
        \"\"\"gaussian_mle: values on random data\"\"\"
        x = torch.randn(7, dtype=torch.float64)
        got = student.gaussian_mle(x)
        expect_close(got, reference.gaussian_mle(x), call="gaussian_mle(x)", inputs={"x": x},
                     mistakes={"looks like the unbiased N−1 variance; the MLE divides by N":
                               (x.mean(), x.var(unbiased=True))})

Checks go in layers and stop at the first failure: a tensor came back → shape → dtype →
device → finite → values. Every failure raises :class:`GradingFailure` whose text says
what was called, on which input, what came back, what was expected and, where a known
mistake matches, a hint naming it.
"""

from __future__ import annotations

import cmath
import math
from typing import Any, Callable, Mapping

import pytest
import torch

from autograder.errors import StudentFacing
from autograder.i18n import N_
from autograder.protocol import Helper, Unsupported

__all__ = [
    "Helper", "GradingFailure", "points", "timeout", "expect", "fail", "expect_tensor",
    "expect_close", "expect_scalar_close", "expect_tuple", "expect_right_answer", "close_enough",
    "describe", "hint_for", "upstream_mistakes",
]


def points(n: float) -> Any:
    """How many points a test is worth (default 1)."""
    return pytest.mark.gm_points(float(n))


def timeout(seconds: float) -> Any:
    """This test's own time limit in seconds (default: the grader's ``--timeout``)."""
    return pytest.mark.gm_timeout(float(seconds))


class GradingFailure(StudentFacing, AssertionError):
    """A check failed; the message is written for the student."""


def fail(message: str) -> None:
    raise GradingFailure(message)


def expect(condition: Any, message: str) -> None:
    if not bool(condition):
        raise GradingFailure(message)


# --------------------------------------------------------------------------- formatting


def describe(value: Any, limit: int = 12) -> str:
    """A short, readable rendering of an input or output for feedback."""
    if isinstance(value, torch.Tensor):
        t = value.detach().to("cpu")
        meta = f"{str(t.dtype).replace('torch.', '')}, shape {tuple(t.shape)}"
        if t.numel() == 0:
            return f"tensor([], {meta})"
        if t.dim() == 0:
            return f"tensor({_num(t.item())}, {meta})"
        flat = t.reshape(-1)
        items = ", ".join(_num(v) for v in flat[:limit].tolist())
        more = ", …" if flat.numel() > limit else ""
        if t.dim() == 1:
            return f"tensor([{items}{more}], {meta})"
        return f"tensor({meta}; first values [{items}{more}])"
    if isinstance(value, Helper):
        return N_(f"a grader-provided {value.name}")
    if isinstance(value, Unsupported):
        return f"a {value.type_name} ({value.summary})"
    if isinstance(value, tuple):
        return "(" + ", ".join(describe(v, limit) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, list):
        return "[" + ", ".join(describe(v, limit) for v in value[:limit]) + (", …" if len(value) > limit else "") + "]"
    if isinstance(value, float):
        return _num(value)
    text = repr(value)
    return text if len(text) < 200 else text[:200] + "…"


def _num(v: Any) -> str:
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return str(v)
        return f"{v:.6g}"
    if isinstance(v, complex):
        return f"{v:.4g}"
    return str(v)


# How the test's last call of a student function reads, ``("f(x, mu)", {"x": …, "mu": …})``
# with the skeleton's parameter names: the grading plugin sets it for each test, so a check
# given no ``call=`` describes that call (and its inputs, unless ``inputs=`` says otherwise).
def _no_call_yet() -> tuple[str, dict[str, Any]]:
    return "your function", {}


last_call: Callable[[], tuple[str, dict[str, Any]]] = _no_call_yet


def _where(call: str | None, inputs: Mapping[str, Any] | None) -> str:
    if call is None:
        call, described = last_call()
        inputs = described if inputs is None else inputs
    text = f"{call}"
    if inputs:
        text += "\n  on input:\n" + "\n".join(f"    {k} = {describe(v)}" for k, v in inputs.items())
    return text


def _type_name(value: Any) -> str:
    if isinstance(value, Unsupported):
        return value.type_name
    return type(value).__name__


# --------------------------------------------------------------------------- checks


def expect_tensor(got: Any, *, call: str | None = None, inputs: Mapping[str, Any] | None = None,
                  shape: tuple | None = None, dtype: torch.dtype | None = None,
                  device: torch.device | str | None = None, finite: bool = True,
                  shape_note: str = "") -> torch.Tensor:
    """Check that ``got`` is a tensor of the given shape/dtype/device with finite values.

    Without ``call`` the feedback names the test's last call of a student function, with the
    skeleton's parameter names (``gaussian_mle(x)``) and its arguments as the input."""
    def where() -> str:  # described only on failure: describing every input costs more than the check
        return _where(call, inputs)

    if not isinstance(got, torch.Tensor):
        extra = ""
        if isinstance(got, float) or isinstance(got, int):
            extra = (" Return a tensor (a 0-dim tensor for a scalar), e.g. `x.mean()` rather "
                     "than `x.mean().item()` or a Python number.")
        elif isinstance(got, Unsupported) and "numpy" in got.type_name:
            extra = " Return a torch.Tensor, not a NumPy array (use torch operations throughout)."
        fail(f"{where()}\n  returned {describe(got)} of type {_type_name(got)}; expected a "
             f"torch.Tensor.{extra}")
    if shape is not None and tuple(got.shape) != tuple(shape):
        note = f" = {shape_note}" if shape_note else ""
        hint = ""
        if got.dim() == len(shape) and sorted(got.shape) == sorted(shape):
            hint = " Did you transpose or permute dimensions?"
        elif got.numel() == math.prod(shape):
            hint = " The number of elements is right: check the reshape or a missing/extra dimension."
        elif got.dim() == 0 and len(shape) > 0:
            hint = " You reduced to a scalar: the result should keep one value per element/row."
        elif len(shape) == 0:
            hint = " The result should be a scalar: reduce with .mean() or .sum() as the docstring says."
        fail(f"{where()}\n  returned shape {tuple(got.shape)}, expected {tuple(shape)}{note}.{hint}")
    if dtype is not None and got.dtype != dtype:
        fail(f"{where()}\n  returned dtype {str(got.dtype).replace('torch.', '')}, expected "
             f"{str(dtype).replace('torch.', '')} (the dtype of the input). Don't hard-code a "
             "dtype: create new tensors with dtype=x.dtype, or use torch.*_like functions.")
    if device is not None and got.device.type != torch.device(device).type:
        fail(f"{where()}\n  returned a tensor on {got.device.type}, expected {torch.device(device).type} "
             "(the device of the input). Create new tensors with device=x.device.")
    if finite and got.is_floating_point() and not torch.isfinite(got).all():
        if got.dim() == 0:
            what = f"returned {_num(got.item())}, a non-finite value"
        else:
            idx = tuple((~torch.isfinite(got)).nonzero()[0].tolist())
            what = (f"returned non-finite values ({int((~torch.isfinite(got)).sum())} of "
                    f"{got.numel()}; the first is {_num(got[idx].item())} at index {idx})")
        fail(f"{where()}\n  {what}. Look for log(0), division by zero or exp() of a large "
             "number; the docstring says which stable form to use.")
    return got


def _close_mask(got: torch.Tensor, expected: torch.Tensor, rtol: float, atol: float) -> torch.Tensor:
    g = got.detach().to("cpu", torch.float64) if not got.is_complex() else got.detach().cpu()
    e = expected.detach().to("cpu", torch.float64) if not expected.is_complex() else expected.detach().cpu()
    return torch.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)


def _matches(got: Any, candidate: Any, rtol: float, atol: float) -> bool:
    if isinstance(candidate, (tuple, list)):
        return (isinstance(got, (tuple, list)) and len(got) == len(candidate)
                and all(_matches(g, c, rtol, atol) for g, c in zip(got, candidate)))
    if isinstance(candidate, (int, float)):
        candidate = torch.tensor(float(candidate), dtype=torch.float64)
    if not isinstance(got, torch.Tensor) or not isinstance(candidate, torch.Tensor):
        return False
    if got.shape != candidate.shape:
        try:
            torch.broadcast_shapes(got.shape, candidate.shape)
        except RuntimeError:
            return False
        if got.numel() != candidate.numel():
            return False
        candidate = candidate.reshape(got.shape)
    return bool(_close_mask(got, candidate, rtol, atol).all())


def hint_for(got: Any, mistakes: Mapping[str, Any] | None, rtol: float, atol: float) -> str:
    """Hint lines for the known mistakes whose value ``got`` matches (or "").

    On a small input two mistakes can give the same value; then every matching one is
    named, so the hint never points the student at the wrong mistake.
    """
    matched = []
    for text, candidate in (mistakes or {}).items():
        try:
            value = candidate() if callable(candidate) and not isinstance(candidate, torch.Tensor) else candidate
            if _matches(got, value, rtol, atol):
                matched.append(text)
        except Exception:  # noqa: BLE001 - a mistake that cannot be computed here never matches
            continue
    if not matched:
        return ""
    if len(matched) == 1:
        return N_(f"\n  Hint: {matched[0]}")
    return "\n  Hint — on this input your value matches more than one known mistake:" + "".join(
        f"\n    - {m}" for m in matched)


def _off_by(got: complex, expected: complex, rtol: float, atol: float) -> str:
    """How far one value is from the expected one, in numbers a student can act on: the
    difference and what the tolerance allows there. A relative error is named only where
    the relative tolerance sets the limit; next to an expected 0 it is a meaningless huge
    number, so there the absolute difference and the absolute tolerance speak alone."""
    if not cmath.isfinite(expected):
        return "a non-finite expected value must be matched exactly"
    if not cmath.isfinite(got):
        return "a non-finite value where a finite one was expected"
    diff = abs(got - expected)
    allowed = atol + rtol * abs(expected)  # what torch.isclose accepts here
    if allowed == 0:
        return f"off by {_num(diff)} where it must match exactly"
    if rtol * abs(expected) > atol:
        return (f"off by {_num(diff)}, a relative error of {diff / abs(expected):.3g} where at "
                f"most {allowed / abs(expected):.3g} is allowed")
    return f"off by {_num(diff)} where at most {allowed:.3g} is allowed"


def _worst_first(got: torch.Tensor, expected: torch.Tensor, mask: torch.Tensor,
                 rtol: float, atol: float) -> list[tuple[int, ...]]:
    """Indices of the mismatched entries, the furthest beyond their tolerance first (a
    non-finite mismatch counts as furthest); entries equally far keep their order."""
    diff = (got - expected).abs()
    over = diff / (atol + rtol * expected.abs())
    over = torch.where(torch.isnan(over), torch.full_like(over, math.inf), over)
    over = torch.where(mask, torch.full_like(over, -1.0), over).reshape(-1)
    order = torch.sort(over, descending=True, stable=True).indices[:int((~mask).sum())]
    return [tuple(int(i) for i in torch.unravel_index(k, got.shape)) for k in order]


def _table(got: torch.Tensor, expected: torch.Tensor, worst: list[tuple[int, ...]],
           rows: int = 5) -> str:
    lines = ["    index        | got            | expected       | off by"]
    for i in worst[:rows]:
        g, e = got[i].item(), expected[i].item()
        diff = _num(abs(g - e)) if cmath.isfinite(g) and cmath.isfinite(e) else "—"
        lines.append(f"    {str(i):<12} | {_num(g):<14} | {_num(e):<14} | {diff}")
    return "\n".join(lines)


def expect_tuple(got: Any, n: int, *, call: str | None = None, inputs: Mapping[str, Any] | None = None) -> tuple:
    """``got`` as a tuple of ``n`` values, or a failure that says what came back instead;
    use it before unpacking a student's answer."""
    if not isinstance(got, (tuple, list)) or len(got) != n:
        fail(f"{_where(call, inputs)}\n  returned {describe(got)}; expected a tuple of {n} values.")
    return tuple(got)


def expect_close(got: Any, expected: Any, *, call: str | None = None, inputs: Mapping[str, Any] | None = None,
                 rtol: float = 1e-5, atol: float = 1e-8, mistakes: Mapping[str, Any] | None = None,
                 dtype: torch.dtype | None | str = "same", check_device: bool = True,
                 part: str = "") -> None:
    """Compare ``got`` with ``expected`` (tensors, numbers, or tuples/lists of them).

    ``dtype="same"`` requires the dtype of ``expected``; pass ``None`` to skip the dtype
    check. ``mistakes`` maps a hint to the value that mistake produces (or a function
    computing it); when ``got`` matches one, the hint is added to the failure.
    """
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            n = len(expected)
            fail(f"{_where(call, inputs)}\n  returned {describe(got)}; expected a tuple of {n} "
                 f"values: {describe(expected)}.")
        for i, (g, e) in enumerate(zip(got, expected)):
            try:
                expect_close(g, e, call=call, inputs=inputs, rtol=rtol, atol=atol, mistakes=None,
                             dtype=dtype, check_device=check_device, part=f"{part}[{i}]")
            except GradingFailure as f:
                raise GradingFailure(f.feedback + hint_for(got, mistakes, rtol, atol)) from None
        return
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        expected = torch.tensor(float(expected), dtype=torch.float64)
        dtype = None if dtype == "same" else dtype
    def where() -> str:
        return _where(call, inputs) + (N_(f"\n  (output {part})") if part else "")

    want_dtype = expected.dtype if dtype == "same" else dtype
    try:
        got = expect_tensor(got, call=call, inputs=inputs, shape=tuple(expected.shape),
                            dtype=want_dtype,  # type: ignore[arg-type]
                            device=expected.device if check_device else None,
                            finite=bool(torch.isfinite(expected).all()) if expected.is_floating_point() else False)
    except GradingFailure as f:
        raise GradingFailure(f.feedback.replace(_where(call, inputs), where(), 1)
                             + hint_for(got, mistakes, rtol, atol)) from None
    mask = _close_mask(got, expected, rtol, atol)
    if bool(mask.all()):
        return
    wide = torch.complex128 if got.is_complex() or expected.is_complex() else torch.float64
    g, e = got.detach().to("cpu", wide), expected.detach().to("cpu", wide)
    text = where()
    if expected.dim() == 0:
        text += (f"\n  returned {_num(g.item())}, expected {_num(e.item())}; "
                 f"{_off_by(g.item(), e.item(), rtol, atol)}")
    else:
        worst = _worst_first(g, e, mask, rtol, atol)
        w = worst[0]
        text += (f"\n  {len(worst)} of {mask.numel()} values differ (tolerance rtol={rtol:g}, "
                 f"atol={atol:g}); the worst is at index {w}: got {_num(g[w].item())}, expected "
                 f"{_num(e[w].item())}; {_off_by(g[w].item(), e[w].item(), rtol, atol)}:\n"
                 + _table(g, e, worst))
    text += hint_for(got, mistakes, rtol, atol)
    fail(text)


def expect_scalar_close(got: Any, expected: float | torch.Tensor, *, call: str | None = None,
                        inputs: Mapping[str, Any] | None = None, rtol: float = 1e-5,
                        atol: float = 1e-8, mistakes: Mapping[str, Any] | None = None,
                        dtype: torch.dtype | None = None) -> None:
    """A 0-dim tensor close to ``expected`` (dtype checked only when given)."""
    exp = expected if isinstance(expected, torch.Tensor) else torch.tensor(float(expected), dtype=torch.float64)
    expect_close(got, exp.reshape(()), call=call, inputs=inputs, rtol=rtol, atol=atol,
                 mistakes=mistakes, dtype=dtype)



# --------------------------------------------------------------------------- a property's points


def close_enough(got: Any, want: Any, tol: float) -> bool:
    """``got`` equals ``want`` up to ``tol`` (relative and absolute), broadcasting as the
    specs allow (a (B, 1) variance for a (B, D) one), through tuples and lists; NaN matches
    NaN and an infinity the same infinity. Loose on purpose: it asks "is this the answer?",
    not "is it exact?" (the value tests ask that)."""
    if isinstance(want, (tuple, list)):
        return (isinstance(got, (tuple, list)) and len(got) == len(want)
                and all(close_enough(g, w, tol) for g, w in zip(got, want)))
    if isinstance(want, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            return False
        try:
            g, w = torch.broadcast_tensors(got.detach().cpu().double(), want.detach().cpu().double())
        except RuntimeError:
            return False
        return bool(torch.allclose(g, w, rtol=tol, atol=tol, equal_nan=True))
    return (isinstance(got, (int, float)) and isinstance(want, (int, float))
            and abs(got - want) <= tol * (1 + abs(want)))


def expect_right_answer(got: Any, want: Any, *, call: str | None = None,
                        inputs: Mapping[str, Any] | None = None, tol: float = 1e-4) -> None:
    """A property test (inputs left alone, dtype kept, gradients reaching the inputs) earns
    its points only together with a right answer for the same call, so that code returning
    junk without touching its inputs gains nothing. ``want`` is the reference's output on
    the same inputs, or a value the test worked out; ``got`` must match it up to ``tol``
    (:func:`close_enough`). The failure sends the student to the function's value tests,
    which say what is wrong."""
    if not close_enough(got, want, tol):
        fail(f"{_where(call, inputs)}\n  returned {describe(got)}, which is not the right answer.\n  This "
             "test credits the property only together with a right answer; the value tests of this "
             "function say what is wrong.")


def expect_inputs_kept(student: Any, fn: str, args: tuple, names: list[str], advice: str,
                       reference: Any = None) -> None:
    """``fn(*args)`` leaves every argument as it was (``names``: the arguments' names, for the
    message, which ends with ``advice``) and, where ``reference`` is given, returns the
    reference's answer too (:func:`expect_right_answer`). No ``reference`` for a function
    that draws random numbers: any order of drawing is right."""
    got, mutated = student.call_checking_inputs(fn, *args)
    call = f"{fn}({', '.join(names)})"
    changed = ", ".join(names[i] for i in mutated if i < len(names))
    expect(not mutated, f"{call} modified its input(s) {changed} in place; {advice}")
    if reference is not None:
        expect_right_answer(got, getattr(reference, fn)(*args), call=call, inputs=dict(zip(names, args)))


# --------------------------------------------------------------------------- upstream mistakes


def upstream_mistakes(function: str, compute: Any, slips: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """A hint table for a function that calls others: when its value is what a correct
    ``function`` gives on top of a known slip upstream, name that slip, not only the numbers.

    ``compute(**pieces)`` is the test's own computation of the expected value, written so
    that each upstream piece it uses (σ from log_var, the KL, a log-likelihood …) is a keyword
    argument with the correct piece as its default; ``slips`` maps each upstream slip, in
    words that name the function it lives in, to the pieces that slip replaces::

        mistakes=upstream_mistakes("elbo", expected_elbo, {
            "reparameterize uses exp(log_var) as σ; σ = exp(½ log_var), not exp(log_var)":
                {"sigma": lambda lv: lv.exp()}})

    The result maps a hint for each slip to a function computing its value, as
    ``expect_close(..., mistakes=...)`` takes them (merge it with the function's own table).
    """
    return {f"your {function} is consistent with this slip in a function it calls: {slip}. "
            f"Fix that function (its own tests say more) and run this test again":
            (lambda pieces=pieces: compute(**pieces)) for slip, pieces in slips.items()}
