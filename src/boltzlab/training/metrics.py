"""Per-epoch training monitors: exact log-likelihood, pseudo-log-likelihood, reconstruction error, norms."""

from __future__ import annotations

import math
from typing import Any

import torch

from ..errors import IntractableError
from ..partition.exact import _float64_copy, exact_log_prob, exact_log_z
from ..partition.pseudolikelihood import pseudo_log_likelihood
from ..random import Rng


def _mean(x: torch.Tensor, weights: torch.Tensor | None) -> float:
    """Mean of x, weighted by ``weights`` when given (sequence weights enter every data average)."""
    if weights is None:
        return float(x.mean())
    w = weights.to(x)
    return float((w * x).sum() / w.sum())


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


@torch.no_grad()
def epoch_metrics(model, train: torch.Tensor, test: torch.Tensor | None, max_log2: float,
                  n_monitor: int, seed: int, train_weights: torch.Tensor | None = None,
                  test_weights: torch.Tensor | None = None) -> dict[str, Any]:
    """The numbers written to metrics.jsonl after each epoch (weighted averages when weights are given)."""
    out: dict[str, Any] = {}
    sub = train[:n_monitor]
    sub_w = None if train_weights is None else train_weights[:n_monitor]
    try:
        log_z = exact_log_z(model, max_log2_states=max_log2)
        m64 = _float64_copy(model)
        out["log_z"] = log_z
        out["train_log_likelihood"] = _mean(exact_log_prob(m64, sub, log_z=log_z), sub_w)
        if test is not None:
            out["test_log_likelihood"] = _mean(exact_log_prob(m64, test, log_z=log_z), test_weights)
    except IntractableError:
        pass
    if model.visible.discrete and sub.shape[0]:  # one random site per sample, rescaled by n_visible
        out["pseudo_log_likelihood"] = _mean(pseudo_log_likelihood(model, sub, sites=1, seed=seed,
                                                                    reduction="none"), sub_w)
    if model.n_hidden:  # a fully visible model has nothing to reconstruct through
        out["reconstruction_error"] = reconstruction_error(model, sub, Rng(seed, sub.device))
    out.update(weight_norms(model))
    for k, val in out.items():
        if isinstance(val, float) and not math.isfinite(val):
            out[k] = None
    return out
