"""Binary {0, 1} units (Ackley, Hinton & Sejnowski, Cognitive Science 9, 147 (1985))."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import DomainError
from ..random import Rng
from .base import Layer


def _param(values: Any, n: int, dtype: torch.dtype | None, device: Any, name: str) -> nn.Parameter:
    from .._tensor import as_tensor
    if values is None:
        t = torch.zeros(n, dtype=dtype or torch.get_default_dtype(), device=device)
    else:
        t = as_tensor(values, dtype=dtype or torch.get_default_dtype(), device=device, name=name).reshape(-1)
        if t.numel() != n:
            from ..errors import ShapeError
            raise ShapeError(f"{name} has {t.numel()} entries; expected {n}")
    return nn.Parameter(t.clone())


class LinearBiasLayer(Layer):
    """Discrete scalar units whose only parameter is a bias: self-energy -b.x, local field beta (I + b)."""

    values: tuple[float, ...] = ()

    def __init__(self, n_units: int, bias: Any = None, *, dtype: torch.dtype | None = None,
                 device: Any = None) -> None:
        super().__init__(n_units)
        self.bias = _param(bias, self.n_units, dtype, device, "bias")

    @property
    def unit_values(self) -> torch.Tensor:
        return torch.tensor(self.values, dtype=self.dtype)

    def _field(self, inputs: torch.Tensor, beta: float) -> torch.Tensor:
        return beta * (inputs + self.bias)

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        return -(x @ self.bias)


class BinaryLayer(LinearBiasLayer):
    """Units x in {0, 1} with self-energy -b.x; p(x=1 | I) = sigmoid(beta (I + b)) (eq. 20-21)."""

    type_name = "binary"
    stackable = True
    values = (0.0, 1.0)

    def log_partition(self, inputs: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        """sum_i softplus(beta (I_i + b_i)): the soft-plus of eq. (22)-(23)."""
        return F.softplus(self._field(inputs, beta)).sum(-1)

    def mean(self, inputs: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        return torch.sigmoid(self._field(inputs, beta))

    def variance(self, inputs: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        m = self.mean(inputs, beta)
        return m * (1 - m)

    def sample_(self, inputs: torch.Tensor, beta: float, rng: Rng) -> torch.Tensor:
        return rng.bernoulli_logistic_(inputs, self.bias.detach(), beta)  # p(1) = sigmoid(beta (I + b))

    def random_state(self, n: int, rng: Rng) -> torch.Tensor:
        return rng.bernoulli_(torch.full((n, self.n_units), 0.5, dtype=self.dtype, device=self.device))

    def validate(self, x: torch.Tensor, name: str = "data") -> None:
        self._check_shape(x, name)
        self._check_finite(x, name)
        if not bool(((x == 0) | (x == 1)).all()):
            raise DomainError(f"{name} holds values other than 0 and 1, which binary units cannot take "
                              "(binarise the data first, e.g. --binarize threshold)")

    @torch.no_grad()
    def init_from_data(self, data: torch.Tensor, eps: float = 1e-3, weights: torch.Tensor | None = None) -> None:
        from .base import weighted_moments
        m = weighted_moments(data.to(self.dtype), weights)[0].clamp(eps, 1 - eps)
        self.bias.copy_(torch.log(m) - torch.log1p(-m))
