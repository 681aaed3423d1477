"""A feed-forward neural-network wave function for closed-shell dots: Slater determinants at backflow coordinates
times a neural Jastrow factor.

    Psi(X) = det D_up(Q) det D_down(Q) exp(-alpha omega sum_i r_i^2 / 2) exp(J(X))
    Q_i    = r_i + sum_{j != i} eta(r_ij) (r_i - r_j)                                  (backflow)
    J(X)   = sum_{i<j} [a_ij r_ij / (1 + beta_ij r_ij) + u(r_ij, s_ij)]                 (Jastrow)

D holds the Hermite orbitals of :class:`~boltzlab.quantum.qdot.slater.SlaterHermite` evaluated at the quasi-particle
coordinates Q (backflow: Feynman & Cohen, Phys. Rev. 102, 1189 (1956); Kwon, Ceperley & Martin, Phys. Rev. B 48,
12037 (1993)); eta and u are small feed-forward networks of the pair distance (u also of whether the spins are
parallel, s_ij), as in the neural Jastrow factors of Nordhagen et al., Frontiers in Physics 11 (2023).  The
Pade-Jastrow part keeps Kato's cusp (a_ij = 1/(D-1) antiparallel, 1/(D+1) parallel; beta variational); the
networks' last layers start at zero, so the initial state is the Slater-Jastrow function.  Both networks act on
pair distances only, so the function is symmetric under rotations and antisymmetric under the exchange of two
electrons of the same spin.

There are no closed forms: the driver gets grad, Laplacian and log-derivatives by autograd (the base class), and
the samplers move all particles at once.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ...errors import require
from .ansatz import Ansatz, PadeJastrow, default_spins
from .slater import SlaterHermite

__all__ = ["BackflowJastrowNet"]


def _mlp(inputs: int, width: int, generator: torch.Generator, dtype: torch.dtype,
         device: torch.device | str) -> nn.Sequential:
    """inputs -> width -> width -> 1 with tanh; hidden layers N(0, 1/fan_in) from ``generator``, output zero."""
    net = nn.Sequential(nn.Linear(inputs, width), nn.Tanh(), nn.Linear(width, width), nn.Tanh(), nn.Linear(width, 1))
    with torch.no_grad():
        for layer in net[:-1:2]:
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator) / math.sqrt(layer.in_features))
            layer.bias.zero_()
        net[-1].weight.zero_()
        net[-1].bias.zero_()
    return net.to(dtype=dtype, device=device)


class BackflowJastrowNet(Ansatz):
    """See the module docstring.  ``width``: hidden units of each network layer."""

    def __init__(self, n_particles: int, dim: int, omega: float = 1.0, width: int = 16,
                 generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64,
                 device: torch.device | str = "cpu") -> None:
        super().__init__(n_particles, dim)
        require(dim >= 2 and n_particles >= 2 and n_particles % 2 == 0,
                "the backflow network is for closed-shell dots (even N >= 2) in D >= 2")
        require(width >= 1, f"the network width must be >= 1, got {width}")
        g = generator if generator is not None else torch.Generator().manual_seed(0)
        self.slater = SlaterHermite(n_particles, dim, omega, gaussian=False, device=device, dtype=dtype)
        self.jastrow = PadeJastrow(n_particles, dim, spins=default_spins(n_particles), device=device, dtype=dtype)
        self.log_alpha = nn.Parameter(torch.zeros((), dtype=dtype, device=device))
        self.backflow = _mlp(1, width, g, dtype, device)
        self.pair = _mlp(2, width, g, dtype, device)
        self.omega = float(omega)

    def log_psi(self, x: torch.Tensor) -> torch.Tensor:
        W, N, _ = x.shape
        d = x.unsqueeze(2) - x.unsqueeze(1)                                    # (W, N, N, D): r_i - r_j
        eye = torch.eye(N, dtype=torch.bool, device=x.device)
        r2 = (d * d).sum(-1) + eye.to(x.dtype)                                 # 1 on the diagonal (no 0 sqrt)
        r = torch.sqrt(r2)
        eta = self.backflow(r.unsqueeze(-1)).squeeze(-1).masked_fill(eye, 0.0)
        q = x + (eta.unsqueeze(-1) * d).sum(2)
        out = -0.5 * torch.exp(self.log_alpha) * self.omega * (x * x).sum((1, 2))
        half = N // 2
        for blk in (slice(0, half), slice(half, N)):                          # spin up, spin down
            out = out + torch.linalg.slogdet(self.slater.orbitals(q[:, blk]))[1]
        iu = torch.triu_indices(N, N, 1, device=x.device)
        rij = r[:, iu[0], iu[1]]
        same = self.jastrow.par.to(x.dtype).expand_as(rij)
        u = self.pair(torch.stack([rij, same], -1)).squeeze(-1)
        return out + self.jastrow.log_psi(x) + u.sum(1)
