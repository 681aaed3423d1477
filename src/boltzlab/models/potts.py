"""RBMs with Potts (categorical) visible units, for sequence data such as protein families.

Energy (Tubiana, Cocco & Monasson, eLife 8, e39397 (2019), eq. 4):

    E(v, h) = -sum_i a_i(v_i) + E_hid(h) - sum_{i, mu} (W_{i v_i mu} - v_hat_{i v_i mu}-terms) (h_mu - h_hat_mu)

i.e. the generic :class:`~boltzlab.models.RBM` with a :class:`~boltzlab.units.PottsLayer` visible layer:
internally W is (n q, n_hidden) over one-hot features; :class:`PottsRBM` takes and shows it as (n, q, n_hidden).
Any hidden unit type works.  Potts units are an ordinary layer: ``make_rbm(..., hidden="potts",
hidden_states=q)`` builds an RBM with Potts hidden units, and every sampler, estimator and the trainer treat
both the same way; this class only adds the (n, q, n_hidden) constructor and views.
"""

from __future__ import annotations

from typing import Any

import torch

from .._tensor import as_tensor
from ..errors import IntractableError, ShapeError
from ..units import Layer, PottsLayer
from .rbm import RBM, _gaussian_weights, _randomise_fields


def _hidden_layer(hidden: str | Layer, n_hidden: int, hidden_bias: Any, dtype: torch.dtype,
                  device: Any) -> Layer:
    if isinstance(hidden, Layer):
        if hidden.n_units != n_hidden:
            raise ShapeError(f"the hidden layer has {hidden.n_units} units; the weights need {n_hidden}")
        return hidden.to(dtype=dtype, device=device)
    if hidden not in Layer.registry or hidden == "potts":
        raise ShapeError(f"unknown hidden unit type {hidden!r}; known: binary, spin, gaussian, relu, drelu "
                         "(Potts hidden units: make_rbm(..., hidden='potts', hidden_states=q))")
    return Layer.registry[hidden](n_hidden, hidden_bias, dtype=dtype, device=device)


class PottsRBM(RBM):
    """RBM with q-state Potts visible units and any hidden unit type.

    ``PottsRBM(weights=W, visible_bias=a, hidden_bias=b)`` with W (n_visible, q, n_hidden), a (n_visible, q),
    b (n_hidden,); tensors or arrays.  Visible states are integers 0..q-1, shape (batch, n_visible).

    Keyword options: ``hidden`` ("binary" default, "spin", "gaussian", "relu", "drelu", or a Layer),
    ``gauge`` ("zerosum" default: what :meth:`apply_gauge_` and training enforce; "none": gauge-free),
    ``visible_offset`` ((n, q) or (n q,)) and ``hidden_offset`` for centering, ``dtype``, ``device``.
    The parameters are used as given (no gauge is applied at construction, so ``energy`` is exactly
    -sum_i a_i(v_i) - sum_i W_{i v_i} . h - b . h for binary hidden units).
    """

    def __init__(self, weights: Any, visible_bias: Any = None, hidden_bias: Any = None, *,
                 hidden: str | Layer = "binary", gauge: str = "zerosum", visible_offset: Any = None,
                 hidden_offset: Any = None, dtype: torch.dtype | None = None, device: Any = None) -> None:
        w = as_tensor(weights, dtype=dtype or torch.get_default_dtype(), device=device, name="weights")
        if w.dim() != 3:
            raise ShapeError(f"Potts weights must have shape (n_visible, q, n_hidden); got {tuple(w.shape)}")
        n, q, m = w.shape
        vis = PottsLayer(n, q, visible_bias, gauge=gauge, dtype=w.dtype, device=w.device)
        hid = _hidden_layer(hidden, m, hidden_bias, w.dtype, w.device)
        super().__init__(vis, hid, w.reshape(n * q, m), visible_offset, hidden_offset)

    layer_types = ("potts", None)

    @classmethod
    def initialize(cls, n_visible: int, n_states: int, n_hidden: int, *, hidden: str = "binary",
                   weight_std: float = 0.01, seed: int | None = 0, gauge: str = "zerosum",
                   dtype: torch.dtype | None = None, device: Any = None) -> "PottsRBM":
        """W ~ N(0, weight_std^2) brought to the gauge, zero fields."""
        w = _gaussian_weights(n_visible * n_states, n_hidden, weight_std, seed, dtype)
        rbm = cls(w.reshape(n_visible, n_states, n_hidden), hidden=hidden, gauge=gauge, dtype=dtype, device=device)
        rbm.apply_gauge_()
        return rbm

    @classmethod
    def example(cls, seed: int = 0) -> "PottsRBM":
        return _randomise_fields(random_potts_rbm(4, 3, 2, seed=seed), seed)

    # ----------------------------------------------------------------- views
    @property
    def n_states(self) -> int:
        return self.visible.n_states

    @property
    def potts_weights(self) -> torch.Tensor:
        """W as (n_visible, q, n_hidden) (a view of the parameter)."""
        return self.weights.view(self.n_visible, self.n_states, self.n_hidden)

    @torch.no_grad()
    def sample(self, n_samples: int, steps: int = 100, beta: float = 1.0, seed: int | None = None, *,
               init: Any = None, rng: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Block Gibbs sampling as :meth:`RBM.sample`; ``v`` is returned as integer states (int64)."""
        v, h = super().sample(n_samples, steps, beta, seed, init=init, rng=rng)
        return v.long(), h


@torch.no_grad()
def exact_samples(model: RBM, n_samples: int, seed: int = 0, max_log2_states: float = 20) -> torch.Tensor:
    """``n_samples`` independent exact draws of v from a model with a small enumerable layer.

    With few visible states the visible distribution is enumerated (float64) and sampled by a multinomial;
    otherwise, with few hidden states (discrete hidden layer), h is drawn exactly from its marginal
    p(h) ∝ exp(-F(h)) and then v ~ p(v | h) (ancestral sampling).  Data with a known truth for tests and
    benchmarks (e.g. sequences from a known Potts model).
    """
    from ..partition.exact import _float64_copy, visible_distribution
    from ..random import Rng
    g = torch.Generator(device="cpu").manual_seed(int(seed))
    if model.visible.discrete and model.visible.n_states_log2 <= max_log2_states:
        states, p = visible_distribution(model, max_log2_states=max_log2_states)
        idx = torch.multinomial(p.cpu(), int(n_samples), replacement=True, generator=g)
        return states[idx.to(states.device)]
    hid = model.hidden
    if not (hid.discrete and hid.n_states_log2 <= max_log2_states):
        raise IntractableError("exact samples need a visible or hidden layer of at most "
                               f"2^{max_log2_states:.0f} states")
    m = _float64_copy(model)
    hs = m.hidden.enumerate_states(0, int(round(2 ** m.hidden.n_states_log2)))
    p = torch.softmax(-m._free_energy_hidden(hs), 0)
    idx = torch.multinomial(p.cpu(), int(n_samples), replacement=True, generator=g)
    v = m.sample_visible(hs[idx.to(hs.device)], 1.0, Rng(int(seed) + 1, hs.device))
    return v.to(model.dtype)


def random_potts_rbm(n_visible: int, n_states: int, n_hidden: int, *, hidden: str = "binary",
                     weight_std: float = 1.0, field_std: float = 1.0, seed: int = 0,
                     dtype: torch.dtype = torch.float64) -> PottsRBM:
    """A Potts RBM with N(0, std^2) weights and fields in the zero-sum gauge: a known 'true' model."""
    g = torch.Generator().manual_seed(int(seed))
    w = torch.randn(n_visible, n_states, n_hidden, generator=g, dtype=torch.float64) * weight_std
    a = torch.randn(n_visible, n_states, generator=g, dtype=torch.float64) * field_std
    b = torch.randn(n_hidden, generator=g, dtype=torch.float64) * 0.5
    rbm = PottsRBM(w, a, b if hidden in ("binary", "spin") else None, hidden=hidden, dtype=dtype)
    rbm.apply_gauge_()
    return rbm
