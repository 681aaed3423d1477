"""Reproduction entry for sec. 3.3 of the nonequilibrium-thermodynamics paper with its protocol exactly as written.

* ``thermo-xft-paper-protocol``: a T1 ensemble prepared by parallel tempering and verified (energy stationarity
  within its error), one full Gibbs step at T2 (the plain step as written and the reversible palindromic
  one), the overlap of P(Q) and P(-Q) and the chains needed, the gentle process beside it.  Quick tier: a 6x4
  RBM whose P(Q) is exact.  Full tier: the project's 784x500 MNIST model (trained and cached here), 2x10^6
  chains on a GPU (20,000 on a CPU, stated in the result).

The MNIST model is the headline model of :mod:`boltzlab.studies.mnist` (trained once and cached).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from .registry import Study, entry

T2 = (2.0, 1.5, 0.8)


def device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def mnist500_model(study: Study, dev: str = "cpu"):
    """The 784x500 MNIST model of benchmarks/RESULTS.md: the headline model of ``mnist-784x500`` (trained once
    and cached under the study's cache root)."""
    from ..io import load_model
    from .mnist import headline_model
    return load_model(headline_model(study), device=dev)


def _small_rbm():
    g = torch.Generator().manual_seed(0)
    from ..models import BinaryRBM
    return BinaryRBM(torch.randn(6, 4, generator=g, dtype=torch.float64),
                     torch.randn(6, generator=g, dtype=torch.float64) * 0.5,
                     torch.randn(4, generator=g, dtype=torch.float64) * 0.5, dtype=torch.float64)


@entry("thermo-xft-paper-protocol", "XFT sec. 3.3 as written: tempered, verified T1 ensemble, one full Gibbs step "
                                    "at T2, overlap of P(Q) and P(-Q) and chains needed, gentle process beside it")
def xft_paper_protocol(study: Study) -> dict[str, Any]:
    """See the module docstring; numbers in docs/thermodynamics.md."""
    from .thermo_paper_protocol import paper_protocol, protocol_figure
    if study.quick:
        from ..thermo import exact_curves, heat_distribution
        model, chains, t2s, ladder = _small_rbm(), 3000, (2.0, 0.7), {"replicas": 4, "beta_min": 0.5, "sweeps": 40}
        scale = "6x4 RBM, exact P(Q)"
    else:
        dev = device()
        model = mnist500_model(study, dev)
        chains = 2_000_000 if dev == "cuda" else 20_000
        t2s, ladder = T2, {"replicas": 4, "beta_min": 0.8, "sweeps": 200}
        scale = f"784x500 MNIST, {chains} chains on {dev}" + ("" if dev == "cuda" else
                                                               " (the paper's 2x10^6 need a GPU: reduced)")
    res = paper_protocol(model, chains, 1.0, t2s, seed=0, progress=study.progress, **ladder)
    ens = res.ensemble
    study.figure("T1 ensemble: energy drift between the last two windows (standard errors)", ens.stationarity["z"],
                 0.0, 3.0, "exact", "stationarity of the tempered ensemble")
    if study.quick:
        exact_e = exact_curves(model, [1.0])["energy"][0]
        se = float(ens.energy.std() / math.sqrt(ens.chains))
        study.figure("T1 ensemble mean energy vs exact <E>", float(ens.energy.mean()), exact_e, 4.0, "stderr",
                     "exact enumeration", stderr=se)
        for t, o in res.full_step["palindromic"].items():
            q, p = heat_distribution(model, 1.0, 1.0 / float(t), "palindromic")
            rare = float(p[q < 0].sum()) if float(t) > 1 else float(p[q > 0].sum())
            study.figure(f"full palindromic step T2 = {t}: minority-sign fraction vs exact P(Q)",
                         o["minority_fraction"], rare, 4.0, "stderr", "exact P(Q)",
                         stderr=math.sqrt(rare * (1 - rare) / o["chains"]))
    for t, o in res.full_step["palindromic"].items():
        if o["measurable"]:
            study.figure(f"full palindromic step T2 = {t}: slope", o["slope"], o["expected_slope"], 4.0, "stderr",
                         "XFT (beta1 - beta2)", stderr=o["slope_stderr"])
    for t, o in res.gentle.items():
        if t != "control" and o["measurable"]:
            study.figure(f"gentle process T2 = {t}: slope", o["slope"], o["expected_slope"], 4.0, "stderr",
                         "XFT (beta1 - beta2)", stderr=o["slope_stderr"])
    study.save(protocol_figure(res), "xft_paper_protocol.png", f"Sec. 3.3 as written ({scale})")
    return {"scale": scale, **res.to_dict()}
