"""The energy gradient of variational Monte Carlo and stochastic reconfiguration as its preconditioner.

Conventions
-----------
* ``O`` are the per-sample log-derivatives O_k(x) = d ln Psi(x) / d theta_k, shape (n_samples, n_params), in the
  order of the ansatz's trainable ``parameters()``; ``E_L`` the local energies, shape (n_samples,).
* The force is F_k = <E_L O_k*> - <E_L><O_k*>.  The energy gradient (Carleo & Troyer, Science 355, 602 (2017),
  supplementary eq. S6: dE/dtheta_k = 2 Re F_k) is ``2 Re F`` for real parameters; for complex (holomorphic)
  parameters :func:`energy_gradient` returns ``2 F`` = dE/d(Re theta) + i dE/d(Im theta), which is PyTorch's
  convention for the gradient of a real loss with respect to a complex parameter, so every ``torch.optim``
  optimiser steps real and complex parameters alike.
* :class:`StochasticReconfiguration` (Sorella, Phys. Rev. Lett. 80, 4558 (1998)) turns the samples into the
  natural gradient (S + shift)^-1 F, which the driver hands to any ``torch.optim`` optimiser as the gradient;
  with ``torch.optim.SGD`` this is the classic SR step theta -= lr (S + shift)^-1 F (NetKet's ``VMC_SR`` solves
  with 2 Re F, so its learning rate is half of ours for the same step).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Iterable

import torch

from ..errors import require

__all__ = ["force", "energy_gradient", "StochasticReconfiguration", "make_optimizer", "ToleranceStop"]

try:  # BLAS rank-k update for the real SR matrix on the CPU
    from scipy.linalg.blas import dsyrk as _dsyrk, ssyrk as _ssyrk
    _SYRK = {torch.float64: _dsyrk, torch.float32: _ssyrk}
except ImportError:  # pragma: no cover - scipy is a dependency
    _SYRK = {}

SOLVERS = ("auto", "dense", "cg", "minsr")


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

    ``complex_params`` defaults to "O is complex", which is wrong for a complex wave function with real
    parameters (a sign or phase that does not depend on them): pass False there."""
    F = force(O, E_L)
    if complex_params is None:
        complex_params = O.is_complex()
    return 2 * F if complex_params else 2 * F.real


class StochasticReconfiguration:
    """Natural-gradient preconditioner: ``sr(O, E_L)`` returns d = (S + shift)^-1 F.

    S_kl = <O_k* O_l> - <O_k*><O_l> is the quantum geometric tensor and F the :func:`force`.  ``diag_shift`` is
    added to the diagonal (absolute, as in NetKet); ``diag_scale`` additionally adds diag_scale * S_kk.  For real
    parameters (``complex_params=False``, the default when O is real) S and F are their real parts.

    Solvers (all give the same d, checked in the tests):

    * ``"dense"``: S formed (BLAS syrk on the CPU) and Cholesky-solved, O(n p^2 + p^3); least squares if
      S + shift is not numerically positive definite.
    * ``"cg"``: conjugate gradients with the matrix-free product S v = Oc^H (Oc v) / n, O(n p) per iteration and
      no p x p matrix (written here so that it runs on the tensors' device).
    * ``"minsr"``: the sample-space form of Chen & Heyl, Nature Physics 20, 1476 (2024) (minSR):
      (A^H A + e)^-1 A^H b = A^H (A A^H + e)^-1 b with A = Oc / sqrt(n), an n x n system, cheaper when the
      parameters outnumber the samples (real parameters with complex O: A stacks Re A over Im A).
    * ``"auto"``: minsr when n < p (and no ``diag_scale``), else dense.
    """

    def __init__(self, diag_shift: float = 1e-3, diag_scale: float = 0.0, complex_params: bool | None = None,
                 solver: str = "auto", cg_tol: float = 1e-10, cg_maxiter: int | None = None) -> None:
        require(diag_shift >= 0 and diag_scale >= 0, "SR diag_shift and diag_scale must be >= 0")
        require(solver in SOLVERS, f"unknown SR solver {solver!r} ({', '.join(SOLVERS)})")
        require(solver != "minsr" or (diag_scale == 0 and diag_shift > 0),
                "the minSR solver needs diag_shift > 0 and diag_scale = 0")
        self.diag_shift, self.diag_scale, self.complex_params = diag_shift, diag_scale, complex_params
        self.solver, self.cg_tol, self.cg_maxiter = solver, cg_tol, cg_maxiter

    def __call__(self, O: torch.Tensor, E_L: torch.Tensor) -> torch.Tensor:
        return self.direction(O, E_L)

    def direction(self, O: torch.Tensor, E_L: torch.Tensor) -> torch.Tensor:
        cplx = O.is_complex() if self.complex_params is None else self.complex_params
        Oc, Ec = _centered(O, E_L)
        n, p = Oc.shape
        solver = self.solver
        if solver == "auto":
            solver = "minsr" if n < p and self.diag_scale == 0 and self.diag_shift > 0 else "dense"
        if solver == "minsr":
            return self._minsr(Oc, Ec, cplx)
        F = (Oc.conj() * Ec.unsqueeze(1)).mean(0) if Ec.is_complex() and not Oc.is_complex() else \
            Oc.conj().T @ Ec.to(Oc.dtype) / n
        if not cplx:
            F = F.real
        if solver == "cg":
            return self._cg(Oc, F, cplx)
        lower_only = False
        if Oc.device.type == "cpu" and Oc.dtype in _SYRK:
            # S = Oc^T Oc / n by BLAS syrk: only the lower triangle, which is all Cholesky reads (about twice as
            # fast as the full product for a 1000 x 288 problem)
            S = torch.from_numpy(_SYRK[Oc.dtype](1.0 / n, Oc.detach().contiguous().numpy().T, trans=0, lower=1))
            lower_only = True
        else:
            S = Oc.conj().T @ Oc / n
            if not cplx:
                S = S.real
        shift = self.diag_shift + self.diag_scale * torch.diagonal(S).real
        S = S + torch.diag_embed(shift.to(S.dtype))
        return _solve_psd(S, F.to(S.dtype), lower_only)

    def _minsr(self, Oc: torch.Tensor, Ec: torch.Tensor, cplx: bool) -> torch.Tensor:
        n = Oc.shape[0]
        A, b = Oc / math.sqrt(n), (Ec / math.sqrt(n)).to(Oc.dtype)
        if Oc.is_complex() and not cplx:  # S = Re(A^H A) = [Re A; Im A]^T [Re A; Im A], F = Re(A^H b)
            A, b = torch.cat([A.real, A.imag]), torch.cat([b.real, b.imag])
        T = A @ A.conj().T + self.diag_shift * torch.eye(A.shape[0], dtype=A.dtype, device=A.device)
        return A.conj().T @ _solve_psd(T, b)

    def _cg(self, Oc: torch.Tensor, F: torch.Tensor, cplx: bool) -> torch.Tensor:
        n = Oc.shape[0]
        diag = self.diag_shift + self.diag_scale * (Oc.abs() ** 2).mean(0)

        def S(v: torch.Tensor) -> torch.Tensor:
            w = Oc.conj().T @ (Oc @ v.to(Oc.dtype)) / n
            return (w if cplx else w.real) + diag * v

        x = torch.zeros_like(F)
        r = F.clone()
        d = r.clone()
        rr = torch.vdot(r, r).real
        stop = self.cg_tol ** 2 * rr
        for _ in range(self.cg_maxiter or 10 * F.numel()):
            if rr <= stop:
                break
            Sd = S(d)
            a = rr / torch.vdot(d, Sd).real
            x, r = x + a * d, r - a * Sd
            rr_new = torch.vdot(r, r).real
            d = r + (rr_new / rr) * d
            rr = rr_new
        return x


def _solve_psd(S: torch.Tensor, b: torch.Tensor, lower_only: bool = False) -> torch.Tensor:
    """Solve S x = b for Hermitian positive semi-definite S (only its lower triangle when ``lower_only``)."""
    L, info = torch.linalg.cholesky_ex(S)
    if int(info) == 0:
        return torch.cholesky_solve(b.unsqueeze(1), L).squeeze(1)
    if lower_only:
        S = S.tril() + S.tril(-1).mT.conj()
    return torch.linalg.lstsq(S, b.unsqueeze(1)).solution.squeeze(1)


def make_optimizer(name: str, params: Iterable[torch.nn.Parameter], lr: float, *, schedule: str = "constant",
                   iterations: int = 1, lr_final: float = 0.0, lr_decay: float = 0.0, diag_shift: float = 1e-3,
                   solver: str = "auto") -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler | None,
                                                  StochasticReconfiguration | None]:
    """The optimiser of a VMC run by name: ``"sgd"``, ``"adam"`` (``torch.optim``) or ``"sr"`` (``torch.optim.SGD``
    on the SR-preconditioned gradient); returns (optimizer, scheduler or None, preconditioner or None).

    ``schedule``: ``"constant"``, ``"cosine"`` (``CosineAnnealingLR`` from lr to ``lr_final`` over ``iterations``)
    or ``"inverse-time"`` (lr / (1 + lr_decay t), ``LambdaLR``)."""
    require(name in ("sgd", "adam", "sr"), f"unknown optimizer {name!r} (sgd, adam, sr)")
    require(math.isfinite(lr) and lr > 0, f"the learning rate must be > 0, got {lr}")
    require(schedule in ("constant", "cosine", "inverse-time"),
            f"unknown learning-rate schedule {schedule!r} (constant, cosine, inverse-time)")
    opt = (torch.optim.Adam if name == "adam" else torch.optim.SGD)(list(params), lr=lr)
    sched: torch.optim.lr_scheduler.LRScheduler | None = None
    if schedule == "cosine":
        require(math.isfinite(lr_final) and 0 <= lr_final <= lr, f"lr_final must be in [0, lr], got {lr_final}")
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(int(iterations), 1), eta_min=lr_final)
    elif schedule == "inverse-time":
        require(math.isfinite(lr_decay) and lr_decay >= 0, f"lr_decay must be >= 0, got {lr_decay}")
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1.0 / (1.0 + lr_decay * t))
    sr = StochasticReconfiguration(diag_shift, solver=solver) if name == "sr" else None
    return opt, sched, sr


class ToleranceStop:
    """Stop when a monitored value has settled.

    ``update(value)`` returns True once the last ``window`` values span less than ``tol`` (max - min), or once
    ``value`` itself is below ``below`` (e.g. an energy variance of 0 for an exact eigenstate).  ``patience``
    steps must have passed first.
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
