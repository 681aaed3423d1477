"""The scalar-field (Gaussian-Gaussian) RBM of Aarts, Lucini & Park, Phys. Rev. D 109, 034521 (2024).

Action (eq. 7), with fields phi on the N_v visible and h on the N_h hidden nodes:

    S(phi, h) = (mu^2 / 2) phi^T phi + (1 / (2 sigma_h^2)) (h - eta)^T (h - eta) - phi^T W h.

Integrating out h gives a free field on the visible layer (eq. 8-10):

    p(phi) = exp(-phi^T K phi / 2 + phi^T J) / Z,     K = mu^2 1 - sigma_h^2 W W^T,   J = W eta,

with connected two-point function K^{-1} (eq. 11).  The model exists only while K is positive definite,
i.e. mu^2 > sigma_h^2 xi_max^2 with xi_max the largest singular value of W (below eq. 33).

:class:`ScalarFieldRBM` is an ordinary :class:`~boltzlab.models.RBM` (Gaussian visible units of precision
mu^2, Gaussian hidden units of precision 1/sigma_h^2 and bias eta/sigma_h^2), so energies, free energies,
block Gibbs sampling at any beta and every generic tool keep working; its closed forms (kernel, source,
exact covariance, exact ln Z, exact sampler, exact likelihood gradient) are its own methods.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from .._tensor import as_tensor
from ..errors import ConfigError, DomainError, ShapeError, require
from ..models.rbm import RBM
from ..random import Rng, as_rng
from ..units import GaussianLayer


class MassLayer(GaussianLayer):
    """Gaussian visible units whose precision is the RBM mass parameter mu^2 (eq. 7).

    ``mu2`` is one number shared by all sites (the paper's choice) or, with ``local=True``, one per site
    (a "local mass"); it is a parameter, learnt only when ``learn=True``.  Everything else (conditionals,
    log-partition, sampler) is inherited from :class:`~boltzlab.units.GaussianLayer`, which sees
    ``precision = mu2`` broadcast over the sites.
    """

    def __init__(self, n_units: int, mu2: Any, *, local: bool = False, learn: bool = False,
                 dtype: torch.dtype | None = None, device: Any = None) -> None:
        from ..units.binary import _param
        from ..units.base import Layer
        Layer.__init__(self, n_units)
        dtype = dtype or torch.get_default_dtype()
        self.bias = _param(None, self.n_units, dtype, device, "bias")
        self.bias.requires_grad_(False)
        m = as_tensor(mu2, dtype=dtype, device=device, name="mu2").reshape(-1)
        if local and m.numel() == 1:
            m = m.expand(self.n_units)
        want = self.n_units if local else 1
        if m.numel() != want:
            raise ShapeError(f"mu2 has {m.numel()} entries; expected {want}")
        if not bool((m > 0).all()):
            raise ConfigError(f"the RBM mass parameter mu^2 must be positive, got {m.min().item():g}")
        self.local = bool(local)
        self.learn_precision = bool(learn)
        self.mu2 = nn.Parameter(m.clone().contiguous(), requires_grad=bool(learn))

    @property
    def precision(self) -> torch.Tensor:  # type: ignore[override]
        return self.mu2 if self.local else self.mu2.expand(self.n_units)

    def config(self) -> dict[str, Any]:
        return {"type": self.type_name, "n_units": self.n_units, "learn_precision": self.learn_precision}

    @torch.no_grad()
    def init_from_data(self, data: torch.Tensor, eps: float = 1e-3, weights: Any = None) -> None:
        raise ConfigError("the mass of a scalar-field RBM is set by mu2 (or learnt), not from data means")


class ScalarFieldRBM(RBM):
    """Gaussian-Gaussian RBM, eq. (7) of Aarts, Lucini & Park, Phys. Rev. D 109, 034521 (2024).

    It exists only while K is positive definite (``bounded_domain``): the trainer undoes and refuses an
    update that leaves that domain.

    Parameters
    ----------
    n_visible, n_hidden : int
        N_v and N_h.
    mu2 : float (or N_v values with ``local_mu2=True``)
        The RBM mass parameter mu^2 > 0.
    sigma_h2 : float
        Variance sigma_h^2 of the hidden nodes (fixed; it can be absorbed in the time and in W, Sec. IV B).
    learn_mu2 : bool
        Whether training updates mu^2 (eq. 22).
    weights : (N_v, N_h) array, optional
        W; default zeros (use :meth:`init_random` / :meth:`init_cholesky` / :meth:`init_symmetric`).
    eta : N_h values, optional
        Hidden source; J = W eta (eq. 9).  Zero by default, as throughout the paper.
    local_mu2 : bool
        One mass per visible site instead of one shared mu^2.
    """

    bounded_domain = True

    def __init__(self, n_visible: int, n_hidden: int, mu2: Any = 1.0, sigma_h2: float = 1.0,
                 learn_mu2: bool = False, *, weights: Any = None, eta: Any = None, local_mu2: bool = False,
                 dtype: torch.dtype | None = None, device: Any = None) -> None:
        if int(n_visible) < 1 or int(n_hidden) < 1:
            raise ConfigError(f"need at least one visible and one hidden node, got {n_visible} x {n_hidden}")
        sigma_h2 = float(sigma_h2)
        if not (math.isfinite(sigma_h2) and sigma_h2 > 0):
            raise ConfigError(f"the hidden variance sigma_h^2 must be positive and finite, got {sigma_h2:g}")
        dtype = dtype or torch.get_default_dtype()
        vis = MassLayer(int(n_visible), mu2, local=local_mu2, learn=learn_mu2, dtype=dtype, device=device)
        eta_t = torch.zeros(int(n_hidden), dtype=dtype) if eta is None else \
            as_tensor(eta, dtype=dtype, name="eta").reshape(-1)
        if eta_t.numel() != int(n_hidden):
            raise ShapeError(f"eta has {eta_t.numel()} entries; expected {n_hidden}")
        hid = GaussianLayer(int(n_hidden), bias=eta_t / sigma_h2,
                            precision=torch.full((int(n_hidden),), 1.0 / sigma_h2, dtype=dtype),
                            dtype=dtype, device=device)
        hid.bias.requires_grad_(False)
        super().__init__(vis, hid, weights)
        self.sigma_h2 = sigma_h2
        self.check_exists("the initial parameters")

    # ------------------------------------------------------------------ description
    @property
    def mu2(self) -> torch.Tensor:
        """mu^2 (a 1-element tensor, or N_v values for a local mass)."""
        return self.visible.mu2

    @property
    def learn_mu2(self) -> bool:
        return bool(self.visible.mu2.requires_grad)

    @property
    def eta(self) -> torch.Tensor:
        """The hidden source eta (the hidden Gaussian layer stores eta / sigma_h^2 as its bias)."""
        return self.hidden.bias.detach() * self.sigma_h2

    def config(self) -> dict[str, Any]:
        return {"class": "ScalarFieldRBM", "n_visible": self.n_visible, "n_hidden": self.n_hidden,
                "sigma_h2": self.sigma_h2, "learn_mu2": self.learn_mu2, "local_mu2": self.visible.local}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "ScalarFieldRBM":
        return cls(config["n_visible"], config["n_hidden"], sigma_h2=config["sigma_h2"],
                   learn_mu2=config["learn_mu2"], local_mu2=config["local_mu2"])

    @classmethod
    def example(cls, seed: int = 0) -> "ScalarFieldRBM":
        return cls(4, 3, mu2=[3.0, 2.5, 3.5, 4.0], sigma_h2=0.7, learn_mu2=True, local_mu2=True,
                   eta=[0.3, -0.2, 0.1], dtype=torch.float64).init_random(0.4, seed)

    def domain_problem(self) -> str | None:
        """Why the parameters define no distribution: K not positive definite (or a layer's problem)."""
        if not self.exists():
            with torch.no_grad():
                k = self.kernel().double()
                if not bool(torch.isfinite(k).all()):
                    return "K contains NaN or infinite values"
                lam = float(torch.linalg.eigvalsh(k)[0])
            return f"mu^2 > sigma_h^2 xi_max^2 fails: the smallest eigenvalue of K = mu^2 - sigma_h^2 W W^T is {lam:.4g}"
        return super().domain_problem()

    def extra_repr(self) -> str:
        mu2 = self.mu2.detach()
        m = f"{mu2.item():g}" if mu2.numel() == 1 else "local"
        return f"N_v={self.n_visible}, N_h={self.n_hidden}, mu2={m}, sigma_h2={self.sigma_h2:g}"

    # ------------------------------------------------------------------ closed forms (eq. 8-11)
    def mass_matrix(self) -> torch.Tensor:
        """mu^2 1 (or diag(mu_i^2)) as a matrix, differentiable in mu^2."""
        return torch.diag(self.visible.precision)

    def kernel(self) -> torch.Tensor:
        """K = mu^2 1 - sigma_h^2 W W^T (eq. 9), differentiable in W and mu^2."""
        w = self.weights
        return self.mass_matrix() - self.sigma_h2 * (w @ w.t())

    def source(self) -> torch.Tensor:
        """J = W eta (eq. 9)."""
        return self.weights.detach() @ self.eta

    @torch.no_grad()
    def spectrum(self) -> torch.Tensor:
        """Eigenvalues of K, ascending: the RBM eigenvalues lambda_a = mu^2 - sigma_h^2 xi_a^2 (eq. 33)."""
        return torch.linalg.eigvalsh(self.kernel())

    @torch.no_grad()
    def singular_values(self) -> torch.Tensor:
        """Singular values xi_a of W, descending (eq. 31)."""
        return torch.linalg.svdvals(self.weights)

    @torch.no_grad()
    def covariance(self) -> torch.Tensor:
        """The exact connected two-point function <phi phi^T> - <phi><phi>^T = K^{-1} (eq. 11)."""
        return torch.cholesky_inverse(self._cholesky())

    @torch.no_grad()
    def mean(self) -> torch.Tensor:
        """<phi> = K^{-1} J."""
        return torch.cholesky_solve(self.source().unsqueeze(1), self._cholesky()).squeeze(1)

    def second_moment(self) -> torch.Tensor:
        """<phi phi^T> = K^{-1} + K^{-1} J J^T K^{-1}."""
        m = self.mean()
        return self.covariance() + torch.outer(m, m)

    def _cholesky(self, k: torch.Tensor | None = None) -> torch.Tensor:
        k = self.kernel().detach() if k is None else k
        chol, info = torch.linalg.cholesky_ex(k)
        if int(info) != 0:
            raise DomainError(self._not_exist_message("the current parameters"))
        return chol

    def exists(self) -> bool:
        """Whether K is positive definite (mu^2 > sigma_h^2 xi_max^2 for a shared mass)."""
        with torch.no_grad():
            k = self.kernel()
            if not bool(torch.isfinite(k).all()):
                return False
            return int(torch.linalg.cholesky_ex(k)[1]) == 0

    def check_exists(self, what: str = "the parameters") -> None:
        """Raise :class:`DomainError` (one line) unless the model exists; never clips anything."""
        if not self.exists():
            raise DomainError(self._not_exist_message(what))

    def _not_exist_message(self, what: str) -> str:
        with torch.no_grad():
            k = self.kernel()
            if not bool(torch.isfinite(k).all()):
                return f"{what} contain NaN or infinite values: the scalar-field RBM is undefined"
            lam = float(torch.linalg.eigvalsh(k.double())[0])
            xi = float(self.singular_values()[0])
            mu2 = float(self.mu2.detach().min())
        return (f"the scalar-field RBM does not exist for {what}: smallest eigenvalue of K = mu^2 - sigma_h^2 W W^T "
                f"is {lam:.4g} <= 0 (mu^2 = {mu2:.4g}, sigma_h^2 xi_max^2 = {self.sigma_h2 * xi * xi:.4g}); "
                f"use a larger mu^2, smaller weights or a smaller learning rate")

    def exact_log_z(self, beta: float = 1.0, max_log2_states: float = 20) -> torch.Tensor:
        """Exact ln Z(beta) of the joint action as coded by :meth:`energy`, differentiable in W and mu^2.

        Gaussian integrals over h and phi; with the hidden self-energy h^2/(2 sigma_h^2) - (eta/sigma_h^2) h
        (eq. 7 up to the constant eta^2/(2 sigma_h^2), which the layer drops),

            ln Z = (N_h/2) ln(2 pi sigma_h^2 / beta) + beta |eta|^2 / (2 sigma_h^2) + (N_v/2) ln(2 pi / beta)
                   - (1/2) ln det K + (beta/2) J^T K^{-1} J.
        """
        return self._log_z(self.kernel(), self.weights @ self.eta, float(beta))

    @torch.no_grad()
    def log_z(self) -> float:
        """:meth:`exact_log_z` at beta = 1, in float64."""
        return float(self._log_z(self.kernel().double(), self.source().double(), 1.0))

    def _log_z(self, k: torch.Tensor, j: torch.Tensor, beta: float) -> torch.Tensor:
        chol = self._cholesky(k)
        eta = self.eta.to(k)
        logdet = 2 * torch.log(torch.diagonal(chol)).sum()
        quad = torch.cholesky_solve(j.unsqueeze(1), chol).squeeze(1) @ j
        return (0.5 * self.n_hidden * math.log(2 * math.pi * self.sigma_h2 / beta) + beta * (eta @ eta) / (2 * self.sigma_h2)
                + 0.5 * self.n_visible * math.log(2 * math.pi / beta) - 0.5 * logdet + 0.5 * beta * quad)

    def log_prob(self, phi: Any) -> torch.Tensor:
        """ln p(phi) of the induced visible distribution (eq. 8), exactly normalised."""
        v = self.visible_tensor(phi, "phi")
        return -self.visible_free_energy(v) - self.log_z()

    # ------------------------------------------------------------------ exact sampler
    @torch.no_grad()
    def sample_exact(self, n_samples: int, seed: int | None = None, *, rng: Rng | None = None) -> torch.Tensor:
        """Independent draws phi ~ N(K^{-1} J, K^{-1}) (no Markov chain)."""
        rng = rng if rng is not None else as_rng(seed, self.device)
        return gaussian_samples(self.kernel().detach(), int(n_samples), rng, mean=self.mean())

    # ------------------------------------------------------------------ initialisations (eq. 13-16)
    @torch.no_grad()
    def init_random(self, std: float = 0.1, seed: int | None = 0) -> "ScalarFieldRBM":
        """W_ia ~ N(0, std^2) (Sec. V B: N(0, 0.1), read as standard deviation 0.1)."""
        g = torch.Generator().manual_seed(0 if seed is None else int(seed))
        w = torch.randn(self.n_visible, self.n_hidden, generator=g, dtype=torch.float64) * float(std)
        self._set_weights(w, f"a random start with weight std {std:g}")
        return self

    def _set_weights(self, w: torch.Tensor, what: str) -> None:
        """Copy ``w`` into W if the model exists with it; otherwise keep W and raise DomainError."""
        old = self.weights.detach().clone()
        self.weights.copy_(w.to(self.weights))
        if not self.exists():
            msg = self._not_exist_message(what)
            self.weights.copy_(old)
            raise DomainError(msg)

    def _target_square(self, target_kernel: Any) -> torch.Tensor:
        k = as_tensor(target_kernel, dtype=torch.float64, name="target kernel")
        n = self.n_visible
        require(tuple(k.shape) == (n, n), f"target kernel has shape {tuple(k.shape)}; expected ({n}, {n})", ShapeError)
        require(self.n_hidden == n, f"the exact solutions of eq. (13)-(16) need N_h = N_v; got N_h = {self.n_hidden}, "
                                    f"N_v = {n}")
        mu2 = self.mu2.detach().double()
        curly = (self.mass_matrix().detach().double() - k) / self.sigma_h2  # eq. (13)
        kmax = float(torch.linalg.eigvalsh(0.5 * (k + k.t()))[-1])
        if float(torch.linalg.eigvalsh(curly)[0]) <= 0:
            raise ConfigError(f"no exact solution: eq. (14) needs mu^2 > max eigenvalue of the target kernel "
                              f"(mu^2 = {float(mu2.min()):.4g}, kappa_max = {kmax:.4g})")
        return curly

    @torch.no_grad()
    def init_cholesky(self, target_kernel: Any) -> "ScalarFieldRBM":
        """W = L with L L^T = (mu^2 1 - K_phi) / sigma_h^2, lower triangular (eq. 13, solution 1)."""
        curly = self._target_square(target_kernel)
        self._set_weights(torch.linalg.cholesky(curly), "the Cholesky solution")
        return self

    @torch.no_grad()
    def init_symmetric(self, target_kernel: Any) -> "ScalarFieldRBM":
        """W = W^T = O sqrt(D) O^T with (mu^2 1 - K_phi)/sigma_h^2 = O D O^T (eq. 15-16)."""
        curly = self._target_square(target_kernel)
        d, o = torch.linalg.eigh(curly)
        self._set_weights((o * d.sqrt()) @ o.t(), "the symmetric solution")
        return self

    # ------------------------------------------------------------------ likelihood and its gradient
    def gaussian_log_likelihood(self, target_second_moment: torch.Tensor) -> torch.Tensor:
        """L = -(1/2) tr(K C) - ln Z_phi with ln Z_phi = (N_v/2) ln 2 pi - (1/2) ln det K (eq. 19, J = 0).

        ``target_second_moment`` is C^target = <phi phi^T>_target (eq. 21).  Differentiable in W and mu^2.
        """
        self._require_no_source()
        k = self.kernel()
        c = target_second_moment.to(k)
        chol, info = torch.linalg.cholesky_ex(k)
        if int(info) != 0:
            raise DomainError(self._not_exist_message("the current parameters"))
        logdet = 2 * torch.log(torch.diagonal(chol)).sum()
        return -0.5 * (k * c).sum() + 0.5 * logdet - 0.5 * self.n_visible * math.log(2 * math.pi)

    @torch.no_grad()
    def exact_gradient(self, target_second_moment: torch.Tensor,
                       model_second_moment: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(dL/dW, dL/dmu^2) of eq. (20) and (22).

        dL/dW = sigma_h^2 (C^target - C^model) W,   dL/dmu^2 = -(1/2) sum_i (C^target_ii - C^model_ii)

        (per site for a local mass: dL/dmu_i^2 = -(1/2) (C^target_ii - C^model_ii)).  ``model_second_moment``
        defaults to the exact K^{-1}; PCD passes its chain estimate instead.  Like the paper (Sec. III) this
        is the eta = 0 case (J = 0); a model with a source raises :class:`ConfigError`.
        """
        self._require_no_source()
        c_m = self.covariance() if model_second_moment is None else model_second_moment
        diff = target_second_moment.to(c_m) - c_m
        d_w = self.sigma_h2 * (diff @ self.weights.detach())
        d_diag = -0.5 * torch.diagonal(diff)
        d_mu2 = d_diag if self.visible.local else d_diag.sum().reshape(1)
        return d_w, d_mu2

    def _require_no_source(self) -> None:
        """The likelihood and its gradient (eq. 19-22) are those of the J = 0 model the paper trains."""
        if bool((self.hidden.bias.detach() != 0).any()):
            raise ConfigError("training and the likelihood of eq. (19)-(22) assume a zero hidden source eta "
                              "(J = W eta = 0), as in the paper (Sec. III); this model has eta != 0")


def gaussian_samples(kernel: torch.Tensor, n: int, rng: Rng, mean: torch.Tensor | None = None) -> torch.Tensor:
    """``n`` exact draws from N(mean, kernel^{-1}) through the Cholesky factor K = L L^T: phi = L^{-T} z."""
    chol, info = torch.linalg.cholesky_ex(kernel)
    if int(info) != 0:
        raise DomainError("the kernel is not positive definite: the Gaussian distribution does not exist")
    z = rng.normal((kernel.shape[0], int(n)), kernel.dtype)
    phi = torch.linalg.solve_triangular(chol.t(), z, upper=True).t()
    return phi if mean is None else phi + mean


def two_point(data: Any, center: bool = False, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """C_ij = (1/N_conf) sum_d phi_i^(d) phi_j^(d) (eq. 21); with ``center`` the connected version."""
    x = as_tensor(data, dtype=dtype, name="data")
    if x.dim() != 2 or x.shape[0] < 1:
        raise ShapeError(f"configurations must have shape (n_conf, n_sites), got {tuple(x.shape)}")
    if center:
        x = x - x.mean(0)
    return (x.t() @ x) / x.shape[0]
