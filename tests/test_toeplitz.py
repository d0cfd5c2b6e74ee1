"""Convolution and locally connected layers as sparse matrices, against torch and the layer itself."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn.modules.utils import _pair

from tying.layers import (
    conv2d_as_matrix,
    conv2d_output_size,
    locally_connected2d,
    locally_connected2d_as_matrix,
    toeplitz_defect,
)
from tying.theory import (
    conv2d_matrix_free_parameters,
    conv2d_matrix_nnz,
    conv2d_matrix_shape,
    locally_connected2d_matrix_free_parameters,
)

F64 = torch.float64
CASES = [
    # c_in, c_out, (H, W), kernel, stride, padding, dilation
    (1, 1, (5, 5), (3, 3), 1, 0, 1),
    (3, 4, (8, 8), (3, 3), 1, 1, 1),
    (2, 3, (7, 9), (2, 3), (2, 1), (1, 0), 1),
    (3, 2, (10, 10), (3, 3), 2, 1, 2),
    (4, 1, (6, 5), (1, 1), 1, 0, 1),
    (2, 2, (9, 7), (5, 3), 3, 2, (1, 2)),
]


def apply(matrix, x, out_shape):
    return (matrix @ x.flatten(1).T).T.reshape(x.shape[0], *out_shape)


def out_size(size, kernel, stride, padding, dilation):
    return conv2d_output_size(
        _pair(size), _pair(kernel), _pair(stride), _pair(padding), _pair(dilation)
    )


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("layout", [torch.sparse_coo, torch.sparse_csr])
def test_conv_matrix_equals_conv2d(case, layout):
    c_in, c_out, size, k, s, p, d = case
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(c_out, c_in, *k, generator=gen, dtype=F64)
    x = torch.randn(3, c_in, *size, generator=gen, dtype=F64)
    y = F.conv2d(x, w, stride=s, padding=p, dilation=d)
    A = conv2d_as_matrix(w, size, s, p, d, layout=layout)
    assert A.layout == layout
    assert tuple(A.shape) == conv2d_matrix_shape(c_in, c_out, size, k, s, p, d)
    torch.testing.assert_close(apply(A, x, y.shape[1:]), y, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_locally_connected_matrix_equals_the_layer(case):
    c_in, c_out, size, k, s, p, d = case
    gen = torch.Generator().manual_seed(1)
    h_out, w_out = out_size(size, k, s, p, d)
    w = torch.randn(h_out, w_out, c_out, c_in, *k, generator=gen, dtype=F64)
    x = torch.randn(2, c_in, *size, generator=gen, dtype=F64)
    y = locally_connected2d(x, w, None, s, p, d)
    A = locally_connected2d_as_matrix(w, size, s, p, d)
    torch.testing.assert_close(apply(A, x, y.shape[1:]), y, rtol=1e-12, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    c_in=st.integers(1, 3),
    c_out=st.integers(1, 3),
    h=st.integers(3, 9),
    w=st.integers(3, 9),
    kh=st.integers(1, 3),
    kw=st.integers(1, 3),
    stride=st.integers(1, 3),
    padding=st.integers(0, 2),
    dilation=st.integers(1, 2),
    seed=st.integers(0, 2**16),
)
def test_random_shapes(c_in, c_out, h, w, kh, kw, stride, padding, dilation, seed):
    h_out, w_out = out_size((h, w), (kh, kw), stride, padding, dilation)
    if min(h_out, w_out) <= 0:
        with pytest.raises(ValueError, match="does not fit"):
            conv2d_as_matrix(torch.zeros(c_out, c_in, kh, kw), (h, w), stride, padding, dilation)
        return
    gen = torch.Generator().manual_seed(seed)
    weight = torch.randn(c_out, c_in, kh, kw, generator=gen, dtype=F64)
    x = torch.randn(2, c_in, h, w, generator=gen, dtype=F64)
    y = F.conv2d(x, weight, stride=stride, padding=padding, dilation=dilation)
    A = conv2d_as_matrix(weight, (h, w), stride, padding, dilation)
    torch.testing.assert_close(apply(A, x, y.shape[1:]), y, rtol=1e-12, atol=1e-12)
    assert A._nnz() == conv2d_matrix_nnz(c_in, c_out, (h, w), (kh, kw), stride, padding, dilation)
    assert toeplitz_defect(A, c_in, (h, w), (h_out, w_out), stride) == (0.0, 0.0)
    local_w = torch.randn(h_out, w_out, c_out, c_in, kh, kw, generator=gen, dtype=F64)
    L = locally_connected2d_as_matrix(local_w, (h, w), stride, padding, dilation)
    assert torch.equal(L.coalesce().indices(), A.coalesce().indices()), "same sparsity pattern"
    torch.testing.assert_close(
        apply(L, x, y.shape[1:]), locally_connected2d(x, local_w, None, stride, padding, dilation)
    )


def test_gradients_flow_to_the_kernel():
    gen = torch.Generator().manual_seed(2)
    w = torch.randn(2, 2, 3, 3, generator=gen, dtype=F64, requires_grad=True)
    x = torch.randn(3, 2, 5, 6, generator=gen, dtype=F64)
    for layout in (torch.sparse_coo, torch.sparse_csr):
        assert torch.autograd.gradcheck(
            lambda w, layout=layout: apply(
                conv2d_as_matrix(w, (5, 6), 2, 1, layout=layout), x, (2, 3, 3)
            ),
            (w,),
        )


def test_counting_free_values():
    gen = torch.Generator().manual_seed(3)
    w = torch.randn(8, 3, 5, 5, generator=gen, dtype=F64)
    A = conv2d_as_matrix(w, 32)
    assert A._nnz() == conv2d_matrix_nnz(3, 8, 32, 5) == 28 * 28 * 600
    assert (
        torch.unique(A.coalesce().values()).numel() == conv2d_matrix_free_parameters(3, 8, 5) == 600
    )
    lw = torch.randn(28, 28, 8, 3, 5, 5, generator=gen, dtype=F64)
    L = locally_connected2d_as_matrix(lw, 32)
    distinct = torch.unique(L.coalesce().values()).numel()
    assert distinct == locally_connected2d_matrix_free_parameters(3, 8, 32, 5) == 784 * 600
    # with padding, the weights that only meet padding never reach the matrix
    assert conv2d_matrix_nnz(3, 8, 32, 5, padding=2) == 8 * 3 * 154**2 < 32 * 32 * 600


def test_toeplitz_defect_detects_untied_weights():
    gen = torch.Generator().manual_seed(4)
    lw = torch.randn(4, 4, 2, 1, 3, 3, generator=gen)
    block, inner = toeplitz_defect(locally_connected2d_as_matrix(lw, 6), 1, 6, (4, 4))
    assert block > 0.1 and inner > 0.1
    # tie them and both defects vanish
    tied = lw[:1, :1].expand_as(lw).contiguous()
    assert toeplitz_defect(locally_connected2d_as_matrix(tied, 6), 1, 6, (4, 4)) == (0.0, 0.0)


def test_entries_are_sorted_and_on_the_weight_device():
    A = conv2d_as_matrix(torch.randn(2, 3, 3, 3), (6, 7), padding=1)
    assert A.is_coalesced() and A.device == torch.device("cpu")
    assert torch.equal(A.indices(), A.coalesce().indices())
    assert A.dtype == torch.float32


def test_bad_arguments():
    with pytest.raises(ValueError, match="C_out, C_in, kH, kW"):
        conv2d_as_matrix(torch.randn(3, 3, 3), 5)
    with pytest.raises(ValueError, match="H_out, W_out"):
        locally_connected2d_as_matrix(torch.randn(2, 3, 3, 3), 5)
    with pytest.raises(ValueError, match="output positions"):
        locally_connected2d_as_matrix(torch.randn(2, 2, 1, 1, 3, 3), 5)
    with pytest.raises(ValueError, match="does not fit"):
        conv2d_as_matrix(torch.randn(1, 1, 5, 5), 3)
    with pytest.raises(ValueError, match="layout"):
        conv2d_as_matrix(torch.randn(1, 1, 3, 3), 5, layout=torch.strided)
