"""Metropolis sampling of |Psi(s)|^2 with many chains in parallel (vectorised over chains in torch).

Moves (both symmetric proposals, so the acceptance is min(1, |Psi(s')/Psi(s)|^2)):

* ``local``: flip one site drawn uniformly per chain;
* ``exchange``: swap the spins of a nearest-neighbour bond drawn uniformly per chain (a proposal on an aligned
  pair is the identity and counts as rejected); it conserves the magnetisation, the right move for the Heisenberg
  model whose ground state has total S^z = 0 (chains start at S^z = 0 for an even number of sites).

The ratio comes from the ansatz's cached hidden inputs (``SpinAnsatz.metropolis_step``), O(M) per proposal for the
RBM.
A *sweep* is N proposals per chain.  The random numbers of all sweeps are drawn at once; the state (spins, random
stream, acceptance counters) is saved and restored exactly by :meth:`state_dict` / :meth:`load_state_dict`.
"""

from __future__ import annotations

from typing import Any

import torch

from ...errors import ConfigError, require
from ...random import Rng
from .ansatz import SpinAnsatz


class MetropolisSpinSampler:
    """``n_chains`` Metropolis chains on {-1, +1}^N for ``ansatz``.

    Parameters
    ----------
    ansatz : the wave function (its device and real dtype are used for the spins).
    n_chains : chains in parallel; one sample per chain is returned by :meth:`sample`.
    move : ``"local"`` (single spin flips) or ``"exchange"`` (swaps along ``bonds``).
    bonds : (B, 2) pairs for exchange moves (e.g. ``lattice.bonds``).
    sweeps : sweeps (N proposals per chain) between returned samples.
    seed : seed of the random stream.
    """

    def __init__(self, ansatz: SpinAnsatz, n_chains: int = 1000, move: str = "local",
                 bonds: torch.Tensor | None = None, sweeps: int = 1, seed: int | None = 0) -> None:
        require(move in ("local", "exchange"), f"unknown move {move!r}; use local or exchange")
        require(n_chains >= 1 and sweeps >= 1, f"n_chains and sweeps must be >= 1, got {n_chains} and {sweeps}")
        if move == "exchange":
            require(bonds is not None and len(bonds) > 0, "exchange moves need the bonds of the lattice")
        self.ansatz, self.n_chains, self.move, self.sweeps = ansatz, int(n_chains), move, int(sweeps)
        self.n_sites = ansatz.n_sites
        self.device, self.dtype = ansatz.device, ansatz.real_dtype
        self.bonds = None if bonds is None else torch.as_tensor(bonds, dtype=torch.long).to(self.device)
        self.groups = (torch.arange(self.n_sites, device=self.device).unsqueeze(1) if move == "local"
                       else self.bonds)
        self.rng = Rng(seed, self.device)
        self.n_proposed = 0
        self.n_accepted = 0
        self.spins = self._initial_spins()

    def _initial_spins(self) -> torch.Tensor:
        C, N = self.n_chains, self.n_sites
        if self.move == "exchange" and N % 2 == 0:
            # S^z = 0: half the sites up, in a random order per chain.
            keys = self.rng.uniform((C, N), torch.float64)
            order = keys.argsort(1)
            s = torch.empty(C, N, dtype=self.dtype, device=self.device)
            vals = torch.ones(C, N, dtype=self.dtype, device=self.device)
            vals[:, : N // 2] = -1
            s.scatter_(1, order, vals)
            return s
        return (2 * (self.rng.uniform((C, N), torch.float64) < 0.5).to(self.dtype) - 1)

    @property
    def acceptance(self) -> float:
        return self.n_accepted / self.n_proposed if self.n_proposed else float("nan")

    @torch.no_grad()
    def sample(self, sweeps: int | None = None) -> tuple[torch.Tensor, tuple]:
        """Run ``sweeps`` sweeps (default ``self.sweeps``); returns the spins (C, N) and the ansatz cache."""
        n_steps = (self.sweeps if sweeps is None else int(sweeps)) * self.n_sites
        s, a = self.spins, self.ansatz
        cache = a.init_cache(s)
        if n_steps == 0:
            return s, cache
        C = self.n_chains
        groups = self.groups
        tables = a.move_tables(groups)
        group_idx = self.rng.integers(len(groups), (n_steps, C))
        sites = groups[group_idx]                                                        # (steps, C, r)
        u = self.rng.uniform((n_steps, C), self.dtype)
        accepted = torch.zeros((), dtype=torch.long, device=self.device)
        for t in range(n_steps):
            idx = sites[t]
            valid = None
            if self.move == "exchange":
                valid = s.gather(1, idx[:, :1]).squeeze(1) != s.gather(1, idx[:, 1:]).squeeze(1)
            cache, acc = a.metropolis_step(s, cache, tables, group_idx[t], idx, u[t], valid)
            accepted += acc.sum()
        self.n_proposed += n_steps * C
        self.n_accepted += int(accepted)
        self.spins = s
        return s, a.init_cache(s)  # fresh cache: no rounding carried over from the O(M) updates

    def burn_in(self, sweeps: int) -> None:
        """Thermalise with ``sweeps`` sweeps."""
        self.sample(sweeps)

    def refresh(self) -> None:
        """Nothing to do after the parameters changed: :meth:`sample` rebuilds the ansatz cache every time."""

    def reset_counters(self) -> None:
        self.n_proposed = self.n_accepted = 0

    # ---------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        return {"spins": self.spins.detach().cpu().clone(), "rng": self.rng.get_state(),
                "n_proposed": self.n_proposed, "n_accepted": self.n_accepted, "move": self.move,
                "n_chains": self.n_chains, "sweeps": self.sweeps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        spins = state["spins"]
        if tuple(spins.shape) != (self.n_chains, self.n_sites):
            raise ConfigError(f"sampler state has {tuple(spins.shape)} spins; this sampler has "
                              f"({self.n_chains}, {self.n_sites})")
        self.spins = spins.to(self.device, self.dtype).clone()
        self.rng.set_state(state["rng"])
        self.n_proposed, self.n_accepted = int(state["n_proposed"]), int(state["n_accepted"])
