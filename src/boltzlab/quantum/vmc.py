"""The variational Monte Carlo driver, one for every system: a sampler, a local energy and an ansatz plugged in.

The energy of a state is <E> = sum_x |Psi(x)|^2 E_L(x) / sum_x |Psi(x)|^2, estimated by the mean of the local
energy E_L = (H Psi)(x) / Psi(x) over samples of |Psi|^2 (McMillan, Phys. Rev. 138, A442 (1965)).  Each
iteration draws ``rounds`` samples from every walker (chain), evaluates E_L and the log-derivatives
O_k = d ln Psi / d theta_k, turns them into a gradient -- the energy gradient 2 Re(<E_L O*> - <E_L><O*>), or the
natural gradient of a preconditioner such as :class:`~boltzlab.quantum.optim.StochasticReconfiguration` -- and
lets any ``torch.optim`` optimiser (and ``torch.optim.lr_scheduler``) step the ansatz's parameters.

The three plugged parts (lattice spins: :mod:`boltzlab.quantum.lattice`; particles in continuous space:
:mod:`boltzlab.quantum.qdot`):

* ``ansatz``: a ``torch.nn.Module`` with ``log_derivatives(x, cache) -> (W, P)`` over its trainable parameters
  in ``parameters()`` order (:func:`autograd_log_derivatives` is the generic form);
* ``hamiltonian``: ``local_energy(ansatz, x, cache) -> (W,)`` and ``describe() -> dict``;
* ``sampler``: ``sample() -> (x, cache)`` (one sample per walker), ``burn_in(n)``, ``refresh()`` after the
  parameters changed, ``acceptance``, ``reset_counters()``, ``state_dict()`` / ``load_state_dict()``.

Step length: the update d changes ln Psi(x) by O(x) . d, whose spread over the samples, sqrt(d^H S d), is the
step's length in the quantum (Fubini-Study) metric.  Far from the optimum SR can ask for steps of length >> 1,
after which the chains no longer sample the new |Psi|^2 (energies far below the ground state followed by a
non-finite update were observed); ``max_distance`` scales such steps down to that length.

Per-iteration error bars are the standard error over walkers of their per-iteration means (walkers are
independent chains); the final :meth:`VMC.estimate` blocks the per-round means (Flyvbjerg & Petersen, J. Chem.
Phys. 91, 461 (1989)).  Checkpoints hold the ansatz's ``state_dict``, the sampler's state, the optimiser's and
scheduler's state and the history, so a resumed run continues exactly; an ansatz defined in a notebook is built
again and passed in -- only its parameters are stored, never its code.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from ..checkpoint import load_payload, save_payload
from ..errors import CheckpointError, ConfigError, require
from .optim import ToleranceStop, energy_gradient
from ..stats import below_exact, blocking

__all__ = ["VMC", "Estimate", "autograd_log_derivatives", "trainable_parameters"]


def trainable_parameters(module: torch.nn.Module) -> list[torch.nn.Parameter]:
    """The variational parameters: ``parameters()`` that require gradients, in that order."""
    return [p for p in module.parameters() if p.requires_grad]


def autograd_log_derivatives(module: torch.nn.Module, x: torch.Tensor, chunk_size: int = 4096) -> torch.Tensor:
    """(W, P) per-sample d ln Psi(x_w) / d theta_k of ``module(x)`` = ln Psi over :func:`trainable_parameters`,
    by ``torch.func`` (vmap of jacrev over the samples); complex when ln Psi is (real parameters)."""
    names = [n for n, p in module.named_parameters() if p.requires_grad]
    if not names:
        return torch.zeros(x.shape[0], 0, dtype=x.dtype, device=x.device)
    params = {n: p.detach() for n, p in module.named_parameters() if p.requires_grad}

    def f(p: dict, xi: torch.Tensor) -> torch.Tensor:
        out = torch.func.functional_call(module, p, (xi.unsqueeze(0),), strict=False).reshape(())
        return torch.stack([out.real, out.imag]) if out.is_complex() else out.unsqueeze(0)

    jac = torch.func.vmap(torch.func.jacrev(f), in_dims=(None, 0), chunk_size=chunk_size)(params, x.detach())
    flat = torch.cat([jac[n].reshape(x.shape[0], jac[n].shape[1], -1) for n in names], dim=2)  # (W, 1|2, P)
    return torch.complex(flat[:, 0], flat[:, 1]) if flat.shape[1] == 2 else flat[:, 0]


@dataclass
class Estimate:
    """The energy at fixed parameters with its blocking error bar (see :func:`boltzlab.stats.blocking`)."""

    energy: float
    stderr: float
    variance: float
    block_size: int
    n_samples: int
    converged: bool
    naive_stderr: float
    acceptance: float
    iterations: int
    seconds_per_iteration: float
    exact_energy: float | None = None
    relative_error: float | None = None
    below_exact: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class VMC:
    """Optimise ``ansatz`` for ``hamiltonian`` with samples from ``sampler`` (see the module docstring).

    ``preconditioner``: None (the plain energy gradient) or a callable ``(O, E_L) -> gradient`` such as
    :class:`~boltzlab.quantum.optim.StochasticReconfiguration`.  ``rounds``: samples per walker and iteration.
    ``burn_in``: sampler sweeps before the first iteration (not timed).  ``exact_energy``: a reference for the
    relative error and the below-reference flag of :meth:`estimate` (``exact_stderr``: its standard error, for a
    Monte Carlo reference).
    """

    def __init__(self, ansatz: torch.nn.Module, hamiltonian: Any, sampler: Any, optimizer: torch.optim.Optimizer,
                 scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
                 preconditioner: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None, *,
                 rounds: int = 1, burn_in: int = 0, max_distance: float | None = None,
                 exact_energy: float | None = None, exact_stderr: float = 0.0) -> None:
        require(rounds >= 1 and burn_in >= 0, f"rounds must be >= 1 and burn_in >= 0, got {rounds}, {burn_in}")
        require(max_distance is None or (math.isfinite(max_distance) and max_distance > 0),
                f"max_distance must be > 0 (or None), got {max_distance}")
        self.ansatz, self.ham, self.sampler = ansatz, hamiltonian, sampler
        self.optimizer, self.scheduler, self.preconditioner = optimizer, scheduler, preconditioner
        self.rounds, self.burn_in, self.max_distance = int(rounds), int(burn_in), max_distance
        self.exact_energy, self.exact_stderr = exact_energy, float(exact_stderr)
        self.params = trainable_parameters(ansatz)
        self.complex_params = any(p.is_complex() for p in self.params)
        self.iteration = 0
        self.history: list[dict[str, float]] = []
        self.seconds = 0.0
        self._burnt_in = False

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.params)

    def _vector(self) -> torch.Tensor:
        return torch.cat([p.detach().reshape(-1) for p in self.params])

    @torch.no_grad()
    def _set(self, vec: torch.Tensor) -> None:
        for p, v in zip(self.params, torch.split(vec, [p.numel() for p in self.params])):
            p.copy_(v.view_as(p))

    def _sample(self, derivatives: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """E_L of ``rounds`` samples per walker, (rounds, W), and their log-derivatives (rounds * W, P)."""
        es, os_ = [], []
        for _ in range(self.rounds):
            x, cache = self.sampler.sample()
            with torch.no_grad():
                es.append(self.ham.local_energy(self.ansatz, x, cache))
                if derivatives:
                    os_.append(self.ansatz.log_derivatives(x, cache))
        O = (os_[0] if len(os_) == 1 else torch.cat(os_)) if derivatives else None
        return torch.stack(es), O

    # ------------------------------------------------------------------ one iteration
    def step(self) -> dict[str, float]:
        """Sample, measure E_L and O, and update the parameters once; returns the iteration's record."""
        if not self._burnt_in:  # one-off thermalisation, not counted in the time per iteration
            self.sampler.burn_in(self.burn_in)
            self._burnt_in = True
        t0 = time.perf_counter()
        self.sampler.reset_counters()
        E, O = self._sample(derivatives=True)
        e = E.reshape(-1)
        if not torch.isfinite(torch.view_as_real(e) if e.is_complex() else e).all():
            raise ConfigError(f"non-finite local energies at iteration {self.iteration}; lower the learning rate")
        grad = (self.preconditioner(O, e) if self.preconditioner is not None
                else energy_gradient(O, e, self.complex_params))
        lr = self.optimizer.param_groups[0]["lr"]
        before = self._vector()
        for p, g in zip(self.params, torch.split(grad, [p.numel() for p in self.params])):
            p.grad = g.view_as(p).to(p.dtype)
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        update = self._vector() - before
        if not torch.isfinite(torch.view_as_real(update) if update.is_complex() else update).all():
            raise ConfigError(f"the parameter update at iteration {self.iteration} is not finite; lower --lr or "
                              f"raise --diag-shift")
        # length of the step in the quantum metric, sqrt(d^H S d) = std_x(O(x) . d), capped at max_distance
        Oc = O - O.mean(0, keepdim=True)
        distance = float((Oc @ update.to(Oc.dtype)).abs().pow(2).mean().sqrt())
        if self.max_distance is not None and distance > self.max_distance:
            self._set(before + update * (self.max_distance / distance))
        self.sampler.refresh()
        self.seconds += time.perf_counter() - t0
        e = E.real.double()
        walker_means = e.mean(0)
        rec = {"iteration": self.iteration, "energy": float(e.mean()),
               "stderr": float(walker_means.std() / math.sqrt(walker_means.numel())),
               "variance": float(e.var(unbiased=False)), "distance": distance, "lr": lr,
               "acceptance": float(self.sampler.acceptance)}
        self.history.append(rec)
        self.iteration += 1
        return rec

    def run(self, iterations: int, progress: bool = False, checkpoint: str | Path | None = None,
            checkpoint_every: int = 50, callback: Callable[[dict[str, float]], Any] | None = None,
            stop: ToleranceStop | None = None, extra: dict[str, Any] | None = None) -> None:
        """Iterate until ``iterations`` have been done in total (a resumed run continues where it stopped), or
        until ``stop`` says the energy has settled; writes ``checkpoint`` (with ``extra``) every
        ``checkpoint_every`` iterations and at the end."""
        from tqdm.auto import tqdm
        total = int(iterations)
        bar = tqdm(total=total, initial=min(self.iteration, total), unit="it",
                   desc=f"vmc {self.ham.describe().get('model', '')}", disable=not progress, leave=False)
        try:
            while self.iteration < total:
                rec = self.step()
                bar.update(1)
                bar.set_postfix(E=f"{rec['energy']:.5f}", acc=f"{rec['acceptance']:.2f}", refresh=False)
                if callback is not None:
                    callback(rec)
                if checkpoint is not None and checkpoint_every > 0 and self.iteration % checkpoint_every == 0:
                    self.save(checkpoint, extra)
                if stop is not None and stop.update(rec["energy"]):
                    break
        finally:
            bar.close()
        if checkpoint is not None:
            self.save(checkpoint, extra)

    # ------------------------------------------------------------------ estimate
    def estimate(self, rounds: int, burn_in: int = 0, observe: Callable[[torch.Tensor], Any] | None = None,
                 progress: bool = False) -> Estimate:
        """The energy at the current parameters from ``rounds`` samples per walker after ``burn_in`` more, with
        the blocking error bar over the rounds (walkers averaged per round); ``observe(x)`` sees every sample.

        Works on a copy of the sampler's state, so estimating does not change how a run continues."""
        require(rounds >= 2, f"the estimate needs at least 2 sampling rounds, got {rounds}")
        from tqdm.auto import tqdm
        saved = self.sampler.state_dict()
        if not self._burnt_in:
            self.sampler.burn_in(self.burn_in)
        for _ in range(burn_in):
            self.sampler.sample()
        self.sampler.reset_counters()
        rows = []
        for _ in tqdm(range(rounds), desc="estimate", unit="round", disable=not progress, leave=False):
            x, cache = self.sampler.sample()
            with torch.no_grad():
                rows.append(self.ham.local_energy(self.ansatz, x, cache).real.double())
            if observe is not None:
                observe(x)
        acceptance = float(self.sampler.acceptance)
        self.sampler.load_state_dict(saved)
        b = blocking(torch.stack(rows))
        res = Estimate(b.mean, b.stderr, b.variance, b.block_size, b.n_samples, b.converged, b.naive_stderr,
                       acceptance, self.iteration, self.seconds / max(self.iteration, 1))
        if self.exact_energy is not None:
            res.exact_energy = float(self.exact_energy)
            res.relative_error = abs(b.mean - self.exact_energy) / abs(self.exact_energy)
            res.below_exact = below_exact(b.mean, math.hypot(b.stderr, self.exact_stderr), self.exact_energy)
        return res

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        return {"kind": "vmc", "hamiltonian": self.ham.describe(), "ansatz_class": type(self.ansatz).__name__,
                "ansatz": {k: v.detach().cpu() for k, v in self.ansatz.state_dict().items()},
                "sampler": self.sampler.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
                "iteration": self.iteration, "history": self.history, "seconds": self.seconds,
                "burnt_in": self._burnt_in, "exact_energy": self.exact_energy}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        require(state.get("kind") == "vmc", "not a VMC checkpoint", CheckpointError)
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
        if self.scheduler is not None and state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.iteration, self.history = int(state["iteration"]), list(state["history"])
        self.seconds, self._burnt_in = float(state["seconds"]), bool(state["burnt_in"])
        if self.exact_energy is None:
            self.exact_energy = state.get("exact_energy")

    def save(self, path: str | Path, extra: dict[str, Any] | None = None) -> None:
        """Atomic checkpoint (see :mod:`boltzlab.checkpoint`); ``extra`` (e.g. the run's config) is stored too."""
        save_payload(path, {**self.state_dict(), **(extra or {})})

    def load(self, path: str | Path) -> dict[str, Any]:
        """Continue from the checkpoint ``path`` (this object built as for the original run); returns its payload."""
        state = load_payload(path)
        self.load_state_dict(state)
        return state
