"""The zoom-in trick: the lecture notes on energy-based models (unpublished), Definition 36 - Theorem 38.

Each binary unit X of the data is replaced by m noisy copies Y_1..Y_m, independent given X, with
p(y = 1 | x = 0) = delta and p(y = 1 | x = 1) = 1 - delta (eq. 56-57).  With eps := 1/2 - delta, the copies
have (Lemma 37, eq. 58)

    p(y = 1) = 1/2 + (2 p - 1) eps,

and their expected covariances are (2 eps)^2 times those of the source units, which puts the data in the
regime of the perturbative solutions (Remarks 34-35) as eps -> 0.  Theorem 38, corrected: the means tend to
1/2 (eq. 59), not 0, and for one given data set Var(y_hat | data) = delta (1 - delta) / N, beside the printed
mu (1 - mu) / N of freshly drawn source rows (:func:`zoom_in_mean_std` gives both).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..errors import require
from .moments import Moments, binary_data

__all__ = ["zoom_in", "zoom_in_mean", "zoom_in_moments", "zoom_in_mean_std", "zoomed_unit"]


def _check_delta(delta: float, copies: int = 1) -> None:
    require(0.0 <= float(delta) < 0.5, f"the zoom-in parameter delta must lie in [0, 0.5); got {delta}")
    require(int(copies) >= 1, f"copies must be >= 1; got {copies}")


def zoomed_unit(a: int, i: int, copies: int) -> int:
    """Column of copy ``i`` of source unit ``a`` in the output of :func:`zoom_in` (unit-major order)."""
    return a * copies + i


def zoom_in(data: Any, delta: float, copies: int = 1, seed: int | None = 0) -> torch.Tensor:
    """Definition 36: each unit becomes ``copies`` noisy copies; returns (N, n * copies) float64 in {0, 1}.

    Column ``a * copies + i`` is copy i of unit a.  Bits flip with probability ``delta`` independently.
    """
    _check_delta(delta, copies)
    x = binary_data(data)
    g = torch.Generator().manual_seed(0 if seed is None else int(seed))
    rep = x.repeat_interleave(int(copies), dim=1)
    flip = torch.rand(rep.shape, generator=g, dtype=torch.float64) < float(delta)
    return torch.where(flip, 1.0 - rep, rep)


def zoom_in_mean(p: Any, delta: float) -> torch.Tensor:
    """Lemma 37 (eq. 58): p(y = 1) = 1/2 + (2 p - 1)(1/2 - delta)."""
    _check_delta(delta)
    p = torch.as_tensor(p, dtype=torch.float64)
    return 0.5 + (2 * p - 1) * (0.5 - float(delta))


def zoom_in_moments(moments: Moments, delta: float, copies: int = 1) -> Moments:
    """Expected means and covariances of the zoomed data given the source data (Lemma 37, Theorem 38).

    Means: eq. 58 with p = x_hat.  Covariances between distinct columns: (1 - 2 delta)^2 C_hat_ab (same
    source unit: (1 - 2 delta)^2 x_hat_a (1 - x_hat_a)); variances mu (1 - mu).  These are the moments of
    the population the zoomed data are drawn from, and Theorem 38's limits follow from them.
    """
    _check_delta(delta, copies)
    k = int(copies)
    mean = zoom_in_mean(moments.mean, delta).repeat_interleave(k)
    cov = (1 - 2 * float(delta)) ** 2 * moments.cov.double().repeat_interleave(k, 0).repeat_interleave(k, 1)
    idx = torch.arange(mean.numel())
    cov[idx, idx] = mean * (1 - mean)
    return Moments(mean, cov)


def zoom_in_mean_std(mean: Any, delta: float, n_samples: int, conditional: bool = True) -> torch.Tensor:
    """Standard deviation of a zoomed unit's sample mean y_hat over the noise (Theorem 38).

    ``conditional=True``: given the data set, sqrt(delta (1 - delta) / N) (the correct spread for the zoom-in
    of one data set).  ``conditional=False``: the paper's sqrt((1/4 - ((2 x_hat - 1)(1/2 - delta))^2) / N),
    right when the rows are fresh draws from a population with mean x_hat.
    """
    _check_delta(delta)
    x = torch.as_tensor(mean, dtype=torch.float64)
    if conditional:
        return torch.full_like(x, float(np.sqrt(delta * (1 - delta) / n_samples)))
    return torch.sqrt((0.25 - ((2 * x - 1) * (0.5 - delta)) ** 2) / n_samples)
