"""Markov-chain samplers of |Psi(X)|^2 with many walkers in parallel (vectorised over walkers in torch).

* ``method="metropolis"`` - brute force: X' = X + step * U(-1/2, 1/2), accepted with min(1, |Psi'|^2/|Psi|^2).
* ``method="importance"`` - Langevin / Fokker-Planck: with diffusion constant 1/2 and quantum force
  F = 2 grad ln Psi, the proposal is X' = X + dt grad ln Psi(X) + sqrt(dt) N(0, 1), whose Green's function
  G(X'|X) ~ exp(-|X' - X - dt grad ln Psi(X)|^2 / (2 dt)) enters the Metropolis-Hastings ratio
  |Psi'|^2 G(X|X') / (|Psi|^2 G(X'|X)), so the chain samples |Psi|^2 exactly for every dt.  The drift is
  limited near nodes (:func:`drift`), which keeps walkers from sticking there.
* ``moves="all"`` moves all particles at once (any ansatz); ``moves="single"`` moves one particle at a time
  in a sweep using the ansatz's one-particle protocol (cached RBM inputs, O(N) Jastrow rows,
  Sherman-Morrison updates of the Slater inverse), so a one-particle move costs O(N^2), not O(N^3).
  ``moves="auto"`` (default) picks "single" when the ansatz supports it.

The step (``step``: box width for Metropolis, time step dt for importance sampling) adapts during
burn-in only (Robbins-Monro on ln step towards ``target_acceptance``) and is frozen afterwards, so the
sampled chain is a proper time-homogeneous Markov chain.  The state (positions, step, generator) goes into
checkpoints; :meth:`state_dict` / :meth:`load_state_dict`.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ...errors import require
from ...random import Rng
from .ansatz import Ansatz

__all__ = ["Sampler"]


class Sampler:
    def __init__(self, ansatz: Ansatz, n_walkers: int = 256, method: str = "importance", step: float | None = None,
                 moves: str = "auto", seed: int | None = 0, target_acceptance: float | None = None,
                 init_scale: float | None = None, omega: float = 1.0, sweeps: int = 1) -> None:
        require(n_walkers >= 1, f"n_walkers must be >= 1, got {n_walkers}")
        require(sweeps >= 1, f"sweeps per sample must be >= 1, got {sweeps}")
        self.sweeps = int(sweeps)
        require(method in ("metropolis", "importance"), f"method must be metropolis or importance, got {method!r}")
        require(moves in ("auto", "all", "single"), f"moves must be auto, all or single, got {moves!r}")
        if moves == "single":
            require(ansatz.supports_moves, "this ansatz has no one-particle-move protocol; use moves='all'")
        self.ansatz, self.method, self.n_walkers = ansatz, method, int(n_walkers)
        self.single = ansatz.supports_moves if moves == "auto" else moves == "single"
        p = next(iter(ansatz.parameters()), None)
        self.dtype = p.dtype if p is not None else torch.float64
        self.device = p.device if p is not None else torch.device("cpu")
        length = 1.0 / math.sqrt(omega)  # oscillator length
        if step is None:
            step = (1.0 * length) if method == "metropolis" else 0.5 * length ** 2 / (1 if self.single else 2)
        require(step > 0 and math.isfinite(step), f"step must be > 0, got {step}")
        self.step = float(step)
        self.target = target_acceptance if target_acceptance is not None else (0.5 if method == "metropolis" else 0.8)
        self.rng = Rng(seed, self.device)
        scale = length if init_scale is None else init_scale
        self.x = scale * self.rng.normal((n_walkers, ansatz.n_particles, ansatz.dim), self.dtype)
        self.accepted = 0.0
        self.proposed = 0.0
        self.refresh()

    # ------------------------------------------------------------------ state
    @torch.no_grad()
    def refresh(self) -> None:
        """Recompute cached values after the parameters changed (call once per optimisation step)."""
        a = self.ansatz
        if self.single:
            self.cache = a.init_cache(self.x)
            self.logpsi = None
        elif self.method == "importance":
            self.logpsi, self.grad, _ = _value_grad(a, self.x)
        else:
            self.logpsi = a.log_psi(self.x).detach()

    @property
    def acceptance(self) -> float:
        return self.accepted / self.proposed if self.proposed else float("nan")

    def reset_counters(self) -> None:
        self.accepted = self.proposed = 0.0

    def _randn(self, *shape):
        return self.rng.normal(shape, self.dtype)

    def _rand(self, *shape):
        return self.rng.uniform(shape, self.dtype)

    # ------------------------------------------------------------------ moves
    @torch.no_grad()
    def sweep(self) -> float:
        """One Monte Carlo step (all particles once); returns this step's acceptance rate."""
        return self._sweep_single() if self.single else self._sweep_all()

    def sample(self) -> tuple[torch.Tensor, None]:
        """``sweeps`` sweeps; the positions (W, N, D) of every walker (the VMC driver's sampler protocol).  More
        sweeps per sample (thinning, as ``sweeps`` of the lattice sampler) spend sweeps, which are cheap, to make
        the samples that the local energy and the log-derivatives are evaluated on less correlated."""
        for _ in range(self.sweeps):
            self.sweep()
        return self.x, None

    def _sweep_all(self) -> float:
        a, x = self.ansatz, self.x
        if self.method == "metropolis":
            xn = x + self.step * (self._rand(*x.shape) - 0.5)
            lpn = a.log_psi(xn).detach()
            log_acc = 2 * (lpn - self.logpsi)
        else:
            dt = self.step
            xn = x + drift(self.grad, dt) + math.sqrt(dt) * self._randn(*x.shape)
            lpn, gn, _ = _value_grad(a, xn)
            fwd = ((xn - x - drift(self.grad, dt)) ** 2).sum((1, 2))
            bwd = ((x - xn - drift(gn, dt)) ** 2).sum((1, 2))
            log_acc = 2 * (lpn - self.logpsi) + (fwd - bwd) / (2 * dt)
        ok = torch.log(self._rand(x.shape[0])) < log_acc
        self.x = torch.where(ok.view(-1, 1, 1), xn, x)
        self.logpsi = torch.where(ok, lpn, self.logpsi)
        if self.method == "importance":
            self.grad = torch.where(ok.view(-1, 1, 1), gn, self.grad)
        rate = float(ok.double().mean())
        self.accepted += rate * x.shape[0]
        self.proposed += x.shape[0]
        return rate

    def _sweep_single(self) -> float:
        a, c = self.ansatz, self.cache
        n_acc = 0.0
        for i in range(a.n_particles):
            x = self.x
            ri = x[:, i]
            if self.method == "metropolis":
                rn = ri + self.step * (self._rand(*ri.shape) - 0.5)
                log_ratio, _, aux = a.propose(c, x, i, rn)
                log_acc = 2 * log_ratio
            else:
                dt = self.step
                g_old = a.grad_particle(c, x, i)
                rn = ri + drift(g_old, dt) + math.sqrt(dt) * self._randn(*ri.shape)
                log_ratio, g_new, aux = a.propose(c, x, i, rn)
                fwd = ((rn - ri - drift(g_old, dt)) ** 2).sum(1)
                bwd = ((ri - rn - drift(g_new, dt)) ** 2).sum(1)
                log_acc = 2 * log_ratio + (fwd - bwd) / (2 * dt)
            ok = torch.log(self._rand(x.shape[0])) < log_acc
            ok = ok & torch.isfinite(log_acc)
            a.accept(c, x, i, rn, aux, ok)
            xn = x.clone()
            xn[:, i] = torch.where(ok.unsqueeze(1), rn, ri)
            self.x = xn
            n_acc += float(ok.double().sum())
        total = a.n_particles * self.x.shape[0]
        self.accepted += n_acc
        self.proposed += total
        return n_acc / total

    # ------------------------------------------------------------------ burn-in and sampling
    def burn_in(self, n_sweeps: int, adapt: bool = True) -> float:
        """Thermalise with ``n_sweeps`` sweeps; with ``adapt`` the step moves towards the target acceptance
        (ln step += (rate - target) / sqrt(k + 1)).  Returns the mean acceptance of the burn-in."""
        rates = []
        for k in range(n_sweeps):
            r = self.sweep()
            rates.append(r)
            if adapt:
                self.step = float(min(max(self.step * math.exp((r - self.target) / math.sqrt(k + 1.0)), 1e-6), 1e3))
        self.reset_counters()
        return sum(rates) / len(rates) if rates else float("nan")

    def state_dict(self) -> dict[str, Any]:
        return {"x": self.x.clone(), "step": self.step, "rng": self.rng.get_state(),
                "method": self.method, "single": self.single, "accepted": self.accepted, "proposed": self.proposed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        require(tuple(state["x"].shape[1:]) == (self.ansatz.n_particles, self.ansatz.dim),
                "the checkpointed walkers do not fit this ansatz (particles / dimension)")
        self.x = state["x"].to(self.device, self.dtype)
        self.n_walkers = self.x.shape[0]
        self.step = float(state["step"])
        self.rng.set_state(state["rng"])
        self.accepted, self.proposed = float(state["accepted"]), float(state["proposed"])
        self.refresh()


def drift(grad: torch.Tensor, dt: float) -> torch.Tensor:
    """Drift displacement dt * grad ln Psi, limited per particle as in Umrigar, Nightingale & Runge,
    J. Chem. Phys. 99, 2865 (1993): dt v -> dt v (-1 + sqrt(1 + 2 |v|^2 dt)) / (|v|^2 dt).

    Near a node of a determinant |grad ln Psi| ~ 1/d diverges; the plain drift flings a walker that came
    close to a node so far that every proposal is rejected and it stays stuck (we saw walkers with
    E_L ~ -3e4 frozen for hundreds of sweeps in the N = 6 dot).  The limited drift moves at most
    ~sqrt(2 dt); forward and backward Green's functions use the same limited drift, so the
    Metropolis-Hastings test still samples |Psi|^2 exactly.
    """
    v2dt = (grad * grad).sum(-1, keepdim=True) * dt
    factor = torch.where(v2dt > 1e-12, (torch.sqrt(1 + 2 * v2dt) - 1) / v2dt.clamp(min=1e-12),
                         1 - 0.5 * v2dt)
    return dt * grad * factor


def _value_grad(ansatz: Ansatz, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, None]:
    """ln|Psi| and grad ln Psi: closed forms where the ansatz has them (grad_lap), else autograd."""
    if type(ansatz).grad_lap is not Ansatz.grad_lap or ansatz.supports_moves:
        lp, g, _ = ansatz.grad_lap(x)
        return lp, g, None
    with torch.enable_grad():
        xr = x.detach().requires_grad_(True)
        lp = ansatz.log_psi(xr)
        (g,) = torch.autograd.grad(lp.sum(), xr)
    return lp.detach(), g.detach(), None
