"""ReLU and double-ReLU (dReLU) hidden units (Tubiana, Cocco & Monasson, eLife 2019, eq. 5-6).

Self-energies, with h_+ = max(h, 0) and h_- = min(h, 0):

    ReLU   E(h) = (gamma / 2) h^2 - theta h,                                h >= 0
    dReLU  E(h) = (gamma_+ / 2) h_+^2 + (gamma_- / 2) h_-^2 - theta_+ h_+ - theta_- h_-,   h real

(``theta`` is the unit's *field*, with the sign of the ``bias`` of every other layer here.)  Each half line
contributes G(b, a) = int_0^inf exp(-a h^2 / 2 + b h) dh = s sqrt(pi / 2) erfcx(-z / sqrt 2), s = a^(-1/2),
z = b s, with a = beta gamma and b = beta (theta + I); ln erfcx is taken in the form that cannot overflow on
either side of z = 0.  The half-line law is N(z, 1) truncated to y > 0, scaled by s; its moments
M(z) = z + R(z), V(z) = 1 - R(z) M(z), R = phi / Phi, lose all precision for z << 0, so for t = -z >= 4 the
Mills-ratio continued fraction x_k = k / (t + x_{k+1}) gives M = x_1 and V = x_1^2 (t + 2 x_2 - x_3) / (t + x_3)
without cancellation.  Special functions run in float64.  Sampling is exact: the inverse CDF for a
truncation point alpha = -z < 3, Marsaglia's (1964) Rayleigh-tail rejection beyond.

The precisions are stored as logarithms, so :meth:`interpolate_` is overridden: the annealing path
interpolates gamma itself, which keeps the self-energy of the path linear in the parameters as AIS needs.
"""

from __future__ import annotations

from abc import abstractmethod

import math
from typing import Any

import torch
from torch import nn

from ..errors import DomainError, require
from ..random import Rng
from .base import Layer
from .binary import _param

_SQRT2 = math.sqrt(2.0)
_LOG_SQRT_PI_2 = 0.5 * math.log(math.pi / 2)
_CF_FROM = 4.0      # t = -z above which the continued fraction replaces the direct moments
_CF_TERMS = 40
_TAIL_FROM = 3.0    # alpha above which the truncated normal is drawn by Rayleigh rejection


def log_half_gaussian(b: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """ln int_0^inf exp(-a h^2/2 + b h) dh for a > 0, stable for any b (float64 inside)."""
    b64, a64 = b.double(), a.double()
    s = torch.rsqrt(a64)
    z = b64 * s
    x = z / _SQRT2
    pos = z > 0
    neg_part = torch.log(torch.special.erfcx(torch.where(pos, torch.zeros_like(x), -x)))
    pos_part = 0.5 * z * z + torch.log(torch.special.erfc(torch.where(pos, -x, torch.zeros_like(x))))
    return torch.log(s) + _LOG_SQRT_PI_2 + torch.where(pos, pos_part, neg_part)


def _continued_fraction(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x_1, x_2, x_3 of x_k = k / (t + x_{k+1}) (Mills-ratio continued fraction), t > 0."""
    x = torch.zeros_like(t)
    x1 = x2 = x3 = x
    for k in range(_CF_TERMS, 0, -1):
        x = k / (t + x)
        if k == 3:
            x3 = x
        elif k == 2:
            x2 = x
        elif k == 1:
            x1 = x
    return x1, x2, x3


def truncated_moments(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance of y ~ N(z, 1) conditioned on y > 0 (float64), stable for any z."""
    z = z.double()
    far = z < -_CF_FROM
    t = torch.where(far, -z, torch.full_like(z, _CF_FROM))
    x1, x2, x3 = _continued_fraction(t)
    m_far = x1
    v_far = x1 * x1 * (t + 2 * x2 - x3) / (t + x3)
    zn = torch.where(far, torch.zeros_like(z), z)
    r = math.sqrt(2 / math.pi) / torch.special.erfcx(-zn / _SQRT2)
    m_near = zn + r
    v_near = 1 - r * m_near
    return torch.where(far, m_far, m_near), torch.where(far, v_far, v_near)


@torch.no_grad()
def sample_truncated(z: torch.Tensor, rng: Rng) -> torch.Tensor:
    """y ~ N(z, 1) conditioned on y > 0, exactly, for every z (float64)."""
    z = z.double()
    alpha = -z
    tail = alpha >= _TAIL_FROM
    u = rng.uniform(tuple(z.shape), torch.float64).clamp_min(1e-300)
    near = -torch.special.ndtri(u * torch.special.ndtr(torch.where(tail, torch.zeros_like(z), z))) + z
    out = near.clamp_min(0.0)
    idx = tail.nonzero(as_tuple=True)
    if idx[0].numel():
        a = alpha[idx]
        y = torch.empty_like(a)
        todo = torch.arange(a.numel(), device=a.device)
        while todo.numel():
            at = a[todo]
            u1 = rng.uniform((todo.numel(),), torch.float64).clamp_min(1e-300)
            u2 = rng.uniform((todo.numel(),), torch.float64)
            e = -2.0 * torch.log(u1)
            x = torch.sqrt(at * at + e)
            ok = u2 * x <= at
            y[todo[ok]] = e[ok] / (x[ok] + at[ok])
            todo = todo[~ok]
        out[idx] = y
    return out


def _log_param(values: Any, n: int, dtype, device, name: str) -> nn.Parameter:
    """A log-precision parameter from precisions (default 1); refuses non-positive values."""
    p = _param(values, n, dtype, device, name)
    if values is None:
        return nn.Parameter(torch.zeros_like(p.data))
    if not bool((p.data > 0).all()):
        raise DomainError(f"{name} must be positive (the units are not normalisable otherwise)")
    return nn.Parameter(torch.log(p.data))


class _HalfGaussianLayer(Layer):
    """Shared machinery of the ReLU-family layers (continuous, log-precision parametrisation)."""

    discrete = False
    _log_params: tuple[str, ...] = ()

    def __init__(self, n_units: int, learn_precision: bool = True) -> None:
        super().__init__(n_units)
        self.learn_precision = bool(learn_precision)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "learn_precision": self.learn_precision}

    def _set_learn(self) -> None:
        for name in self._log_params:
            getattr(self, name).requires_grad_(self.learn_precision)

    @torch.no_grad()
    def interpolate_(self, a: "Layer", b: "Layer", t: float) -> "Layer":
        """theta linear, gamma = (1 - t) gamma_a + t gamma_b (not the log): E_t = (1 - t) E_a + t E_b."""
        t = float(t)
        for (name, p), pa, pb in zip(self.named_parameters(), a.parameters(), b.parameters()):
            if name in self._log_params:
                p.copy_(torch.log((1 - t) * pa.exp() + t * pb.exp()))
            else:
                torch.lerp(pa, pb, t, out=p.data)
        return self

    @abstractmethod
    def _moments(self, inputs: torch.Tensor, beta: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Conditional mean and variance of the units under ``inputs``."""

    def mean(self, inputs: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        return self._moments(inputs, beta)[0]

    def variance(self, inputs: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        return self._moments(inputs, beta)[1]

    def random_state(self, n: int, rng: Rng) -> torch.Tensor:
        zeros = torch.zeros(n, self.n_units, dtype=self.dtype, device=self.device)
        return self.sample_(zeros, 1.0, rng)

    def _check_finite_state(self, x: torch.Tensor, name: str) -> None:
        self._check_shape(x, name)
        require(bool(torch.isfinite(x).all()), f"{name} contains NaN or infinite values", DomainError)


class ReLULayer(_HalfGaussianLayer):
    """Units h >= 0 with E(h) = (gamma/2) h^2 - theta h (parameters ``bias`` = theta, ``log_precision``)."""

    type_name = "relu"
    _log_params = ("log_precision",)

    def __init__(self, n_units: int, bias: Any = None, precision: Any = None, *, learn_precision: bool = True,
                 dtype: torch.dtype | None = None, device: Any = None) -> None:
        super().__init__(n_units, learn_precision)
        self.bias = _param(bias, self.n_units, dtype, device, "bias")
        self.log_precision = _log_param(precision, self.n_units, dtype, device, "precision")
        self._set_learn()

    @property
    def precision(self) -> torch.Tensor:
        return self.log_precision.exp()

    def _ab(self, inputs: torch.Tensor, beta: float) -> tuple[torch.Tensor, torch.Tensor]:
        return beta * (inputs + self.bias), (beta * self.precision).expand_as(inputs)

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        return (0.5 * self.precision * x * x - self.bias * x).sum(-1)

    def log_partition(self, inputs: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        b, a = self._ab(inputs, beta)
        return log_half_gaussian(b, a).sum(-1).to(inputs.dtype)

    def _moments(self, inputs: torch.Tensor, beta: float) -> tuple[torch.Tensor, torch.Tensor]:
        b, a = self._ab(inputs, beta)
        s = torch.rsqrt(a.double())
        m, v = truncated_moments(b.double() * s)
        return (m * s).to(inputs.dtype), (v * s * s).to(inputs.dtype)

    @torch.no_grad()
    def sample_(self, inputs: torch.Tensor, beta: float, rng: Rng) -> torch.Tensor:
        b, a = self._ab(inputs, beta)
        s = torch.rsqrt(a.double())
        return inputs.copy_(sample_truncated(b.double() * s, rng) * s)

    def validate(self, x: torch.Tensor, name: str = "data") -> None:
        self._check_finite_state(x, name)
        require(bool((x >= 0).all()), f"{name} holds negative values, which ReLU units cannot take", DomainError)

    @torch.no_grad()
    def init_from_data(self, data: torch.Tensor, eps: float = 1e-3, weights: torch.Tensor | None = None) -> None:
        """Moment match of the untruncated Gaussian: gamma = 1/var, theta = mean/var."""
        from .base import weighted_moments
        m, v = weighted_moments(data.to(self.dtype), weights)
        prec = 1.0 / v.clamp_min(eps)
        self.log_precision.copy_(torch.log(prec))
        self.bias.copy_(prec * m)


class DReLULayer(_HalfGaussianLayer):
    """Units h in R with the double-ReLU self-energy (module docstring); parameters ``bias_pos``,
    ``bias_neg`` (theta_+-) and ``log_precision_pos``, ``log_precision_neg`` (ln gamma_+-)."""

    type_name = "drelu"
    _log_params = ("log_precision_pos", "log_precision_neg")

    def __init__(self, n_units: int, bias: Any = None, precision: Any = None, *, bias_neg: Any = None,
                 precision_neg: Any = None, learn_precision: bool = True, dtype: torch.dtype | None = None,
                 device: Any = None) -> None:
        super().__init__(n_units, learn_precision)
        self.bias_pos = _param(bias, self.n_units, dtype, device, "bias")
        self.bias_neg = _param(bias if bias_neg is None else bias_neg, self.n_units, dtype, device, "bias_neg")
        self.log_precision_pos = _log_param(precision, self.n_units, dtype, device, "precision")
        self.log_precision_neg = _log_param(precision if precision_neg is None else precision_neg, self.n_units,
                                            dtype, device, "precision_neg")
        self._set_learn()

    @property
    def precision_pos(self) -> torch.Tensor:
        return self.log_precision_pos.exp()

    @property
    def precision_neg(self) -> torch.Tensor:
        return self.log_precision_neg.exp()

    def shift_field_(self, delta: torch.Tensor) -> None:
        """A linear term delta.h enters both halves: theta_+ and theta_- both move by delta."""
        with torch.no_grad():
            self.bias_pos.add_(delta.reshape(-1))
            self.bias_neg.add_(delta.reshape(-1))

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        hp, hm = x.clamp_min(0), x.clamp_max(0)
        return (0.5 * self.precision_pos * hp * hp + 0.5 * self.precision_neg * hm * hm
                - self.bias_pos * hp - self.bias_neg * hm).sum(-1)

    def _halves(self, inputs: torch.Tensor, beta: float):
        """(z_+, s_+, z_-, s_-, ln G_+, ln G_-): the positive half and the mirrored negative half."""
        a_p = (beta * self.precision_pos).expand_as(inputs).double()
        a_m = (beta * self.precision_neg).expand_as(inputs).double()
        b_p = (beta * (inputs + self.bias_pos)).double()
        b_m = (-beta * (inputs + self.bias_neg)).double()
        s_p, s_m = torch.rsqrt(a_p), torch.rsqrt(a_m)
        return b_p * s_p, s_p, b_m * s_m, s_m, log_half_gaussian(b_p, a_p), log_half_gaussian(b_m, a_m)

    def log_partition(self, inputs: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        *_, lg_p, lg_m = self._halves(inputs, beta)
        return torch.logaddexp(lg_p, lg_m).sum(-1).to(inputs.dtype)

    def _moments(self, inputs: torch.Tensor, beta: float) -> tuple[torch.Tensor, torch.Tensor]:
        z_p, s_p, z_m, s_m, lg_p, lg_m = self._halves(inputs, beta)
        p = torch.sigmoid(lg_p - lg_m)
        q = torch.sigmoid(lg_m - lg_p)
        m_p, v_p = truncated_moments(z_p)
        m_m, v_m = truncated_moments(z_m)
        e_p, e_m = m_p * s_p, -m_m * s_m
        mean = p * e_p + q * e_m
        # Law of total variance: every term is non-negative, so nothing cancels.
        var = p * v_p * s_p * s_p + q * v_m * s_m * s_m + p * q * (e_p - e_m) ** 2
        return mean.to(inputs.dtype), var.to(inputs.dtype)

    @torch.no_grad()
    def sample_(self, inputs: torch.Tensor, beta: float, rng: Rng) -> torch.Tensor:
        z_p, s_p, z_m, s_m, lg_p, lg_m = self._halves(inputs, beta)
        positive = rng.uniform(tuple(inputs.shape), torch.float64) < torch.sigmoid(lg_p - lg_m)
        z = torch.where(positive, z_p, z_m)
        s = torch.where(positive, s_p, -s_m)
        return inputs.copy_(sample_truncated(z, rng) * s)

    def validate(self, x: torch.Tensor, name: str = "data") -> None:
        self._check_finite_state(x, name)

    @torch.no_grad()
    def init_from_data(self, data: torch.Tensor, eps: float = 1e-3, weights: torch.Tensor | None = None) -> None:
        """Symmetric moment match of the untruncated Gaussian (gamma_+- = 1/var, theta_+- = mean/var)."""
        from .base import weighted_moments
        m, v = weighted_moments(data.to(self.dtype), weights)
        prec = 1.0 / v.clamp_min(eps)
        for name in self._log_params:
            getattr(self, name).copy_(torch.log(prec))
        self.bias_pos.copy_(prec * m)
        self.bias_neg.copy_(prec * m)
