"""Training the scalar-field RBM (../shared/papers/scalar-field-rbm-uv-regulator.md, Sec. III, App. A).

Gradient ascent on the log-likelihood, theta_{n+1} = theta_n + eta_n dL/dtheta (eq. 25), with

    dL/dW    = sigma_h^2 (C^target - C^model) W                      (eq. 20)
    dL/dmu^2 = -(1/2) sum_i (C^target_ii - C^model_ii)               (eq. 22)

The target term comes from a known target kernel (C^target = (K^phi)^{-1}, no data set) or from the
two-point function of configurations (eq. 21).  The model term is either exact (C^model = K^{-1}, the
"exact gradient") or estimated by persistent contrastive divergence: ``chains`` persistent block-Gibbs
chains (128 in the paper for scalar fields, 512 for MNIST), ``gibbs_steps`` sweeps per epoch, C^model =
the chains' mean of phi phi^T (App. A).  The learning rate decays as eta_n = r eta_{n-1} every
N_epoch^rate epochs (eq. A2).

Every update is checked before it is committed: if the new parameters would leave the domain of existence
(K not positive definite, i.e. mu^2 <= sigma_h^2 xi_max^2, or NaN), training stops with a one-line
:class:`~boltzlab.errors.DomainError` and the model keeps its last valid parameters; nothing is clipped.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np
import torch

from ..errors import DomainError, require
from ..random import Rng
from ..sampling.gibbs import PersistentChains
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
    existence.  E.g. kappa_min = 0.05, mu^2 = 1.5: the limit is 0.00172; eta = 0.0016 converges to 0.05,
    eta = 0.0018 ends in a 2-cycle about it (0.062 at the last epoch), eta = 0.005 stops with DomainError (docs/field-theory.md).
    Returns inf when no eigenvalue lies below mu^2."""
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
    if int(info) != 0:
        raise DomainError("the target kernel is not positive definite: the target theory does not exist")
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


def train_field(model: ScalarFieldRBM, target: Any, config: FieldTrainConfig | None = None, *,
                progress: bool = False, callback: Callable[[int, ScalarFieldRBM], None] | None = None,
                ) -> FieldHistory:
    """Train ``model`` in place towards the target second moment ``target`` = <phi phi^T>_target.

    Returns the :class:`FieldHistory`.  Raises :class:`DomainError` (model unchanged since the last valid
    update) if an update would leave the domain of existence.
    """
    from tqdm.auto import tqdm
    cfg = config or FieldTrainConfig()
    cfg.validate()
    dtype, device = model.dtype, model.device
    c_t = torch.as_tensor(target, dtype=torch.float64).to(dtype=dtype, device=device)
    n = model.n_visible
    if tuple(c_t.shape) != (n, n):
        from ..errors import ShapeError
        raise ShapeError(f"the target two-point function has shape {tuple(c_t.shape)}; expected ({n}, {n})")
    if not bool(torch.isfinite(c_t).all()):
        raise DomainError("the target two-point function contains NaN or infinite values")
    model.check_exists("the initial parameters")
    model._require_no_source()
    rng = Rng(cfg.seed, device)
    chains = None
    if cfg.method == "pcd":
        chains = PersistentChains(model.visible.random_state(cfg.chains, rng))
    hist = FieldHistory()
    lr, t = float(cfg.lr), 0.0
    _record(model, hist, 0, t, lr)
    chol = model._cholesky()
    w, mu2 = model.weights, model.visible.mu2
    learn_mu2 = model.learn_mu2
    bar = tqdm(total=cfg.epochs, unit="epoch", desc=f"train ({cfg.method})", disable=not progress, leave=False)
    try:
        for epoch in range(1, cfg.epochs + 1):
            with torch.no_grad():
                if chains is None:
                    c_m = torch.cholesky_inverse(chol)
                else:
                    v, _ = chains.run(model, cfg.gibbs_steps, 1.0, rng)
                    c_m = (v.t() @ v) / v.shape[0]
                d_w, d_mu2 = model.exact_gradient(c_t, c_m)
                new_w = w + lr * d_w
                new_mu2 = mu2 + lr * d_mu2 if learn_mu2 else mu2
                k_new = torch.diag(new_mu2.expand(n) if new_mu2.numel() == 1 else new_mu2) \
                    - model.sigma_h2 * (new_w @ new_w.t())
                chol_new, info = torch.linalg.cholesky_ex(k_new)
                if int(info) != 0 or not bool(torch.isfinite(k_new).all()):
                    lam = float(torch.linalg.eigvalsh(k_new.double())[0]) if bool(torch.isfinite(k_new).all()) \
                        else float("nan")
                    raise DomainError(f"epoch {epoch}: the update (learning rate {lr:.3g}) would leave the domain "
                                      f"of existence mu^2 > sigma_h^2 xi_max^2 (smallest eigenvalue of K would be "
                                      f"{lam:.4g}); lower the learning rate or the initial weight width")
                w.copy_(new_w)
                if learn_mu2:
                    mu2.copy_(new_mu2)
                chol = chol_new
            t += lr
            if epoch % cfg.decay_every == 0:   # eq. (A2)
                lr *= cfg.decay
            if epoch % cfg.record_every == 0 or epoch == cfg.epochs:
                _record(model, hist, epoch, t, lr)
            if callback is not None:
                callback(epoch, model)
            bar.update(1)
    finally:
        bar.close()
    return hist
