"""Exact partition functions and log-likelihoods by enumeration, in float64.

For an RBM, log Z = ln sum_x exp(-F(x)) over the states of whichever discrete layer has fewer states, with
F the closed-form free energy of that layer (the other layer summed out).  States are generated and summed
in chunks, so memory stays bounded (2^24 states of a 24-unit layer coupled to 784 units need a few hundred
MB at most).
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from ..errors import IntractableError, require
from ..models.base import EnergyModel

#: Default ceiling on the number of enumerated states (2^24).
MAX_LOG2_STATES = 24


def _float64_copy(model: EnergyModel, device: Any = None) -> EnergyModel:
    """The model in float64 (on ``device``); the model itself when it already is (the exact routines only read)."""
    same_device = device is None or torch.device(device) == model.device
    if model.dtype == torch.float64 and same_device:
        return model
    m = copy.deepcopy(model).to(dtype=torch.float64)
    return m.to(device) if device is not None else m


def _choose(model: EnergyModel, max_log2_states: float) -> int:
    """Index, in ``model.enumerable_marginals()``, of the discrete layer with fewest states."""
    candidates = [(layer.n_states_log2, name, i)
                  for i, (name, (layer, _)) in enumerate(zip(("visible", "hidden", "layer"),
                                                             model.enumerable_marginals()))
                  if layer.discrete]
    require(candidates, "no layer of this model is discrete, so log Z cannot be enumerated; "
                        "use an annealed estimate (AIS) instead", IntractableError)
    log2_states, name, index = min(candidates, key=lambda c: c[0])
    if log2_states > max_log2_states + 1e-9:
        raise IntractableError(
            f"exact enumeration needs 2^{log2_states:.0f} states of the smaller ({name}) layer, above the "
            f"limit 2^{max_log2_states:.0f}; estimate log Z with annealed importance sampling (AIS) instead")
    return index


@torch.no_grad()
def exact_log_z(model: EnergyModel, beta: float = 1.0, *, max_log2_states: float = MAX_LOG2_STATES,
                device: Any = None, chunk_elements: int = 1 << 22) -> float:
    """ln Z(beta) = ln sum_{v,h} exp(-beta E(v, h)) by exact enumeration in float64.

    Raises :class:`~boltzlab.errors.IntractableError` when the smaller discrete layer has more than
    ``2**max_log2_states`` states.
    """
    index = _choose(model, max_log2_states)
    m = _float64_copy(model, device)
    layer, fe = m.enumerable_marginals()[index]
    width = max(max(p.numel() for p in m.parameters()) // layer.n_features, 1)  # the other layer's size
    chunk = max(1, min(1 << 20, chunk_elements // width))
    parts = [torch.logsumexp(-fe(states, beta), 0) for states in layer.iterate_states(chunk)]
    return float(torch.logsumexp(torch.stack(parts), 0))


@torch.no_grad()
def exact_log_prob(model: EnergyModel, v: Any, beta: float = 1.0, log_z: float | None = None) -> torch.Tensor:
    """ln p(v) = -F(v) - ln Z per sample, float64."""
    m = _float64_copy(model)
    if log_z is None:
        log_z = exact_log_z(m, beta)
    return -m.free_energy(v, beta) - log_z


def exact_log_likelihood(model: EnergyModel, data: Any, beta: float = 1.0, log_z: float | None = None) -> float:
    """Mean ln p(v) over ``data`` (nats per sample), exact, float64."""
    return float(exact_log_prob(model, data, beta, log_z).mean())


@torch.no_grad()
def visible_distribution(model: EnergyModel, beta: float = 1.0, max_log2_states: float = 20,
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """All visible states and their exact probabilities at ``beta`` (float64; small visible layers).

    The one exact visible distribution of the library (:func:`boltzlab.theory.exact_distribution` is this
    function)."""
    m = _float64_copy(model)
    if m.visible.n_states_log2 > max_log2_states:
        raise IntractableError(f"the visible layer has 2^{m.visible.n_states_log2:.0f} states, too many to list")
    total = int(round(2 ** m.visible.n_states_log2))
    states = m.visible.enumerate_states(0, total)
    return states, torch.softmax(-m.visible_free_energy(states, beta), 0)



@torch.no_grad()
def count_distribution(model: EnergyModel, beta: float = 1.0, *, max_log2_states: float = MAX_LOG2_STATES,
                       ) -> torch.Tensor:
    """P(U) for U = 0..n_visible, U the number of visible units in state 1, exact, float64.

    For an RBM with binary visible units and an enumerable hidden layer: given h the visible units are
    independent Bernoulli variables with means p_i(h) (Smolensky 1986; Hinton, Neural Computation 14, 1771
    (2002), eq. 6), so P(U | h) is a Poisson-binomial distribution, built unit by unit by the recursion
    P_i(u) = P_{i-1}(u) (1 - p_i) + P_{i-1}(u - 1) p_i (Chen & Liu, Statistica Sinica 7, 875 (1997)), and
    P(U) = sum_h p(h) P(U | h), p(h) = exp(-F(h)) / Z.  The cost is 2^n_hidden n_visible^2, so it serves
    visible layers far too large to list (the magnetisation distribution of a 5x5 Ising RBM).
    """
    m = _float64_copy(model)
    if m.visible.type_name != "binary" or not m.hidden.discrete:
        raise IntractableError("the count distribution needs binary visible units and a discrete hidden layer")
    if m.hidden.n_states_log2 > max_log2_states + 1e-9:
        raise IntractableError(f"the hidden layer has 2^{m.hidden.n_states_log2:.0f} states, above the limit "
                               f"2^{max_log2_states:.0f}")
    log_z = exact_log_z(m, beta, max_log2_states=max_log2_states)
    n = m.n_visible
    total = torch.zeros(n + 1, dtype=torch.float64, device=m.device)
    for h in m.hidden.iterate_states(max(1, (1 << 22) // (n * n + 1))):
        weight = torch.exp(-m.free_energy_hidden(h, beta) - log_z)
        p = m.mean_visible(h, beta)
        dist = torch.zeros(h.shape[0], n + 1, dtype=torch.float64, device=m.device)
        dist[:, 0] = 1.0
        for i in range(n):
            dist[:, 1:i + 2] = dist[:, 1:i + 2] * (1 - p[:, i:i + 1]) + dist[:, :i + 1] * p[:, i:i + 1]
            dist[:, 0] *= 1 - p[:, i]
        total += weight @ dist
    return total
