"""Comparisons for checks: shapes, dtypes, NaN/inf, tolerances, shared parameters, counts.

Every ``expect_*`` function returns quietly when the reader's value is right and
otherwise raises :class:`~tying.grading.core.CheckFailed` with a message that
says what was expected and what the reader gave, **without printing the
answer**: shapes and dtypes are named (they are part of the question), values
are not; for a wrong value the message gives the size of the error instead.

Tensors (any device, with or without ``requires_grad``) and numpy arrays are
both accepted wherever an array is expected, on either side.  All arithmetic
happens on float64 numpy copies, through references captured in
:mod:`tying.grading._refs`, so patching ``np.allclose`` or ``torch.allclose``
in a notebook changes nothing here.

Examples:
    >>> import torch
    >>> expect_close(torch.ones(3, 8), torch.ones(3, 8), name="y")
    >>> expect_close(torch.ones(8, 3), torch.ones(3, 8), name="y")
    Traceback (most recent call last):
    ...
    tying.grading.core.CheckFailed: `y`: expected a tensor of shape (3, 8), got (8, 3)
"""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from . import _refs
from .core import CheckFailed, _type_name, fail

__all__ = [
    "build_module",
    "as_integer",
    "as_numpy",
    "attribute",
    "case",
    "count_parameters",
    "expect_close",
    "expect_dtype",
    "expect_finite",
    "expect_integer",
    "expect_module",
    "expect_parameter_count",
    "expect_same_parameter",
    "expect_scalar",
    "expect_shape",
    "expect_tensor",
    "is_array",
    "max_abs_difference",
    "same_tensor",
    "shares_storage",
]


def _fail(name: str, message: str) -> None:
    raise CheckFailed(f"`{name}`: {message}" if name else message)


@contextlib.contextmanager
def case(label: str) -> Iterator[None]:
    """Add ``[case: label]`` to the message of a failure inside the block (one of several inputs)."""
    try:
        yield
    except CheckFailed as err:
        raise CheckFailed(f"{err} [case: {label}]") from None


def is_array(value: Any) -> bool:
    """True for a torch tensor or a numpy array."""
    return _refs.isinstance(value, (_refs.Tensor, _refs.ndarray))


def _expect_plain(value: Any, name: str) -> None:
    """A tensor is a plain dense ``torch.Tensor`` (or a ``Parameter``); an array a plain ndarray.

    A tensor subclass can redefine every operation (``__torch_function__``), so a
    comparison made through it proves nothing; a sparse tensor cannot be compared
    elementwise until it is made dense.
    """
    kind = type(value)  # not value.__class__, which an object can fake
    if _refs.isinstance(value, _refs.Tensor):
        if kind is not _refs.Tensor and kind is not _refs.Parameter:
            _fail(
                name,
                f"expected a plain torch.Tensor, got an instance of the subclass "
                f"{kind.__qualname__}; return torch.Tensor values",
            )
        layout = _refs.tensor_layout(value)
        if layout != _refs.strided:
            _fail(
                name,
                f"expected a dense tensor, got a sparse one ({str(layout).replace('torch.', '')}); "
                "convert it with .to_dense()",
            )
    elif _refs.isinstance(value, _refs.ndarray) and kind is not _refs.ndarray:
        _fail(name, f"expected a plain numpy array, got {kind.__qualname__}; use np.asarray")


def _shape(value: Any) -> tuple[int, ...]:
    if _refs.isinstance(value, _refs.Tensor):
        return tuple(_refs.tensor_size(value))
    return tuple(value.shape)


def _dtype_name(dtype: Any) -> str:
    """``torch.float64``, ``np.float64``, ``np.dtype('float64')`` and ``"float64"`` all give ``float64``."""
    if _refs.isinstance(dtype, _refs.torch_dtype):
        return str(dtype).replace("torch.", "")
    return str(_refs.np_dtype(dtype))


def _value_dtype(value: Any) -> str:
    if _refs.isinstance(value, _refs.Tensor):
        return _dtype_name(_refs.tensor_dtype(value))
    return _dtype_name(value.dtype)


def as_numpy(value: Any) -> np.ndarray:
    """A float64 (or complex128) numpy copy of a tensor, array or number, for comparisons."""
    if _refs.isinstance(value, _refs.Tensor):
        _expect_plain(value, "")
        t = _refs.tensor_cpu(_refs.tensor_detach(value))
        # FFT results and views can carry lazy conjugate/negative bits that .numpy() refuses.
        t = t.resolve_conj().resolve_neg()
        t = _refs.tensor_to(t, _refs.complex128 if _refs.tensor_is_complex(t) else _refs.float64)
        return _refs.tensor_numpy(t)
    array = _refs.np_asarray(value)
    if _refs.np_issubdtype(array.dtype, _refs.np_complexfloating):
        return array.astype("complex128")
    return array.astype("float64")


def _describe(value: Any) -> str:
    if _refs.isinstance(value, _refs.Tensor):
        return f"a tensor of shape {_shape(value)}"
    if _refs.isinstance(value, _refs.ndarray):
        return f"an array of shape {_shape(value)}"
    return _type_name(value)


def expect_tensor(value: Any, *, name: str = "", arrays: bool = True) -> None:
    """``value`` is a tensor (or, with ``arrays=True``, a numpy array)."""
    ok = (
        _refs.isinstance(value, (_refs.Tensor, _refs.ndarray))
        if arrays
        else _refs.isinstance(value, _refs.Tensor)
    )
    if not ok:
        kind = "a tensor or numpy array" if arrays else "a tensor"
        _fail(name, f"expected {kind}, got {_describe(value)}")
    _expect_plain(value, name)


def expect_shape(value: Any, shape: tuple[int, ...], *, name: str = "") -> None:
    """``value`` has exactly this shape: ``expected a tensor of shape (3, 8), got (8, 3)``."""
    expect_tensor(value, name=name)
    shape = tuple(int(s) for s in shape)
    got = _shape(value)
    if got != shape:
        _fail(name, f"expected a tensor of shape {shape}, got {got}")


def expect_dtype(value: Any, dtype: Any, *, name: str = "") -> None:
    """``value`` has this dtype (torch and numpy dtypes compare by name: float64 == float64)."""
    expect_tensor(value, name=name)
    want, got = _dtype_name(dtype), _value_dtype(value)
    if want != got:
        _fail(name, f"expected dtype {want}, got {got}")


def expect_finite(value: Any, *, name: str = "") -> None:
    """No NaN and no infinity anywhere in ``value`` (a tensor, an array or a number)."""
    if _refs.isinstance(value, numbers.Number) and not _refs.isinstance(value, bool):
        array = _refs.np_asarray(
            complex(value) if _refs.isinstance(value, complex) else float(value)
        )
    else:
        expect_tensor(value, name=name)
        array = as_numpy(value)
    n_nan = int(_refs.np_sum(_refs.np_isnan(array)))
    n_inf = int(_refs.np_sum(_refs.np_isinf(array)))
    if n_nan or n_inf:
        parts = []
        if n_nan:
            parts.append(f"{n_nan} NaN value{'s' if n_nan > 1 else ''}")
        if n_inf:
            parts.append(f"{n_inf} infinite value{'s' if n_inf > 1 else ''}")
        _fail(name, "expected finite numbers, got " + " and ".join(parts))


def expect_close(
    actual: Any,
    expected: Any,
    *,
    name: str = "",
    atol: float = 1e-6,
    rtol: float = 1e-5,
    dtype: Any = None,
) -> None:
    """``actual`` equals ``expected`` within ``|a - e| <= atol + rtol |e|`` elementwise.

    Checks, in order: that ``actual`` is a tensor or array, its shape, its dtype
    (only when ``dtype`` is given), that it is finite, and the values.  The
    message for wrong values gives the size of the error, never the expected values:
    ``value differs from the expected one (max abs error 0.31 > tol 1e-06 + 1e-05*|expected|)``.
    """
    expect_tensor(actual, name=name)
    expected_array = as_numpy(expected)
    if not bool(_refs.np_all(_refs.np_isfinite(expected_array))):
        raise ValueError("the check's expected value is not finite")  # a bug in the check
    expect_shape(actual, expected_array.shape, name=name)
    if dtype is not None:
        expect_dtype(actual, dtype, name=name)
    expect_finite(actual, name=name)
    _expect_values(as_numpy(actual), expected_array, name=name, atol=atol, rtol=rtol)


def _expect_values(a: np.ndarray, e: np.ndarray, *, name: str, atol: float, rtol: float) -> None:
    if a.shape != e.shape:  # callers compare shapes first; an empty `a` must never pass
        _fail(name, f"expected a value of shape {tuple(e.shape)}, got {tuple(a.shape)}")
    error = _refs.np_abs(a - e)
    allowed = atol + rtol * _refs.np_abs(e)
    excess = error - allowed
    if error.size == 0 or not bool(_refs.np_any(excess > 0)):
        return
    worst = int(_refs.np_argmax(excess))
    where = ""
    if error.ndim > 0 and error.size > 1:
        index = tuple(int(i) for i in _refs.np_unravel_index(worst, error.shape))
        where = f", worst at index {index}"
    # The tolerance is stated as configured: its value at an element would reveal |expected|.
    tol = f"{atol:g}" if rtol == 0 else f"{atol:g} + {rtol:g}*|expected|"
    _fail(
        name,
        "value differs from the expected one "
        f"(max abs error {float(_refs.np_max(error)):.3g} > tol {tol}{where})",
    )


def max_abs_difference(a: Any, b: Any) -> float:
    """Largest ``|a - b|`` over all entries (tensors, arrays or numbers of the same shape)."""
    x, y = as_numpy(a), as_numpy(b)
    if x.shape != y.shape:
        raise ValueError(f"shapes differ: {x.shape} and {y.shape}")
    return float(_refs.np_max(_refs.np_abs(x - y))) if x.size else 0.0


def expect_scalar(
    actual: Any, expected: float, *, name: str = "", atol: float = 1e-6, rtol: float = 1e-5
) -> None:
    """``actual`` is one number (a Python/numpy number or a 0-d tensor/array) close to ``expected``."""
    if _refs.isinstance(actual, bool) or not (
        _refs.isinstance(actual, numbers.Number) or is_array(actual)
    ):
        _fail(name, f"expected a number, got {_describe(actual)}")
    if is_array(actual):
        _expect_plain(actual, name)
        if _shape(actual) != ():
            _fail(
                name,
                f"expected a single number (a float or a 0-d tensor), got {_describe(actual)}; "
                "use .item() or index it",
            )
        array = as_numpy(actual)
    else:
        # Through complex()/float(), not np.asarray: an object that calls itself a number
        # must not become an empty array, which every comparison would accept.
        try:
            number = complex(actual) if _refs.isinstance(actual, complex) else float(actual)
        except (TypeError, ValueError, OverflowError):
            _fail(name, f"expected a number, got {_describe(actual)}")
        array = _refs.np_asarray(number)
    if array.shape != () or array.size != 1:
        _fail(name, f"expected a single number, got {array.size} values")
    expect_finite(array, name=name)
    _expect_values(array, as_numpy(expected), name=name, atol=atol, rtol=rtol)


def as_integer(value: Any, *, name: str = "") -> int:
    """``value`` as an ``int``: an int, a numpy int, an integral float or a 0-d tensor/array."""
    original = value
    if is_array(value):
        _expect_plain(value, name)
        if _shape(value) != ():
            _fail(name, f"expected a single integer, got {_describe(value)}")
        value = as_numpy(value).item()
    if _refs.isinstance(value, bool) or not _refs.isinstance(value, numbers.Real):
        _fail(name, f"expected an integer, got {_describe(original)}")
    if not _refs.math_isfinite(value) or value != int(value):
        _fail(name, f"expected an integer, got {value!r}")
    return int(value)


def expect_integer(actual: Any, expected: int, *, name: str = "", what: str = "value") -> None:
    """``actual`` is the integer ``expected`` (an int, a numpy int, an integral float or 0-d tensor).

    The message names what the reader gave, not the expected number:
    ``n_local = 1,216 is not the right count``.
    """
    value = as_integer(actual, name=name)
    if value != int(expected):
        label = f"{name} = {value:,}" if name else f"{value:,}"
        _fail("", f"`{label}` is not the right {what}")


def expect_module(value: Any, *, name: str = "") -> None:
    """``value`` is a ``torch.nn.Module`` instance (not the class, not a function)."""
    if _refs.isinstance(value, type) and issubclass(value, _refs.Module):
        _fail(name, f"expected an instance of a module, got the class {value.__name__} itself")
    if not _refs.isinstance(value, _refs.Module):
        _fail(name, f"expected a torch.nn.Module, got {_describe(value)}")


def attribute(value: Any, path: str, *, name: str = "") -> Any:
    """``value.<path>`` (dotted, e.g. ``"layer1.weight"``), failing clearly if it is missing."""
    current = value
    walked = name or "the object"
    for part in path.split("."):
        if not hasattr(current, part):
            _fail("", f"expected {walked} to have an attribute `{part}`, but it has none")
        current = getattr(current, part)
        walked = f"{walked}.{part}"
    return current


def count_parameters(module: torch.nn.Module) -> int:
    """Number of distinct trainable numbers: a tied tensor counts once, as ``parameters()`` lists it."""
    return int(sum(_refs.tensor_numel(p) for p in _refs.module_parameters(module)))


def expect_parameter_count(module: Any, expected: int, *, name: str = "") -> None:
    """``module`` has ``expected`` parameters, a shared tensor counted once."""
    expect_module(module, name=name)
    got = count_parameters(module)
    if got != int(expected):
        _fail(name, f"the module has {got:,} parameters, which is not the expected number")


def same_tensor(a: Any, b: Any) -> bool:
    """True when ``a`` and ``b`` are the same tensor object (what tying in PyTorch means)."""
    return _refs.isinstance(a, _refs.Tensor) and a is b


def shares_storage(a: Any, b: Any) -> bool:
    """True when two tensors use the same memory (possibly as different objects or views)."""
    if not (_refs.isinstance(a, _refs.Tensor) and _refs.isinstance(b, _refs.Tensor)):
        return False
    try:
        pa = _refs.storage_data_ptr(_refs.tensor_untyped_storage(a))
        pb = _refs.storage_data_ptr(_refs.tensor_untyped_storage(b))
    except (RuntimeError, NotImplementedError):  # e.g. meta or sparse tensors
        return False
    return pa == pb and pa != 0


def expect_same_parameter(
    a: Any,
    b: Any,
    *,
    module: Any = None,
    names: tuple[str, str] = ("the first weight", "the second weight"),
) -> None:
    """``a`` and ``b`` are really one parameter: the same tensor object, same storage,
    and (with ``module``) a single entry in ``module.parameters()``.

    The typical mistakes each get their own message: two separate tensors
    (``clone()``), or one memory shared by two ``Parameter`` objects
    (``layer2.weight.data = layer1.weight.data``), which an optimiser would
    treat as two parameters.
    """
    first, second = names
    for value, label in ((a, first), (b, second)):
        if not _refs.isinstance(value, _refs.Tensor):
            _fail("", f"expected {label} to be a tensor, got {_describe(value)}")
    if a is not b:
        if shares_storage(a, b):
            _fail(
                "",
                f"{first} and {second} share memory but are two different Parameter objects, "
                "so parameters() lists both and an optimiser would update them separately; "
                "assign the same Parameter object to both places",
            )
        _fail(
            "",
            f"{first} and {second} are two separate tensors (different storage): "
            "changing one does not change the other",
        )
    if module is not None:
        expect_module(module, name="the module")
        # parameters() lists a tied tensor once; it must be there at all.
        if not any(p is a for p in _refs.module_parameters(module)):
            _fail("", f"{first} is not registered as a parameter of the module")


def build_module(answers: Any, name: str, *args: Any) -> torch.nn.Module:
    """Instantiate the reader's ``nn.Module`` class ``name`` with ``args`` and check it is a module.

    Construction runs on a private, seeded random state, so checking never moves
    the reader's random stream and the same module is built on every run.
    """
    cls = answers.get(name)
    if not isinstance(cls, type):
        fail(f"`{name}` should be the class itself, got {_type_name(cls)}")
    call = f"{name}({', '.join(map(repr, args))})"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        module = answers.run(cls, *args, what=call)
    expect_module(module, name=call)
    return module
