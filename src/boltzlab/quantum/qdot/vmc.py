"""Variational Monte Carlo for quantum dots: the run settings, the wave function they name, and one call that
optimises it and measures the energy and the densities.

:func:`build_vmc` plugs the dot's parts into the one driver :class:`boltzlab.quantum.vmc.VMC`: the
:class:`~boltzlab.quantum.qdot.sampler.Sampler` (``steps`` sweeps of every walker per iteration), the
:class:`~boltzlab.quantum.qdot.hamiltonian.HarmonicTrap` local energy and the ansatz of :func:`build_ansatz`.
The final energy is measured with the parameters frozen, after ``eval_burn_in`` sweeps, with the blocking error
bar; :func:`boltzlab.stats.below_exact` flags an energy more than 3 standard errors below a known exact
value.  Checkpoints are the driver's (a resumed run continues exactly as the uninterrupted one).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ...errors import require
from ..optim import ToleranceStop, make_optimizer
from ..vmc import VMC, trainable_parameters
from .ansatz import Ansatz, GaussianBinaryRBM, PadeJastrow, ProductAnsatz, default_spins
from .hamiltonian import HarmonicTrap
from .neural import BackflowJastrowNet
from .sampler import Sampler
from .slater import SlaterHermite

__all__ = ["QDotConfig", "build_ansatz", "build_vmc", "Densities", "run_qdot", "DMC_REFERENCE", "PUBLISHED",
           "NETWORK_MANY_BODY"]

# Diffusion Monte Carlo ground-state energies of closed-shell 2D dots, (N, omega) -> E, from the DMC table of
# J. Hogberget, "Quantum Monte-Carlo Studies of Generalized Many-body Systems", MSc thesis, University of Oslo
# (2013), which equal the DMC energies of Pedersen Lohne, Hagen, Hjorth-Jensen, Kvaal and Pederiva, Phys. Rev. B 84,
# 115302 (2011); N = 2 at omega = 1 is Taut's exact 3 (Phys. Rev. A 48, 3561 (1993)).
DMC_REFERENCE = {(2, 0.1): 0.44079, (2, 0.28): 1.02164, (2, 0.5): 1.65977, (2, 1.0): 3.0,
                 (6, 0.1): 3.55385, (6, 0.28): 7.60019, (6, 0.5): 11.78484, (6, 1.0): 20.15932,
                 (12, 0.1): 12.26984, (12, 0.28): 25.63577, (12, 0.5): 39.1596, (12, 1.0): 65.7001,
                 (20, 0.1): 29.9779, (20, 0.28): 61.9268, (20, 0.5): 93.8752, (20, 1.0): 155.8822}
# Published RBM numbers (Nordhagen, UiO master thesis 2019), 2D, omega = 1
PUBLISHED = {"2_rbm": (3.0803, 0.0002), "2_rbm_jastrow": (2.999587, 0.000005), "6_rbm_jastrow": (20.1832, 0.0002)}


NETWORK_MANY_BODY = 8  # pair features of the many-body Jastrow that `vmc qdot` gives the backflow network by default


@dataclass
class QDotConfig:
    """Everything that defines a quantum-dot VMC run (the CLI options map onto these fields)."""

    particles: int = 2
    dim: int = 2
    omega: float = 1.0
    interaction: bool = True
    ansatz: str = "rbm"            # rbm | rbm-jastrow | slater | slater-jastrow | slater-rbm | slater-rbm-jastrow
    hidden: int = 2
    many_body: int = 0             # backflow-jastrow: pair features of the many-body Jastrow (0: none)
    power: float = 1.0             # 1: Psi = F, 0.5: Psi = sqrt(F)
    sigma: float | None = None
    train_sigma: bool = False
    init_scale: float = 0.1        # std of the random initial RBM parameters
    optimizer: str = "adam"
    lr: float = 0.02
    lr_decay: float = 0.0          # inverse-time decay: lr / (1 + decay t)
    diag_shift: float = 1e-3
    iterations: int = 300
    walkers: int = 256
    steps: int = 20                # samples per walker per optimisation iteration
    sweeps: int = 1                # sweeps per sample
    burn_in: int = 100
    eval_steps: int = 2000
    eval_burn_in: int = 200
    method: str = "importance"
    moves: str = "auto"
    step: float | None = None
    tol: float = 0.0               # stop when the energy of the last 10 iterations spans less than tol
    seed: int = 0
    device: str = "cpu"

    def validate(self) -> None:
        require(self.particles >= 1, f"--particles must be >= 1, got {self.particles}")
        require(self.dim in (1, 2, 3), f"--dim must be 1, 2 or 3, got {self.dim}")
        require(math.isfinite(self.omega) and self.omega > 0, f"--omega must be a finite number > 0, got {self.omega}")
        require(self.ansatz in ANSATZ_KINDS, f"--ansatz must be one of {', '.join(ANSATZ_KINDS)}, got {self.ansatz!r}")
        require(self.hidden >= 0, f"--hidden must be >= 0, got {self.hidden}")
        require(self.many_body >= 0, f"--many-body must be >= 0, got {self.many_body}")
        require(not self.many_body or self.ansatz == "backflow-jastrow",
                "--many-body adds the many-body Jastrow of the backflow-jastrow ansatz; it needs that ansatz")
        require(self.power in (1.0, 0.5), f"--power must be 1 or 0.5, got {self.power}")
        require(math.isfinite(self.lr) and self.lr > 0, f"--lr must be > 0, got {self.lr}")
        require(self.optimizer in ("sgd", "adam", "sr"), f"--optimizer must be sgd, adam or sr, got {self.optimizer!r}")
        for name in ("iterations", "burn_in", "eval_burn_in"):
            require(getattr(self, name) >= 0, f"--{name.replace('_', '-')} must be >= 0")
        for name in ("walkers", "steps", "eval_steps", "sweeps"):
            require(getattr(self, name) >= 1, f"--{name.replace('_', '-')} must be >= 1")
        if "jastrow" in self.ansatz:
            require(self.dim >= 2 and self.particles >= 2, "a Jastrow factor needs D >= 2 and N >= 2")
        if "slater" in self.ansatz:
            require(self.particles % 2 == 0, "Slater determinants here are for closed shells (even N)")


ANSATZ_KINDS = ("rbm", "rbm-jastrow", "slater", "slater-jastrow", "slater-rbm", "slater-rbm-jastrow", "backflow-jastrow")


def build_ansatz(cfg: QDotConfig, generator: torch.Generator | None = None) -> Ansatz:
    """The wave function named by ``cfg.ansatz``.

    rbm: Gaussian-binary RBM alone (distinguishable / spatially symmetric particles, e.g. the two-electron
    singlet); *-jastrow adds a Pade-Jastrow factor; slater*: closed-shell Slater determinants of Hermite
    polynomials (with their own Gaussian when there is no RBM; with an RBM the RBM supplies it);
    backflow-jastrow: the feed-forward network of :class:`~boltzlab.quantum.qdot.neural.BackflowJastrowNet`
    (``hidden`` = the width of its layers, ``many_body`` = the pair features of its many-body Jastrow).
    """
    cfg.validate()
    g = generator or torch.Generator().manual_seed(cfg.seed)
    n, d, dev = cfg.particles, cfg.dim, torch.device(cfg.device)
    if cfg.ansatz == "backflow-jastrow":
        return BackflowJastrowNet(n, d, cfg.omega, width=cfg.hidden, many_body=cfg.many_body, generator=g,
                                  device=dev)
    factors: list[Ansatz] = []
    has_rbm = "rbm" in cfg.ansatz
    if "slater" in cfg.ansatz:
        factors.append(SlaterHermite(n, d, cfg.omega, gaussian=not has_rbm, device=dev))
    if has_rbm:
        factors.append(GaussianBinaryRBM(n, d, cfg.hidden, cfg.omega, cfg.power, cfg.sigma, cfg.train_sigma,
                                         init_scale=cfg.init_scale, generator=g, device=dev))
    if "jastrow" in cfg.ansatz:
        spins = default_spins(n) if "slater" in cfg.ansatz else None
        factors.append(PadeJastrow(n, d, spins=spins, device=dev))
    return factors[0] if len(factors) == 1 else ProductAnsatz(factors)


def build_vmc(cfg: QDotConfig, ansatz: Ansatz | None = None) -> VMC:
    """The driver for ``cfg``: trap, wave function (``ansatz`` or :func:`build_ansatz`), sampler, optimiser."""
    cfg.validate()
    ham = HarmonicTrap(cfg.particles, cfg.dim, cfg.omega, cfg.interaction)
    ansatz = ansatz if ansatz is not None else build_ansatz(cfg)
    sampler = Sampler(ansatz, cfg.walkers, cfg.method, cfg.step, cfg.moves, seed=cfg.seed, omega=cfg.omega,
                      sweeps=cfg.sweeps)
    opt, sched, sr = make_optimizer(cfg.optimizer, trainable_parameters(ansatz), cfg.lr,
                                    schedule="inverse-time" if cfg.lr_decay else "constant", lr_decay=cfg.lr_decay,
                                    diag_shift=cfg.diag_shift)
    return VMC(ansatz, ham, sampler, opt, sched, sr, rounds=cfg.steps, burn_in=cfg.burn_in,
               exact_energy=ham.exact_energy())


class Densities:
    """Histograms, fed sample by sample (``densities(x)``), of the one-body density (radial, and the 2D map for
    D = 2) and of the pair distances; :meth:`result` normalises them (rho integrates to N over space)."""

    def __init__(self, ham: HarmonicTrap, bins: int = 80) -> None:
        self.ham, self.bins = ham, bins
        self.r_max = 3.2 / math.sqrt(ham.omega) * max(1.0, ham.n_particles ** (1 / (2 * ham.dim)))
        self.radial, self.pair = np.zeros(bins), np.zeros(bins)
        self.dens2d = np.zeros((bins, bins)) if ham.dim == 2 else None
        self.iu = np.triu_indices(ham.n_particles, 1)
        self.n_walkers = 0

    def __call__(self, x: torch.Tensor) -> None:
        xn = x.detach().to("cpu", torch.float64).numpy()
        b, r_max = self.bins, self.r_max
        self.n_walkers += xn.shape[0]
        self.radial += np.histogram(np.linalg.norm(xn, axis=-1).ravel(), bins=b, range=(0, r_max))[0]
        if self.dens2d is not None:
            self.dens2d += np.histogram2d(xn[..., 0].ravel(), xn[..., 1].ravel(), bins=b,
                                          range=[[-r_max, r_max], [-r_max, r_max]])[0]
        if len(self.iu[0]):
            rij = np.linalg.norm(xn[:, self.iu[0]] - xn[:, self.iu[1]], axis=-1).ravel()
            self.pair += np.histogram(rij, bins=b, range=(0, 2 * r_max))[0]

    def result(self) -> dict[str, Any]:
        b, r_max, dim = self.bins, self.r_max, self.ham.dim
        edges = np.linspace(0, r_max, b + 1)
        unit = {1: 2.0, 2: math.pi, 3: 4 * math.pi / 3}[dim]
        shell = unit * (edges[1:] ** dim - edges[:-1] ** dim)
        total = max(self.n_walkers, 1)
        out: dict[str, Any] = {"_radial": {"r": 0.5 * (edges[1:] + edges[:-1]), "rho": self.radial / total / shell}}
        if self.dens2d is not None:
            out["_density2d"] = {"extent": [-r_max, r_max, -r_max, r_max],
                                 "rho": self.dens2d / total / (2 * r_max / b) ** 2}
        if len(self.iu[0]):
            pe = np.linspace(0, 2 * r_max, b + 1)
            out["_pair"] = {"r": 0.5 * (pe[1:] + pe[:-1]), "p": self.pair / (self.pair.sum() * (pe[1] - pe[0]))}
        return out


def run_qdot(cfg: QDotConfig, out: Path | None = None, progress: bool = False, checkpoint: Path | None = None,
             resume: bool = False, checkpoint_every: int = 10, plots: bool = True,
             log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Build, optimise and evaluate; write plots / JSON into ``out``; resume from ``checkpoint``."""
    t0 = time.perf_counter()
    vmc = build_vmc(cfg)
    if resume and checkpoint is not None and Path(checkpoint).exists():
        vmc.load(checkpoint)
        if log:
            log(f"resumed from {checkpoint} at iteration {vmc.iteration}")
    stop = ToleranceStop(cfg.tol, window=10) if cfg.tol > 0 else None
    vmc.run(cfg.iterations, progress, checkpoint, checkpoint_every, stop=stop, extra={"config": asdict(cfg)})
    densities = Densities(vmc.ham)
    est = vmc.estimate(cfg.eval_steps, cfg.eval_burn_in, observe=densities, progress=progress)
    exact = vmc.exact_energy
    result: dict[str, Any] = {"energy": est.energy, "stderr": est.stderr, "variance": est.variance,
                              "block_size": est.block_size, "n_samples": est.n_samples,
                              "blocking_converged": est.converged, "naive_stderr": est.naive_stderr,
                              "acceptance": est.acceptance, "step": vmc.sampler.step, "exact": exact}
    if exact is not None:
        result["below_exact_flag"] = est.below_exact
        result["error_vs_exact"] = est.energy - exact
    history = vmc.history
    result.update({"particles": cfg.particles, "dim": cfg.dim, "omega": cfg.omega, "interaction": cfg.interaction,
                   "ansatz": cfg.ansatz, "n_params": vmc.n_parameters, "iterations_run": len(history),
                   "seconds": time.perf_counter() - t0, "config": asdict(cfg)})
    if cfg.dim == 2 and cfg.interaction and (cfg.particles, cfg.omega) in DMC_REFERENCE:
        result["reference"] = DMC_REFERENCE[(cfg.particles, cfg.omega)]
    result["parameters"] = {k: v.detach().cpu().reshape(-1).tolist() for k, v in vmc.ansatz.state_dict().items()
                            if v.numel() <= 64 and v.is_floating_point()}
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        if plots:
            from .plots import plot_history, plot_observables
            result["plots"] = [str(plot_history(history, out / "optimisation.png", exact, cfg)),
                               *[str(p) for p in plot_observables({**result, **densities.result()}, out, cfg)]]
        from ...checkpoint import atomic_write_json
        atomic_write_json(out / "history.json", history)
        atomic_write_json(out / "result.json", result)
    result["history_tail"] = history[-3:]
    result["densities"] = densities.result()
    return result
