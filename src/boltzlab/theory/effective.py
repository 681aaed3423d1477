"""Effective theory of the centred RBM: eq. 8-10 and 16-22 of the lecture notes on energy-based models (unpublished).

The centred binary RBM (eq. 16)

    E(v, h) = -sum_ai U_ai (v_a - v_hat_a)(h_i - h_hat_i) - sum_a b_a v_a - sum_i c_i h_i

is :class:`boltzlab.BinaryRBM` with ``weights=U``, ``visible_bias=b``, ``hidden_bias=c``,
``visible_offset=v_hat`` and ``hidden_offset=h_hat``.  Here its effective energy (eq. 22) is written out
as printed, independently of the model's own free energy, and the statements about it are made checkable
by brute force over the hidden states: the marginal of the joint model is exp(-E_eff) / Z (Theorem 7,
eq. 9) and the gradient of E_eff is the conditional expectation of dE/dtheta (Lemma 8, eq. 10) -- for
E_eff of eq. 8; eq. 22 drops a constant that depends on U (see :func:`effective_energy`).  Remark 14
(eq. 17-19), the RBM as a Boltzmann machine with block couplings, is :func:`rbm_as_bm`.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .._tensor import as_tensor
from ..errors import ConfigError, IntractableError, require
from ..models.bm import BoltzmannMachine
from ..models.rbm import RBM

__all__ = ["effective_energy", "brute_force_effective_energy", "brute_force_marginal",
           "effective_energy_gradient", "rbm_as_bm", "rbm_parameters"]


def rbm_parameters(rbm: RBM) -> tuple[torch.Tensor, ...]:
    """(U, b, c, v_hat, h_hat) of a binary-binary RBM, detached float64; ConfigError for other unit types."""
    if not isinstance(rbm, RBM) or rbm.visible.type_name != "binary" or rbm.hidden.type_name != "binary":
        raise ConfigError("the effective theory of eq. (16)-(22) is for RBMs with binary visible and hidden units; "
                          f"got {type(rbm).__name__}")
    return tuple(t.detach().double() for t in (rbm.weights, rbm.visible.bias, rbm.hidden.bias,
                                                rbm.visible_offset, rbm.hidden_offset))


def effective_energy(rbm: RBM, v: Any, keep_constant: bool = False) -> torch.Tensor:
    """E_eff(v) of eq. 22, differentiable in the RBM's parameters (dtype of the model):

    sum_a (sum_i U_ai v_a h_hat_i - b_a v_a) - sum_i s(sum_a U_ai (v_a - v_hat_a) + c_i),  s = softplus.

    eq. 22 drops the constant -sum_ai U_ai v_hat_a h_hat_i; ``keep_constant=True`` keeps it, and then
    E_eff(v) = -ln sum_h exp(-E(v, h)) exactly (eq. 8).  The constant does not depend on v, so both forms
    give the same p(v) and the same learning rule (eq. 11), but it depends on U: Lemma 8 (eq. 10) holds
    for the form with the constant; the printed eq. 22 has dE_eff/dU_ai larger by v_hat_a h_hat_i.
    """
    rbm_parameters(rbm)
    u, b, c = rbm.weights, rbm.visible.bias, rbm.hidden.bias
    vh, hh = rbm.visible_offset, rbm.hidden_offset
    v = rbm.visible_tensor(v, "v")
    e = v @ (u @ hh) - v @ b - F.softplus((v - vh) @ u + c).sum(-1)
    return e - vh @ u @ hh if keep_constant else e


def _hidden_states(rbm: RBM, max_hidden: int = 16) -> torch.Tensor:
    require(rbm.n_hidden <= max_hidden, f"brute force over the hidden layer is limited to {max_hidden} units; "
                                        f"this RBM has {rbm.n_hidden}", IntractableError)
    return rbm.hidden.enumerate_states(0, 2 ** rbm.n_hidden).double()


def _joint_energy(rbm: RBM, v: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """E(v, h) of eq. 16 for every pair, shape (len(v), len(h)), float64."""
    u, b, c, vh, hh = rbm_parameters(rbm)
    return -((v - vh) @ u @ (h - hh).t()) - (v @ b)[:, None] - (h @ c)[None, :]


@torch.no_grad()
def brute_force_effective_energy(rbm: RBM, v: Any) -> torch.Tensor:
    """-ln sum_h exp(-E(v, h)) by enumerating every hidden state (eq. 8), float64."""
    v = as_tensor(v, dtype=torch.float64, name="v").reshape(-1, rbm.n_visible)
    return -torch.logsumexp(-_joint_energy(rbm, v, _hidden_states(rbm)), 1)


@torch.no_grad()
def brute_force_marginal(rbm: RBM, max_visible: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """All visible states and p(v) = sum_h p(v, h), from the joint over every (v, h) pair (Theorem 7)."""
    if rbm.n_visible > max_visible:
        raise IntractableError(f"brute force over the visible layer is limited to {max_visible} units")
    v = rbm.visible.enumerate_states(0, 2 ** rbm.n_visible).double()
    joint = -_joint_energy(rbm, v, _hidden_states(rbm))
    log_p = torch.logsumexp(joint, 1) - torch.logsumexp(joint.reshape(-1), 0)
    return v, log_p.exp()


@torch.no_grad()
def effective_energy_gradient(rbm: RBM, v: Any) -> dict[str, torch.Tensor]:
    """E_{h ~ p(h|v)}[dE/dtheta] by enumerating h (right-hand side of eq. 10), per sample.

    Keys as in ``rbm.named_parameters()``: ``weights`` (batch, n_v, n_h), ``visible.bias`` (batch, n_v),
    ``hidden.bias`` (batch, n_h).  dE/dU_ai = -(v_a - v_hat_a)(h_i - h_hat_i), dE/db = -v, dE/dc = -h.
    """
    u, b, c, vh, hh = rbm_parameters(rbm)
    v = as_tensor(v, dtype=torch.float64, name="v").reshape(-1, rbm.n_visible)
    h = _hidden_states(rbm)
    p = torch.softmax(-_joint_energy(rbm, v, h), 1)          # p(h | v), (batch, 2^m)
    mean_h = p @ h                                           # E[h | v]
    return {"weights": -torch.einsum("sa,si->sai", v - vh, mean_h - hh),
            "visible.bias": -v, "hidden.bias": -mean_h}


def rbm_as_bm(rbm: RBM) -> BoltzmannMachine:
    """The RBM as a fully visible BM over x = (v, h) (Remark 14, eq. 17-19).

    W = [[0, U], [U^T, 0]], bias (b, c), centres (v_hat, h_hat); then eq. 12 is eq. 16 for every (v, h).
    """
    u, b, c, vh, hh = rbm_parameters(rbm)
    nv, nh = u.shape
    w = torch.zeros(nv + nh, nv + nh, dtype=torch.float64)
    w[:nv, nv:] = u
    w[nv:, :nv] = u.t()
    return BoltzmannMachine(w, torch.cat([b, c]), torch.cat([vh, hh]), self_interaction=False, dtype=torch.float64)
