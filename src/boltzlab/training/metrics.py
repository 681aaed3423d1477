"""Per-epoch training monitors: exact log-likelihood, pseudo-log-likelihood, reconstruction error, norms."""

from __future__ import annotations

import math
from typing import Any

import torch

from ..errors import IntractableError
from ..models.base import EnergyModel
from ..partition.exact import _float64_copy, exact_log_prob, exact_log_z
from ..random import Rng


@torch.no_grad()
def pseudo_log_likelihood(model: EnergyModel, v: torch.Tensor, seed: int = 0) -> float:
    """Stochastic pseudo-log-likelihood, n_visible * E[ln p(v_i | v_-i)] with one random site per sample.

    Works for any discrete visible layer: every value of the chosen unit is tried and the conditional is
    the softmax of minus the free energies.
    """
    layer = model.visible
    if not layer.discrete:
        raise IntractableError("pseudo-likelihood needs a discrete visible layer")
    g = torch.Generator(device="cpu").manual_seed(seed)
    sites = torch.randint(layer.n_units, (v.shape[0],), generator=g).to(v.device)
    rows = torch.arange(v.shape[0], device=v.device)
    values = layer.unit_values.to(v)
    fe = []
    for val in values:
        w = v.clone()
        w[rows, sites] = val
        fe.append(-model.free_energy(w))
    logits = torch.stack(fe, 1)
    own = (v[rows, sites].unsqueeze(1) == values.unsqueeze(0)).float().argmax(1)
    logp = torch.log_softmax(logits, 1)[rows, own]
    return float(logp.mean()) * layer.n_units


@torch.no_grad()
def reconstruction_error(model, v: torch.Tensor, rng: Rng) -> float:
    """Mean squared difference per unit between v and E[phi(v) | h], h ~ p(h | v)."""
    h = model.sample_hidden(v, 1.0, rng)
    recon = model.mean_visible(h)
    return float(((model.visible.features(v) - recon) ** 2).mean())


def weight_norms(model) -> dict[str, float]:
    w = model.weights.detach()
    return {"weight_norm": float(w.norm()), "weight_max_abs": float(w.abs().max()),
            "weight_mean_abs": float(w.abs().mean())}


def epoch_metrics(model, train: torch.Tensor, test: torch.Tensor | None, max_log2: float,
                  n_monitor: int, seed: int) -> dict[str, Any]:
    """The numbers written to metrics.jsonl after each epoch."""
    out: dict[str, Any] = {}
    sub = train[:n_monitor]
    try:
        log_z = exact_log_z(model, max_log2_states=max_log2)
        m64 = _float64_copy(model)
        out["log_z"] = log_z
        out["train_log_likelihood"] = float(exact_log_prob(m64, sub, log_z=log_z).mean())
        if test is not None:
            out["test_log_likelihood"] = float(exact_log_prob(m64, test, log_z=log_z).mean())
    except IntractableError:
        pass
    if model.visible.discrete:
        out["pseudo_log_likelihood"] = pseudo_log_likelihood(model, sub, seed)
    if getattr(model, "n_hidden", 0):  # a fully visible model has nothing to reconstruct through
        out["reconstruction_error"] = reconstruction_error(model, sub, Rng(seed, sub.device))
    out.update(weight_norms(model))
    for k, val in out.items():
        if isinstance(val, float) and not math.isfinite(val):
            out[k] = None
    return out
