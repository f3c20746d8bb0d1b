"""Shared fixtures for the ``runnable/`` tests.

BLAS is pinned to one thread before NumPy is imported: two cores shared by
pytest, OpenBLAS's pool and torch's pool make timings and CI erratic. If NumPy
was already imported by an earlier conftest, the environment variables come
too late, so we also ask the loaded OpenBLAS directly (through threadpoolctl
when it happens to be installed, otherwise through ctypes).

PyTorch is an independent reference, never a dependency of ``runnable/``. The
``torch`` fixture skips without it, except with ``REQUIRE_TORCH=1`` (set by
``.ci/run``), where a missing torch is a failure: in CI the parity tests always run.
"""

from __future__ import annotations

import os

_THREAD_VARS = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
for _var in _THREAD_VARS:
    os.environ.setdefault(_var, "1")

import importlib  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import tolerance  # noqa: E402

from runnable.blas import set_blas_threads  # noqa: E402


def _pin_loaded_blas_to_one_thread() -> None:
    """Limit an already-loaded BLAS to one thread (threadpoolctl if installed, else OpenBLAS directly)."""
    try:
        threadpoolctl = importlib.import_module("threadpoolctl")
    except ImportError:
        set_blas_threads(1)
    else:
        threadpoolctl.threadpool_limits(1)


_pin_loaded_blas_to_one_thread()


def pytest_collection_modifyitems(items):
    """Give every test that asks for the ``torch`` fixture the ``torch`` marker,
    so ``pytest -m "not torch"`` deselects exactly the parity tests."""
    for item in items:
        if "torch" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.torch)


@pytest.fixture(scope="session")
def torch():
    """The torch module, single-threaded; skip without it unless REQUIRE_TORCH=1."""
    try:
        module = importlib.import_module("torch")
    except ImportError as exc:
        if os.environ.get("REQUIRE_TORCH") == "1":
            pytest.fail(
                f"REQUIRE_TORCH=1 but torch cannot be imported ({exc}). "
                "Install the CPU wheel: `make torch` (uses /opt/wheels/torch-*+cpu-*.whl)."
            )
        pytest.skip("torch is not installed (PyTorch parity test); `make torch` installs the CPU wheel")
    module.set_num_threads(1)
    return module


@pytest.fixture(params=[np.float64, np.float32], ids=["float64", "float32"])
def dtype(request):
    """Run a test once in float64 and once in float32."""
    return request.param


@pytest.fixture
def rng():
    """A fresh generator per test, seeded with ``tolerance.SEED`` (``make test-matrix`` runs
    several seeds), so tests do not depend on their order."""
    return np.random.default_rng(tolerance.SEED)


@pytest.fixture
def numerical_grad():
    """``tolerance.numerical_grad``: five-point finite differences with a derived error bound;
    check an analytic gradient with ``numerical_grad(f, x).assert_matches(grad, label)``."""
    return tolerance.numerical_grad


@pytest.fixture
def torch_recurrent(torch):
    """Build ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` (eval mode) holding our ``CellParams``:
    ``torch_recurrent("GRU", forward, backward=None, **kwargs)``; a ``backward`` cell makes it
    bidirectional. For several layers pass a list as ``forward``, as for ``runnable.rnn.stacked``
    (entries are cells, or (forward, backward) pairs)."""

    def build(kind: str, forward, backward=None, **kwargs):
        layers = forward if isinstance(forward, list) else [forward if backward is None else (forward, backward)]
        bidi = isinstance(layers[0], tuple)
        first = layers[0][0] if bidi else layers[0]
        dtype = torch.float64 if first.dtype == np.float64 else torch.float32
        module = getattr(torch.nn, kind)(
            first.input_size, first.hidden_size, num_layers=len(layers), bidirectional=bidi, dtype=dtype, **kwargs
        ).eval()
        with torch.no_grad():
            for index, layer in enumerate(layers):
                cells = {f"_l{index}": layer[0], f"_l{index}_reverse": layer[1]} if bidi else {f"_l{index}": layer}
                for suffix, cell in cells.items():
                    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                        getattr(module, name + suffix).copy_(torch.from_numpy(getattr(cell, name)))
        return module

    return build


@pytest.fixture
def torch_attend(torch):
    """A short PyTorch re-implementation of ``runnable.seq2seq_attention.attend`` (there is no nn
    module for additive or Luong attention): ``torch_attend(score, query, encoder_outputs,
    src_is_pad, w_query, w_key, v, w_general) -> (context, weights)``, differentiable by autograd."""
    from runnable.seq2seq_attention import Score

    def attend(score, query, encoder_outputs, src_is_pad, w_query=None, w_key=None, v=None, w_general=None):
        if Score(score) is Score.ADDITIVE:
            hidden = torch.tanh((query @ w_query)[:, :, None, :] + (encoder_outputs @ w_key)[:, None, :, :])
            scores = hidden @ v
        elif Score(score) is Score.GENERAL:
            scores = (query @ w_general) @ encoder_outputs.transpose(1, 2)
        else:
            scores = query @ encoder_outputs.transpose(1, 2)
        if src_is_pad is not None:
            scores = scores.masked_fill(torch.as_tensor(src_is_pad)[:, None, :], float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        return weights @ encoder_outputs, weights

    return attend


@pytest.fixture(scope="session")
def rotary_embedding_torch(torch):
    """The ``rotary-embedding-torch`` package (test reference for ``runnable.rope``; ``make torch``
    installs it). Like torch: skipped without it, a failure with REQUIRE_TORCH=1."""
    try:
        return importlib.import_module("rotary_embedding_torch")
    except ImportError as exc:
        if os.environ.get("REQUIRE_TORCH") == "1":
            pytest.fail(f"REQUIRE_TORCH=1 but rotary_embedding_torch cannot be imported ({exc}). Run `make torch`.")
        pytest.skip("rotary-embedding-torch is not installed; `make torch` installs it")
