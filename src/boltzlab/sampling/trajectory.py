"""Parallel trajectory tempering (PTT) and the log-likelihood along training.

Parallel trajectory tempering (Béreux, Decelle, Furtlehner, Rosset & Seoane, ICLR 2025, "fastrbm") uses the
models saved along training as the replicas of replica exchange: the trajectory passes the modes' emergence
continuously, where temperature tempering heats through first-order transitions.  Replica 0 is by default the
independent model of the first saved model (couplings zero; one sweep is an exact draw).  One step is that of
:class:`boltzlab.sampling.tempering.Ladder` over the :class:`~boltzlab.sampling.path.ModelPath` through the
saved models: neighbouring replicas exchange states with ln a = [F_r(v_r) + F_{r+1}(v_{r+1})] - [F_r(v_{r+1})
+ F_{r+1}(v_r)] (free energies in float64), then every replica runs ``sweeps`` block-Gibbs sweeps.
:func:`select_models` keeps, greedily from the bottom, the farthest model whose pilot exchange acceptance with
the last kept one stays above a target, inserting parameter midpoints where two saved models fall below it.

Log-likelihood along training (:func:`trajectory_log_z`): annealed importance sampling (Neal, Stat. Comput.
11, 125 (2001)) from the independent model along the trajectory itself, ``n_between`` linear interpolations
between successive saved models; at every saved model t, ln Z_t = ln Z_0 + ln mean(w) and
LL_t = mean_data(-F_t(v)) - ln Z_t.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ..errors import CheckpointError, ShapeError, require
from ..random import Rng, as_rng
from ..stats import log_mean_exp
from .path import ModelPath, anneal, interpolate_models, uncoupled_log_z
from .tempering import Ladder, initial_states

#: Default target exchange acceptance of neighbouring replicas.
TARGET_ACCEPTANCE = 0.3


# ---------------------------------------------------------------------------------------------- trajectories
def load_trajectory(path: str | Path, device: Any = None) -> tuple[list, list[int]]:
    """The models saved along a training run and their update numbers.

    ``path`` is a training checkpoint written with ``TrainConfig(save_every=N)`` (``boltzlab train
    --save-every N``), or the run directory holding ``checkpoint.pt``.
    """
    from ..checkpoint import load_payload
    from ..io import model_from_payload
    p = Path(path)
    if p.is_dir():
        p = p / "checkpoint.pt"
    require(p.is_file(), f"{p}: no such checkpoint", CheckpointError)
    payload = load_payload(p)
    if payload.get("kind") != "checkpoint":
        raise CheckpointError(f"{p}: holds a model only; a trajectory is stored in the checkpoint of a "
                              "training run started with --save-every N")
    entries = payload["trainer"].get("trajectory") or []
    require(len(entries) >= 2, f"{p}: the run saved {len(entries)} model(s) along training; trajectory "
                               "tempering needs at least 2 (train with --save-every N)", CheckpointError)
    cfg = payload["model"]["config"]
    models = [model_from_payload({"config": cfg, "state": e["state"]}, device=device) for e in entries]
    return models, [int(e["step"]) for e in entries]


def trajectory_from_trainer(trainer) -> tuple[list, list[int]]:
    """The models a :class:`~boltzlab.training.Trainer` recorded (``save_every`` > 0) and their steps."""
    require(len(trainer.trajectory) >= 2, "the trainer recorded fewer than 2 models; train with save_every > 0")
    models = []
    for e in trainer.trajectory:
        m = copy.deepcopy(trainer.model)
        m.load_state_dict(e["state"])
        for p in m.parameters():
            p.requires_grad_(False)
        models.append(m)
    return models, [int(e["step"]) for e in trainer.trajectory]


def independent_model(model):
    """A copy of ``model`` with its couplings set to zero: p(v, h) = p(v) p(h), sampled exactly by one sweep.

    Its ln Z is ln Z_vis(0) + ln Z_hid(0) in closed form (:func:`independent_log_z`).
    """
    from ..models import EnergyModel
    require(isinstance(model, EnergyModel), f"trajectory tempering needs an RBM (a model with couplings 'weights'); "
                                            f"got {type(model).__name__}")
    m = copy.deepcopy(model)
    with torch.no_grad():
        m.weights.zero_()
    for p in m.parameters():
        p.requires_grad_(False)
    return m


@torch.no_grad()
def independent_log_z(model) -> float:
    """ln Z of an RBM whose couplings are zero, in float64: ln Z_vis(I=0) + ln Z_hid(I=0)."""
    return uncoupled_log_z(model.visible, model.hidden)


def check_rbms(models: Sequence, what: str = "trajectory tempering", mismatch: type = ShapeError) -> list:
    """``models`` as a list, refused (``mismatch`` for a structure that differs) unless RBMs of one structure."""
    from ..models import RBM
    models = list(models)
    require(len(models) >= 1, f"{what} needs at least one model")
    ref = models[0]
    for i, m in enumerate(models):
        require(isinstance(m, RBM), f"{what}: model {i} is a {type(m).__name__}; it needs RBMs")
        if m.config() != ref.config():
            raise mismatch(f"{what}: model {i} ({m.config()}) differs in structure from model 0 ({ref.config()})")
    return models


# ---------------------------------------------------------------------------------------------- sampler
class TrajectoryTempering(Ladder):
    """Replica exchange between models saved along training (parallel trajectory tempering).

    Parameters
    ----------
    models : sequence of RBMs of one structure, in training order; the last one is the target.
    n_chains : chains per replica.
    sweeps : block-Gibbs sweeps per replica between exchange attempts (default 1).
    add_base : put the independent model of ``models[0]`` (couplings zero) at the bottom (default True).
    init : visible states (n_chains rows) to start every replica from (default: random states).
    seed / rng : random stream.
    """

    def __init__(self, models: Sequence, n_chains: int, *, sweeps: int = 1, add_base: bool = True,
                 init: Any = None, seed: int | None = None, rng: Rng | None = None) -> None:
        models = check_rbms(models)
        require(int(sweeps) >= 1, f"sweeps must be >= 1, got {sweeps}")
        self.models = ([independent_model(models[0])] if add_base else []) + models
        self.add_base = bool(add_base)
        self.sweeps = int(sweeps)
        target = self.models[-1]
        rng = rng if rng is not None else as_rng(seed, target.device)
        path = ModelPath(self.models, [1.0] * len(self.models), "visible", self.sweeps)
        r = len(self.models)
        super().__init__(path, np.arange(r, dtype=float), initial_states(target, n_chains, r, init, rng), rng)

    def free_energy(self, r: int, v: torch.Tensor) -> torch.Tensor:
        """F_r(v) in float64."""
        return -self.path.log_f(v, self.ts[r])

    def summary(self) -> dict[str, Any]:
        return {"n_replicas": self.n_replicas, "acceptance": self.acceptance.tolist(),
                "min_acceptance": float(self.acceptance.min()) if len(self.acceptance) else None,
                "steps": self.steps, "n_chains": self.n_chains, "sweeps": self.sweeps, "add_base": self.add_base}


@dataclass
class Selection:
    """The replicas :func:`select_models` kept.

    ``models`` (the base excluded) in order; ``labels[i]`` names each: the index of the saved model, or a
    fraction ``i + s`` for a model interpolated between saved models i and i+1; ``estimated_acceptance``
    the pilot's estimate for each neighbouring pair of the kept ladder, base first.
    """

    models: list
    labels: list[float]
    estimated_acceptance: list[float]
    target: float
    pilot_acceptance: list[float] = field(default_factory=list)
    below_target: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"labels": self.labels, "n_kept": len(self.models), "target": self.target,
                "estimated_acceptance": self.estimated_acceptance, "pilot_acceptance": self.pilot_acceptance,
                "below_target": self.below_target}


def _refine(models: list, labels: list[float], states: list, ptt: "TrajectoryTempering", target: float,
            max_insert: int) -> tuple[list, list[float], list]:
    """Insert parameter midpoints between successive models whose pair acceptance is below ``target``."""
    off = 1 if ptt.add_base else 0
    new_models, new_labels, new_states = [], [], []
    inserted = 0
    for i, (m, lab) in enumerate(zip(models, labels)):
        new_models.append(m); new_labels.append(lab); new_states.append(states[i + off])
        if i + 1 < len(models) and inserted < max_insert:
            acc = ptt.pair_acceptance(i + off, i + 1 + off)
            if acc < target:
                mid = interpolate_models(m, models[i + 1], 0.5)
                new_models.append(mid); new_labels.append(0.5 * (lab + labels[i + 1]))
                new_states.append(states[i + off].clone())
                inserted += 1
    base_state = [states[0]] if ptt.add_base else []
    return new_models, new_labels, base_state + new_states


def select_models(models: Sequence, target: float = TARGET_ACCEPTANCE, *, n_chains: int = 500,
                  pilot_steps: int = 200, sweeps: int = 1, refine_rounds: int = 3, max_insert: int = 64,
                  seed: int | None = 0, progress: bool = False) -> Selection:
    """Choose the saved models to use as PTT replicas so that neighbouring exchanges accept >= ``target``.

    1. Pilot: PTT with every saved model (and the independent base) for ``pilot_steps`` steps.  Where a
       successive pair accepts less than ``target``, its parameter midpoint is inserted and the pilot
       continues (``refine_rounds`` rounds, at most ``max_insert`` insertions each).
    2. Greedy thinning from the bottom: from the last kept replica, keep the farthest later one whose
       estimated acceptance E[min(1, a)] (pilot states, chain by chain) is still >= ``target``; the last
       model is always kept.
    """
    require(0 < float(target) < 1, f"the target acceptance must lie in (0, 1), got {target}")
    models = check_rbms(models)
    labels: list[float] = [float(i) for i in range(len(models))]
    rng = Rng(seed, models[-1].device)
    ptt = TrajectoryTempering(models, n_chains, sweeps=sweeps, rng=rng)
    ptt.run(pilot_steps, progress)
    for _ in range(int(refine_rounds)):
        off = 1
        low = [i for i in range(len(models) - 1) if ptt.pair_acceptance(i + off, i + 1 + off) < target]
        if not low:
            break
        models, labels, states = _refine(models, labels, ptt.states, ptt, target, max_insert)
        ptt = TrajectoryTempering(models, n_chains, sweeps=sweeps, rng=rng)
        ptt.states = [s.clone() for s in states]
        ptt.run(pilot_steps, progress)
    pilot_acc = ptt.acceptance.tolist()
    # Greedy thinning on the pilot's final states (ladder index 0 is the base).
    n = ptt.n_replicas
    kept = [0]
    est: list[float] = []
    below: list[int] = []
    while kept[-1] < n - 1:
        i = kept[-1]
        best, best_acc = i + 1, ptt.pair_acceptance(i, i + 1)
        for j in range(i + 2, n):
            acc = ptt.pair_acceptance(i, j)
            if acc < target:
                break
            best, best_acc = j, acc
        if best_acc < target:
            below.append(len(kept) - 1)
        kept.append(best)
        est.append(best_acc)
    chosen = [k - 1 for k in kept[1:]]
    return Selection([models[k] for k in chosen], [labels[k] for k in chosen], est, float(target),
                     pilot_acc, below)


# ---------------------------------------------------------------------------------------------- ln Z along training
@dataclass
class TrajectoryLogZ:
    """ln Z_t and log-likelihoods at every saved model, by AIS along the training trajectory.

    Attributes: ``steps`` (training updates of the saved models), ``log_z`` and ``stderr`` (delta method),
    ``ess`` (effective sample size of the AIS weights at each saved model), ``log_z_base`` (the independent
    start), ``log_likelihood`` / ``test_log_likelihood`` (mean ln p(v) per sample over the given data, or
    None), ``n_chains``, ``n_between`` (interpolation steps between successive models).
    """

    steps: list[int]
    log_z: np.ndarray
    stderr: np.ndarray
    ess: np.ndarray
    log_z_base: float
    n_chains: int
    n_between: int
    log_likelihood: np.ndarray | None = None
    test_log_likelihood: np.ndarray | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        def lst(x):
            return None if x is None else [float(v) for v in x]
        return {"steps": self.steps, "log_z": lst(self.log_z), "stderr": lst(self.stderr), "ess": lst(self.ess),
                "log_z_base": self.log_z_base, "n_chains": self.n_chains, "n_between": self.n_between,
                "log_likelihood": lst(self.log_likelihood), "test_log_likelihood": lst(self.test_log_likelihood),
                "seconds": round(self.seconds, 3)}


@torch.no_grad()
def _mean_log_prob(model64, data: torch.Tensor | None, log_z: float) -> float | None:
    if data is None:
        return None
    return float(-model64.visible_free_energy(data.to(model64.device, torch.float64)).mean()) - log_z


@torch.no_grad()
def trajectory_log_z(models: Sequence, steps: Sequence[int] | None = None, *, n_chains: int = 1000,
                     n_between: int = 100, sweeps: int = 1, data: Any = None, test: Any = None,
                     seed: int | None = 0, progress: bool = False, rng: Rng | None = None) -> TrajectoryLogZ:
    """ln Z and the log-likelihood at every saved model by AIS along the trajectory (module docstring).

    Parameters
    ----------
    models : RBMs saved along training, in order.
    steps : their update numbers (default 0, 1, 2, ...).
    n_chains : AIS runs (chains annealed in parallel).
    n_between : interpolation steps from the independent base to ``models[0]`` and between each pair of
        successive models (each step is one transition and one weight increment).
    sweeps : block-Gibbs sweeps per transition.
    data, test : data whose mean log-likelihood is reported at every saved model.
    """
    import time
    t0 = time.perf_counter()
    models = check_rbms(models)
    require(int(n_chains) >= 2, f"AIS needs at least 2 chains for an error bar, got n_chains={n_chains}")
    nb = int(n_between)
    require(nb >= 1, f"n_between must be >= 1, got {n_between}")
    steps = list(range(len(models))) if steps is None else [int(s) for s in steps]
    require(len(steps) == len(models), f"{len(steps)} step numbers for {len(models)} models")
    ref = models[-1]
    rng = rng if rng is not None else Rng(seed, ref.device)
    x = None if data is None else ref.visible_tensor(data, "data")
    xt = None if test is None else ref.visible_tensor(test, "test data")
    base = independent_model(models[0])
    log_z_base = independent_log_z(base)
    path = ModelPath([base] + models, [1.0] * (len(models) + 1), "visible", int(sweeps))
    schedule = np.concatenate([[0.0]] + [seg + np.arange(1, nb + 1) / nb for seg in range(len(models))])
    v = base.sample_chains(base.visible.random_state(int(n_chains), rng), 1, 1.0, rng)  # exact base draws
    out_z, out_se, out_ess, out_ll, out_tll = [], [], [], [], []

    def at_saved_model(k: int, log_w: torch.Tensor, v: torch.Tensor, s: Any) -> None:
        if k % nb == 0:
            lme, se, ess = log_mean_exp(log_w)
            lz = log_z_base + lme
            out_z.append(lz); out_se.append(se); out_ess.append(ess)
            m64, _ = path.point(k // nb, torch.float64)
            out_ll.append(_mean_log_prob(m64, x, lz))
            out_tll.append(_mean_log_prob(m64, xt, lz))

    from tqdm.auto import tqdm
    with tqdm(total=len(schedule) - 1, disable=not progress, desc="trajectory AIS", unit="step", leave=False) as bar:
        anneal(path, v, schedule, rng, bar=bar, record=at_saved_model)
    ess_arr = np.array(out_ess)
    if float(ess_arr.min()) < 0.05 * int(n_chains):
        warnings.warn(f"trajectory AIS: the effective sample size fell to {ess_arr.min():.0f} of {n_chains} "
                      "chains; raise n_between (or save models more often)", stacklevel=2)
    return TrajectoryLogZ(steps, np.array(out_z), np.array(out_se), ess_arr, log_z_base, int(n_chains),
                          int(n_between),
                          None if x is None else np.array(out_ll, dtype=float),
                          None if xt is None else np.array(out_tll, dtype=float),
                          time.perf_counter() - t0)


def mode_fractions(v: torch.Tensor, patterns: torch.Tensor) -> torch.Tensor:
    """Fraction of the rows of ``v`` nearest (Hamming / Euclidean) to each row of ``patterns``."""
    d = torch.cdist(v.double(), patterns.to(v.device).double())
    idx = d.argmin(1)
    return torch.bincount(idx, minlength=patterns.shape[0]).double() / max(v.shape[0], 1)


__all__ = ["TrajectoryTempering", "Selection", "select_models", "TrajectoryLogZ", "trajectory_log_z",
           "load_trajectory", "trajectory_from_trainer", "independent_model", "independent_log_z",
           "interpolate_models", "mode_fractions", "TARGET_ACCEPTANCE"]
