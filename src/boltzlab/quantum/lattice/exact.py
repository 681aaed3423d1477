"""References for the lattice VMC: the sparse Hamiltonian in the sigma^z basis, its ground state by sparse Lanczos
(``scipy.sparse.linalg.eigsh``), the free-fermion energy of the periodic TFIM chain and the Bethe-ansatz energy of
the Heisenberg chain at any size, a quoted QMC value for the 10 x 10 Heisenberg lattice (:func:`reference_energy`
picks the best one), and exact (enumerated) expectation values of a variational state on small lattices.

Basis state number ``k`` has ``s_i = 2 * bit_i(k) - 1`` (bit 0 is site 0), the order of :func:`all_configurations`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.linalg import eigsh

from ...errors import IntractableError, require
from .hamiltonians import SpinHamiltonian

MAX_EXACT_SITES = 22


def _check_size(n: int) -> None:
    if n > MAX_EXACT_SITES:
        raise IntractableError(f"exact diagonalisation of {n} spins needs 2^{n} states; it is offered up to "
                               f"{MAX_EXACT_SITES} sites (use the VMC energy and its error bar instead)")


def all_configurations(n_sites: int, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu"
                       ) -> torch.Tensor:
    """(2^n, n) tensor of every configuration s in {-1, +1}^n, row k with s_i = 2 bit_i(k) - 1."""
    _check_size(n_sites)
    k = torch.arange(2 ** n_sites, device=device).unsqueeze(1)
    bits = (k >> torch.arange(n_sites, device=device)) & 1
    return (2 * bits - 1).to(dtype)


def sparse_hamiltonian(ham: SpinHamiltonian) -> sp.csr_matrix:
    """H as a real sparse (2^n, 2^n) CSR matrix, built from the same ``diagonal``/``off_diagonal`` terms the
    VMC uses (so the test of local energies against ``H psi`` checks the terms, and ED checks the physics)."""
    n = ham.n_sites
    _check_size(n)
    idx = np.arange(2 ** n, dtype=np.int64)
    rows, cols, vals = [idx], [idx], []
    chunk = 1 << 16
    diag = np.empty(2 ** n)
    mels, targets = [], []
    flips = ham.flip_sites.numpy()
    masks = np.array([sum(1 << int(i) for i in g) for g in flips], dtype=np.int64)
    for start in range(0, 2 ** n, chunk):
        k = idx[start:start + chunk]
        s = torch.from_numpy(((k[:, None] >> np.arange(n)) & 1) * 2 - 1).double()
        diag[start:start + chunk] = ham.diagonal(s).numpy()
        mels.append(ham.off_diagonal(s).numpy())
        targets.append(k[:, None] ^ masks[None, :])
    vals.append(diag)
    m, t = np.concatenate(mels), np.concatenate(targets)
    nz = m != 0
    r = np.broadcast_to(idx[:, None], m.shape)[nz]
    # <s'|H|s> = m(s) puts m in row s', column s.
    rows.append(t[nz]); cols.append(r); vals.append(m[nz])
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(2 ** n, 2 ** n))


def ground_state(ham: SpinHamiltonian, return_vector: bool = False, seed: int = 0):
    """Lowest eigenvalue (and optionally its eigenvector) of H by sparse Lanczos (ARPACK, ``which='SA'``)."""
    h = sparse_hamiltonian(ham)
    if h.shape[0] <= 64:
        w, v = np.linalg.eigh(h.toarray())
        e0, vec = float(w[0]), v[:, 0]
    else:
        v0 = np.random.default_rng(seed).standard_normal(h.shape[0])
        w, v = eigsh(h, k=1, which="SA", v0=v0, tol=1e-12)
        e0, vec = float(w[0]), v[:, 0]
    return (e0, vec) if return_vector else e0


def tfim_chain_energy(n_sites: int, field: float, coupling: float = 1.0) -> float:
    """Ground-state energy of the periodic TFIM chain ``-J sum Z_i Z_{i+1} - h sum X_i`` at any length, from the
    Jordan-Wigner free fermions (Pfeuty, Ann. Phys. 57, 79 (1970)): E_0 = -sum_k sqrt(J^2 + h^2 - 2 J h cos k) over
    the antiperiodic momenta k = pi (2m + 1) / n, m = 0..n-1, of the even-parity sector (prod_i X_i = +1), which
    holds the ground state.  For odd n the momentum k = pi is unpaired; the parity constraint fixes its fermion
    occupation, so it contributes -(J + |h|) with its sign, not -|J + |h|| (this matters for J < 0, a frustrated
    odd ring, where it raises the energy by 2 (|J| - |h|) when |h| < |J|).  Checked against Lanczos in the tests."""
    require(n_sites >= 2, f"the periodic chain needs at least 2 sites, got {n_sites}", IntractableError)
    J, h = float(coupling), abs(float(field))
    k = np.pi * (2 * np.arange(n_sites) + 1) / n_sites
    eps = np.sqrt(np.maximum(J ** 2 + h ** 2 - 2 * J * h * np.cos(k), 0.0))
    if n_sites % 2:
        eps[n_sites // 2] = J + h  # k = pi
    return float(-eps.sum())


def heisenberg_chain_energy(n_sites: int, coupling: float = 1.0) -> float:
    """Ground-state energy of the periodic Heisenberg chain ``J sum (X X + Y Y + Z Z)`` (Pauli matrices, four times
    the spin-1/2 energy) for even n.

    J > 0: the Bethe ansatz (Bethe, Z. Phys. 71, 205 (1931)) with M = n/2 down spins.  The rapidities solve the
    logarithmic Bethe equations n arctan(2 l_j) = pi I_j + sum_k arctan(l_j - l_k) with I_j = -(M-1)/2, ..., (M-1)/2
    (the ground state), found by Newton's method (``scipy.optimize.root`` with the analytic Jacobian, started from
    the free-magnon solution l_j = tan(pi I_j / n) / 2); then E = 4 J (n/4 - sum_j 2 / (1 + 4 l_j^2)).
    J < 0 (ferromagnet): the fully polarised state, E = J n.  Checked against Lanczos in the tests."""
    from scipy.optimize import root
    if n_sites < 2 or n_sites % 2:
        raise IntractableError(f"the Bethe-ansatz ground state is offered for an even number of sites, got {n_sites}")
    J = float(coupling)
    if J <= 0:
        return J * n_sites
    m = n_sites // 2
    quantum = np.arange(m) - (m - 1) / 2

    def equations(lam: np.ndarray) -> np.ndarray:
        return n_sites * np.arctan(2 * lam) - np.pi * quantum - np.arctan(lam[:, None] - lam[None, :]).sum(1)

    def jacobian(lam: np.ndarray) -> np.ndarray:
        c = 1.0 / (1.0 + (lam[:, None] - lam[None, :]) ** 2)
        jac = c.copy()
        np.fill_diagonal(jac, 0.0)
        jac[np.diag_indices(m)] = 2 * n_sites / (1 + 4 * lam ** 2) - (c.sum(1) - 1.0)
        return jac

    sol = root(equations, 0.5 * np.tan(np.pi * quantum / n_sites), jac=jacobian, method="hybr", tol=1e-13)
    if np.abs(equations(sol.x)).max() > 1e-9:  # (hybr may report "no further improvement" at round-off)
        raise IntractableError(f"the Bethe equations of {n_sites} sites did not converge: {sol.message}")
    return float(4 * J * (n_sites / 4 - (2.0 / (1.0 + 4.0 * sol.x ** 2)).sum()))


# A. W. Sandvik, Phys. Rev. B 56, 11678 (1997), Table I: E/N of the spin-1/2 square-lattice antiferromagnet by
# stochastic series expansion QMC, periodic L x L; here times 4 (Pauli matrices).
SANDVIK_1997 = {10: (-0.671549 * 4, 0.000004 * 4)}


@dataclass(frozen=True)
class Reference:
    """A ground-state energy to compare against: its value, standard error (0 when exact) and source."""

    energy: float
    stderr: float
    source: str


def reference_energy(ham: SpinHamiltonian, lanczos_sites: int = 20) -> Reference | None:
    """The best reference the project computes (or quotes) for ``ham`` at any size, or None.

    Chains: free fermions (TFIM, any length), the Bethe ansatz (Heisenberg, even length); square lattices:
    Lanczos up to ``lanczos_sites`` sites, Sandvik's QMC for the 10 x 10 Heisenberg antiferromagnet (J = 1)."""
    lat = ham.lattice
    if len(lat.shape) == 1 and ham.name == "tfim":
        return Reference(tfim_chain_energy(lat.n_sites, ham.field, ham.coupling), 0.0, "free fermions (exact)")
    if len(lat.shape) == 1 and ham.name == "heisenberg" and lat.n_sites % 2 == 0:
        return Reference(heisenberg_chain_energy(lat.n_sites, ham.coupling), 0.0, "Bethe ansatz (exact)")
    if lat.n_sites <= min(lanczos_sites, MAX_EXACT_SITES):
        return Reference(ground_state(ham), 0.0, "Lanczos (exact)")
    if (ham.name == "heisenberg" and ham.coupling > 0 and len(set(lat.shape)) == 1 and lat.shape[0] in SANDVIK_1997):
        e, se = SANDVIK_1997[lat.shape[0]]
        return Reference(e * ham.coupling * lat.n_sites, se * ham.coupling * lat.n_sites,
                         "QMC, Sandvik, Phys. Rev. B 56, 11678 (1997)")
    return None


def exact_expectation(ham: SpinHamiltonian, log_psi: torch.Tensor, magnetization: int | None = None
                      ) -> tuple[float, float]:
    """<H> and Var(H) of the (unnormalised) state with amplitudes exp(log_psi) over :func:`all_configurations`
    (log_psi real or complex, signs as imaginary parts i pi).

    ``magnetization``: project the state on the sector sum_i s_i = magnetization first -- what a sampler with
    exchange moves measures (H conserves the magnetisation of the Heisenberg model, so the sampled energy is that
    of the projected state, itself a variational upper bound)."""
    lp = log_psi.detach().cpu().to(torch.complex128)
    keep = torch.ones(lp.shape, dtype=torch.bool)
    if magnetization is not None:
        keep = all_configurations(ham.n_sites).sum(1).round().long() == int(magnetization)
    psi = torch.where(keep, torch.exp(lp - lp.real[keep].max()), 0).numpy()
    h = sparse_hamiltonian(ham)
    hpsi = h @ psi
    norm = float(np.vdot(psi, psi).real)
    e = float(np.vdot(psi, hpsi).real) / norm
    e2 = float(np.vdot(hpsi, hpsi).real) / norm
    return e, max(e2 - e * e, 0.0)
