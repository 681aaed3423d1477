"""Ising spins s in {-1, +1}: p(s | I) ∝ exp(beta s (I + b))."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import DomainError
from ..random import Rng
from .binary import LinearBiasLayer


class SpinLayer(LinearBiasLayer):
    """Units s in {-1, +1} with self-energy -b.s; <s | I> = tanh(beta (I + b))."""

    type_name = "spin"
    stackable = True
    values = (-1.0, 1.0)

    def log_partition(self, inputs: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        """sum_i ln(2 cosh z_i) = sum_i |z_i| + softplus(-2|z_i|) (no overflow).

        Complex fields (spin wave functions with complex parameters, Carleo & Troyer, Science 355, 602 (2017))
        use z + ln(1 + e^{-2z}) with z -> -z where Re z < 0 (cosh is even); the imaginary part is then defined
        modulo 2 pi."""
        z = self._field(inputs, beta)
        if z.is_complex():
            z = torch.where(z.real < 0, -z, z)
            return (z + torch.log1p(torch.exp(-2 * z))).sum(-1)
        z = z.abs()
        return (z + F.softplus(-2 * z)).sum(-1)

    def mean(self, inputs: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        return torch.tanh(self._field(inputs, beta))

    def variance(self, inputs: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        return 1 - self.mean(inputs, beta) ** 2

    def sample_(self, inputs: torch.Tensor, beta: float, rng: Rng) -> torch.Tensor:
        # p(s = +1) = sigmoid(2 beta (I + b))
        return rng.bernoulli_logistic_(inputs, self.bias.detach(), 2.0 * beta, -1.0, 1.0)

    def random_state(self, n: int, rng: Rng) -> torch.Tensor:
        return rng.bernoulli_(torch.full((n, self.n_units), 0.5, dtype=self.dtype, device=self.device), -1.0, 1.0)

    def validate(self, x: torch.Tensor, name: str = "data") -> None:
        self._check_shape(x, name)
        self._check_finite(x, name)
        if not bool(((x == -1) | (x == 1)).all()):
            raise DomainError(f"{name} holds values other than -1 and +1, which spin units cannot take")

    @torch.no_grad()
    def init_from_data(self, data: torch.Tensor, eps: float = 1e-3, weights: torch.Tensor | None = None) -> None:
        from .base import weighted_moments
        self.bias.copy_(torch.atanh(weighted_moments(data.to(self.dtype), weights)[0].clamp(-1 + eps, 1 - eps)))
