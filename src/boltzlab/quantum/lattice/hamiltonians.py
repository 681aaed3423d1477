"""Periodic lattices and the spin Hamiltonians of the lattice VMC.

Spins are the eigenvalues s_i = +1 / -1 of the Pauli matrix Z_i (the sigma^z basis of Carleo & Troyer, Science
355, 602 (2017) and of NetKet), the visible units of the RBM wave function.

Each Hamiltonian is written as ``H = D(s) + sum_k m_k(s) |s^(k)><s|``: a diagonal part ``D(s)`` and off-diagonal
terms that flip the group of sites ``flip_sites[k]`` (one site for the transverse field, the two sites of a bond for
the exchange term) with the matrix element ``m_k(s)`` (zero when the term does not connect ``s`` to anything).  The
local energy E_L(s) = (H Psi)(s) / Psi(s) is then
``D(s) + sum_k m_k(s) Psi(s^(k)) / Psi(s)``, and the ratios need only the flipped sites (see ``ansatz.py``).

* Transverse-field Ising model: ``H = -J sum_<ij> Z_i Z_j - h sum_i X_i``.
* Heisenberg model (Pauli matrices, as in NetKet): ``H = J sum_<ij> (X_i X_j + Y_i Y_j + Z_i Z_j)``; the exchange
  part flips an anti-aligned pair with element ``2 J``.  J > 0 is the antiferromagnet; in spin-1/2 units
  (S = sigma / 2) its energies are a quarter of these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ...errors import ConfigError, require


@dataclass(frozen=True)
class Lattice:
    """A periodic hypercubic lattice: a chain of L sites (``shape=(L,)``) or an Lx x Ly square lattice.

    Sites are numbered row-major; ``bonds`` lists each nearest-neighbour pair once (periodic boundaries).
    """

    shape: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.shape) not in (1, 2):
            raise ConfigError(f"lattices are chains (L) or square lattices (LxW); got {len(self.shape)} dimensions")
        for side in self.shape:
            if int(side) < 3 and not (len(self.shape) == 1 and int(side) == 2):
                raise ConfigError(f"every side of a periodic lattice needs at least 3 sites (a chain at least 2), "
                                  f"got {'x'.join(map(str, self.shape))}")

    @classmethod
    def parse(cls, text: str) -> "Lattice":
        """``"12"`` -> a 12-site chain; ``"4x4"`` -> a 4 x 4 square lattice."""
        try:
            shape = tuple(int(p) for p in str(text).lower().split("x"))
        except ValueError:
            raise ConfigError(f"lattice {text!r} is not of the form L or LxW (e.g. 12 or 4x4)") from None
        return cls(shape)

    @property
    def n_sites(self) -> int:
        return math.prod(self.shape)

    @property
    def bonds(self) -> torch.Tensor:
        """(n_bonds, 2) long tensor of nearest-neighbour pairs (i, j), each once."""
        if len(self.shape) == 1:
            L = self.shape[0]
            pairs = [(i, (i + 1) % L) for i in range(L if L > 2 else 1)]
        else:
            Lx, Ly = self.shape
            pairs = []
            for x in range(Lx):
                for y in range(Ly):
                    i = x * Ly + y
                    pairs.append((i, x * Ly + (y + 1) % Ly))
                    pairs.append((i, ((x + 1) % Lx) * Ly + y))
        return torch.tensor(pairs, dtype=torch.long)

    @property
    def bipartite(self) -> bool:
        """True when the periodic lattice splits into two sublattices with every bond between them."""
        return all(side % 2 == 0 for side in self.shape)

    @property
    def sublattice(self) -> torch.Tensor:
        """(n_sites,) bool: True on sublattice A (sites whose coordinates sum to an even number)."""
        if len(self.shape) == 1:
            return torch.arange(self.shape[0]) % 2 == 0
        Lx, Ly = self.shape
        x, y = torch.meshgrid(torch.arange(Lx), torch.arange(Ly), indexing="ij")
        return ((x + y) % 2 == 0).reshape(-1)

    @property
    def translations(self) -> torch.Tensor:
        """(T, n_sites) long: row t maps site i to its image T_t(i) under the t-th translation (all of them)."""
        if len(self.shape) == 1:
            L = self.shape[0]
            return (torch.arange(L).unsqueeze(0) + torch.arange(L).unsqueeze(1)) % L
        Lx, Ly = self.shape
        x, y = torch.meshgrid(torch.arange(Lx), torch.arange(Ly), indexing="ij")
        x, y = x.reshape(-1), y.reshape(-1)
        return torch.stack([((x + tx) % Lx) * Ly + (y + ty) % Ly for tx in range(Lx) for ty in range(Ly)])

    def __str__(self) -> str:
        return "x".join(map(str, self.shape))


class SpinHamiltonian:
    """Base class: ``diagonal(s)``, ``flip_sites`` and ``off_diagonal(s)`` define H in the sigma^z basis."""

    name = "spin"
    lattice: Lattice
    flip_sites: torch.Tensor  # (K, r) sites flipped by the K off-diagonal terms

    @property
    def n_sites(self) -> int:
        return self.lattice.n_sites

    def diagonal(self, s: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def off_diagonal(self, s: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def local_energy(self, ansatz, s: torch.Tensor, cache: tuple) -> torch.Tensor:
        """E_L(s) = D(s) + sum_k m_k(s) Psi(s^(k)) / Psi(s) for a batch (C, N); complex when the ratios are."""
        with torch.no_grad():
            ratios = ansatz.flip_ratios(s, cache, self.flip_sites)
            off = (self.off_diagonal(s).to(ratios.dtype) * ratios).sum(1)
            return self.diagonal(s).to(off.dtype) + off


class TransverseFieldIsing(SpinHamiltonian):
    """``H = -J sum_<ij> Z_i Z_j - h sum_i X_i`` on a periodic lattice."""

    name = "tfim"

    def __init__(self, lattice: Lattice, field: float = 1.0, coupling: float = 1.0) -> None:
        if not (math.isfinite(field) and math.isfinite(coupling)):
            raise ConfigError(f"field and coupling must be finite, got h={field}, J={coupling}")
        self.lattice, self.field, self.coupling = lattice, float(field), float(coupling)
        self.bonds = lattice.bonds
        self.flip_sites = torch.arange(lattice.n_sites).unsqueeze(1)

    def diagonal(self, s: torch.Tensor) -> torch.Tensor:
        b = self.bonds.to(s.device)
        return -self.coupling * (s[:, b[:, 0]] * s[:, b[:, 1]]).sum(1)

    def off_diagonal(self, s: torch.Tensor) -> torch.Tensor:
        return torch.full((s.shape[0], self.n_sites), -self.field, dtype=s.dtype, device=s.device)

    def describe(self) -> dict:
        return {"model": self.name, "lattice": str(self.lattice), "field": self.field, "coupling": self.coupling}


class Heisenberg(SpinHamiltonian):
    """``H = J sum_<ij> (X_i X_j + Y_i Y_j + Z_i Z_j)`` on a periodic lattice (Pauli matrices)."""

    name = "heisenberg"

    def __init__(self, lattice: Lattice, coupling: float = 1.0) -> None:
        require(math.isfinite(coupling), f"the coupling must be finite, got J={coupling}")
        self.lattice, self.coupling = lattice, float(coupling)
        self.bonds = lattice.bonds
        self.flip_sites = self.bonds

    def diagonal(self, s: torch.Tensor) -> torch.Tensor:
        b = self.bonds.to(s.device)
        return self.coupling * (s[:, b[:, 0]] * s[:, b[:, 1]]).sum(1)

    def off_diagonal(self, s: torch.Tensor) -> torch.Tensor:
        b = self.bonds.to(s.device)
        anti = s[:, b[:, 0]] != s[:, b[:, 1]]
        return anti.to(s.dtype) * (2.0 * self.coupling)

    def describe(self) -> dict:
        return {"model": self.name, "lattice": str(self.lattice), "coupling": self.coupling}


def make_hamiltonian(model: str, lattice: Lattice | str, field: float = 1.0, coupling: float = 1.0) -> SpinHamiltonian:
    """``"tfim"`` or ``"heisenberg"`` on ``lattice`` (a :class:`Lattice` or its text, e.g. ``"4x4"``)."""
    lat = lattice if isinstance(lattice, Lattice) else Lattice.parse(str(lattice))
    if model == "tfim":
        return TransverseFieldIsing(lat, field, coupling)
    if model == "heisenberg":
        return Heisenberg(lat, coupling)
    raise ConfigError(f"unknown spin model {model!r}; use tfim or heisenberg")
