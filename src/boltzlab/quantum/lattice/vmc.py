"""Lattice VMC: the run settings of a spin model and the driver built from them.

:class:`SpinVMC` is :class:`boltzlab.quantum.vmc.VMC` with the lattice parts plugged in: a
:class:`~boltzlab.quantum.lattice.sampler.MetropolisSpinSampler` (one sample per chain and iteration, ``sweeps``
sweeps apart), the Hamiltonian's local energy and the spin ansatz; by default stochastic reconfiguration
(``torch.optim.SGD`` on the natural gradient) with a cosine or constant learning rate and the step capped at
``max_distance`` in the quantum metric (see :mod:`boltzlab.quantum.vmc`).  The final energy comes from
``eval_steps`` further sampling rounds at fixed parameters, with the blocking error bar over the rounds.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ...checkpoint import load_payload
from ...errors import CheckpointError, ConfigError, require
from ..optim import make_optimizer
from ..vmc import VMC, Estimate, trainable_parameters
from .ansatz import SpinAnsatz
from .hamiltonians import SpinHamiltonian
from .sampler import MetropolisSpinSampler


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
    sr_solver: str = "auto"
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
        require(math.isfinite(self.diag_shift) and self.diag_shift >= 0,
                f"diag_shift must be >= 0, got {self.diag_shift}")
        require(self.move in ("local", "exchange"), f"unknown move {self.move!r} (local, exchange)")


class SpinVMC(VMC):
    """Optimise ``ansatz`` for ``hamiltonian`` by VMC with the settings ``config``.

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
        bonds = hamiltonian.lattice.bonds if cfg.move == "exchange" else None
        sampler = MetropolisSpinSampler(ansatz, cfg.n_chains, cfg.move, bonds, cfg.sweeps, cfg.seed)
        opt, sched, sr = make_optimizer(cfg.optimizer, trainable_parameters(ansatz), cfg.lr, schedule=cfg.lr_schedule,
                                        iterations=cfg.iterations, lr_final=cfg.lr_final,
                                        diag_shift=cfg.diag_shift, solver=cfg.sr_solver)
        if sr is not None:
            sr.complex_params = ansatz.is_complex
        super().__init__(ansatz, hamiltonian, sampler, opt, sched, sr, burn_in=cfg.burn_in,
                         max_distance=cfg.max_distance, exact_energy=exact_energy)

    def run(self, iterations: int | None = None, progress: bool = False, checkpoint: str | Path | None = None,
            checkpoint_every: int = 50, callback: Any = None) -> None:
        """Iterate until ``iterations`` (default ``config.iterations``) have been done in total."""
        super().run(self.config.iterations if iterations is None else iterations, progress, checkpoint,
                    checkpoint_every, callback, extra={"config": asdict(self.config)})

    def estimate(self, eval_steps: int | None = None, progress: bool = False) -> Estimate:  # type: ignore[override]
        """Energy at the current parameters from ``eval_steps`` (default ``config.eval_steps``) sampling rounds."""
        return super().estimate(self.config.eval_steps if eval_steps is None else int(eval_steps),
                                progress=progress)

    @classmethod
    def load(cls, path: str | Path, hamiltonian: SpinHamiltonian, ansatz: SpinAnsatz,  # type: ignore[override]
             config: SpinVMCConfig | None = None) -> "SpinVMC":
        """Resume from ``path``: ``hamiltonian`` and ``ansatz`` must be built as for the original run (an ansatz
        defined in a notebook is passed again; its parameters, the sampler and the optimiser come from the file).
        ``config`` defaults to the stored one; a different ``iterations`` is allowed (to extend a run)."""
        state = load_payload(path)
        require("config" in state, f"{path}: not a lattice-VMC checkpoint", CheckpointError)
        stored = SpinVMCConfig(**state["config"])
        if config is not None:
            for k in ("n_chains", "move", "optimizer"):
                if getattr(config, k) != getattr(stored, k):
                    raise CheckpointError(f"{path}: the checkpoint was made with {k}={getattr(stored, k)!r}, "
                                          f"not {getattr(config, k)!r}")
        vmc = cls(hamiltonian, ansatz, config or stored)
        vmc.load_state_dict(state)
        return vmc
