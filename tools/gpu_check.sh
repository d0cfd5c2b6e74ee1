#!/usr/bin/env bash
# The GPU check, for a machine with CUDA (run from the repository root, after `make env`):
#   1. every layer's unit tests with tensors created on the GPU (TYING_TEST_DEVICE);
#   2. the three heaviest chapters with tying.get_device() choosing CUDA.
# It prints the device, pytest's summary and one line per notebook; exit 0 only if all pass.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DEVICE=${DEVICE:-cuda}
"$PY" - <<PYEOF
import torch
assert torch.cuda.is_available(), "no CUDA device: this check needs a GPU"
print("device:", torch.cuda.get_device_name(0), "| torch", torch.__version__)
PYEOF
layer_tests=(tests/test_layers_local.py tests/test_layers_hashed.py tests/test_circulant.py
  tests/test_group_conv.py tests/test_sets.py tests/test_atomistic.py tests/test_recurrent.py
  tests/test_depth.py tests/test_autoencoder.py tests/test_projector.py tests/test_soft_tie.py
  tests/test_multitask.py tests/test_toeplitz.py tests/test_transformer.py tests/test_ties.py)
TYING_TEST_DEVICE=$DEVICE "$PY" -m pytest -q -p no:cacheprovider "${layer_tests[@]}"
TYING_DEVICE=$DEVICE TYING_PROGRESS=0 "$PY" tools/run_notebooks.py \
  notebooks/principles/01_inductive_bias.ipynb \
  notebooks/applications/03_transformers.ipynb \
  notebooks/applications/01_convolutions_and_symmetry.ipynb
