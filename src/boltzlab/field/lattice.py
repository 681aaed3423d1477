"""Free scalar fields on periodic lattices: the target theories of Sec. V of
Aarts, Lucini, Park, PRD 109, 034521 (2024).

1D (eq. 76-78):  K^phi_ij = (2 + m^2) delta_ij - delta_{i,j+1} - delta_{i,j-1},
                 kappa_k = m^2 + 2 - 2 cos(2 pi k / N),  -N/2 < k <= N/2.
2D (eq. 82-83):  K^{phi,2d} = m^2 1 + Delta^1d (x) 1 + 1 (x) Delta^1d (Kronecker products, row-major
                 flattening i = x N_y + y),   kappa_k = m^2 + 4 - 2 cos(2 pi k_x/N_x) - 2 cos(2 pi k_y/N_y).

Any number of dimensions works the same way (a sum of one 1D Laplacian per axis).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch

from ..errors import ConfigError, ShapeError
from ..random import Rng, as_rng
from .model import gaussian_samples


def _shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        dims = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise ShapeError(f"lattice shape must be a sequence of positive integers, got {shape!r}") from None
    if not dims or min(dims) < 1:
        raise ShapeError(f"lattice shape must be a non-empty sequence of positive integers, got {shape!r}")
    return dims


def _check_m2(m2: float) -> float:
    m2 = float(m2)
    if not math.isfinite(m2) or m2 <= 0:
        raise ConfigError(f"the lattice mass m^2 must be positive and finite (the free field does not exist "
                          f"otherwise), got {m2:g}")
    return m2


def laplacian_1d(n: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Periodic lattice Laplacian 2 delta_ij - delta_{i,j+1} - delta_{i,j-1} (the hopping part of eq. 77)."""
    eye = torch.eye(n, dtype=dtype)
    shift = torch.roll(eye, 1, 0)
    return 2 * eye - shift - shift.t()


def lattice_kernel(shape: Sequence[int] | int = (10,), m2: float = 4.0, dtype: torch.dtype = torch.float64,
                   device: Any = None) -> torch.Tensor:
    """The target kernel K^phi of a free field on a periodic lattice (eq. 77 in 1D, eq. 83 in 2D)."""
    dims = _shape(shape)
    m2 = _check_m2(m2)
    n = int(np.prod(dims))
    k = m2 * torch.eye(n, dtype=torch.float64)
    for axis, size in enumerate(dims):
        parts = [torch.eye(d, dtype=torch.float64) for d in dims]
        parts[axis] = laplacian_1d(size)
        term = parts[0]
        for p in parts[1:]:
            term = torch.kron(term, p)
        k = k + term
    return k.to(dtype=dtype, device=device)


def lattice_spectrum(shape: Sequence[int] | int = (10,), m2: float = 4.0) -> torch.Tensor:
    """Analytic eigenvalues kappa_k = m^2 + p_lat^2 (eq. 78, 82), ascending, float64."""
    dims = _shape(shape)
    m2 = _check_m2(m2)
    grids = np.meshgrid(*[2 - 2 * np.cos(2 * np.pi * np.arange(d) / d) for d in dims], indexing="ij")
    p2 = sum(g.reshape(-1) for g in grids)
    return torch.as_tensor(np.sort(m2 + p2), dtype=torch.float64)


def free_field_samples(shape: Sequence[int] | int, m2: float, n: int, seed: int | None = 0, *,
                       rng: Rng | None = None, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``n`` exact, independent configurations of the free field (flattened), phi ~ N(0, (K^phi)^{-1})."""
    k = lattice_kernel(shape, m2)
    rng = rng if rng is not None else as_rng(seed, "cpu")
    return gaussian_samples(k, int(n), rng).to(dtype)


def action_density(phi: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """s = S(phi) / N_v with S = phi^T K phi / 2 (eq. 76), per configuration.

    For exact samples of N(0, K^{-1}) the action is chi^2_{N_v}/2 and <s> = 1/2 (equipartition, Fig. 5)."""
    k = kernel.to(phi)
    return 0.5 * ((phi @ k) * phi).sum(-1) / phi.shape[-1]


def parse_lattice(text: str) -> tuple[int, ...]:
    """``"10"`` -> (10,), ``"4x4"`` -> (4, 4)."""
    try:
        dims = tuple(int(p) for p in str(text).lower().split("x"))
    except ValueError:
        raise ShapeError(f"lattice {text!r} is not of the form N or NxM") from None
    return _shape(dims)
