"""Schedules of intermediate distributions 0 = t_0 < t_1 < ... < t_K = 1 for annealing.

* ``linear``: equal steps.
* ``geometric``: t_k geometrically spaced from 1e-4 to 1 (after t_0 = 0); fine steps where p_t changes
  fastest for weakly coupled models.
* ``sm08``: the piecewise-linear shape of Salakhutdinov & Murray (2008, section 4.2) scaled to any length:
  of every 14,500 steps, 500 cover [0, 0.5], 4,000 cover [0.5, 0.9] and 10,000 cover [0.9, 1].  With
  ``n_betas = 14501`` it is exactly their 1e-3 / 1e-4 / 1e-5 grid (:func:`salakhutdinov_murray`).
* ``adaptive``: equal steps of *thermodynamic length* L(t) = ∫ sigma(t) dt, where sigma(t)^2 is the
  variance of d ln f_t / dt under p_t, measured by a short pilot run (:func:`thermodynamic_schedule`).
  For small steps the variance of a log-weight increment is (dt)^2 sigma(t)^2, and the sum of these
  variances is smallest when dt ∝ 1 / sigma(t) (Gelman & Meng 1998; Crooks 2007).
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError, require

SCHEDULES = ("linear", "geometric", "sm08", "adaptive")


def salakhutdinov_murray() -> np.ndarray:
    """The 14,501-point grid of Salakhutdinov & Murray (2008): steps 1e-3 to 0.5, 1e-4 to 0.9, 1e-5 to 1."""
    return np.concatenate([np.linspace(0.0, 0.5, 500, endpoint=False),
                           np.linspace(0.5, 0.9, 4000, endpoint=False),
                           np.linspace(0.9, 1.0, 10001)])


def make_schedule(kind: str, n_betas: int) -> np.ndarray:
    """``n_betas`` values from 0 to 1 (inclusive) of a fixed-shape schedule (not ``adaptive``)."""
    n = int(n_betas)
    require(n >= 2, f"an annealing schedule needs at least 2 intermediate distributions, got {n_betas}")
    if kind == "linear":
        return np.linspace(0.0, 1.0, n)
    if kind == "geometric":
        return np.concatenate([[0.0], np.geomspace(1e-4, 1.0, n - 1)])
    if kind == "sm08":
        knots_t = np.array([0.0, 0.5, 0.9, 1.0])
        knots_u = np.array([0.0, 500.0, 4500.0, 14500.0]) / 14500.0
        return np.interp(np.linspace(0.0, 1.0, n), knots_u, knots_t)
    raise ConfigError(f"unknown schedule {kind!r}; expected one of {', '.join(SCHEDULES)}")


def thermodynamic_schedule(t_grid: np.ndarray, sigma: np.ndarray, n_betas: int, floor: float = 1e-3) -> np.ndarray:
    """Place ``n_betas`` points at equal thermodynamic length given sigma(t) on ``t_grid``.

    ``sigma`` is floored at ``floor`` times its maximum so that no stretch of the path is skipped.
    """
    s = np.maximum(np.asarray(sigma, dtype=float), floor * max(float(np.max(sigma)), 1e-300))
    t = np.asarray(t_grid, dtype=float)
    length = np.concatenate([[0.0], np.cumsum(0.5 * (s[1:] + s[:-1]) * np.diff(t))])
    if not np.isfinite(length[-1]) or length[-1] <= 0:
        return make_schedule("sm08", n_betas)
    out = np.interp(np.linspace(0.0, length[-1], int(n_betas)), length, t)
    out[0], out[-1] = 0.0, 1.0
    return np.maximum.accumulate(out)
