"""The Gaussian-Bernoulli RBM with hidden h = +-1 (Aarts, Lucini & Park, Phys. Rev. D 109, 034521 (2024), Sec. VII).

Action (eq. 88 with V_phi = mu^2 phi^2 / 2):  S(phi, h) = (mu^2/2) phi^T phi - phi^T W h + eta^T h.
Summing over h gives the effective action (eq. 91)

    S(phi) = (mu^2/2) phi^T phi - sum_a ln(2 cosh psi_a),      psi_a = sum_i phi_i W_ia - eta_a,

whose expansion (eq. 92) S = V_phi + sum_a sum_n (-1)^n c_n psi_a^{2n} / (2n)! has c_n = |a_n| with
ln cosh x = sum_n a_n x^{2n}/(2n)!, a_n = 2^{2n} (2^{2n} - 1) B_{2n} / (2n) (B: Bernoulli numbers):
c = 1, 2, 16, 272, 7936, ...  (the tangent numbers).  The quadratic term gives K = mu^2 1 - W W^T, J = W eta
(eq. 93); the quartic one (eta = 0) the nonlocal coupling (eq. 94-95)

    (1/12) sum_ijkl lambda_ijkl phi_i phi_j phi_k phi_l,    lambda_ijkl = sum_a W_ia W_ja W_ka W_la.

The model is an ordinary :class:`~boltzlab.models.RBM` (Gaussian visible units of precision mu^2, spin hidden
units with bias -eta), so block Gibbs sampling and exact ln Z by enumerating the hidden layer come from the
generic code; it exists for every mu^2 > 0 (ln cosh grows only linearly).  It trains with the one
:class:`~boltzlab.training.Trainer` (W and mu^2; the source eta is held fixed).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .._tensor import as_tensor
from ..errors import IntractableError, ShapeError, require
from ..models.rbm import RBM
from ..units import SpinLayer
from .model import MassLayer


class GaussianBernoulliRBM(RBM):
    """Gaussian visible field phi (mass mu^2), Ising hidden nodes h = +-1 (eq. 87-89); eta is not learnt."""

    bounded_domain = True  # mu^2 > 0

    def __init__(self, n_visible: int, n_hidden: int, mu2: float = 1.0, *, weights: Any = None, eta: Any = None,
                 learn_mu2: bool = False, dtype: torch.dtype | None = None, device: Any = None) -> None:
        dtype = dtype or torch.get_default_dtype()
        vis = MassLayer(int(n_visible), mu2, learn=learn_mu2, dtype=dtype, device=device)
        eta_t = torch.zeros(int(n_hidden), dtype=dtype) if eta is None else \
            as_tensor(eta, dtype=dtype, name="eta").reshape(-1)
        if eta_t.numel() != int(n_hidden):
            raise ShapeError(f"eta has {eta_t.numel()} entries; expected {n_hidden}")
        hid = SpinLayer(int(n_hidden), -eta_t, dtype=dtype, device=device)
        hid.bias.requires_grad_(False)
        super().__init__(vis, hid, weights)

    @property
    def mu2(self) -> torch.Tensor:
        return self.visible.mu2

    @property
    def eta(self) -> torch.Tensor:
        return -self.hidden.bias

    def config(self) -> dict[str, Any]:
        return {"class": "GaussianBernoulliRBM", "n_visible": self.n_visible, "n_hidden": self.n_hidden,
                "learn_mu2": bool(self.mu2.requires_grad)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "GaussianBernoulliRBM":
        return cls(config["n_visible"], config["n_hidden"], learn_mu2=bool(config.get("learn_mu2", False)))

    @classmethod
    def example(cls, seed: int = 0) -> "GaussianBernoulliRBM":
        g = torch.Generator().manual_seed(int(seed))
        return cls(3, 2, mu2=2.0, weights=torch.randn(3, 2, generator=g, dtype=torch.float64) * 0.6,
                   eta=torch.randn(2, generator=g, dtype=torch.float64) * 0.4, learn_mu2=True, dtype=torch.float64)

    def psi(self, phi: torch.Tensor) -> torch.Tensor:
        """psi_a = sum_i phi_i W_ia - eta_a."""
        return phi @ self.weights - self.eta

    def _phi(self, phi: Any) -> torch.Tensor:
        """Configurations as a (batch, N_v) tensor; a tensor of the model's dtype keeps its autograd graph."""
        if isinstance(phi, torch.Tensor) and phi.dtype == self.dtype:
            v = phi.unsqueeze(0) if phi.dim() == 1 else phi
            self.visible.validate(v.detach(), "phi")
            return v
        return self.visible_tensor(phi, "phi")

    def effective_action(self, phi: Any) -> torch.Tensor:
        """S(phi) of eq. (91), per configuration (equal to the generic free energy; differentiable in phi)."""
        v = self._phi(phi)
        psi = self.psi(v)
        log2cosh = psi + torch.nn.functional.softplus(-2 * psi)   # ln(e^psi + e^-psi), smooth and overflow-free
        return 0.5 * self.mu2 * (v * v).sum(-1) - log2cosh.sum(-1)

    def effective_action_series(self, phi: Any, n_max: int = 2) -> torch.Tensor:
        """Eq. (92) truncated at order psi^{2 n_max}, dropping the constant N_h ln 2."""
        v = self._phi(phi)
        psi = self.psi(v)
        s = 0.5 * self.mu2 * (v * v).sum(-1)
        for n, c in enumerate(series_coefficients(n_max), start=1):
            s = s + ((-1) ** n) * c / math.factorial(2 * n) * (psi ** (2 * n)).sum(-1)
        return s

    def quadratic_kernel(self) -> torch.Tensor:
        """K = mu^2 1 - W W^T of the n = 1 term (eq. 93)."""
        w = self.weights.detach()
        return self.mu2.detach() * torch.eye(self.n_visible, dtype=w.dtype, device=w.device) - w @ w.t()

    def quartic_couplings(self) -> torch.Tensor:
        """lambda_ijkl = sum_a W_ia W_ja W_ka W_la (eq. 95), shape (N_v,)*4."""
        w = self.weights.detach()
        return torch.einsum("ia,ja,ka,la->ijkl", w, w, w, w)

    # ---------------------------------------------------------------- exact results by enumerating h
    def _hidden_states(self) -> torch.Tensor:
        if self.n_hidden > 20:
            raise IntractableError(f"enumerating 2^{self.n_hidden} hidden states is too many; use PCD")
        return self.hidden.enumerate_states(0, 2 ** self.n_hidden)

    def hidden_log_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(h states, ln of their unnormalised marginal): ln w(h) = |W h|^2/(2 mu^2) - eta.h + (N_v/2) ln(2 pi/mu^2)."""
        h = self._hidden_states()
        wh = h @ self.weights.t()
        mu2 = self.mu2.reshape(())
        lw = (wh * wh).sum(-1) / (2 * mu2) - h @ self.eta + 0.5 * self.n_visible * torch.log(2 * math.pi / mu2)
        return h, lw

    def exact_log_likelihood(self, phi: Any) -> torch.Tensor:
        """Mean ln p(phi) over configurations (differentiable in W, eta, mu^2)."""
        v = self.visible_tensor(phi, "phi")
        return (-self.effective_action(v)).mean() - self.exact_log_z()

    @torch.no_grad()
    def exact_gradient(self, phi: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """(dL/dW, dL/dmu^2) of the mean log-likelihood from the moment-matching rule

            dL/dW = <phi tanh(psi)^T>_data - <phi h^T>_model,   dL/dmu^2 = -(1/2)(<phi^T phi>_data - <phi^T phi>_model),

        with the model averages exact: <phi h^T> = sum_h p(h) (W h / mu^2) h^T and
        <phi^T phi> = sum_h p(h) (N_v/mu^2 + |W h|^2/mu^4)."""
        v = self.visible_tensor(phi, "phi")
        h, lw = self.hidden_log_weights()
        p = torch.softmax(lw, 0)
        mu2 = self.mu2.reshape(())
        wh = h @ self.weights.t()
        model_phih = (p[:, None, None] * (wh[:, :, None] / mu2) * h[:, None, :]).sum(0)
        model_phi2 = (p * (self.n_visible / mu2 + (wh * wh).sum(-1) / mu2 ** 2)).sum()
        data_phih = v.t() @ torch.tanh(self.psi(v)) / v.shape[0]
        data_phi2 = (v * v).sum(-1).mean()
        return data_phih - model_phih, (-0.5 * (data_phi2 - model_phi2)).reshape(1)

    @torch.no_grad()
    def sample_exact(self, n: int, seed: int | None = 0) -> torch.Tensor:
        """Independent draws: h from its exact marginal, then phi | h ~ N(W h / mu^2, 1/mu^2)."""
        h, lw = self.hidden_log_weights()
        g = torch.Generator(device=self.device).manual_seed(0 if seed is None else int(seed))
        idx = torch.multinomial(torch.softmax(lw.double(), 0), int(n), replacement=True, generator=g)
        hh = h[idx]
        mu2 = self.mu2.reshape(())
        z = torch.randn(int(n), self.n_visible, generator=g, dtype=self.dtype, device=self.device)
        return hh @ self.weights.t() / mu2 + z / mu2.sqrt()


def series_coefficients(n_max: int) -> list[float]:
    """c_1..c_{n_max} of eq. (92): |2^{2n} (2^{2n} - 1) B_{2n} / (2n)| (1, 2, 16, 272, ...)."""
    from scipy.special import bernoulli
    require(int(n_max) >= 1, f"n_max must be >= 1, got {n_max}")
    b = bernoulli(2 * int(n_max))
    # the c_n are integers (tangent numbers); SciPy's float Bernoulli numbers are off in the last digits
    return [float(round(abs(2 ** (2 * n) * (2 ** (2 * n) - 1) * b[2 * n] / (2 * n)))) for n in range(1, int(n_max) + 1)]


def train_gaussian_bernoulli(model: GaussianBernoulliRBM, data: Any, epochs: int = 2000, lr: float = 0.01,
                             chains: int = 256, gibbs_steps: int = 1, seed: int = 0, exact: bool = False,
                             progress: bool = False) -> list[float]:
    """Maximum likelihood for W (and mu^2 if learnt) with :class:`~boltzlab.training.Trainer` (plain SGD, one
    full-batch update per epoch): the model term from PCD on ``chains`` persistent chains, or (``exact``)
    from the exact ln Z.  Returns the exact mean log-likelihood after every epoch (an empty list when the
    hidden layer has more than 2^16 states)."""
    from ..training import TrainConfig, Trainer
    x = as_tensor(data, dtype=model.dtype, device=model.device, name="data")
    if x.dim() != 2 or x.shape[1] != model.n_visible:
        raise ShapeError(f"data have shape {tuple(x.shape)}; expected (n, {model.n_visible})")
    n = x.shape[0]
    cfg = TrainConfig(method="exact" if exact else "pcd", k=gibbs_steps, n_chains=chains,
                      batch_size=n, epochs=epochs, lr=lr, momentum=0.0,
                      init_visible_from_data=False, seed=seed, dtype=str(model.dtype).removeprefix("torch."),
                      device=str(model.device), monitor_exact_max_log2=16, monitor_samples=n)
    history = Trainer(model, x, cfg, progress=progress).fit()
    return [r["train_log_likelihood"] for r in history if r.get("train_log_likelihood") is not None]


def moments_by_quadrature(model: GaussianBernoulliRBM, powers: tuple[int, ...] = (2, 4)) -> dict[int, float]:
    """<phi_1^p> of a model with N_v = 1 by numerical integration of exp(-S(phi)) (eq. 91), SciPy quad."""
    from scipy.integrate import quad
    require(model.n_visible == 1, "quadrature moments are implemented for N_v = 1")
    m = model.double()

    def weight(x: float) -> float:
        with torch.no_grad():
            return math.exp(-float(m.effective_action(torch.tensor([[x]], dtype=torch.float64))))

    norm = quad(weight, -np.inf, np.inf, epsabs=0, epsrel=1e-11, limit=200)[0]
    out = {p: quad(lambda x: x ** p * weight(x), -np.inf, np.inf, epsabs=0, epsrel=1e-11, limit=200)[0] / norm
           for p in powers}
    out[0] = math.log(norm)
    return out
