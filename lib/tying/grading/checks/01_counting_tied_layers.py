"""Counting tied layers.

Checks of ``solutions/01_counting_tied_layers.ipynb``: parameter counts of a
convolution and of the locally connected layer with the same windows, a
parameter counter that counts a shared tensor once, a module whose two linear
layers share one weight, and an autoencoder whose decoder uses the encoder's
weight transposed.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from tying.grading import (
    Question,
    as_integer,
    attribute,
    build_module,
    check,
    count_parameters,
    expect_close,
    expect_integer,
    expect_parameter_count,
    expect_same_parameter,
    fail,
)
from tying.layers import LocallyConnected2d
from tying.theory import conv2d_param_count, locally_connected2d_param_count

TITLE = "Counting tied layers"

QUESTIONS = {
    "q1": Question(
        "Parameter counts of a convolution and a locally connected layer",
        "A convolution has one kernel of C_in x k x k weights and one bias per output channel. "
        "The locally connected layer has that much for every output position, and a 5 x 5 window "
        "fits in (28 - 5 + 1) positions along each side of a 28 x 28 image.",
    ),
    "q2": Question(
        "A parameter counter that counts a shared tensor once",
        "module.parameters() lists every parameter tensor once, even one used in two places, and "
        "skips buffers such as BatchNorm's running statistics; tensor.numel() counts its entries. "
        "state_dict() is the wrong source: it lists a tied tensor under each of its names.",
    ),
    "q3": Question(
        "Two linear layers that share one weight",
        "Tying in PyTorch means assigning the same Parameter object to both places: "
        "self.layer2.weight = self.layer1.weight. Copying values (clone(), load_state_dict) or "
        "sharing only the memory (.data = ...) leaves two parameters.",
    ),
    "q4": Question(
        "A tied autoencoder: decode with the encoder's weight transposed",
        "h = relu(self.encoder(x)); the decoder has no weight of its own: use "
        "F.linear(h, self.encoder.weight.t(), self.decoder_bias), or h @ self.encoder.weight + self.decoder_bias.",
    ),
}


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@check("q1", points=1, timeout=5)
def conv_count(answers):
    n_conv = as_integer(answers.get("n_conv"), name="n_conv")
    if n_conv == conv2d_param_count(3, 16, (5, 5), bias=False):
        fail("`n_conv` counts the weights but not the 16 biases")
    expect_integer(n_conv, conv2d_param_count(3, 16, (5, 5)), name="n_conv", what="count")


@check("q1", points=1, timeout=5)
def locally_connected_count(answers):
    n_local = as_integer(answers.get("n_local"), name="n_local")
    if n_local == locally_connected2d_param_count(3, 16, (5, 5), (28, 28)):
        fail("`n_local` uses 28 x 28 positions, but a 5 x 5 window without padding fits in fewer")
    expect_integer(
        n_local,
        locally_connected2d_param_count(3, 16, (5, 5), (24, 24)),
        name="n_local",
        what="count",
    )


def _tied_module() -> nn.Module:
    """Embedding and output layer sharing one weight (as in tied language models), plus a buffer."""
    # A private generator state: checking must never change the reader's random stream.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = nn.Module()
        model.embed = nn.Embedding(11, 4)
        model.norm = nn.BatchNorm1d(4)  # 8 parameters and 3 buffers
        model.out = nn.Linear(4, 11)
        model.out.weight = model.embed.weight
    return model


@check("q2", points=1, timeout=5)
def counts_untied_modules(answers):
    counter = answers.function("count_parameters")
    cases = {
        "nn.Linear(5, 3)": nn.Linear(5, 3),
        "nn.Conv2d(3, 16, 5)": nn.Conv2d(3, 16, 5),
        "LocallyConnected2d(1, 2, 3, in_size=(6, 6))": LocallyConnected2d(1, 2, 3, in_size=(6, 6)),
        "a Sequential of two Linear layers": nn.Sequential(
            nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)
        ),
    }
    for label, module in cases.items():
        expect_integer(
            counter(module),
            count_parameters(module),
            name=f"count_parameters({label})",
            what="count",
        )


@check("q2", points=1, timeout=5)
def counts_shared_tensor_once(answers):
    counter = answers.function("count_parameters")
    model = _tied_module()
    got = counter(model)
    expect_integer(got, count_parameters(model), name="count_parameters(tied model)", what="count")


@check("q3", points=2, timeout=5)
def layers_share_one_weight(answers):
    model = build_module(answers, "SharedTwoLayer", 8)
    w1 = attribute(model, "layer1.weight", name="SharedTwoLayer(8)")
    w2 = attribute(model, "layer2.weight", name="SharedTwoLayer(8)")
    expect_same_parameter(w1, w2, module=model, names=("layer1.weight", "layer2.weight"))
    b1 = attribute(model, "layer1.bias", name="SharedTwoLayer(8)")
    b2 = attribute(model, "layer2.bias", name="SharedTwoLayer(8)")
    if b1 is b2:
        fail("the biases are tied too; the question ties only the weights")


@check("q3", points=1, timeout=5)
def shared_layer_count_and_forward(answers):
    model = build_module(answers, "SharedTwoLayer", 8)
    expect_parameter_count(model, 8 * 8 + 8 + 8, name="SharedTwoLayer(8)")
    x = torch.randn(5, 8, generator=_generator(1))
    w = attribute(model, "layer1.weight", name="SharedTwoLayer(8)")
    b1 = attribute(model, "layer1.bias", name="SharedTwoLayer(8)")
    b2 = attribute(model, "layer2.bias", name="SharedTwoLayer(8)")
    with torch.no_grad():
        expected = F.linear(torch.relu(F.linear(x, w, b1)), w, b2)
        got = answers.run(model, x, what="SharedTwoLayer(8)(x)")
    expect_close(got, expected, name="SharedTwoLayer(8)(x)", atol=1e-5)


@check("q4", points=2, timeout=5)
def autoencoder_decodes_with_transpose(answers):
    model = build_module(answers, "TiedAutoencoder", 12, 5)
    model = copy.deepcopy(model)  # the check changes the weights below
    encoder = attribute(model, "encoder", name="TiedAutoencoder(12, 5)")
    weight = attribute(encoder, "weight", name="encoder")
    bias = attribute(encoder, "bias", name="encoder")
    decoder_bias = attribute(model, "decoder_bias", name="TiedAutoencoder(12, 5)")
    g = _generator(2)
    # New random values: a decoder with a weight of its own no longer matches,
    # even one initialised as a copy of the encoder's.
    with torch.no_grad():
        weight.copy_(torch.randn(weight.shape, generator=g))
        bias.copy_(torch.randn(bias.shape, generator=g))
        decoder_bias.copy_(torch.randn(decoder_bias.shape, generator=g))
        x = torch.randn(4, 12, generator=g)
        expected = F.linear(torch.relu(F.linear(x, weight, bias)), weight.t(), decoder_bias)
        got = answers.run(model, x, what="TiedAutoencoder(12, 5)(x)")
    expect_close(got, expected, name="TiedAutoencoder(12, 5)(x)", atol=1e-5)


@check("q4", points=1, timeout=5)
def autoencoder_parameter_count(answers):
    model = build_module(answers, "TiedAutoencoder", 64, 16)
    # The count alone is right before forward is written: require a working forward first.
    answers.run(model, torch.zeros(2, 64), what="TiedAutoencoder(64, 16)(x)")
    expect_parameter_count(model, 64 * 16 + 16 + 64, name="TiedAutoencoder(64, 16)")
