"""Means and covariances of binary data and of models, the inputs of the perturbative solutions.

The perturbation theory of Boltzmann machines needs the data only
through x_hat^mu = E_D[x^mu] and C_hat^{mu nu} = E_D[(x^mu - x_hat^mu)(x^nu - x_hat^nu)] (Theorem 27, with
the population normalisation 1/N).  Everything here is float64.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch

from .._tensor import as_tensor
from ..errors import DomainError, ShapeError
from ..models.base import EnergyModel
from ..partition.exact import visible_distribution as exact_distribution


class Moments(NamedTuple):
    """First and second central moments of a distribution over {0, 1}^n (float64)."""

    mean: torch.Tensor
    cov: torch.Tensor

    @property
    def variance(self) -> torch.Tensor:
        return torch.diagonal(self.cov)

    def pearson(self) -> torch.Tensor:
        """Pearson coefficients C_ab / sqrt(C_aa C_bb) (Remark 34, eq. 53)."""
        s = torch.sqrt(self.variance)
        return self.cov / torch.outer(s, s)


def binary_data(data: Any, name: str = "data") -> torch.Tensor:
    """``data`` as a float64 (samples, units) tensor with values in {0, 1}; DomainError otherwise."""
    x = as_tensor(data, dtype=torch.float64, name=name)
    if x.dim() != 2 or x.shape[0] == 0:
        raise ShapeError(f"{name} must be a non-empty matrix (samples, units); got shape {tuple(x.shape)}")
    if not bool(((x == 0) | (x == 1)).all()):
        raise DomainError(f"{name} holds values other than 0 and 1; the Boltzmann machine of eq. (12) has "
                          "binary units (binarise the data first)")
    return x


def data_moments(data: Any, weights: Any = None) -> Moments:
    """x_hat and C_hat of binary ``data`` (rows are samples; optional non-negative sample ``weights``)."""
    x = binary_data(data)
    if weights is None:
        w = torch.full((x.shape[0],), 1.0 / x.shape[0], dtype=torch.float64)
    else:
        w = as_tensor(weights, dtype=torch.float64, name="weights").reshape(-1)
        if w.numel() != x.shape[0] or bool((w < 0).any()) or float(w.sum()) <= 0:
            raise ShapeError("weights must be one non-negative number per sample, not all zero")
        w = w / w.sum()
    mean = w @ x
    y = x - mean
    return Moments(mean, (y * w[:, None]).t() @ y)


def distribution_moments(states: torch.Tensor, p: torch.Tensor) -> Moments:
    """Moments of the distribution that gives probability ``p`` to each row of ``states``."""
    states, p = states.double(), p.double()
    mean = p @ states
    y = states - mean
    return Moments(mean, (y * p[:, None]).t() @ y)


@torch.no_grad()
def exact_moments(model: EnergyModel, beta: float = 1.0) -> Moments:
    """Exact visible means and covariances of a small model by enumeration (float64)."""
    return distribution_moments(*exact_distribution(model, beta))


def check_interior(mean: torch.Tensor) -> None:
    """Refuse units that are constant in the data: x_hat (1 - x_hat) = 0 divides Theorem 27's W.

    The mean of a constant column, summed as w @ x, can land a rounding error inside (0, 1) (which side
    depends on the BLAS), so means within 1e-12 of 0 or 1 count as constant; a unit that varies in n
    samples has a mean at least 1/n away.
    """
    eps = 1e-12
    bad = torch.nonzero((mean <= eps) | (mean >= 1 - eps)).flatten().tolist()
    if bad:
        raise DomainError(f"unit(s) {', '.join(map(str, bad[:10]))} are constant in the data (mean 0 or 1); the "
                          "perturbative solution needs 0 < mean < 1 (drop them or apply the zoom-in trick)")
