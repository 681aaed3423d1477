"""Potts (categorical) units: each unit takes one of q states 0..q-1 and couples through its one-hot code.

A layer of n Potts units with fields a_i(x) (stored as ``bias``, shape (n, q)) has the self-energy
E(x) = -sum_i a_i(x_i) and features phi(x) = one-hot(x) of length n q, so the coupling of an RBM is
phi(v)^T W phi(h) with W of shape (n q, n_hidden): the Potts RBM of Tubiana, Cocco & Monasson, eLife 8,
e39397 (2019), eq. 4.  Under an input I at inverse temperature beta, p(x_i = c | I) = softmax_c(beta (I_ic +
a_i(c))) and ln Z(I) = sum_i logsumexp_c beta (I_ic + a_i(c)).

Gauge: a constant added to the q fields of a site, or a vector c_i to the q coupling rows of a site, leaves
p(v) unchanged once the other layer's field absorbs sum_i c_i . phi(h).  The zero-sum gauge (sum_c a_i(c) = 0,
sum_c W_{ic, mu} = 0) must move that term into the hidden fields: :meth:`~boltzlab.models.RBM.apply_gauge_`
does both, using :meth:`PottsLayer.gauge_part` here.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .._tensor import as_tensor
from ..errors import DomainError, ShapeError, require
from ..random import Rng
from .base import Layer

GAUGES = ("zerosum", "none")


class PottsLayer(Layer):
    """n categorical units with q states each; ``bias`` (n, q) holds the fields a_i(c).

    Parameters
    ----------
    n_units : number of sites n.
    n_states : number of states q >= 2.
    bias : (n, q) fields (default zero).
    gauge : "zerosum" (default; what training keeps) or "none" (gauge-free: nothing is projected).
    """

    type_name = "potts"
    options = ("n_states", "gauge")

    def __init__(self, n_units: int, n_states: int = 21, bias: Any = None, *, gauge: str = "zerosum",
                 dtype: torch.dtype | None = None, device: Any = None) -> None:
        super().__init__(n_units)
        require(int(n_states) >= 2, f"Potts units need at least 2 states; got n_states={n_states}")
        require(gauge in GAUGES, f"unknown Potts gauge {gauge!r}; expected one of {', '.join(GAUGES)}")
        self.n_states = int(n_states)
        self.gauge = gauge
        shape = (self.n_units, self.n_states)
        dtype = dtype or torch.get_default_dtype()
        if bias is None:
            t = torch.zeros(shape, dtype=dtype, device=device)
        else:
            t = as_tensor(bias, dtype=dtype, device=device, name="visible_bias")
            if t.numel() != self.n_units * self.n_states:
                raise ShapeError(f"Potts fields have shape {tuple(t.shape)}; expected (n_sites, q) = {shape}")
            t = t.reshape(shape)
        self.bias = nn.Parameter(t.clone())

    def config(self) -> dict[str, Any]:
        return {**super().config(), "n_states": self.n_states, "gauge": self.gauge}

    # ------------------------------------------------------------- structure
    @property
    def n_features(self) -> int:
        return self.n_units * self.n_states

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """One-hot code, (batch, n q) in the layer's dtype."""
        idx = x.long() + torch.arange(0, self.n_features, self.n_states, device=x.device)
        out = torch.zeros(x.shape[0], self.n_features, dtype=self.bias.dtype, device=x.device)
        return out.scatter_(1, idx, 1.0)

    @property
    def unit_values(self) -> torch.Tensor:
        return torch.arange(self.n_states, dtype=self.dtype)

    def _logits(self, inputs: torch.Tensor, beta: float) -> torch.Tensor:
        z = inputs.reshape(inputs.shape[0], self.n_units, self.n_states) + self.bias
        return z if beta == 1.0 else beta * z

    # ------------------------------------------------------------- physics
    def energy(self, x: torch.Tensor) -> torch.Tensor:
        idx = x.long().unsqueeze(-1)
        return -torch.gather(self.bias.expand(x.shape[0], -1, -1), 2, idx).squeeze(-1).sum(-1)

    def log_partition(self, inputs: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        return torch.logsumexp(self._logits(inputs, beta), -1).sum(-1)

    def mean(self, inputs: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        return torch.softmax(self._logits(inputs, beta), -1).reshape(inputs.shape[0], -1)

    def variance(self, inputs: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        p = self.mean(inputs, beta)
        return p * (1 - p)

    @torch.no_grad()
    def sample_(self, inputs: torch.Tensor, beta: float, rng: Rng) -> torch.Tensor:
        """Inverse-CDF draw per site: the state is the number of cumulative probabilities below u.

        Returns a new (batch, n) tensor of states (the (batch, n q) buffer cannot hold them in place).
        """
        z = self._logits(inputs, beta)
        c = (z - z.amax(-1, keepdim=True)).exp_().cumsum_(-1)  # unnormalised CDF, last entry >= 1
        u = rng.uniform((inputs.shape[0], self.n_units, 1), c.dtype).mul_(c[..., -1:])
        return torch.searchsorted(c, u, right=True).squeeze_(-1).clamp_(max=self.n_states - 1).to(inputs.dtype)

    def random_state(self, n: int, rng: Rng) -> torch.Tensor:
        return rng.integers(self.n_states, (n, self.n_units)).to(self.dtype)

    def validate(self, x: torch.Tensor, name: str = "data") -> None:
        self._check_shape(x, name)
        self._check_finite(x, name)
        if not bool(((x >= 0) & (x < self.n_states) & (x == torch.round(x))).all()):
            raise DomainError(f"{name} holds values other than the integer states 0..{self.n_states - 1} "
                              "of these Potts units")

    @torch.no_grad()
    def init_from_data(self, data: torch.Tensor, eps: float = 1e-3, weights: torch.Tensor | None = None) -> None:
        """Fields a_i(c) = ln f_i(c) of the (weighted) site frequencies, mixed with eps of the uniform."""
        from .base import weighted_moments
        f = weighted_moments(self.features(data), weights)[0].reshape(self.n_units, self.n_states)
        f = (1 - eps) * f + eps / self.n_states
        self.bias.copy_(torch.log(f))
        self.gauge_fields_()

    # ------------------------------------------------------------- gauge
    def gauge_part(self, weights: torch.Tensor) -> torch.Tensor | None:
        """The per-site mean over states of the coupling rows (removed by the zero-sum gauge)."""
        if self.gauge == "none":
            return None
        k = weights.shape[1]
        w = weights.reshape(self.n_units, self.n_states, k)
        return w.mean(1, keepdim=True).expand_as(w).reshape(-1, k)

    @torch.no_grad()
    def gauge_fields_(self) -> None:
        if self.gauge != "none":
            self.bias.sub_(self.bias.mean(1, keepdim=True))

    @torch.no_grad()
    def shift_field_(self, delta: torch.Tensor) -> None:
        self.bias.add_(delta.reshape(self.n_units, self.n_states).to(self.bias))
