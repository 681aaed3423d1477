"""Gaussian units: self-energy sum_i (gamma_i / 2) x_i^2 - theta_i x_i with precision gamma_i > 0.

Under an input I at inverse temperature beta the conditional is N((theta + I)/gamma, 1/(beta gamma)),
and ln Z = sum_i [beta (theta_i + I_i)^2 / (2 gamma_i) + (1/2) ln(2 pi / (beta gamma_i))].  With
gamma = mu^2 this is the visible layer of the scalar-field RBM
(Aarts, Lucini & Park, Phys. Rev. D 109, 034521 (2024), eq. 7).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ..errors import DomainError, require
from ..random import Rng
from .base import Layer
from .binary import _param


class GaussianLayer(Layer):
    """Real-valued units with a quadratic confining self-energy."""

    type_name = "gaussian"
    stackable = True
    discrete = False

    def __init__(self, n_units: int, bias: Any = None, precision: Any = None, *,
                 learn_precision: bool = False, dtype: torch.dtype | None = None, device: Any = None) -> None:
        super().__init__(n_units)
        self.bias = _param(bias, self.n_units, dtype, device, "bias")
        prec = _param(precision, self.n_units, dtype, device, "precision")
        if precision is None:
            with torch.no_grad():
                prec.fill_(1.0)
        require(bool((prec > 0).all()), "Gaussian units need a positive precision (the model does not exist otherwise)")
        self.precision = nn.Parameter(prec.data, requires_grad=learn_precision)
        self.learn_precision = learn_precision

    def config(self) -> dict[str, Any]:
        return {**super().config(), "learn_precision": self.learn_precision}

    def domain_problem(self) -> str | None:
        """A learnt precision that reached zero or below leaves exp(-beta E) unnormalisable."""
        prec = self.precision.detach()
        bad = ~(prec > 0)
        if bool(bad.any()):
            i = int(bad.nonzero()[0, 0])
            return f"Gaussian unit {i} has precision {float(prec[i]):.4g} <= 0 (its conditional does not exist)"
        return None

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        return (0.5 * self.precision * x * x - self.bias * x).sum(-1)

    def log_partition(self, inputs: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        f = inputs + self.bias
        return (beta * f * f / (2 * self.precision)
                + 0.5 * torch.log(2 * math.pi / (beta * self.precision))).sum(-1)

    def mean(self, inputs: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        return (inputs + self.bias) / self.precision

    def variance(self, inputs: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        return (1.0 / (beta * self.precision)).expand_as(inputs)

    def sample_(self, inputs: torch.Tensor, beta: float, rng: Rng) -> torch.Tensor:
        prec = self.precision.detach()  # mean (I + theta) / gamma, variance 1 / (beta gamma)
        return rng.gaussian_(inputs, self.bias.detach(), 1.0 / prec, torch.rsqrt(beta * prec))

    def random_state(self, n: int, rng: Rng) -> torch.Tensor:
        zeros = torch.zeros(n, self.n_units, dtype=self.dtype, device=self.device)
        return self.sample_(zeros, 1.0, rng)

    def validate(self, x: torch.Tensor, name: str = "data") -> None:
        self._check_shape(x, name)
        require(bool(torch.isfinite(x).all()), f"{name} contains NaN or infinite values", DomainError)

    @torch.no_grad()
    def init_from_data(self, data: torch.Tensor, eps: float = 1e-3, weights: torch.Tensor | None = None) -> None:
        from .base import weighted_moments
        d = data.to(self.dtype)
        if weights is None:
            mean, var = d.mean(0), d.var(0)
        else:
            mean, var = weighted_moments(d, weights)
        prec = 1.0 / var.clamp_min(eps)
        self.precision.copy_(prec)
        self.bias.copy_(prec * mean)
