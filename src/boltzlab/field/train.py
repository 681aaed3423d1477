"""Training the scalar-field RBM (Aarts, Lucini & Park, Phys. Rev. D 109, 034521 (2024), Sec. III, App. A).

Gradient ascent on the log-likelihood, theta_{n+1} = theta_n + eta_n dL/dtheta (eq. 25), with

    dL/dW    = sigma_h^2 (C^target - C^model) W                      (eq. 20)
    dL/dmu^2 = -(1/2) sum_i (C^target_ii - C^model_ii)               (eq. 22)

The target term comes from a known target kernel (C^target = (K^phi)^{-1}) or from configurations (eq. 21);
the model term is exact (K^{-1}) or the mean of ``chains`` persistent block-Gibbs chains (App. A); the rate
decays as eta_n = r eta_{n-1} every N_epoch^rate epochs (eq. A2).  This is the learning rule of the one
:class:`~boltzlab.training.Trainer`, fed configurations whose second moment is C^target
(:func:`configurations_with_moment`); an update that would leave the domain of existence (mu^2 <=
sigma_h^2 xi_max^2, or NaN) is undone and training stops with a :class:`~boltzlab.errors.DomainError`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np
import torch

from ..errors import DomainError, ShapeError, require
from ..training import TrainConfig, Trainer
from .model import ScalarFieldRBM


@dataclass
class FieldTrainConfig:
    """Hyperparameters of :func:`train_field` (App. A of the paper)."""

    epochs: int = 20_000
    lr: float = 0.1
    decay: float = 1.0          # r of eq. (A2); 1 = constant learning rate
    decay_every: int = 128      # N_epoch^rate of eq. (A2)
    method: str = "pcd"         # "pcd" or "exact"
    chains: int = 128
    gibbs_steps: int = 1
    record_every: int = 50
    seed: int = 0

    def validate(self) -> None:
        require(self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}")
        require(math.isfinite(self.lr) and self.lr > 0, f"the learning rate must be positive, got {self.lr}")
        require(math.isfinite(self.decay) and 0 < self.decay <= 1,
                f"the learning-rate decay r must lie in (0, 1], got {self.decay}")
        require(self.decay_every >= 1, f"decay_every must be >= 1, got {self.decay_every}")
        require(self.method in ("pcd", "exact"), f"unknown training method {self.method!r}; use 'pcd' or 'exact'")
        require(self.chains >= 2, f"PCD needs at least 2 chains, got {self.chains}")
        require(self.gibbs_steps >= 1, f"gibbs_steps must be >= 1, got {self.gibbs_steps}")
        require(self.record_every >= 1, f"record_every must be >= 1, got {self.record_every}")


@dataclass
class FieldHistory:
    """What :func:`train_field` records every ``record_every`` epochs (and at the start and the end)."""

    epoch: list[int] = field(default_factory=list)
    time: list[float] = field(default_factory=list)         # t = sum of learning rates (continuous time)
    lr: list[float] = field(default_factory=list)
    mu2: list[list[float]] = field(default_factory=list)
    eigenvalues: list[list[float]] = field(default_factory=list)       # ascending
    singular_values: list[list[float]] = field(default_factory=list)   # descending
    norms: dict[str, list[float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def array(self, key: str) -> np.ndarray:
        return np.asarray(getattr(self, key), dtype=float)


def weight_part_norms(w: torch.Tensor) -> dict[str, float]:
    """Frobenius norms of the diagonal, strictly lower/upper triangular, symmetric and antisymmetric parts
    of W (Figs. 3-4; sym/asym only for square W)."""
    w = w.detach().double()
    out = {"diagonal": float(torch.diagonal(w).norm()), "lower": float(torch.tril(w, -1).norm()),
           "upper": float(torch.triu(w, 1).norm()), "total": float(w.norm())}
    if w.shape[0] == w.shape[1]:
        out["symmetric"] = float((0.5 * (w + w.t())).norm())
        out["antisymmetric"] = float((0.5 * (w - w.t())).norm())
    return out


def stable_learning_rate(kappa: Any, mu2: float, sigma_h2: float = 1.0) -> float:
    """Largest constant learning rate for which the discrete update (eq. 25) converges to the fixed point.

    Linearising eq. (81) about sigma_h^2 xi^2 = mu^2 - kappa gives x' = -2 sigma_h^2 gamma x with gamma =
    (mu^2 - kappa)/kappa^2 (eq. 63-67), so the Euler step x_{n+1} = (1 - 2 eta sigma_h^2 gamma) x_n converges
    only for eta < 1/(sigma_h^2 gamma_max) = kappa_min^2 / (sigma_h^2 (mu^2 - kappa_min)), kappa_min the
    smallest target eigenvalue below mu^2 (the angle rates gamma_dtheta of eq. 67 give weaker bounds).  Above
    it the most infrared eigenvalue oscillates about kappa_min; further above, updates leave the domain of
    existence.  Returns inf when no eigenvalue lies below mu^2."""
    kap = np.asarray(torch.as_tensor(kappa, dtype=torch.float64).cpu(), dtype=float).reshape(-1)
    below = kap[(kap > 0) & (kap < float(mu2))]
    if below.size == 0:
        return math.inf
    k = float(below.min())
    return k * k / (float(sigma_h2) * (float(mu2) - k))


def target_from_kernel(kernel: Any) -> torch.Tensor:
    """C^target = (K^phi)^{-1} of a known Gaussian target (eq. 21), float64."""
    k = torch.as_tensor(kernel, dtype=torch.float64)
    chol, info = torch.linalg.cholesky_ex(k)
    require(int(info) == 0, "the target kernel is not positive definite: the target theory does not exist", DomainError)
    return torch.cholesky_inverse(chol)


def _record(model: ScalarFieldRBM, hist: FieldHistory, epoch: int, t: float, lr: float) -> None:
    hist.epoch.append(int(epoch))
    hist.time.append(float(t))
    hist.lr.append(float(lr))
    hist.mu2.append([float(x) for x in model.mu2.detach().double().reshape(-1)])
    hist.eigenvalues.append(model.spectrum().double().tolist())
    hist.singular_values.append(model.singular_values().double().tolist())
    for k, v in weight_part_norms(model.weights).items():
        hist.norms.setdefault(k, []).append(v)


def configurations_with_moment(second_moment: torch.Tensor) -> torch.Tensor:
    """N rows phi_d whose second moment (1/N) sum_d phi_d phi_d^T equals ``second_moment`` (N x N, PSD).

    With C = U diag(lambda) U^T, the rows of sqrt(N) diag(sqrt(lambda)) U^T: a data set that stands for a
    known target in the learning rule, whose data term depends on the configurations only through C.
    """
    lam, u = torch.linalg.eigh(second_moment)
    return (u * (lam.clamp_min(0) * second_moment.shape[0]).sqrt()).t()


def train_field(model: ScalarFieldRBM, target: Any, config: FieldTrainConfig | None = None, *,
                progress: bool = False, callback: Callable[[int, ScalarFieldRBM], None] | None = None,
                ) -> FieldHistory:
    """Train ``model`` in place towards the target second moment ``target`` = <phi phi^T>_target.

    Returns the :class:`FieldHistory`; ``callback(epoch, model)`` runs after every epoch (one update each).
    Raises :class:`DomainError` (model unchanged since the last valid update) if an update would leave the
    domain of existence.
    """
    cfg = config or FieldTrainConfig()
    cfg.validate()
    c_t = torch.as_tensor(target, dtype=torch.float64)
    n = model.n_visible
    if tuple(c_t.shape) != (n, n):
        raise ShapeError(f"the target two-point function has shape {tuple(c_t.shape)}; expected ({n}, {n})")
    if not bool(torch.isfinite(c_t).all()):
        raise DomainError("the target two-point function contains NaN or infinite values")
    model.check_exists("the initial parameters")
    model._require_no_source()
    train = TrainConfig(method=cfg.method, k=cfg.gibbs_steps, n_chains=cfg.chains, batch_size=n, epochs=cfg.epochs,
                        optimizer="sgd", lr=cfg.lr, momentum=0.0, lr_schedule="step", lr_decay=cfg.decay,
                        lr_decay_every=cfg.decay_every, init_visible_from_data=False, seed=cfg.seed,
                        dtype=str(model.dtype).removeprefix("torch."), device=str(model.device), monitor=False)
    hist = FieldHistory()
    _record(model, hist, 0, 0.0, cfg.lr)
    clock = {"t": 0.0, "lr": float(cfg.lr)}

    def on_epoch(rec: dict[str, Any]) -> None:
        clock["t"] += clock["lr"]          # t = sum of the learning rates used so far
        clock["lr"] = rec["lr"]
        epoch = rec["epoch"]
        if epoch % cfg.record_every == 0 or epoch == cfg.epochs:
            _record(model, hist, epoch, clock["t"], rec["lr"])
        if callback is not None:
            callback(epoch, model)

    Trainer(model, configurations_with_moment(c_t.to(model.device)), train, progress=progress,
            on_epoch=on_epoch).fit()
    return hist
