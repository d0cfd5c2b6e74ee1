"""Recurrent sharing: the untied RNN, the closed-form counts, the lag split of the tied gradient."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from tying.experiments.char_lm import (
    CharLM,
    bits_per_char,
    build_vocabulary,
    chunked_tbptt_gradient,
    decode,
    encode,
    generate,
    lag_gradients,
    load_text,
    run_char_lm,
    run_truncation_study,
    sample_batch,
    split_blocks,
    unigram_bits_per_char,
)
from tying.layers.untied_rnn import UntiedRNN, untied_rnn
from tying.theory.counting import rnn_param_count, untied_rnn_param_count


# -- the untied twin -------------------------------------------------------------
def tied_and_untied(seq_len=6, input_size=3, hidden=5, dtype=torch.float64):
    torch.manual_seed(0)
    rnn = nn.RNN(input_size, hidden, batch_first=True, dtype=dtype)
    return rnn, UntiedRNN.from_rnn(rnn, seq_len)


def test_untied_copy_computes_what_the_rnn_computes():
    rnn, untied = tied_and_untied()
    x = torch.randn(4, 6, 3, dtype=torch.float64)
    h0 = torch.randn(4, 5, dtype=torch.float64)
    out_tied, h_tied = rnn(x, h0[None])
    out_untied, h_untied = untied(x, h0)
    torch.testing.assert_close(out_untied, out_tied)
    torch.testing.assert_close(h_untied, h_tied[0])


def test_tied_gradient_is_the_sum_of_the_per_step_gradients():
    rnn, untied = tied_and_untied()
    x = torch.randn(4, 6, 3, dtype=torch.float64)
    weights = torch.randn(4, 6, 5, dtype=torch.float64)
    (rnn(x)[0] * weights).sum().backward()
    (untied(x)[0] * weights).sum().backward()
    torch.testing.assert_close(untied.weight_hh.grad.sum(0), rnn.weight_hh_l0.grad)
    torch.testing.assert_close(untied.weight_ih.grad.sum(0), rnn.weight_ih_l0.grad)
    torch.testing.assert_close(untied.bias_hh.grad.sum(0), rnn.bias_hh_l0.grad)


def test_untied_rnn_gradcheck():
    torch.manual_seed(1)
    args = [
        torch.randn(2, 3, 2, dtype=torch.float64, requires_grad=True),
        torch.randn(3, 4, 2, dtype=torch.float64, requires_grad=True),
        torch.randn(3, 4, 4, dtype=torch.float64, requires_grad=True) * 0.5,
        torch.randn(3, 4, dtype=torch.float64, requires_grad=True),
        torch.randn(3, 4, dtype=torch.float64, requires_grad=True),
    ]
    assert torch.autograd.gradcheck(lambda *a: untied_rnn(*a)[0], args)


@pytest.mark.parametrize("seq_len", [1, 7, 64])
def test_counts_match_closed_forms(seq_len):
    rnn, untied = nn.RNN(10, 20), UntiedRNN(10, 20, seq_len)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(rnn) == rnn_param_count(10, 20) == 20 * 10 + 20 * 20 + 2 * 20
    assert count(untied) == untied_rnn_param_count(seq_len, 10, 20) == seq_len * count(rnn)
    assert count(nn.GRU(10, 20)) == rnn_param_count(10, 20, "gru")
    assert count(nn.LSTM(10, 20)) == rnn_param_count(10, 20, "lstm")
    assert count(UntiedRNN(10, 20, seq_len, bias=False)) == untied_rnn_param_count(
        seq_len, 10, 20, bias=False
    )


def test_untied_rnn_shapes_and_errors():
    layer = UntiedRNN(3, 4, seq_len=5)
    out, h = layer(torch.randn(5, 3))
    assert out.shape == (5, 4) and h.shape == (4,)
    with pytest.raises(ValueError, match=r"\(N, 5, 3\)"):
        layer(torch.randn(2, 6, 3))  # a longer sequence has no weights
    with pytest.raises(ValueError):
        UntiedRNN(3, 0, 5)
    with pytest.raises(ValueError, match="tanh"):
        UntiedRNN.from_rnn(nn.RNN(3, 4, nonlinearity="relu"), 5)
    assert "seq_len=5" in repr(layer)


# -- data -------------------------------------------------------------------------
def test_text_vocabulary_and_split():
    text = load_text()
    assert len(text) > 400_000
    chars = build_vocabulary(text[:5000])
    ids = encode(text[:5000], chars)
    assert decode(ids, chars) == text[:5000]
    train, val = split_blocks(ids, block=100, every=10)
    assert len(train) + len(val) == 5000 and len(val) == 500
    torch.testing.assert_close(val[:100], ids[900:1000])
    with pytest.raises(ValueError, match="blocks"):
        split_blocks(ids[:500], block=100, every=10)
    x, y = sample_batch(ids, 3, 7, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (3, 7)
    torch.testing.assert_close(x[:, 1:], y[:, :-1])


def test_baselines():
    ids = torch.tensor([0, 0, 0, 1] * 50)
    # Frequencies 3/4 and 1/4 (smoothing barely matters): entropy about 0.81 bits.
    assert abs(unigram_bits_per_char(ids, ids, 2) - 0.811) < 0.01
    torch.manual_seed(0)
    model = CharLM(20, hidden_size=8)
    nn.init.zeros_(model.head.weight)
    nn.init.zeros_(model.head.bias)
    assert (
        abs(bits_per_char(model, torch.randint(20, (500,)), streams=4, chunk=16) - math.log2(20))
        < 1e-5
    )


# -- truncation -----------------------------------------------------------------
def small_model_and_batch(seq_len=7, dtype=torch.float64):
    torch.manual_seed(0)
    model = CharLM(6, hidden_size=5, embedding_size=3, dtype=dtype)
    with torch.no_grad():
        model.rnn.weight_hh_l0.mul_(3.0)  # strong recurrence, so long lags matter
    gen = torch.Generator().manual_seed(1)
    x = torch.randint(6, (4, seq_len), generator=gen)
    y = torch.randint(6, (4, seq_len), generator=gen)
    return model, x, y


def per_loss_truncated_reference(model, x, y, k):
    """Slow reference: for every loss L_t, backpropagate through at most k steps."""
    t_steps = x.shape[1]
    emb = model.embedding(x)
    w_ih, w_hh = model.rnn.weight_ih_l0, model.rnn.weight_hh_l0
    b = model.rnn.bias_ih_l0 + model.rnn.bias_hh_l0
    total = torch.zeros_like(w_hh)
    for t in range(t_steps):
        h = emb.new_zeros(x.shape[0], w_hh.shape[0])
        for s in range(t + 1):
            if s == t - k + 1:
                h = h.detach()  # uses of W_hh before this step are out of reach
            h = torch.tanh(emb[:, s] @ w_ih.T + h @ w_hh.T + b)
        loss = nn.functional.cross_entropy(model.head(h), y[:, t], reduction="sum") / y.numel()
        total += torch.autograd.grad(loss, w_hh)[0]
    return total


def test_lag_split_sums_to_autograd_and_matches_per_loss_truncation():
    model, x, y = small_model_and_batch()
    lags = lag_gradients(model, x, y)
    full = chunked_tbptt_gradient(model, x, y, None)
    torch.testing.assert_close(lags.sum(0), full)
    for k in (1, 2, 4, 7):
        torch.testing.assert_close(lags[:k].sum(0), per_loss_truncated_reference(model, x, y, k))
    # Detaching every step keeps lag 0 only; both truncations agree there.
    torch.testing.assert_close(chunked_tbptt_gradient(model, x, y, 1), lags[0])


def test_lag_gradients_rejects_gated_cells():
    with pytest.raises(ValueError, match="rnn"):
        lag_gradients(
            CharLM(5, 4, cell="gru"),
            torch.zeros(1, 3, dtype=torch.long),
            torch.zeros(1, 3, dtype=torch.long),
        )


def test_truncation_study_and_training_run():
    result = run_char_lm(
        n_chars=60_000, hidden_size=16, steps=5, batch_size=4, seq_len=16, progress=False
    )
    assert result["history"].shape == (5,)
    assert result["val_bpc"] < math.log2(len(result["chars"])) + 0.5
    assert result["unigram_bpc"] < math.log2(len(result["chars"]))
    study = run_truncation_study(
        result["model"], result["val_ids"], seq_len=12, batch_size=4, chunk_ks=(1, 3)
    )
    assert study["autograd_error"] < 1e-5
    assert study["cosine"][-1] == pytest.approx(1.0, abs=1e-6)
    assert study["norm_ratio"][-1] == pytest.approx(1.0, abs=1e-6)
    assert study["chunked"][1][0] == pytest.approx(study["cosine"][0], abs=1e-5)
    assert len(study["lag_norms"]) == 12 and np.all(study["lag_norms"] >= 0)
    text = generate(result["model"], "The ", result["chars"], n_chars=10)
    assert text.startswith("The ") and len(text) == 14


def test_char_lm_cells():
    for cell in ("rnn", "gru", "lstm"):
        model = CharLM(7, hidden_size=4, cell=cell)
        logits, _ = model(torch.randint(7, (2, 3)))
        assert logits.shape == (2, 3, 7)
    with pytest.raises(ValueError):
        CharLM(7, cell="transformer")
