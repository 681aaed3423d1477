"""Perturbations by temperature: Appendix A of the lecture notes on energy-based models (unpublished).

At inverse temperature beta the effective energy of the visible layer is E_eff(v; beta) := F_beta(v) / beta,
F_beta(v) = -ln sum_h exp(-beta E(v, h)).  Expanding the soft-plus (eq. 60):

    E_eff(v; beta) = -(beta/8) sum_i (sum_a U_ai (v_a - v_hat_a))^2 - b_eff . v + const + O(beta^3)

i.e. the BM of eq. 12 with W_eff = (beta/4) U U^T and b_eff = b - U (h_hat - 1/2 - beta c/4)
(:func:`boltzlab.theory.rbm_to_bm` with ``beta``); the remainder is O(beta^3), not O(beta^2) as printed.
Eq. 61 (first order of a BM at high temperature) with the sign of the energy term corrected and the
centres kept: p_1/p_0 = -beta (E(x) - <E>_0), with the uniform average

    <E>_0 = -1/2 sum_ab W_ab [(1/2 - x_hat_a)(1/2 - x_hat_b) + delta_ab / 4] - 1/2 sum_a b_a;

:func:`high_temperature_log_ratio` gives this and the printed form.
"""

from __future__ import annotations

from typing import Any

import torch

from ..errors import ConfigError, require
from ..models.bm import BoltzmannMachine
from ..models.rbm import RBM
from .effective import _hidden_states, _joint_energy

__all__ = ["effective_energy_at", "high_temperature_log_ratio", "uniform_mean_energy"]


@torch.no_grad()
def effective_energy_at(rbm: RBM, v: Any, beta: float) -> torch.Tensor:
    """E_eff(v; beta) = -(1/beta) ln sum_h exp(-beta E(v, h)), by enumerating h (float64)."""
    require(beta > 0, f"beta must be > 0; got {beta}")
    v = torch.as_tensor(v, dtype=torch.float64).reshape(-1, rbm.n_visible)
    return -torch.logsumexp(-beta * _joint_energy(rbm, v, _hidden_states(rbm)), 1) / beta


def uniform_mean_energy(bm: BoltzmannMachine) -> float:
    """<E>_0, the average of eq. 12 over the uniform distribution (the beta -> 0 limit), in closed form."""
    w = bm.coupling().detach().double()
    b = bm.bias.detach().double()
    d = 0.5 - bm.centers.double()
    return float(-0.5 * (d @ w @ d + 0.25 * torch.diagonal(w).sum()) - 0.5 * b.sum())


@torch.no_grad()
def high_temperature_log_ratio(bm: BoltzmannMachine, x: Any, beta: float, form: str = "corrected") -> torch.Tensor:
    """p_1(x) / p_0(x) of a BM at small beta (eq. 61), p_0 = 2^-n.

    ``form="corrected"``: -beta (E(x) - <E>_0).  ``form="paper"``: eq. 61 as printed,
    beta E(x) - beta sum_a (W_aa / 4 + b_a / 2).
    """
    e = bm.energy(x).double()
    if form == "corrected":
        return -beta * (e - uniform_mean_energy(bm))
    if form == "paper":
        w = torch.diagonal(bm.coupling().detach()).double()
        return beta * e - beta * (w / 4 + bm.bias.detach().double() / 2).sum()
    raise ConfigError(f"form must be 'corrected' or 'paper'; got {form!r}")
