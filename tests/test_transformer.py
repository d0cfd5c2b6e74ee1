"""TinyTransformerLM: the ties are real, the counts match the closed forms, the mask is causal."""

import math

import pytest
import torch
from torch import nn

from tying.layers.transformer import SHARE_MODES, CausalSelfAttention, TinyTransformerLM
from tying.theory.counting import (
    attention_param_count,
    bert_param_count,
    transformer_lm_param_count,
)

V, C, D = 50, 12, 16


def make(**kwargs):
    torch.manual_seed(0)
    config = {"vocab_size": V, "context_size": C, "d_model": D, "n_heads": 4, "n_layers": 3}
    return TinyTransformerLM(**{**config, **kwargs})


# -- the embedding tie ----------------------------------------------------------
def test_tied_head_is_the_embedding_tensor():
    model = make(tie_embeddings=True)
    assert model.lm_head.weight is model.tok_emb.weight
    assert model.lm_head.weight.data_ptr() == model.tok_emb.weight.data_ptr()
    params = list(model.parameters())
    assert sum(p is model.tok_emb.weight for p in params) == 1, "counted once"
    untied = make(tie_embeddings=False)
    assert untied.lm_head.weight.data_ptr() != untied.tok_emb.weight.data_ptr()
    assert untied.num_parameters() - model.num_parameters() == V * D


def test_tie_survives_dtype_conversion_and_receives_both_gradients():
    model = make(tie_embeddings=True).double()
    assert model.lm_head.weight is model.tok_emb.weight
    assert model.tok_emb.weight.dtype == torch.float64
    idx = torch.randint(V, (2, C))
    model(idx).sum().backward()
    grad_tied = model.tok_emb.weight.grad.clone()
    # The same computation with the two roles separated: the tied gradient is the sum.
    untied = make(tie_embeddings=False).double()
    untied.load_state_dict(model.state_dict())
    untied.lm_head.weight.data.copy_(model.tok_emb.weight.data)
    untied(idx).sum().backward()
    torch.testing.assert_close(grad_tied, untied.tok_emb.weight.grad + untied.lm_head.weight.grad)


def test_embedding_init_options():
    uniform = make(embedding_init="uniform", init_range=0.1)
    assert uniform.tok_emb.weight.abs().max() <= 0.1
    normal = make(embedding_init="normal", tie_embeddings=True)
    assert 0.8 < normal.tok_emb.weight.std().item() < 1.2
    # With the tie, the embedding's init is the one that survives.
    assert normal.lm_head.weight.std().item() == normal.tok_emb.weight.std().item()


# -- parameter counts -----------------------------------------------------------
@pytest.mark.parametrize("share", SHARE_MODES)
@pytest.mark.parametrize("tie", [True, False])
@pytest.mark.parametrize("n_layers", [1, 3])
def test_counts_match_closed_form(share, tie, n_layers):
    model = make(share=share, tie_embeddings=tie, n_layers=n_layers)
    expected = transformer_lm_param_count(V, C, D, n_layers, tie_embeddings=tie, share=share)
    assert model.num_parameters() == expected
    distinct = {id(p) for p in model.parameters()}
    assert sum(p.numel() for p in model.parameters()) == sum(
        p.numel() for p in model.parameters() if id(p) in distinct
    )


@pytest.mark.parametrize("k", [1, 2, 5])
def test_universal_steps_add_depth_not_parameters(k):
    model = make(n_layers=1, universal_steps=k)
    assert model.num_parameters() == transformer_lm_param_count(V, C, D, 1)
    assert len(model.layer_schedule()) == k


def test_attention_count_is_independent_of_heads():
    for heads in (1, 2, 4, 8):
        attn = CausalSelfAttention(16, heads)
        assert sum(p.numel() for p in attn.parameters()) == attention_param_count(16)


def test_all_shared_equals_universal_block():
    """ALBERT's all-shared L layers and a Universal Transformer block run L times are one network."""
    a = make(share="all", n_layers=4)
    b = make(n_layers=1, universal_steps=4)
    assert [n for n, _ in a.named_parameters()] == [n for n, _ in b.named_parameters()]
    idx = torch.randint(V, (3, C))
    torch.testing.assert_close(a(idx), b(idx))


@pytest.mark.parametrize("share", SHARE_MODES)
def test_share_modes_reuse_modules(share):
    model = make(share=share, n_layers=3)
    schedule = model.layer_schedule()
    attn_ids = {a for a, _ in schedule}
    ffn_ids = {f for _, f in schedule}
    assert len(attn_ids) == (1 if share in ("attention", "all") else 3)
    assert len(ffn_ids) == (1 if share in ("ffn", "all") else 3)


def test_bert_counts_reproduce_known_models():
    # Hugging Face's bert-base-uncased (vocabulary 30,522) and albert-base-v2 (30,000, E = 128).
    assert bert_param_count(30_522, embedding_size=768, pooler=True) == 109_482_240
    assert bert_param_count(30_000, embedding_size=128, share="all", pooler=True) == 11_683_584


# -- causality and correctness --------------------------------------------------
@pytest.mark.parametrize("share", SHARE_MODES)
def test_output_at_t_ignores_later_tokens(share):
    model = make(share=share, universal_steps=2).double()
    idx = torch.randint(V, (2, C))
    for t in range(C - 1):
        changed = idx.clone()
        changed[:, t + 1 :] = torch.randint(V, changed[:, t + 1 :].shape)
        before, after = model(idx), model(changed)
        torch.testing.assert_close(before[:, : t + 1], after[:, : t + 1])
    assert not torch.allclose(model(idx)[:, -1], model(changed)[:, -1])


def reference_attention(x, attn: CausalSelfAttention):
    n, t, d = x.shape
    h, dh = attn.n_heads, d // attn.n_heads
    q, k, v = attn.qkv(x).split(d, dim=-1)
    out = []
    for j in range(h):
        sl = slice(j * dh, (j + 1) * dh)
        scores = q[..., sl] @ k[..., sl].transpose(1, 2) / math.sqrt(dh)
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
        out.append(torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1) @ v[..., sl])
    return attn.proj(torch.cat(out, dim=-1))


def test_attention_matches_explicit_mask_and_gradcheck():
    torch.manual_seed(1)
    attn = CausalSelfAttention(8, n_heads=2, dtype=torch.float64)
    x = torch.randn(2, 5, 8, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(attn(x), reference_attention(x, attn))
    assert torch.autograd.gradcheck(attn, (x,))


def test_unbatched_input_and_errors():
    model = make()
    idx = torch.randint(V, (C,))
    torch.testing.assert_close(model(idx), model(idx[None])[0])
    with pytest.raises(ValueError, match="context size"):
        model(torch.randint(V, (1, C + 1)))
    with pytest.raises(ValueError, match=r"\(N, T\)"):
        model(torch.randint(V, (1, 2, 3)))
    with pytest.raises(TypeError):
        model(torch.randn(2, C))
    with pytest.raises(ValueError, match="share"):
        make(share="some")
    with pytest.raises(ValueError, match="divide"):
        make(n_heads=3)
    with pytest.raises(ValueError, match="embedding_init"):
        make(embedding_init="zeros")
    assert "share='none'" in repr(model)


def test_factory_kwargs():
    model = make(dtype=torch.float64, device="cpu")
    assert {p.dtype for p in model.parameters()} == {torch.float64}
    assert {p.device.type for p in model.parameters()} == {"cpu"}


# -- the initial logits that the chapter's initialisation trap rests on -----------
def test_untrained_loss_is_near_uniform():
    torch.manual_seed(0)
    model = TinyTransformerLM(200, context_size=16, d_model=16, n_heads=2, n_layers=1)
    x, y = torch.randint(200, (2, 8, 16))
    loss = nn.functional.cross_entropy(model(x).flatten(0, 1), y.flatten())
    assert abs(loss.item() - math.log(200)) < 0.5


def test_large_tied_embedding_predicts_its_input():
    """With N(0, 1) entries the input word's own logit (about d) dwarfs the others (about sqrt d)."""
    torch.manual_seed(0)
    model = TinyTransformerLM(200, context_size=16, d_model=64, n_heads=4, n_layers=2)
    nn.init.normal_(model.tok_emb.weight, std=1.0)
    x = torch.randint(200, (8, 16))
    with torch.no_grad():
        logits = model(x)
    assert (logits.argmax(-1) == x).double().mean() > 0.9
    assert abs(logits.std().item() / 8.0 - 1) < 0.15


def test_default_model_is_gpt_like():
    model = TinyTransformerLM(10, context_size=4)
    assert isinstance(model.lm_head, nn.Linear) and model.lm_head.bias is None
