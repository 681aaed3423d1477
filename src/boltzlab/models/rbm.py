"""Restricted Boltzmann machines built from two layers of any unit types and a coupling matrix.

Energy of the centred RBM (Melchior, Fischer & Wiskott, J. Mach. Learn. Res. 17(99), 1 (2016); "eq. 16" below),
generalised to any unit type as in Tubiana, Cocco & Monasson, eLife 8, e39397 (2019):

    E(v, h) = E_vis(v) + E_hid(h) - (phi(v) - v_hat)^T W (phi(h) - h_hat)

with E_vis(v) = -b.v and E_hid(h) = -c.h for binary or spin units.  The centering offsets v_hat, h_hat are
buffers (not learnt); they change the parametrisation, not the family of distributions.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar

import torch
from torch import nn

from .._tensor import as_tensor
from ..errors import ShapeError, require
from ..random import Rng, as_rng
from ..sampling.gibbs import block_gibbs
from ..units import BinaryLayer, Layer, SpinLayer, layer_from_config
from ..units.base import weighted_moments
from .base import EnergyModel


class RBM(EnergyModel):
    """An RBM with arbitrary visible and hidden unit types: the interface of every bipartite model.

    Code that needs a hidden layer, the couplings' conditionals or the centering offsets asks
    ``isinstance(model, RBM)``; subclasses only add constructors, views and closed forms.

    Parameters
    ----------
    visible, hidden : Layer
        The two layers (they own their biases and any other per-unit parameters).
    weights : (visible.n_features, hidden.n_features) array, default zeros.
    visible_offset, hidden_offset : centering offsets v_hat, h_hat of eq. (16), default zero.
    """

    def __init__(self, visible: Layer, hidden: Layer, weights: Any = None, visible_offset: Any = None,
                 hidden_offset: Any = None) -> None:
        super().__init__()
        self.visible = visible
        self.hidden = hidden
        dtype, device = visible.dtype, visible.device
        shape = (visible.n_features, hidden.n_features)
        if weights is None:
            w = torch.zeros(shape, dtype=dtype, device=device)
        else:
            w = as_tensor(weights, dtype=dtype, device=device, name="weights")
            if tuple(w.shape) != shape:
                raise ShapeError(f"weights have shape {tuple(w.shape)}; expected (n_visible, n_hidden) = {shape}")
        self.weights = nn.Parameter(w.clone())
        self.register_buffer("visible_offset", self._offset(visible_offset, shape[0], "visible_offset"))
        self.register_buffer("hidden_offset", self._offset(hidden_offset, shape[1], "hidden_offset"))

    #: Unit types (visible, hidden) for which :func:`make_rbm` returns this class (None: any type).
    layer_types: ClassVar[tuple[str | None, str | None] | None] = None

    @classmethod
    def from_layers(cls, visible: Layer, hidden: Layer, weights: Any = None, visible_offset: Any = None,
                    hidden_offset: Any = None) -> "RBM":
        """An instance of this class from ready layers (W in the internal (n_features, n_features) shape)."""
        obj = cls.__new__(cls)
        RBM.__init__(obj, visible, hidden, weights, visible_offset, hidden_offset)
        return obj

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "RBM":
        return cls.from_layers(layer_from_config(config["visible"]), layer_from_config(config["hidden"]))

    @classmethod
    def example(cls, seed: int = 0) -> "RBM":
        """Gaussian visible and dReLU hidden units, every parameter and offset random (float64)."""
        rbm = make_rbm(4, 3, "gaussian", "drelu", weight_std=0.5, seed=seed, dtype=torch.float64)
        return _randomise_fields(rbm, seed)

    def _offset(self, x: Any, n: int, name: str) -> torch.Tensor:
        if x is None:
            return torch.zeros(n, dtype=self.visible.dtype, device=self.visible.device)
        t = as_tensor(x, dtype=self.visible.dtype, device=self.visible.device, name=name).reshape(-1)
        if t.numel() != n:
            raise ShapeError(f"{name} has {t.numel()} entries; expected {n}")
        return t.clone()

    # ----------------------------------------------------------------- description
    @property
    def n_hidden(self) -> int:
        return self.hidden.n_units

    @property
    def centered(self) -> bool:
        return bool(self.visible_offset.any() or self.hidden_offset.any())

    def config(self) -> dict[str, Any]:
        return {"class": type(self).__name__, "visible": self.visible.config(), "hidden": self.hidden.config()}

    def extra_repr(self) -> str:
        return f"{self.visible.type_name}({self.n_visible}) x {self.hidden.type_name}({self.n_hidden})"

    # ----------------------------------------------------------------- couplings
    def input_hidden(self, fv: torch.Tensor) -> torch.Tensor:
        """I_h = W^T (phi(v) - v_hat), from visible features ``fv``."""
        return (fv - self.visible_offset) @ self.weights

    def input_visible(self, fh: torch.Tensor) -> torch.Tensor:
        """I_v = W (phi(h) - h_hat), from hidden features ``fh``."""
        return (fh - self.hidden_offset) @ self.weights.t()

    # ----------------------------------------------------------------- energies
    def energy(self, v: Any, h: Any) -> torch.Tensor:
        """E(v, h) per sample (eq. 16)."""
        v = self.visible_tensor(v, "v")
        h = self._hidden_tensor(h)
        fv, fh = self.visible.features(v), self.hidden.features(h)
        coupling = ((fv - self.visible_offset) @ self.weights * (fh - self.hidden_offset)).sum(-1)
        return self.visible.energy(v) + self.hidden.energy(h) - coupling

    def free_energy_hidden(self, h: Any, beta: float = 1.0) -> torch.Tensor:
        """-ln sum_v exp(-beta E(v, h)): the effective energy of the hidden layer."""
        return self._free_energy_hidden(self._hidden_tensor(h), beta)

    def visible_free_energy(self, v: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        """-ln sum_h exp(-beta E(v, h)) in closed form (eq. 22, keeping the constant v_hat^T W h_hat)."""
        fv = self.visible.features(v) - self.visible_offset
        w_hhat = self.weights @ self.hidden_offset
        return (beta * (self.visible.energy(v) + fv @ w_hhat)
                - self.hidden.log_partition(fv @ self.weights, beta))

    def _free_energy_hidden(self, h: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        fh = self.hidden.features(h) - self.hidden_offset
        vhat_w = self.visible_offset @ self.weights
        return (beta * (self.hidden.energy(h) + fh @ vhat_w)
                - self.visible.log_partition(fh @ self.weights.t(), beta))

    def enumerable_marginals(self) -> list[tuple[Layer, Callable[[torch.Tensor, float], torch.Tensor]]]:
        return [(self.visible, self.visible_free_energy), (self.hidden, self._free_energy_hidden)]

    def _hidden_tensor(self, h: Any) -> torch.Tensor:
        t = as_tensor(h, dtype=self.dtype, device=self.device, name="h")
        if t.dim() == 1:
            t = t.unsqueeze(0)
        self.hidden.validate(t, "h")
        return t

    # ----------------------------------------------------------------- conditionals
    def mean_hidden(self, v: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        """E[phi(h) | v] (eq. 21 for binary units)."""
        return self.hidden.mean(self.input_hidden(self.visible.features(v)), beta)

    def mean_visible(self, h: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        """E[phi(v) | h] (eq. 20 for binary units)."""
        return self.visible.mean(self.input_visible(self.hidden.features(h)), beta)

    @torch.no_grad()
    def sample_hidden(self, v: torch.Tensor, beta: float = 1.0, rng: Rng | int | None = None) -> torch.Tensor:
        return self.hidden.sample_(self.input_hidden(self.visible.features(v)), beta, as_rng(rng, v.device))

    @torch.no_grad()
    def sample_visible(self, h: torch.Tensor, beta: float = 1.0, rng: Rng | int | None = None) -> torch.Tensor:
        return self.visible.sample_(self.input_visible(self.hidden.features(h)), beta, as_rng(rng, h.device))

    # ----------------------------------------------------------------- sampling
    @torch.no_grad()
    def sample(self, n_samples: int, steps: int = 100, beta: float = 1.0, seed: int | None = None, *,
               init: Any = None, rng: Rng | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Block Gibbs sampling from random starts (or from ``init``); returns ``(v, h)``.

        Each step draws h ~ p(h | v) then v ~ p(v | h) at inverse temperature ``beta``.
        """
        rng = rng if rng is not None else Rng(seed, self.device)
        v0 = self.visible.random_state(int(n_samples), rng) if init is None else self.visible_tensor(init, "init")
        return block_gibbs(self, v0, steps, beta=beta, rng=rng)

    def sample_chains(self, v: torch.Tensor, steps: int, beta: float, rng: Rng) -> torch.Tensor:
        return block_gibbs(self, v, steps, beta, rng)[0]

    # ----------------------------------------------------------------- centering
    @torch.no_grad()
    def update_offsets(self, batch: torch.Tensor, rate: float, weights: torch.Tensor | None = None) -> None:
        """Move v_hat, h_hat a fraction ``rate`` towards the (``weights``-weighted) batch means of phi(v)
        and E[phi(h) | v]."""
        fv = weighted_moments(self.visible.features(batch), weights)[0]
        mean_h = weighted_moments(self.mean_hidden(batch), weights)[0]
        self.set_offsets(self.visible_offset + rate * (fv - self.visible_offset),
                         self.hidden_offset + rate * (mean_h - self.hidden_offset))

    def gauge_free_part(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (shaped like W) minus the components the layers' gauges remove (x itself without a gauge).

        Penalties act through it, so that an l1/l2 term never pushes along a gauge direction (which
        would only move the hidden fields after the next :meth:`apply_gauge_`).
        """
        part = self.visible.gauge_part(x)
        out = x if part is None else x - part
        part = self.hidden.gauge_part(out.t())
        return out if part is None else out - part.t()

    @torch.no_grad()
    def apply_gauge_(self) -> None:
        """Bring W and the fields to the layers' gauge (zero-sum for Potts) without changing p(v, h).

        For a layer with a gauge, W = W' + C with C the part the gauge removes (phi(x)^T C = sum_i c_i
        for every x).  The coupling -(phi(v) - v_hat)^T C (phi(h) - h_hat) then equals
        -d . (phi(h) - h_hat) with d = (phi(x0) - v_hat)^T C for any state x0, so the other layer's field
        absorbs d (the constant d . h_hat only moves ln Z) and the layer's own fields are brought to the
        gauge (a constant again).  Omitting the absorption is the bug of rbms #27.
        """
        w = self.weights.data
        sides = ((self.visible, self.hidden, w, self.visible_offset),
                 (self.hidden, self.visible, w.t(), self.hidden_offset))
        for layer, other, rows, offset in sides:
            part = layer.gauge_part(rows)
            if part is None:
                continue
            x0 = torch.zeros(1, layer.n_units, dtype=w.dtype, device=w.device)
            d = (layer.features(x0)[0] - offset) @ part
            rows.sub_(part)
            other.shift_field_(d)
            layer.gauge_fields_()

    @torch.no_grad()
    def set_offsets(self, visible_offset: torch.Tensor | None = None,
                    hidden_offset: torch.Tensor | None = None) -> None:
        """Move the centering offsets and reparametrise the biases so that p(v, h) is unchanged.

        With v_hat -> v_hat', the hidden bias absorbs W^T (v_hat' - v_hat); with h_hat -> h_hat', the
        visible bias absorbs W (h_hat' - h_hat) (Montavon & Mueller 2012; Melchior et al. 2016).  Only
        layers whose self-energy has a linear bias (all unit types here) can absorb the shift.

        The distribution is unchanged but the energy moves by a constant: moving v_hat adds
        -(v_hat' - v_hat)^T W h_hat to E(v, h), so ln Z and every free energy shift by that amount
        (log-likelihoods do not).  Compare ln Z of two parametrisations only after accounting for it.
        """
        w = self.weights
        if visible_offset is not None:
            dv = visible_offset.to(w) - self.visible_offset
            self.hidden.shift_field_(dv @ w)
            self.visible_offset.add_(dv)
        if hidden_offset is not None:
            dh = hidden_offset.to(w) - self.hidden_offset
            self.visible.shift_field_(w @ dh)
            self.hidden_offset.add_(dh)


def _gaussian_weights(n_visible: int, n_hidden: int, std: float, seed: int | None,
                      dtype: torch.dtype | None) -> torch.Tensor:
    """W ~ N(0, std^2), drawn in float64 on the CPU so that every dtype and device gets the same matrix."""
    g = torch.Generator().manual_seed(0 if seed is None else int(seed))
    w = torch.randn(n_visible, n_hidden, generator=g, dtype=torch.float64) * std
    return w.to(dtype or torch.get_default_dtype())


def _layer_pair(cls: type[Layer], weights: Any, visible_bias: Any, hidden_bias: Any,
                dtype: torch.dtype | None, device: Any) -> tuple[Layer, Layer, torch.Tensor]:
    w = as_tensor(weights, dtype=dtype or torch.get_default_dtype(), device=device, name="weights")
    require(w.dim() == 2, f"weights must be a matrix (n_visible, n_hidden); got shape {tuple(w.shape)}", ShapeError)
    nv, nh = w.shape
    return (cls(nv, visible_bias, dtype=w.dtype, device=w.device),
            cls(nh, hidden_bias, dtype=w.dtype, device=w.device), w)


class BinaryRBM(RBM):
    """RBM with binary {0,1} visible and hidden units (eq. 16).

    ``BinaryRBM(weights=W, visible_bias=a, hidden_bias=b)`` with W of shape (n_visible, n_hidden);
    tensors or NumPy arrays.  ``BinaryRBM.initialize(n_visible, n_hidden)`` draws W ~ N(0, sigma^2).
    """

    layer_type: type[Layer] = BinaryLayer
    layer_types = ("binary", "binary")

    def __init__(self, weights: Any, visible_bias: Any = None, hidden_bias: Any = None, *,
                 visible_offset: Any = None, hidden_offset: Any = None, dtype: torch.dtype | None = None,
                 device: Any = None) -> None:
        vis, hid, w = _layer_pair(self.layer_type, weights, visible_bias, hidden_bias, dtype, device)
        super().__init__(vis, hid, w, visible_offset, hidden_offset)

    @classmethod
    def initialize(cls, n_visible: int, n_hidden: int, weight_std: float = 0.01, seed: int | None = None,
                   *, dtype: torch.dtype | None = None, device: Any = None) -> "BinaryRBM":
        """W ~ N(0, weight_std^2), zero biases (use ``model.visible.init_from_data`` for data means)."""
        return cls(_gaussian_weights(n_visible, n_hidden, weight_std, seed, dtype), dtype=dtype, device=device)

    @classmethod
    def example(cls, seed: int = 0) -> "BinaryRBM":
        return _randomise_fields(cls.initialize(5, 3, 0.5, seed, dtype=torch.float64), seed)


class SpinRBM(BinaryRBM):
    """RBM with Ising spin {-1,+1} visible and hidden units; same constructor as :class:`BinaryRBM`."""

    layer_type = SpinLayer
    layer_types = ("spin", "spin")


def _randomise_fields(rbm: RBM, seed: int) -> RBM:
    """Random biases and centering offsets (for :meth:`RBM.example`)."""
    g = torch.Generator().manual_seed(int(seed) + 1)
    with torch.no_grad():
        for layer in (rbm.visible, rbm.hidden):
            layer.shift_field_(0.3 * torch.randn(layer.n_features, generator=g, dtype=torch.float64))
        rbm.set_offsets(0.2 * torch.rand(rbm.visible.n_features, generator=g, dtype=torch.float64),
                        0.2 * torch.rand(rbm.hidden.n_features, generator=g, dtype=torch.float64))
    return rbm


def _new_layer(kind: str, n_units: int, options: dict[str, Any], dtype: torch.dtype, device: Any) -> Layer:
    if kind not in Layer.registry:
        raise ShapeError(f"unknown unit type {kind!r}; known: {', '.join(sorted(Layer.registry))}")
    cls = Layer.registry[kind]
    given = {k: v for k, v in options.items() if k in cls.options and v is not None}
    return cls(n_units, **given, dtype=dtype, device=device)


def make_rbm(n_visible: int, n_hidden: int, visible: str = "binary", hidden: str = "binary", *,
             weight_std: float = 0.01, seed: int | None = 0, dtype: torch.dtype = torch.float32,
             device: Any = None, n_states: int | None = None, hidden_states: int | None = None,
             gauge: str = "zerosum") -> RBM:
    """An RBM of the named unit types with W ~ N(0, weight_std^2) and zero biases, in the layers' gauge.

    Potts layers take ``n_states`` (visible q, default 21) or ``hidden_states`` (hidden q) and ``gauge``.
    The class is the registered RBM subclass whose ``layer_types`` match (``BinaryRBM``, ``SpinRBM``,
    ``PottsRBM`` for Potts visible units), else :class:`RBM`.
    """
    vis = _new_layer(visible, n_visible, {"n_states": n_states, "gauge": gauge}, dtype, device)
    hid = _new_layer(hidden, n_hidden, {"n_states": hidden_states, "gauge": gauge}, dtype, device)
    w = _gaussian_weights(vis.n_features, hid.n_features, weight_std, seed, dtype)
    matches = [cls for cls in EnergyModel.registry.values()
               if issubclass(cls, RBM) and cls.layer_types is not None
               and all(t in (None, kind) for t, kind in zip(cls.layer_types, (visible, hidden)))]
    rbm = (matches[0] if matches else RBM).from_layers(vis, hid, w.to(vis.device))
    rbm.apply_gauge_()
    return rbm
