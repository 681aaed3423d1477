"""Pseudo-likelihood of discrete-visible models: a monitor for any of them, a training objective for small ones.

The pseudo-log-likelihood (Besag, The Statistician 24, 179 (1975)) replaces ln p(v) by

    PL(v) = sum_i ln p(v_i | v_{-i}),   p(v_i = x | v_{-i}) = exp(-F(v^{i<-x})) / sum_y exp(-F(v^{i<-y})),

F the visible free energy (the lecture notes on energy-based models (unpublished), eq. 8-10; eq. 22 for the
RBM), v^{i<-x} v with unit i set to x.  Z cancels, so PL needs free-energy differences only, for binary, spin
or Potts units, and maximising it is exact gradient ascent by autograd.  The generic evaluation computes the
free energy of every modified configuration; the RBM fast path moves the hidden input by
(phi_i(x) - phi_i(v_i)) W_i:  F(v^{i<-x}) - F(v) = Δe_i + Δphi_i . (W h_hat)_i - [ln Z_hid(I + Δphi_i W_i) -
ln Z_hid(I)], O(n_visible q n_hidden) per sample.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch

from ..errors import ConfigError, IntractableError, ShapeError, require
from ..random import Rng


def _check_discrete(model) -> None:
    require(model.visible.discrete, f"pseudo-likelihood needs a discrete visible layer; this model has "
                                    f"{model.visible.type_name} visible units", IntractableError)


def _values_index(layer, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The layer's unit values (K,) and, for each entry of v, the index of its value (batch, n)."""
    values = layer.unit_values.to(device=v.device, dtype=v.dtype)
    idx = (v.unsqueeze(-1) == values).to(torch.int64).argmax(-1)
    return values, idx


def _fast_path_ok(model) -> bool:
    vis = model.visible
    from ..models import RBM
    return isinstance(model, RBM) and vis.n_features % vis.n_units == 0


def _unit_tables(model, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-unit self-energies e_i(x) (n, K) up to a constant per unit, and features phi_i(x) (n, K, k)."""
    vis = model.visible
    n, kv = vis.n_units, len(values)
    k = vis.n_features // n
    const = values.view(kv, 1).expand(kv, n).contiguous()   # state "all units = x" for each value x
    feats = vis.features(const).reshape(kv, n, k).transpose(0, 1)          # (n, K, k)
    # e_i(x) - e_i(x_0): energies of the reference state (all x_0) with unit i set to x.
    ref = const[:1].expand(n * kv, n).clone()
    rows = torch.arange(n * kv, device=values.device)
    ref[rows, rows // kv] = values.repeat(n)
    e = vis.energy(ref).reshape(n, kv)
    return e - e[:, :1], feats


def conditional_log_probs(model, v: torch.Tensor, sites: torch.Tensor | None = None, *,
                          chunk: int = 1 << 22) -> torch.Tensor:
    """ln p(v_i = x | v_{-i}) for every sample, every site i (or ``sites``) and every value x.

    Returns ``(batch, n_sites, K)`` in the model's dtype; differentiable in the parameters.  ``v`` must be
    a tensor of visible states already in the model's dtype and domain.
    """
    _check_discrete(model)
    vis = model.visible
    sites = torch.arange(vis.n_units, device=v.device) if sites is None else sites.to(v.device)
    if _fast_path_ok(model):
        return _conditional_fast(model, v, sites, chunk)
    return _conditional_generic(model, v, sites, chunk)


def _conditional_generic(model, v: torch.Tensor, sites: torch.Tensor, chunk: int) -> torch.Tensor:
    values, _ = _values_index(model.visible, v)
    b, s, kv, n = v.shape[0], len(sites), len(values), v.shape[1]
    x = v.unsqueeze(1).unsqueeze(1).expand(b, s, kv, n).clone()
    for j in range(s):
        x[:, j, :, sites[j]] = values
    flat = x.reshape(-1, n)
    step = max(1, chunk // max(n, 1))
    fe = torch.cat([model.visible_free_energy(flat[i:i + step]) for i in range(0, flat.shape[0], step)])
    return torch.log_softmax(-fe.reshape(b, s, kv), -1)


def _conditional_fast(model, v: torch.Tensor, sites: torch.Tensor, chunk: int) -> torch.Tensor:
    vis, hid = model.visible, model.hidden
    values, vidx = _values_index(vis, v)
    n, kv = vis.n_units, len(values)
    k = vis.n_features // n
    e_tab, f_tab = _unit_tables(model, values)                    # (n, K), (n, K, k)
    w = model.weights.reshape(n, k, -1)                           # (n, k, H)
    fv = vis.features(v) - model.visible_offset
    inputs = fv @ model.weights                                   # (b, H)
    w_hhat = (model.weights @ model.hidden_offset).reshape(n, k)  # (n, k)
    z0 = hid.log_partition(inputs)                                # (b,)
    b = v.shape[0]
    per_site = max(1, chunk // max(b * kv * w.shape[-1], 1))
    out = []
    for start in range(0, len(sites), per_site):
        ss = sites[start:start + per_site]
        own = vidx[:, ss]                                         # (b, s)
        f_sites = f_tab[ss]                                       # (s, K, k)
        f_own = f_sites.unsqueeze(0).expand(b, -1, -1, -1).gather(
            2, own.view(b, -1, 1, 1).expand(b, len(ss), 1, k)).squeeze(2)      # (b, s, k)
        dphi = f_sites.unsqueeze(0) - f_own.unsqueeze(2)          # (b, s, K, k)
        dinp = torch.einsum("bskc,sch->bskh", dphi, w[ss])        # (b, s, K, H)
        new = inputs.view(b, 1, 1, -1) + dinp
        zh = hid.log_partition(new.reshape(-1, new.shape[-1])).reshape(b, len(ss), kv)
        e_sites = e_tab[ss]                                       # (s, K)
        de = e_sites.unsqueeze(0) - e_sites.unsqueeze(0).expand(b, -1, -1).gather(2, own.unsqueeze(2))
        doff = torch.einsum("bskc,sc->bsk", dphi, w_hhat[ss])
        dfe = de + doff - (zh - z0.view(b, 1, 1))
        out.append(torch.log_softmax(-dfe, -1))
    return torch.cat(out, 1)


def pseudo_log_likelihood(model, v: Any, *, sites: str | int = "all", seed: int = 0,
                          reduction: str = "mean") -> torch.Tensor:
    """Pseudo-log-likelihood sum_i ln p(v_i | v_{-i}) (nats per sample), differentiable.

    Parameters
    ----------
    model : an RBM (any discrete visible layer) or another discrete-visible EnergyModel.
    v : visible configurations (checked against the visible layer's domain).
    sites : ``"all"`` (exact sum over every site) or an integer s: s random sites per sample, the sum
        rescaled by n_visible / s (an unbiased estimate, cheaper for wide layers).
    reduction : ``"mean"`` over samples (a 0-d tensor) or ``"none"`` (one value per sample).
    """
    _check_discrete(model)
    x = model.visible_tensor(v, "v")
    n = model.visible.n_units
    if x.shape[0] == 0:
        if reduction == "none":
            return x.new_zeros(0)
        raise ShapeError("v holds no samples: the mean pseudo-log-likelihood of nothing is undefined")
    if sites == "all":
        lp = conditional_log_probs(model, x)
        _, idx = _values_index(model.visible, x)
        per = lp.gather(2, idx.unsqueeze(2)).squeeze(2).sum(1)
    else:
        s = int(sites)
        require(1 <= s <= n, f"sites must be 'all' or an integer in [1, {n}]; got {sites}")
        g = torch.Generator().manual_seed(int(seed))
        chosen = torch.stack([torch.randperm(n, generator=g)[:s] for _ in range(x.shape[0])]).to(x.device)
        per = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        _, idx = _values_index(model.visible, x)
        for j in range(s):  # one site per sample at a time: the conditional of each row at its own site
            site = chosen[:, j]
            lp = _row_site_log_probs(model, x, site)
            per = per + lp.gather(1, idx.gather(1, site.unsqueeze(1))).squeeze(1)
        per = per * (n / s)
    if reduction == "none":
        return per
    require(reduction == "mean", f"reduction must be 'mean' or 'none'; got {reduction!r}")
    return per.mean()


def _row_site_log_probs(model, x: torch.Tensor, site: torch.Tensor) -> torch.Tensor:
    """ln p(x_{site_r} = value | rest) for row r at its own site: (batch, K)."""
    values, _ = _values_index(model.visible, x)
    kv = len(values)
    b = x.shape[0]
    y = x.unsqueeze(1).expand(b, kv, x.shape[1]).clone()
    rows = torch.arange(b, device=x.device)
    y[rows, :, site] = values.view(1, kv).expand(b, kv)
    fe = model.visible_free_energy(y.reshape(b * kv, -1)).reshape(b, kv)
    return torch.log_softmax(-fe, -1)


def log_z_differentiable(model, max_log2_states: float = 16) -> torch.Tensor:
    """ln Z by enumeration of the smaller discrete layer, as a differentiable tensor (small models only)."""
    from ..partition.exact import _choose
    layer, fe = model.enumerable_marginals()[_choose(model, max_log2_states)]
    parts = [torch.logsumexp(-fe(states.to(model.dtype), 1.0), 0) for states in layer.iterate_states(1 << 16)]
    return torch.logsumexp(torch.stack(parts), 0)


OBJECTIVES = ("pseudo", "exact")


def fit_pseudolikelihood(model, data: Any, *, epochs: int = 100, lr: float = 0.01, batch_size: int | None = None,
                         l2: float = 0.0, seed: int = 0, on_epoch: Callable[[int, Any], None] | None = None,
                         progress: bool = False, objective: str = "pseudo") -> list[float]:
    """Train ``model`` in place by maximum pseudo-likelihood (Adam on -PL, exact gradients by autograd).

    ``batch_size=None`` uses the whole data set per update (deterministic full-batch ascent).  ``l2`` adds
    l2 * |W|^2 / 2 to the loss.  ``on_epoch(epoch, model)`` is called after each epoch (e.g. to save the
    model along training).  Returns the mean objective of the data after each epoch.

    ``objective="exact"`` maximises the exact log-likelihood instead, -F(v) - ln Z with ln Z by
    differentiable enumeration of the smaller layer (at most 2^16 states): the reference that PL training
    is compared with, and a smooth maximum-likelihood trajectory for small models.
    """
    from tqdm.auto import tqdm
    _check_discrete(model)
    require(objective in OBJECTIVES, f"objective must be one of {', '.join(OBJECTIVES)}; got {objective!r}")
    if int(epochs) < 1 or not (lr > 0 and math.isfinite(lr)):
        raise ConfigError(f"need epochs >= 1 and a positive finite lr; got epochs={epochs}, lr={lr}")
    x = model.visible_tensor(data, "data")
    n = x.shape[0]
    bs = n if batch_size is None else int(batch_size)
    require(bs >= 1, f"batch_size must be >= 1; got {batch_size}")
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    rng = Rng(seed, x.device)
    history = []
    for epoch in tqdm(range(int(epochs)), disable=not progress, desc="pseudo-likelihood", unit="epoch",
                      leave=False):
        perm = rng.permutation(n) if bs < n else torch.arange(n, device=x.device)
        total = 0.0
        for i in range(0, n, bs):
            batch = x[perm[i:i + bs]]
            opt.zero_grad()
            if objective == "pseudo":
                pl = pseudo_log_likelihood(model, batch)
            else:
                pl = -model.visible_free_energy(batch).mean() - log_z_differentiable(model)
            loss = -pl
            if l2:
                loss = loss + 0.5 * l2 * (model.weights * model.weights).sum()
            loss.backward()
            opt.step()
            total += float(pl.detach()) * batch.shape[0]
        history.append(total / n)
        if on_epoch is not None:
            on_epoch(epoch + 1, model)
    return history


__all__ = ["pseudo_log_likelihood", "conditional_log_probs", "fit_pseudolikelihood", "log_z_differentiable"]
