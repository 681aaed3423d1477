"""Singular values of W against the Marchenko-Pastur law (Toledo-Marin et al., arXiv:2503.21536 (2025), eq. 20).

For an N x M matrix with independent N(0, sigma^2) entries, the m = min(N, M) singular values follow, as
N, M grow at fixed ratio, the density

    rho(lambda) = sqrt((lambda_+^2 - lambda^2)(lambda^2 - lambda_-^2)) / (pi q lambda),
    lambda_pm = sqrt(max(N, M) sigma^2) pm sqrt(q),   q = min(N, M) sigma^2,       lambda_- <= lambda <= lambda_+

whose cumulative distribution has a closed form (:meth:`MarchenkoPastur.cdf`): with s = lambda^2,
A = lambda_+^2, B = lambda_-^2 and R(s) = sqrt((A - s)(s - B)),

    F(lambda) = [G(s) - G(B)] / (2 pi q),
    G(s) = R(s) + (A + B)/2 arcsin((2s - A - B)/(A - B)) - sqrt(AB) arcsin(((A + B)s - 2AB) / (s (A - B))).

The density peaks at lambda_max = sqrt(lambda_+ lambda_-) = sigma sqrt|N - M|, as the paper states (for the
singular values; the density of lambda^2 peaks elsewhere); :meth:`MarchenkoPastur.mode_numeric` checks it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from ..errors import DomainError, ShapeError


@dataclass(frozen=True)
class MarchenkoPastur:
    """The Marchenko-Pastur law of the singular values of an ``n_rows`` x ``n_cols`` matrix of N(0, sigma^2)."""

    n_rows: int
    n_cols: int
    sigma: float

    def __post_init__(self) -> None:
        if int(self.n_rows) < 1 or int(self.n_cols) < 1:
            raise ShapeError(f"a matrix needs at least one row and column; got {self.n_rows} x {self.n_cols}")
        if not (math.isfinite(self.sigma) and self.sigma > 0):
            raise DomainError(f"the Marchenko-Pastur law needs a weight std sigma > 0; got {self.sigma}")

    @property
    def n_max(self) -> int:
        return max(int(self.n_rows), int(self.n_cols))

    @property
    def n_min(self) -> int:
        return min(int(self.n_rows), int(self.n_cols))

    @property
    def q(self) -> float:
        """q = min(N, M) sigma^2 (eq. 20)."""
        return self.n_min * self.sigma ** 2

    @property
    def lambda_minus(self) -> float:
        return self.sigma * (math.sqrt(self.n_max) - math.sqrt(self.n_min))

    @property
    def lambda_plus(self) -> float:
        return self.sigma * (math.sqrt(self.n_max) + math.sqrt(self.n_min))

    @property
    def mode_paper(self) -> float:
        """The paper's maximum of the density, sigma sqrt|N - M| (= sqrt(lambda_+ lambda_-))."""
        return self.sigma * math.sqrt(abs(self.n_rows - self.n_cols))

    def mode_numeric(self) -> float:
        """Where the density is largest, found by bounded numerical maximisation (no formula assumed)."""
        lo, hi = self.lambda_minus, self.lambda_plus
        if lo == 0.0:  # square: rho = sqrt(A - lambda^2) / (pi q) decreases from lambda = 0
            return 0.0
        res = optimize.minimize_scalar(lambda x: -self.pdf(x), bounds=(lo, hi), method="bounded",
                                       options={"xatol": 1e-12 * hi})
        return float(res.x)

    def mean_square(self) -> float:
        """E[lambda^2] = max(N, M) sigma^2 (so that sum lambda^2 = N M sigma^2 = ||W||_F^2 on average)."""
        return self.n_max * self.sigma ** 2

    def pdf(self, lam: np.ndarray | float) -> np.ndarray:
        lam = np.asarray(lam, dtype=np.float64)
        a, b = self.lambda_plus ** 2, self.lambda_minus ** 2
        s = lam * lam
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.sqrt(np.clip((a - s) * (s - b), 0.0, None)) / (math.pi * self.q * lam)
        inside = (lam >= self.lambda_minus) & (lam <= self.lambda_plus) & (lam > 0)
        if self.lambda_minus == 0.0:  # square matrix: the density is finite at 0
            out = np.where(lam == 0, math.sqrt(a) / (math.pi * self.q), out)
            inside = inside | (lam == 0)
        return np.where(inside, out, 0.0)

    def cdf(self, lam: np.ndarray | float) -> np.ndarray:
        lam = np.asarray(lam, dtype=np.float64)
        a, b = self.lambda_plus ** 2, self.lambda_minus ** 2
        s = np.clip(lam * lam, b, a)

        def g(t: np.ndarray) -> np.ndarray:
            r = np.sqrt(np.clip((a - t) * (t - b), 0.0, None))
            out = r + 0.5 * (a + b) * np.arcsin(np.clip((2 * t - a - b) / (a - b), -1.0, 1.0))
            if b > 0:
                out = out - math.sqrt(a * b) * np.arcsin(np.clip(((a + b) * t - 2 * a * b) / (t * (a - b)), -1.0, 1.0))
            return out

        f = (g(s) - g(np.float64(b))) / (2 * math.pi * self.q)
        return np.clip(np.where(lam < self.lambda_minus, 0.0, np.where(lam > self.lambda_plus, 1.0, f)), 0.0, 1.0)

    def ks(self, singular_values: np.ndarray) -> tuple[float, float]:
        """Kolmogorov-Smirnov distance (and scipy's p-value) of singular values to this law.

        The p-value assumes independent draws; singular values repel each other, so it is conservative
        (it understates agreement): read the distance itself.
        """
        res = stats.kstest(np.asarray(singular_values, dtype=np.float64), self.cdf)
        return float(res.statistic), float(res.pvalue)

    def to_dict(self) -> dict[str, float]:
        return {"n_rows": int(self.n_rows), "n_cols": int(self.n_cols), "sigma": float(self.sigma),
                "lambda_minus": self.lambda_minus, "lambda_plus": self.lambda_plus,
                "mode_paper": self.mode_paper, "mode_numeric": self.mode_numeric()}


def weight_sigma(weights) -> float:
    """The weight std the Marchenko-Pastur comparison uses: the root mean square of the entries.

    MP describes zero-mean entries; with the RMS, sum lambda^2 = ||W||_F^2 = N M sigma^2 holds exactly,
    so the law and the spectrum have the same second moment.
    """
    w = np.asarray(weights, dtype=np.float64)
    return float(np.sqrt(np.mean(w * w)))
