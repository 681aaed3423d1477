"""Variational Monte Carlo for quantum dots: build the wave function, optimise it, measure the energy.

Optimisation (../shared/papers/ml-for-quantum-many-body-talk.md, "Derivatives of the local energy" and
"Define the cost function"): each iteration samples |Psi|^2 with the walkers, evaluates E_L and
O_k = d ln Psi / d theta_k, and lets an optimiser of :mod:`boltzlab.quantum.optim` turn them into an
update (SGD/Adam on 2(<E_L O> - <E_L><O>), or stochastic reconfiguration).  The final energy is measured
with the parameters frozen, on a fresh chain after burn-in, and its error bar is the blocking error of
:func:`boltzlab.stats.blocking`; :func:`boltzlab.stats.below_exact` flags an energy more
than 3 standard errors below a known exact value.

Checkpoints (:func:`save_checkpoint`) hold the ansatz ``state_dict``, the sampler state (walkers, step,
generator), the optimiser state and the history; :func:`load_checkpoint` restores them into objects you
construct again (also for an ansatz class defined in a notebook: build the same object, then load), so a
resumed run continues exactly as the uninterrupted one.
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
from ...errors import CheckpointError, require
from ..optim import ToleranceStop, make_optimizer
from ...stats import below_exact, blocking
from .ansatz import Ansatz, GaussianBinaryRBM, PadeJastrow, ProductAnsatz, default_spins
from .hamiltonian import HarmonicTrap
from .sampler import Sampler
from .slater import SlaterHermite

__all__ = ["QDotConfig", "build_ansatz", "optimize", "evaluate", "run_qdot", "save_checkpoint", "load_checkpoint",
           "DMC_REFERENCE", "PUBLISHED"]

# Diffusion Monte Carlo references, 2D, omega = 1 (Hogberget 2013) and the exact two-electron value (Taut 1993)
DMC_REFERENCE = {2: 3.0, 6: 20.15932, 12: 65.7001, 20: 155.8822}
# Published RBM numbers (Nordhagen, UiO master thesis 2019), 2D, omega = 1
PUBLISHED = {"2_rbm": (3.0803, 0.0002), "2_rbm_jastrow": (2.999587, 0.000005), "6_rbm_jastrow": (20.1832, 0.0002)}


@dataclass
class QDotConfig:
    """Everything that defines a quantum-dot VMC run (the CLI options map onto these fields)."""

    particles: int = 2
    dim: int = 2
    omega: float = 1.0
    interaction: bool = True
    ansatz: str = "rbm"            # rbm | rbm-jastrow | slater | slater-jastrow | slater-rbm | slater-rbm-jastrow
    hidden: int = 2
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
    steps: int = 20                # sweeps per optimisation iteration
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
        require(self.power in (1.0, 0.5), f"--power must be 1 or 0.5, got {self.power}")
        require(math.isfinite(self.lr) and self.lr > 0, f"--lr must be > 0, got {self.lr}")
        require(self.optimizer in ("sgd", "adam", "sr"), f"--optimizer must be sgd, adam or sr, got {self.optimizer!r}")
        for name in ("iterations", "burn_in", "eval_burn_in"):
            require(getattr(self, name) >= 0, f"--{name.replace('_', '-')} must be >= 0")
        for name in ("walkers", "steps", "eval_steps"):
            require(getattr(self, name) >= 1, f"--{name.replace('_', '-')} must be >= 1")
        if "jastrow" in self.ansatz:
            require(self.dim >= 2 and self.particles >= 2, "a Jastrow factor needs D >= 2 and N >= 2")
        if "slater" in self.ansatz:
            require(self.particles % 2 == 0, "Slater determinants here are for closed shells (even N)")


ANSATZ_KINDS = ("rbm", "rbm-jastrow", "slater", "slater-jastrow", "slater-rbm", "slater-rbm-jastrow")


def build_ansatz(cfg: QDotConfig, generator: torch.Generator | None = None) -> Ansatz:
    """The wave function named by ``cfg.ansatz``.

    rbm: Gaussian-binary RBM alone (distinguishable / spatially symmetric particles, e.g. the two-electron
    singlet); *-jastrow adds a Pade-Jastrow factor; slater*: closed-shell Slater determinants of Hermite
    polynomials (with their own Gaussian when there is no RBM; with an RBM the RBM supplies it).
    """
    cfg.validate()
    g = generator or torch.Generator().manual_seed(cfg.seed)
    n, d, dev = cfg.particles, cfg.dim, torch.device(cfg.device)
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


def _sample_block(ansatz: Ansatz, ham: HarmonicTrap, sampler: Sampler, n_steps: int,
                  want_derivs: bool) -> tuple[torch.Tensor, torch.Tensor | None, list[torch.Tensor]]:
    """n_steps sweeps; E_L (n_steps, W), O (n_steps * W, P) and the positions of every step."""
    els, os_, xs = [], [], []
    for _ in range(n_steps):
        sampler.sweep()
        x = sampler.x
        with torch.no_grad():
            els.append(ham.local_energy(ansatz, x))
            if want_derivs:
                os_.append(ansatz.log_derivs(x).detach())
        xs.append(x)
    E = torch.stack(els)
    O = torch.cat(os_) if want_derivs else None
    return E, O, xs


def optimize(ansatz: Ansatz, ham: HarmonicTrap, sampler: Sampler, optimizer, iterations: int, steps: int,
             history: list[dict[str, Any]] | None = None, stop: ToleranceStop | None = None,
             progress: bool = False, on_iteration: Callable[[int, list], None] | None = None,
             start: int = 0) -> list[dict[str, Any]]:
    """Run ``iterations`` optimisation steps (from iteration ``start``); returns the history."""
    history = history if history is not None else []
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=iterations, initial=start, desc="vmc qdot", unit="it", leave=False)
    for it in range(start, iterations):
        sampler.reset_counters()
        E, O, _ = _sample_block(ansatz, ham, sampler, steps, want_derivs=True)
        e_flat = E.reshape(-1)
        if not torch.isfinite(e_flat).all():
            raise FloatingPointError("non-finite local energies during optimisation; lower the learning rate")
        st = blocking(E)
        lr_now = optimizer.lr
        delta = optimizer.step(O, e_flat)
        ansatz.add_to_parameters(delta)
        sampler.refresh()
        rec = {"iteration": it, "energy": st.mean, "stderr": st.stderr, "variance": st.variance,
               "acceptance": sampler.acceptance(), "lr": lr_now, "update_norm": float(delta.norm())}
        history.append(rec)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(E=f"{st.mean:.5f}", var=f"{st.variance:.2e}")
        if on_iteration is not None:
            on_iteration(it, history)
        if stop is not None and stop.update(st.mean):
            break
    if bar is not None:
        bar.close()
    return history


def evaluate(ansatz: Ansatz, ham: HarmonicTrap, sampler: Sampler, n_steps: int, burn_in: int = 0,
             exact: float | None = None, bins: int = 80, progress: bool = False) -> dict[str, Any]:
    """Energy with blocking error bar and variance, acceptance, and histograms of the one-body density
    (radial, and the 2D density for D = 2) and of the pair distances."""
    if burn_in:
        sampler.burn_in(burn_in, adapt=False)
    sampler.reset_counters()
    els = []
    length = 1.0 / math.sqrt(ham.omega)
    r_max = 3.2 * length * max(1.0, ham.n_particles ** (1 / (2 * ham.dim)))
    radial = np.zeros(bins)
    pair = np.zeros(bins)
    dens2d = np.zeros((bins, bins)) if ham.dim == 2 else None
    n_pairs = ham.n_particles * (ham.n_particles - 1) // 2
    it = range(n_steps)
    if progress:
        from tqdm import tqdm
        it = tqdm(it, desc="measure", unit="step", leave=False)
    for _ in it:
        sampler.sweep()
        x = sampler.x
        with torch.no_grad():
            els.append(ham.local_energy(ansatz, x))
        xn = x.detach().to("cpu", torch.float64).numpy()
        r = np.linalg.norm(xn, axis=-1).ravel()
        radial += np.histogram(r, bins=bins, range=(0, r_max))[0]
        if dens2d is not None:
            dens2d += np.histogram2d(xn[..., 0].ravel(), xn[..., 1].ravel(), bins=bins,
                                     range=[[-r_max, r_max], [-r_max, r_max]])[0]
        if n_pairs:
            iu = np.triu_indices(ham.n_particles, 1)
            rij = np.linalg.norm(xn[:, iu[0]] - xn[:, iu[1]], axis=-1).ravel()
            pair += np.histogram(rij, bins=bins, range=(0, 2 * r_max))[0]
    E = torch.stack(els)
    st = blocking(E)
    out: dict[str, Any] = {"energy": st.mean, "stderr": st.stderr, "variance": st.variance,
                           "block_size": st.block_size, "n_samples": st.n_samples, "blocking_converged": st.converged,
                           "naive_stderr": st.naive_stderr, "acceptance": sampler.acceptance(), "step": sampler.step,
                           "exact": exact}
    if exact is not None:
        out["below_exact_flag"] = below_exact(st.mean, st.stderr, exact)
        out["error_vs_exact"] = st.mean - exact
    # normalised densities: radial one-body density rho(r) integrates to N over space
    edges = np.linspace(0, r_max, bins + 1)
    shell = _shell_volume(edges, ham.dim)
    total = n_steps * sampler.n_walkers
    out["_radial"] = {"r": 0.5 * (edges[1:] + edges[:-1]), "rho": radial / total / shell}
    if dens2d is not None:
        cell = (2 * r_max / bins) ** 2
        out["_density2d"] = {"extent": [-r_max, r_max, -r_max, r_max], "rho": dens2d / total / cell}
    if n_pairs:
        pe = np.linspace(0, 2 * r_max, bins + 1)
        out["_pair"] = {"r": 0.5 * (pe[1:] + pe[:-1]), "p": pair / (pair.sum() * (pe[1] - pe[0]))}
    return out


def _shell_volume(edges: np.ndarray, dim: int) -> np.ndarray:
    unit = {1: 2.0, 2: math.pi, 3: 4 * math.pi / 3}[dim]
    return unit * (edges[1:] ** dim - edges[:-1] ** dim)


# ----------------------------------------------------------------------------------------- checkpoints
def save_checkpoint(path: str | Path, ansatz: Ansatz, sampler: Sampler, optimizer, history: list, iteration: int,
                    config: dict[str, Any] | None = None) -> None:
    """Atomic, checksummed checkpoint (boltzlab.checkpoint) of everything a resumed run needs."""
    save_payload(path, {"kind": "vmc-qdot", "ansatz": ansatz.state_dict(), "sampler": sampler.state_dict(),
                        "optimizer": optimizer.state_dict(), "history": history, "iteration": iteration,
                        "config": config or {}})


def load_checkpoint(path: str | Path, ansatz: Ansatz | None = None, sampler: Sampler | None = None,
                    optimizer=None) -> dict[str, Any]:
    """Read a checkpoint and load it into the given (freshly built) objects; returns the payload.

    For a wave function defined in a notebook, build the same object as before and pass it here."""
    payload = load_payload(path)
    if payload.get("kind") != "vmc-qdot":
        raise CheckpointError(f"{path}: not a vmc qdot checkpoint")
    if ansatz is not None:
        try:
            ansatz.load_state_dict(payload["ansatz"])
        except RuntimeError as exc:
            raise CheckpointError(f"{path}: the checkpoint does not fit this ansatz: {str(exc).splitlines()[0]}") from None
    if sampler is not None:
        sampler.load_state_dict(payload["sampler"])
    if optimizer is not None:
        optimizer.load_state_dict(payload["optimizer"])
    return payload


# ----------------------------------------------------------------------------------------- one call
def run_qdot(cfg: QDotConfig, out: Path | None = None, progress: bool = False, checkpoint: Path | None = None,
             resume: bool = False, checkpoint_every: int = 10, plots: bool = True,
             log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Build, optimise and evaluate; write plots / JSON into ``out``; resume from ``checkpoint``."""
    from ..optim import inverse_time
    cfg.validate()
    t0 = time.perf_counter()
    ham = HarmonicTrap(cfg.particles, cfg.dim, cfg.omega, cfg.interaction)
    ansatz = build_ansatz(cfg)
    sampler = Sampler(ansatz, cfg.walkers, cfg.method, cfg.step, cfg.moves, seed=cfg.seed, omega=cfg.omega)
    lr = inverse_time(cfg.lr, cfg.lr_decay) if cfg.lr_decay else cfg.lr
    opt = make_optimizer(cfg.optimizer, lr, diag_shift=cfg.diag_shift)
    history: list[dict[str, Any]] = []
    start = 0
    if resume and checkpoint is not None and Path(checkpoint).exists():
        payload = load_checkpoint(checkpoint, ansatz, sampler, opt)
        history, start = list(payload["history"]), int(payload["iteration"]) + 1
        if log:
            log(f"resumed from {checkpoint} at iteration {start}")
    else:
        sampler.burn_in(cfg.burn_in, adapt=True)
    stop = ToleranceStop(cfg.tol, window=10) if cfg.tol > 0 else None

    def on_it(it: int, hist: list) -> None:
        if checkpoint is not None and ((it + 1) % checkpoint_every == 0 or it + 1 == cfg.iterations):
            save_checkpoint(checkpoint, ansatz, sampler, opt, hist, it, asdict(cfg))

    optimize(ansatz, ham, sampler, opt, cfg.iterations, cfg.steps, history, stop, progress, on_it, start)
    if checkpoint is not None and history:
        save_checkpoint(checkpoint, ansatz, sampler, opt, history, history[-1]["iteration"], asdict(cfg))
    exact = ham.exact_energy()
    res = evaluate(ansatz, ham, sampler, cfg.eval_steps, cfg.eval_burn_in, exact=exact, progress=progress)
    result: dict[str, Any] = {k: v for k, v in res.items() if not k.startswith("_")}
    result.update({"particles": cfg.particles, "dim": cfg.dim, "omega": cfg.omega, "interaction": cfg.interaction,
                   "ansatz": cfg.ansatz, "n_params": ansatz.n_params, "iterations_run": len(history),
                   "seconds": time.perf_counter() - t0, "config": asdict(cfg)})
    if cfg.dim == 2 and abs(cfg.omega - 1) < 1e-15 and cfg.interaction and cfg.particles in DMC_REFERENCE:
        result["reference"] = DMC_REFERENCE[cfg.particles]
    result["parameters"] = {k: v.detach().cpu().reshape(-1).tolist() for k, v in ansatz.state_dict().items()
                            if v.numel() <= 64 and v.is_floating_point()}
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        if plots:
            from .plots import plot_history, plot_observables
            result["plots"] = [str(plot_history(history, out / "optimisation.png", exact, cfg)),
                               *[str(p) for p in plot_observables(res, out, cfg)]]
        from ...checkpoint import atomic_write_json
        atomic_write_json(out / "history.json", history)
        atomic_write_json(out / "result.json", result)
    result["history_tail"] = history[-3:]
    return result
