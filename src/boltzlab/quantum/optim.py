"""Optimisers for variational Monte Carlo over a flat parameter vector.

Conventions
-----------
* Parameters are one flat torch vector.  Real parameters are real tensors; complex parameters are
  native complex tensors (no real/imaginary pairs), as for holomorphic wave functions of lattice spins.
* ``O`` are the per-sample log-derivatives O_k(x) = d ln Psi(x) / d theta_k, shape (n_samples, n_params);
  ``E_L`` the local energies, shape (n_samples,).
* The force is F_k = <E_L O_k*> - <E_L><O_k*>.  The energy gradient
  (../shared/papers/ml-for-quantum-many-body-talk.md, "Define the cost function",
  C_i = 2(<E_L dlnPsi/dtheta_i> - <E_L><dlnPsi/dtheta_i>)) is ``2 Re F`` for real parameters; for complex
  parameters :func:`energy_gradient` returns ``2 F`` = dE/d(Re theta) + i dE/d(Im theta), so that
  ``theta - lr * g`` is plain gradient descent on the real and imaginary parts in both cases.
* Every optimiser's :meth:`step` takes ``(O, E_L)`` and returns the *update* (to be added to theta).
  SGD and Adam also offer :meth:`update` from a ready gradient.  The step counter drives the
  learning-rate schedule; :meth:`state_dict` / :meth:`load_state_dict` make runs resumable.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, Callable, Union

import torch

from ..errors import require

__all__ = ["energy_gradient", "force", "Schedule", "constant", "exponential_decay", "inverse_time", "cosine",
           "warmup", "SGD", "Adam", "StochasticReconfiguration", "ToleranceStop", "make_optimizer"]

LR = Union[float, Callable[[int], float]]

try:  # BLAS rank-k updates for the real SR matrix on the CPU
    from scipy.linalg.blas import dsyrk as _dsyrk, ssyrk as _ssyrk
    _SYRK = {torch.float64: _dsyrk, torch.float32: _ssyrk}
except ImportError:  # pragma: no cover - scipy is a dependency
    _SYRK = {}


# ----------------------------------------------------------------------------------------- gradients
def _centered(O: torch.Tensor, E_L: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if O.ndim != 2 or E_L.ndim != 1 or O.shape[0] != E_L.shape[0]:
        raise ValueError(f"O must be (n_samples, n_params) and E_L (n_samples,); got {tuple(O.shape)} "
                         f"and {tuple(E_L.shape)}")
    return O - O.mean(0, keepdim=True), E_L - E_L.mean()


def force(O: torch.Tensor, E_L: torch.Tensor) -> torch.Tensor:
    """F = <E_L O*> - <E_L><O*> (complex when O or E_L is), shape (n_params,)."""
    Oc, Ec = _centered(O, E_L)
    return (Oc.conj() * Ec.unsqueeze(1)).mean(0)


def energy_gradient(O: torch.Tensor, E_L: torch.Tensor, complex_params: bool | None = None) -> torch.Tensor:
    """dE/dtheta = 2 Re F for real parameters; 2 F for complex parameters (see the module docstring).

    ``complex_params`` defaults to "O is complex and E_L is complex-valued", which is wrong for a
    complex wave function with real parameters: pass False there.
    """
    F = force(O, E_L)
    if complex_params is None:
        complex_params = O.is_complex()
    return 2 * F if complex_params else 2 * F.real


# ----------------------------------------------------------------------------------------- schedules
class Schedule:
    """A learning rate as a function of the step number (0-based)."""

    def __init__(self, fn: Callable[[int], float], description: str) -> None:
        self.fn, self.description = fn, description

    def __call__(self, t: int) -> float:
        return float(self.fn(t))

    def __repr__(self) -> str:
        return f"Schedule({self.description})"


def constant(lr: float) -> Schedule:
    return Schedule(lambda t: lr, f"constant {lr:g}")


def exponential_decay(lr: float, rate: float, every: int = 1, floor: float = 0.0) -> Schedule:
    """lr * rate^(t / every), not below ``floor``."""
    require(0 < rate <= 1 and every >= 1, "exponential_decay needs 0 < rate <= 1 and every >= 1")
    return Schedule(lambda t: max(lr * rate ** (t / every), floor), f"{lr:g} * {rate:g}^(t/{every})")


def inverse_time(lr: float, decay: float) -> Schedule:
    """lr / (1 + decay * t)."""
    require(decay >= 0, "inverse_time needs decay >= 0")
    return Schedule(lambda t: lr / (1 + decay * t), f"{lr:g} / (1 + {decay:g} t)")


def cosine(lr: float, total: int, lr_min: float = 0.0) -> Schedule:
    """Cosine annealing from lr to lr_min over ``total`` steps (then lr_min)."""
    require(total >= 1, "cosine needs total >= 1")
    return Schedule(lambda t: lr_min + 0.5 * (lr - lr_min) * (1 + math.cos(math.pi * min(t, total) / total)),
                    f"cosine {lr:g}->{lr_min:g} over {total}")


def warmup(schedule: LR, steps: int) -> Schedule:
    """Linear ramp from 0 over ``steps`` steps into ``schedule``."""
    inner = _as_schedule(schedule)
    return Schedule(lambda t: inner(t) * min(1.0, (t + 1) / max(steps, 1)), f"warmup {steps} then {inner!r}")


def _as_schedule(lr: LR) -> Schedule:
    if isinstance(lr, Schedule):
        return lr
    if callable(lr):
        return Schedule(lr, getattr(lr, "__name__", "callable"))
    require(math.isfinite(float(lr)) and float(lr) > 0, f"the learning rate must be > 0, got {lr}")
    return constant(float(lr))


# ----------------------------------------------------------------------------------------- optimisers
class _Optimizer:
    def __init__(self, lr: LR) -> None:
        self.schedule = _as_schedule(lr)
        self.t = 0

    @property
    def lr(self) -> float:
        return self.schedule(self.t)

    def step(self, O: torch.Tensor, E_L: torch.Tensor) -> torch.Tensor:
        return self.update(energy_gradient(O, E_L))

    def update(self, grad: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {"t": self.t}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.t = int(state["t"])


class SGD(_Optimizer):
    """theta <- theta - lr(t) * g (+ momentum)."""

    def __init__(self, lr: LR = 0.01, momentum: float = 0.0) -> None:
        super().__init__(lr)
        require(0 <= momentum < 1, f"momentum must be in [0, 1), got {momentum}")
        self.momentum = momentum
        self.velocity: torch.Tensor | None = None

    def update(self, grad: torch.Tensor) -> torch.Tensor:
        lr = self.lr
        if self.momentum:
            self.velocity = grad.clone() if self.velocity is None else self.momentum * self.velocity + grad
            grad = self.velocity
        self.t += 1
        return -lr * grad

    def state_dict(self) -> dict[str, Any]:
        return {"t": self.t, "velocity": self.velocity}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.t, self.velocity = int(state["t"]), state.get("velocity")


class Adam(_Optimizer):
    """Adam (Kingma & Ba 2015); for complex gradients the second moment uses |g|^2."""

    def __init__(self, lr: LR = 0.01, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        super().__init__(lr)
        require(0 <= betas[0] < 1 and 0 <= betas[1] < 1, f"Adam betas must be in [0, 1), got {betas}")
        self.betas, self.eps = betas, eps
        self.m: torch.Tensor | None = None
        self.v: torch.Tensor | None = None

    def update(self, grad: torch.Tensor) -> torch.Tensor:
        b1, b2 = self.betas
        lr = self.lr
        if self.m is None:
            self.m = torch.zeros_like(grad)
            self.v = torch.zeros(grad.shape, dtype=grad.real.dtype, device=grad.device)
        self.m = b1 * self.m + (1 - b1) * grad
        self.v = b2 * self.v + (1 - b2) * (grad.abs() ** 2)
        self.t += 1
        mhat = self.m / (1 - b1 ** self.t)
        vhat = self.v / (1 - b2 ** self.t)
        return -lr * mhat / (vhat.sqrt() + self.eps)

    def state_dict(self) -> dict[str, Any]:
        return {"t": self.t, "m": self.m, "v": self.v}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.t, self.m, self.v = int(state["t"]), state.get("m"), state.get("v")


class StochasticReconfiguration(_Optimizer):
    """Stochastic reconfiguration (natural gradient, Sorella 1998): solve (S + shift) dtheta = F.

    S_kl = <O_k* O_l> - <O_k*><O_l> (the quantum geometric tensor), F the force of :func:`force`; the
    update is ``-lr(t) * dtheta``.  ``diag_shift`` is added to the diagonal (absolute, as in NetKet);
    ``diag_scale`` additionally multiplies it by (1 + diag_scale) (relative shift).  For real parameters
    (``complex_params=False``, the default when O is real) S and F are replaced by their real parts.
    The system is solved by Cholesky factorisation; it falls back to least squares if S + shift is not
    numerically positive definite.  When n_samples < n_params the same solution is found in sample space
    (the n_samples x n_samples matrix, "minSR"), which is cheaper.
    """

    def __init__(self, lr: LR = 0.05, diag_shift: float = 1e-3, diag_scale: float = 0.0,
                 complex_params: bool | None = None) -> None:
        super().__init__(lr)
        require(diag_shift >= 0 and diag_scale >= 0, "SR diag_shift and diag_scale must be >= 0")
        self.diag_shift, self.diag_scale = diag_shift, diag_scale
        self.complex_params = complex_params

    def direction(self, O: torch.Tensor, E_L: torch.Tensor) -> torch.Tensor:
        """dtheta = (S + shift)^-1 F (before the learning rate)."""
        cplx = O.is_complex() if self.complex_params is None else self.complex_params
        Oc, Ec = _centered(O, E_L)
        n, p = Oc.shape
        F = Oc.conj().T @ Ec.to(Oc.dtype) / n if Oc.is_complex() or not Ec.is_complex() else \
            (Oc.conj() * Ec.unsqueeze(1)).mean(0)
        if not cplx:
            F = F.real
        if n < p and self.diag_scale == 0 and self.diag_shift > 0 and (cplx or not Oc.is_complex()):
            # (A^H A + e I)^-1 A^H b = A^H (A A^H + e I)^-1 b with A = Oc / sqrt(n), b = Ec / sqrt(n)
            A = Oc / math.sqrt(n)
            T = A @ A.conj().T + self.diag_shift * torch.eye(n, dtype=A.dtype, device=A.device)
            return A.conj().T @ _solve_psd(T, (Ec / math.sqrt(n)).to(A.dtype))
        lower_only = False
        if Oc.device.type == "cpu" and Oc.dtype in _SYRK:
            # S = Oc^T Oc / n by BLAS syrk: only the lower triangle, which is all Cholesky reads (~2x faster
            # than the full matmul for the 1000 x 288 lattice problem, measured by SPINS)
            a = Oc.detach().contiguous().numpy()
            S = torch.from_numpy(_SYRK[Oc.dtype](1.0 / n, a.T, trans=0, lower=1))
            lower_only = True
        else:
            S = Oc.conj().T @ Oc / n
            if not cplx:
                S = S.real
        diag = torch.diagonal(S)
        shift = self.diag_shift + self.diag_scale * diag.real
        S = S + torch.diag_embed(shift.to(S.dtype))
        return _solve_psd(S, F.to(S.dtype), lower_only)

    def step(self, O: torch.Tensor, E_L: torch.Tensor) -> torch.Tensor:
        d = self.direction(O, E_L)
        lr = self.lr
        self.t += 1
        return -lr * d

    def update(self, grad: torch.Tensor) -> torch.Tensor:
        raise TypeError("StochasticReconfiguration needs the samples: call step(O, E_L)")


def _solve_psd(S: torch.Tensor, b: torch.Tensor, lower_only: bool = False) -> torch.Tensor:
    """Solve S x = b for Hermitian positive semi-definite S (only its lower triangle when ``lower_only``)."""
    L, info = torch.linalg.cholesky_ex(S)
    if int(info) == 0:
        return torch.cholesky_solve(b.unsqueeze(1), L).squeeze(1)
    if lower_only:
        S = S.tril() + S.tril(-1).mT.conj()
    return torch.linalg.lstsq(S, b.unsqueeze(1)).solution.squeeze(1)


# ----------------------------------------------------------------------------------------- stopping
class ToleranceStop:
    """Stop when a monitored value has settled.

    ``update(value, stderr=0)`` returns True once the last ``window`` values span less than ``tol``
    (max - min), or once ``value`` itself is below ``below`` (e.g. an energy variance of 0 for an exact
    eigenstate).  ``patience`` steps must have passed first.
    """

    def __init__(self, tol: float, window: int = 10, below: float | None = None, patience: int = 0) -> None:
        require(tol >= 0 and window >= 2, "ToleranceStop needs tol >= 0 and window >= 2")
        self.tol, self.window, self.below, self.patience = tol, window, below, patience
        self.history: deque[float] = deque(maxlen=window)
        self.n = 0

    def update(self, value: float) -> bool:
        self.history.append(float(value))
        self.n += 1
        if self.n < self.patience:
            return False
        if self.below is not None and float(value) < self.below:
            return True
        return len(self.history) == self.window and max(self.history) - min(self.history) < self.tol


def make_optimizer(name: str, lr: LR, **kw: Any) -> _Optimizer:
    """'sgd', 'adam' or 'sr' by name (keyword arguments pass through)."""
    name = name.lower()
    if name == "sgd":
        return SGD(lr, **{k: v for k, v in kw.items() if k in ("momentum",)})
    if name == "adam":
        return Adam(lr, **{k: v for k, v in kw.items() if k in ("betas", "eps")})
    if name == "sr":
        return StochasticReconfiguration(lr, **{k: v for k, v in kw.items()
                                               if k in ("diag_shift", "diag_scale", "complex_params")})
    raise ValueError(f"unknown optimiser {name!r} (sgd, adam, sr)")
