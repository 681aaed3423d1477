"""Exact references for the lattice VMC: the sparse Hamiltonian in the sigma^z basis, its ground state by
sparse Lanczos (``scipy.sparse.linalg.eigsh``), the free-fermion energy of the periodic TFIM chain, and exact
(enumerated) expectation values of a variational state on small lattices.

Basis state number ``k`` has ``s_i = 2 * bit_i(k) - 1`` (bit 0 is site 0), the order of :func:`all_configurations`.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.linalg import eigsh

from ...errors import IntractableError
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
    """Ground-state energy of the periodic TFIM chain ``-J sum Z_i Z_{i+1} - h sum X_i`` (even n) from the
    Jordan-Wigner free fermions: E_0 = -sum_k sqrt(J^2 + h^2 - 2 J h cos k) over the antiperiodic momenta
    k = pi (2m + 1) / n, m = 0..n-1 (Pfeuty, Ann. Phys. 57, 79 (1970); the even-parity sector holds the ground
    state for even n)."""
    if n_sites % 2:
        raise IntractableError("the free-fermion formula used here holds for an even number of sites")
    k = np.pi * (2 * np.arange(n_sites) + 1) / n_sites
    return float(-np.sqrt(coupling ** 2 + field ** 2 - 2 * coupling * field * np.cos(k)).sum())


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


def relative_error(energy: float, exact: float) -> float:
    return abs(energy - exact) / abs(exact) if exact != 0 else math.inf
