"""Variational Monte Carlo for lattice spins: local energies, the optimisation loop, estimates, checkpoints.

The energy of a state is <E> = sum_s |Psi(s)|^2 E_L(s) / sum_s |Psi(s)|^2 ~ (1/n) sum E_L(s_i) over Metropolis
samples, with the local energy E_L = (H Psi)(s) / Psi(s) (../shared/papers/ml-for-quantum-many-body-talk.md,
"Quantum Monte Carlo Motivation").  The parameters follow stochastic reconfiguration (natural gradient):
(S + shift) d = F with F_k = <E_L O_k*> - <E_L><O_k*> -- half the talk's energy gradient
C_i = 2(<E_L O_i> - <E_L><O_i>) ("Define the cost function") -- and S the covariance of the log-derivatives O
(:class:`boltzlab.quantum.optim.StochasticReconfiguration`); SGD and Adam on the plain gradient are available.

Step length: the update d changes ln Psi(s) by O(s) . d, whose spread over the samples, sqrt(d^H S d), is the
step's length in the quantum (Fubini-Study) metric.  Far from the optimum SR can ask for steps of length >> 1
(from a near-constant start, S is tiny in the weight directions), after which the Metropolis chains, one sweep
per iteration, no longer sample the new |Psi|^2: energies far below the ground state followed by a non-finite
update were observed (docs/vmc.md, "Lattice spins", item 5).  ``max_distance`` (default 0.5) scales such steps
down to that length; near convergence it is inactive.

Each iteration: every chain makes ``sweeps`` sweeps, giving one sample per chain (chains are independent, so
the per-iteration error bar is the plain standard error over chains); the final energy comes from
``eval_steps`` further sampling rounds at fixed parameters, with the blocking error bar of
:func:`boltzlab.quantum.stats.blocking` over the rounds (chains averaged per round).

Checkpoints (:meth:`SpinVMC.save` / :meth:`SpinVMC.load`) hold the ansatz's ``state_dict``, the sampler's spins
and random state, the optimiser's state and the history: a run resumed from one continues exactly as if it had
not stopped.  For an ansatz class defined in a notebook, build the same object again and pass it to
:meth:`SpinVMC.load` -- only its parameters are stored, never its code.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ...checkpoint import load_payload, save_payload
from ...errors import CheckpointError, ConfigError, require
from ..optim import Adam, SGD, StochasticReconfiguration, cosine
from ..stats import below_exact, blocking
from .ansatz import SpinAnsatz
from .hamiltonians import SpinHamiltonian
from .sampler import MetropolisSpinSampler


def local_energies(ham: SpinHamiltonian, ansatz: SpinAnsatz, s: torch.Tensor, cache: tuple) -> torch.Tensor:
    """E_L(s) = D(s) + sum_k m_k(s) Psi(s^(k)) / Psi(s) for a batch (C, N); complex when the ratios are."""
    with torch.no_grad():
        diag = ham.diagonal(s)
        mel = ham.off_diagonal(s)
        ratios = ansatz.flip_ratios(s, cache, ham.flip_sites)
        off = (mel.to(ratios.dtype) * ratios).sum(1)
        return diag.to(off.dtype) + off


@dataclass
class SpinVMCConfig:
    """Hyperparameters of a lattice VMC run (see the module docstring)."""

    n_chains: int = 1000
    sweeps: int = 1
    burn_in: int = 20
    iterations: int = 300
    optimizer: str = "sr"
    lr: float = 0.05
    lr_schedule: str = "constant"
    lr_final: float = 0.005
    diag_shift: float = 0.01
    max_distance: float | None = 0.5
    eval_steps: int = 100
    move: str = "local"
    seed: int = 0

    def validate(self) -> None:
        require(self.n_chains >= 2, f"need at least 2 chains (samples per iteration), got {self.n_chains}")
        require(self.sweeps >= 1, f"sweeps must be >= 1, got {self.sweeps}")
        require(self.burn_in >= 0 and self.iterations >= 0 and self.eval_steps >= 2,
                "burn_in and iterations must be >= 0 and eval_steps >= 2")
        require(self.optimizer in ("sr", "adam", "sgd"), f"unknown optimizer {self.optimizer!r} (sr, adam, sgd)")
        require(math.isfinite(self.lr) and self.lr > 0, f"the learning rate must be > 0, got {self.lr}")
        require(self.lr_schedule in ("constant", "cosine"),
                f"unknown learning-rate schedule {self.lr_schedule!r} (constant, cosine)")
        require(math.isfinite(self.lr_final) and 0 <= self.lr_final <= self.lr,
                f"lr_final must be in [0, lr], got {self.lr_final}")

    def schedule(self) -> Any:
        """The learning rate: constant, or cosine annealing from lr to lr_final over ``iterations``."""
        if self.lr_schedule == "cosine":
            return cosine(self.lr, max(self.iterations, 1), self.lr_final)
        return self.lr
        require(math.isfinite(self.diag_shift) and self.diag_shift >= 0,
                f"diag_shift must be >= 0, got {self.diag_shift}")
        require(self.move in ("local", "exchange"), f"unknown move {self.move!r} (local, exchange)")
        require(self.max_distance is None or (math.isfinite(self.max_distance) and self.max_distance > 0),
                f"max_distance must be > 0 (or None), got {self.max_distance}")


@dataclass
class SpinVMCResult:
    """Final estimate of a run: energy, its blocking error bar, the variance of E_L, and the run's figures."""

    energy: float
    stderr: float
    variance: float
    block_size: int
    n_samples: int
    acceptance: float
    iterations: int
    seconds_per_iteration: float
    exact_energy: float | None = None
    relative_error: float | None = None
    below_exact: bool | None = None
    history: list[dict[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("history")
        return d


class SpinVMC:
    """Optimise ``ansatz`` for ``hamiltonian`` by VMC.

    >>> ham = make_hamiltonian("tfim", "12", field=1.0)
    >>> vmc = SpinVMC(ham, RBMSpinState(12, alpha=1))
    >>> vmc.run(300); res = vmc.estimate()
    """

    def __init__(self, hamiltonian: SpinHamiltonian, ansatz: SpinAnsatz, config: SpinVMCConfig | None = None,
                 exact_energy: float | None = None) -> None:
        self.config = cfg = config or SpinVMCConfig()
        cfg.validate()
        if ansatz.n_sites != hamiltonian.n_sites:
            raise ConfigError(f"the ansatz has {ansatz.n_sites} sites, the Hamiltonian {hamiltonian.n_sites}")
        self.ham, self.ansatz, self.exact_energy = hamiltonian, ansatz, exact_energy
        bonds = hamiltonian.lattice.bonds if cfg.move == "exchange" else None
        self.sampler = MetropolisSpinSampler(ansatz, cfg.n_chains, cfg.move, bonds, cfg.sweeps, cfg.seed)
        lr = cfg.schedule()
        if cfg.optimizer == "sr":
            self.optimizer: Any = StochasticReconfiguration(lr, diag_shift=cfg.diag_shift,
                                                            complex_params=ansatz.is_complex)
        elif cfg.optimizer == "adam":
            self.optimizer = Adam(lr)
        else:
            self.optimizer = SGD(lr)
        self.iteration = 0
        self.history: list[dict[str, float]] = []
        self.seconds = 0.0
        self._burnt_in = False

    # ------------------------------------------------------------------ one iteration
    def _gradient_step(self, O: torch.Tensor, E_L: torch.Tensor) -> torch.Tensor:
        if isinstance(self.optimizer, StochasticReconfiguration):
            return self.optimizer.step(O, E_L)
        from ..optim import energy_gradient
        return self.optimizer.update(energy_gradient(O, E_L, complex_params=self.ansatz.is_complex))

    def step(self) -> dict[str, float]:
        """Sample, measure E_L and O, and update the parameters once; returns the iteration's record."""
        if not self._burnt_in:  # one-off thermalisation, not counted in the time per iteration
            self.sampler.sample(self.config.burn_in)
            self._burnt_in = True
        t0 = time.perf_counter()
        acc0 = (self.sampler.n_accepted, self.sampler.n_proposed)
        s, cache = self.sampler.sample()
        e_loc = local_energies(self.ham, self.ansatz, s, cache)
        O = self.ansatz.log_derivatives(s, cache)
        update = self._gradient_step(O, e_loc)
        if not torch.isfinite(torch.view_as_real(update) if update.is_complex() else update).all():
            raise ConfigError(f"the parameter update at iteration {self.iteration} is not finite; lower --lr or "
                              f"raise --diag-shift")
        # Length of the step in the quantum metric: the spread of the change of ln Psi over the samples,
        # sqrt(d^H S d) = std_s(O(s) . d).  Capped at max_distance (see the module docstring).
        Oc = O - O.mean(0, keepdim=True)
        distance = float((Oc @ update.to(Oc.dtype)).abs().pow(2).mean().sqrt())
        if self.config.max_distance is not None and distance > self.config.max_distance:
            update = update * (self.config.max_distance / distance)
        self.ansatz.set_parameter_vector(self.ansatz.parameter_vector() + update)
        self.seconds += time.perf_counter() - t0
        e = e_loc.real.double()
        n = e.numel()
        rec = {"iteration": self.iteration, "energy": float(e.mean()), "stderr": float(e.std() / math.sqrt(n)),
               "variance": float(e.var(unbiased=False)), "distance": distance,
               "acceptance": (self.sampler.n_accepted - acc0[0]) / max(self.sampler.n_proposed - acc0[1], 1)}
        self.history.append(rec)
        self.iteration += 1
        return rec

    def run(self, iterations: int | None = None, progress: bool = False, checkpoint: str | Path | None = None,
            checkpoint_every: int = 50, callback: Callable[[dict[str, float]], Any] | None = None) -> None:
        """Iterate until ``iterations`` (default ``config.iterations``) have been done in total (a resumed run
        continues where it stopped); writes ``checkpoint`` every ``checkpoint_every`` iterations and at the end."""
        total = self.config.iterations if iterations is None else int(iterations)
        from tqdm.auto import tqdm
        bar = tqdm(total=total, initial=min(self.iteration, total), unit="it", desc=f"vmc {self.ham.name}",
                   disable=not progress, leave=False)
        try:
            while self.iteration < total:
                rec = self.step()
                bar.update(1)
                bar.set_postfix(E=f"{rec['energy']:.5f}", acc=f"{rec['acceptance']:.2f}", refresh=False)
                if callback is not None:
                    callback(rec)
                if checkpoint is not None and checkpoint_every > 0 and self.iteration % checkpoint_every == 0:
                    self.save(checkpoint)
        finally:
            bar.close()
        if checkpoint is not None:
            self.save(checkpoint)

    # ------------------------------------------------------------------ estimate
    def estimate(self, eval_steps: int | None = None, progress: bool = False) -> SpinVMCResult:
        """Energy at the current parameters from ``eval_steps`` sampling rounds, blocking error bar.

        Uses a copy of the sampler's random state, so estimating does not change how a run continues."""
        steps = self.config.eval_steps if eval_steps is None else int(eval_steps)
        require(steps >= 2, f"eval_steps must be >= 2, got {steps}")
        saved = self.sampler.state_dict()
        if not self._burnt_in:
            self.sampler.sample(self.config.burn_in)
        self.sampler.reset_counters()
        rows = []
        from tqdm.auto import tqdm
        for _ in tqdm(range(steps), desc="estimate", unit="round", disable=not progress, leave=False):
            s, cache = self.sampler.sample()
            rows.append(local_energies(self.ham, self.ansatz, s, cache).real.double())
        acceptance = self.sampler.acceptance
        self.sampler.load_state_dict(saved)
        b = blocking(torch.stack(rows))
        res = SpinVMCResult(b.mean, b.stderr, b.variance, b.block_size, b.n_samples, acceptance, self.iteration,
                            self.seconds / max(self.iteration, 1), history=list(self.history))
        if self.exact_energy is not None:
            res.exact_energy = float(self.exact_energy)
            res.relative_error = abs(b.mean - self.exact_energy) / abs(self.exact_energy)
            res.below_exact = below_exact(b.mean, b.stderr, self.exact_energy)
        return res

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        return {"kind": "vmc-spins", "ansatz_class": type(self.ansatz).__name__,
                "ansatz": {k: v.detach().cpu() for k, v in self.ansatz.state_dict().items()},
                "sampler": self.sampler.state_dict(), "optimizer": self.optimizer.state_dict(),
                "iteration": self.iteration, "history": self.history, "seconds": self.seconds,
                "burnt_in": self._burnt_in, "config": asdict(self.config), "hamiltonian": self.ham.describe(),
                "exact_energy": self.exact_energy}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("kind") != "vmc-spins":
            raise CheckpointError("not a lattice-VMC checkpoint")
        if state["hamiltonian"] != self.ham.describe():
            raise CheckpointError(f"the checkpoint is for {state['hamiltonian']}, not {self.ham.describe()}")
        if state["ansatz_class"] != type(self.ansatz).__name__:
            raise CheckpointError(f"the checkpoint holds a {state['ansatz_class']}; pass that ansatz to resume")
        try:
            self.ansatz.load_state_dict(state["ansatz"])
        except RuntimeError as exc:
            raise CheckpointError(f"the checkpoint's parameters do not fit this ansatz: "
                                  f"{str(exc).splitlines()[0]}") from None
        self.sampler.load_state_dict(state["sampler"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.iteration, self.history = int(state["iteration"]), list(state["history"])
        self.seconds, self._burnt_in = float(state["seconds"]), bool(state["burnt_in"])
        if self.exact_energy is None:
            self.exact_energy = state.get("exact_energy")

    def save(self, path: str | Path) -> None:
        """Atomic checkpoint (see :mod:`boltzlab.checkpoint`)."""
        save_payload(path, self.state_dict())

    @classmethod
    def load(cls, path: str | Path, hamiltonian: SpinHamiltonian, ansatz: SpinAnsatz,
             config: SpinVMCConfig | None = None) -> "SpinVMC":
        """Resume from ``path``: ``hamiltonian`` and ``ansatz`` must be built as for the original run (an ansatz
        defined in a notebook is passed again; its parameters, the sampler and the optimiser come from the file).
        ``config`` defaults to the stored one; a different ``iterations`` is allowed (to extend a run)."""
        state = load_payload(path)
        stored = SpinVMCConfig(**state["config"])
        if config is not None:
            for k in ("n_chains", "move", "optimizer"):
                if getattr(config, k) != getattr(stored, k):
                    raise CheckpointError(f"{path}: the checkpoint was made with {k}={getattr(stored, k)!r}, "
                                          f"not {getattr(config, k)!r}")
        vmc = cls(hamiltonian, ansatz, config or stored)
        vmc.load_state_dict(state)
        return vmc


def plot_history(history: list[dict[str, float]], path: str | Path, exact: float | None = None,
                 title: str = "") -> Path:
    """Energy against iteration with its per-iteration error band and the exact energy; relative error (log)."""
    from ...plots import save_figure, subplots
    it = np.array([r["iteration"] for r in history])
    e = np.array([r["energy"] for r in history])
    se = np.array([r["stderr"] for r in history])
    fig, axes = subplots(1, 2 if exact is not None else 1, figsize=(11 if exact is not None else 6, 4),
                             squeeze=False)
    ax = axes[0, 0]
    ax.plot(it, e, lw=1, label="VMC <E_L> per iteration")
    ax.fill_between(it, e - se, e + se, alpha=0.3)
    if exact is not None:
        ax.axhline(exact, color="k", ls="--", lw=1, label=f"exact (Lanczos) {exact:.6f}")
        lo = exact - 0.02 * abs(exact)
        ax.set_ylim(lo, max(np.percentile(e, 95) if len(e) else exact, exact + 0.05 * abs(exact)))
    ax.set_xlabel("iteration"); ax.set_ylabel("energy"); ax.legend(); ax.grid(alpha=0.3)
    ax.set_title("energy")
    if exact is not None:
        ax = axes[0, 1]
        rel = np.abs(e - exact) / abs(exact)
        ax.semilogy(it, np.maximum(rel, 1e-12), lw=1)
        ax.axhline(1e-3, color="r", ls=":", lw=1, label="1e-3")
        ax.set_xlabel("iteration"); ax.set_ylabel("|E - E_exact| / |E_exact|"); ax.legend(); ax.grid(alpha=0.3)
        ax.set_title("relative error")
    return save_figure(fig, path, title)
