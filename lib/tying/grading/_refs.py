"""Private references to the numpy, torch and stdlib functions the grader uses.

They are captured once, when :mod:`tying.grading` is first imported, and the
helpers call only these.  A reader who writes ``np.allclose = lambda *a, **k: True``
or ``torch.Tensor.allclose = ...`` in a notebook changes the public names, not
the objects bound here, so a check cannot be passed that way.  Tensor methods
are taken from torch's C base class (``torch._C.TensorBase``), whose attributes
cannot be reassigned from Python.

Importing :mod:`tying.grading` before any reader code runs is what makes the
capture meaningful: exercise notebooks do it in their second cell, and
``python -m tying.grade`` imports it in a cell of its own before the notebook's
first cell.  The captured objects are also checked to come from numpy or torch
themselves, so a patch made *before* the import is noticed and reported.

Grading is still on trust (the checks are public); this only closes the
one-line loophole.
"""

from __future__ import annotations

import builtins
import math
import time

import numpy as np
import torch
from torch import nn

_TensorBase = getattr(torch._C, "TensorBase", None) or torch._C._TensorBase

# Types (a reader may rebind ``torch.Tensor``; these names keep the originals).
Tensor = torch.Tensor
Parameter = nn.Parameter
Module = nn.Module
ndarray = np.ndarray
torch_dtype = torch.dtype
float64 = torch.float64
complex128 = torch.complex128

# numpy
np_asarray = np.asarray
np_abs = np.abs
np_max = np.max
np_argmax = np.argmax
np_isnan = np.isnan
np_isinf = np.isinf
np_isfinite = np.isfinite
np_all = np.all
np_any = np.any
np_sum = np.sum
np_unravel_index = np.unravel_index
np_allclose = np.allclose
np_array_equal = np.array_equal
np_dtype = np.dtype
np_issubdtype = np.issubdtype
np_floating = np.floating
np_complexfloating = np.complexfloating
np_integer = np.integer
np_bool = np.bool_

# torch: unbound methods of the C base class and module functions
tensor_detach = _TensorBase.detach
tensor_cpu = _TensorBase.cpu
tensor_to = _TensorBase.to
tensor_numpy = _TensorBase.numpy
tensor_size = _TensorBase.size
tensor_numel = _TensorBase.numel
tensor_stride = _TensorBase.stride
tensor_storage_offset = _TensorBase.storage_offset
tensor_untyped_storage = _TensorBase.untyped_storage
tensor_is_floating_point = _TensorBase.is_floating_point
tensor_is_complex = _TensorBase.is_complex
_tensor_dtype_descriptor = _TensorBase.dtype
_tensor_layout_descriptor = _TensorBase.layout
strided = torch.strided
storage_data_ptr = torch.UntypedStorage.data_ptr
torch_allclose = torch.allclose
torch_equal = torch.equal
torch_is_tensor = torch.is_tensor
module_parameters = nn.Module.parameters
module_named_parameters = nn.Module.named_parameters

# stdlib
isinstance = builtins.isinstance
perf_counter = time.perf_counter
math_isfinite = math.isfinite


def tensor_dtype(t: torch.Tensor) -> torch.dtype:
    """``t.dtype`` read through the C descriptor."""
    return _tensor_dtype_descriptor.__get__(t, type(t))


def tensor_layout(t: torch.Tensor) -> torch.layout:
    """``t.layout`` read through the C descriptor."""
    return _tensor_layout_descriptor.__get__(t, type(t))


def _suspicious() -> list[str]:
    """Names whose captured object does not come from numpy or torch (patched before import)."""
    expected = {
        "np_allclose": ("numpy",),
        "np_isfinite": ("numpy",),
        "np_abs": ("numpy",),
        "np_max": ("numpy",),
        "np_asarray": ("numpy",),
        "torch_allclose": ("torch",),
        "torch_equal": ("torch",),
    }
    bad = []
    for name, modules in expected.items():
        obj = globals()[name]
        module = getattr(obj, "__module__", None) or ""
        # numpy ufuncs have no __module__ of their own; their class does.
        if not module and isinstance(obj, np.ufunc):
            continue
        if module.split(".")[0] not in modules:
            bad.append(name)
    return bad


SUSPICIOUS = _suspicious()
