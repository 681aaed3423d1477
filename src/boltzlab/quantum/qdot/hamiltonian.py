"""The quantum-dot Hamiltonian in natural units (hbar = m = e = 1, energies in units of hbar omega * ...):

    H = sum_i [ -1/2 nabla_i^2 + 1/2 omega^2 r_i^2 ] + sum_{i<j} 1 / r_ij,     r_ij = |r_i - r_j|

(Nordhagen et al., Frontiers in Physics 11 (2023), eq. 1; the Coulomb distance is |r_i - r_j|, with which the
exact two-electron energy 3 at omega = 1, D = 2 of Taut, Phys. Rev. A 48, 3561 (1993) is reproduced.)

The local energy E_L = H Psi / Psi is computed from ln Psi:

    E_L = -1/2 sum_i [ nabla_i^2 ln Psi + |nabla_i ln Psi|^2 ] + V(X).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from ...errors import require

__all__ = ["HarmonicTrap"]


@dataclass
class HarmonicTrap:
    """N particles in a D-dimensional isotropic harmonic trap, Coulomb repulsion switched by ``interaction``."""

    n_particles: int
    dim: int
    omega: float = 1.0
    interaction: bool = True

    def __post_init__(self) -> None:
        require(self.n_particles >= 1, f"need at least one particle, got {self.n_particles}")
        require(self.dim in (1, 2, 3), f"the dimension must be 1, 2 or 3, got {self.dim}")
        require(float(self.omega) > 0 and torch.isfinite(torch.tensor(float(self.omega))),
                f"omega must be a finite number > 0, got {self.omega}")
        require(not (self.interaction and self.dim == 1 and self.n_particles > 1),
                "Coulomb repulsion in 1D is not integrable at contact; use --no-interaction in 1D")

    @property
    def interacting(self) -> bool:
        return self.interaction and self.n_particles > 1

    def trap(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * self.omega ** 2 * (x ** 2).sum((1, 2))

    def coulomb(self, x: torch.Tensor) -> torch.Tensor:
        if not self.interacting:
            return torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        iu = torch.triu_indices(self.n_particles, self.n_particles, 1, device=x.device)
        r = (x[:, iu[0]] - x[:, iu[1]]).norm(dim=-1)
        return (1.0 / r).sum(1)

    def potential(self, x: torch.Tensor) -> torch.Tensor:
        return self.trap(x) + self.coulomb(x)

    def describe(self) -> dict:
        return {"model": "qdot", **asdict(self)}

    def local_energy(self, ansatz, x: torch.Tensor, cache: object = None) -> torch.Tensor:
        """E_L(x) per walker, shape (n_walkers,)."""
        _, grad, lap = ansatz.grad_lap(x)
        kinetic = -0.5 * (lap + (grad ** 2).sum((1, 2)))
        return kinetic + self.potential(x)

    def exact_energy(self) -> float | None:
        """The exact ground-state energy where known: non-interacting bosons/distinguishable particles
        (N = 1, or N = 2 in their symmetric ground state): N D omega / 2; two interacting electrons in
        2D at omega = 1 (Taut 1993): 3; non-interacting closed-shell fermions: sum over filled shells."""
        if not self.interacting:
            if self.n_particles <= 2:
                return self.n_particles * self.dim * self.omega / 2
            from .slater import closed_shell_states
            try:
                states = closed_shell_states(self.n_particles // 2, self.dim)
            except Exception:
                return None
            if self.n_particles % 2:
                return None
            return 2 * sum(self.omega * (sum(s) + self.dim / 2) for s in states)
        if self.n_particles == 2 and self.dim == 2 and abs(self.omega - 1.0) < 1e-15:
            return 3.0
        if self.n_particles == 2 and self.dim == 3 and abs(self.omega - 0.5) < 1e-15:
            return 2.0  # Taut 1993: omega = 1/2 in 3D
        return None
