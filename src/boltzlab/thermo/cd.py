"""Contrastive divergence as a thermodynamic process, exactly (Salazar, Phys. Rev. E 96,
022131 (2017)).

The data define p_D(s) = p_D(v) p(h | v) on the joint state; n steps of a Gibbs kernel give p_n = p_D T^n, and

    CD_n = KL(p_D || p) - KL(p_n || p)
         = -beta (<E>_n - <E>_D) + (S_n - S_D)                                   (section 4.2)

the entropy produced by the first n steps of the relaxation (>= 0 for any kernel that leaves p invariant),
with CD_inf = KL(p_D || p).  The paper's CD_inf = beta <W> - beta Delta F holds with W the work of the quench
from E_D(s) = -ln p_D(s) / beta to E(s; lambda) that starts the relaxation.  Distribution tables are
propagated over the enumerated joint states (:class:`~boltzlab.thermo.exact.JointSpace`) without N x N
matrices; :func:`cd_along_run` evaluates CD at every kept checkpoint of a training run.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from ..errors import DataError, require
from ..sampling.kernels import Kernel, make_kernel
from .exact import MAX_TABLE_LOG2, JointSpace


def _kl(p: torch.Tensor, log_q: torch.Tensor) -> float:
    mask = p > 0
    return float((p[mask] * (p[mask].log() - log_q[mask])).sum())


def _entropy(p: torch.Tensor) -> float:
    mask = p > 0
    return float(-(p[mask] * p[mask].log()).sum())


def exact_cd(model, data: Any, steps: Sequence[int] = (1, 2, 5, 10), kernel: str | Kernel = "plain",
             beta: float = 1.0, fraction: float = 1.0) -> dict[str, Any]:
    """CD_n and its energy and entropy terms for every n in ``steps`` (see the module docstring).

    ``kernel`` is the Gibbs kernel of CD (the plain sweep h | v, v | h by default, as the learning rule
    runs it); joint quantities are on (v, h), ``*_visible`` ones on the visible marginal.
    """
    js = JointSpace(model, MAX_TABLE_LOG2)
    k = make_kernel(kernel, js.model, beta, fraction) if not isinstance(kernel, Kernel) else kernel.at(js.model, beta)
    steps = sorted({int(s) for s in steps})
    require(steps and steps[0] >= 0, "CD steps must be integers >= 0")
    idx = js.visible_index(data)
    require(idx.numel() != 0, "no data rows for the data distribution p_D", DataError)
    p_d_v = torch.bincount(idx, minlength=js.n_visible_states).double() / idx.numel()
    log_p = js.log_prob(beta)
    log_pv = torch.logsumexp(log_p, 1)
    e = js.energy
    b = float(beta)
    joint = k.space == "joint"
    p_d = p_d_v[:, None] * js.hidden_given_visible(beta) if joint else p_d_v
    ref_log = log_p if joint else log_pv
    kl_d, s_d = _kl(p_d, ref_log), _entropy(p_d)
    e_d = float((p_d * e).sum()) if joint else None
    rows = []
    p, done = p_d, 0
    for n in steps:
        p = js.apply(p, k, n - done)
        done = n
        pv = p.sum(1) if joint else p
        row = {"n": n, "kl_n": _kl(p, ref_log), "entropy_n": _entropy(p),
               "kl_n_visible": _kl(pv, log_pv)}
        row["cd"] = kl_d - row["kl_n"]
        row["cd_visible"] = _kl(p_d_v, log_pv) - row["kl_n_visible"]
        row["entropy_term"] = row["entropy_n"] - s_d
        if joint:
            row["energy_n"] = float((p * e).sum())
            row["energy_term"] = -b * (row["energy_n"] - e_d)
            row["identity_residual"] = row["cd"] - (row["energy_term"] + row["entropy_term"])
        rows.append(row)
    log_z = js.log_z(beta)
    out = {"kernel": k.describe(), "beta": b, "n_data": int(idx.numel()), "kl_data": kl_d,
           "kl_data_visible": _kl(p_d_v, log_pv), "entropy_data": s_d, "log_z": log_z, "rows": rows}
    if joint:
        # The quench from E_D = -ln p_D / beta to E: beta <W> - beta Delta F = KL(p_D || p) = CD_inf.
        beta_w = b * e_d - s_d
        out.update(energy_data=e_d, quench_beta_work=beta_w, quench_beta_delta_f=-log_z,
                   quench_dissipation=beta_w + log_z)
    return out


def cd_along_run(models: Sequence[Any], data: Any, steps: Sequence[int] = (1, 5, 25), kernel: str = "plain",
                 beta: float = 1.0, labels: Sequence[Any] | None = None) -> dict[str, Any]:
    """:func:`exact_cd` at every model of a training run (e.g. its kept checkpoints)."""
    labels = list(labels) if labels is not None else list(range(len(models)))
    points = []
    for lab, m in zip(labels, models):
        points.append({"label": lab, **exact_cd(m, data, steps, kernel, beta)})
    return {"steps": sorted({int(s) for s in steps}), "kernel": points[0]["kernel"] if points else kernel,
            "points": points}
