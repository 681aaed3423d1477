"""Reproduction entries of the foundation: checks of the sampler and of the learning rule.

Later capabilities add their paper figures here (one function per figure, registered with ``@entry``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..models import BinaryRBM
from ..partition import visible_distribution
from ..random import Rng
from ..sampling import block_gibbs
from .reproduce import entry


def _state_index(v: torch.Tensor) -> torch.Tensor:
    return (v.double() @ (2.0 ** torch.arange(v.shape[1], dtype=torch.float64))).long()


@entry("gibbs-vs-exact", "block Gibbs at several beta against exact enumeration (TV distance vs sweeps)")
def gibbs_vs_exact(out: Path, quick: bool) -> dict[str, Any]:
    """Total variation between the empirical visible distribution of block-Gibbs chains and the exact
    marginal (eq. 9 with eq. 22) of a 10x6 binary RBM with strong couplings, against the number of sweeps,
    at beta = 1, 0.5 and 2.  The TV falls to the sampling-noise floor sqrt(K / (2 pi n)) of the ensemble."""
    from ..plots import plt, save_figure
    n_chains = 20_000 if quick else 200_000
    g = torch.Generator().manual_seed(3)
    rbm = BinaryRBM(torch.randn(10, 6, generator=g, dtype=torch.float64) * 1.5,
                    torch.randn(10, generator=g, dtype=torch.float64) * 0.5,
                    torch.randn(6, generator=g, dtype=torch.float64) * 0.5, dtype=torch.float64)
    sweeps = [1, 2, 4, 8, 16, 32, 64]
    result: dict[str, Any] = {"n_chains": n_chains, "shape": [10, 6], "sweeps": sweeps, "beta": {}}
    fig, ax = plt.subplots(figsize=(6, 4))
    for beta in (0.5, 1.0, 2.0):
        states, p = visible_distribution(rbm, beta)
        exact = torch.zeros(2 ** 10, dtype=torch.float64)
        exact[_state_index(states)] = p
        rng = Rng(7, "cpu")
        v = rbm.visible.random_state(n_chains, rng)
        tv, done = [], 0
        for s in sweeps:
            v, _ = block_gibbs(rbm, v, s - done, beta, rng)
            done = s
            emp = torch.bincount(_state_index(v), minlength=2 ** 10).double() / n_chains
            tv.append(float(0.5 * (emp - exact).abs().sum()))
        floor = float(np.sqrt(2 ** 10 / (2 * np.pi * n_chains)))
        result["beta"][str(beta)] = {"tv": tv, "noise_floor_estimate": floor}
        ax.loglog(sweeps, tv, marker="o", label=f"beta = {beta:g}")
    ax.axhline(floor, color="gray", ls="--", label="noise floor ~ sqrt(K / 2 pi n)")
    ax.set_xlabel("block-Gibbs sweeps"); ax.set_ylabel("total variation to exact p(v)")
    ax.set_title(f"10x6 RBM, {n_chains} chains from random starts"); ax.legend(); ax.grid(alpha=0.3)
    save_figure(fig, out / "gibbs_vs_exact.png")
    result["plots"] = [str(out / "gibbs_vs_exact.png")]
    return result


@entry("ising-demo", "the demo: an RBM learns 2D Ising configurations; exact log-likelihood vs the true model")
def ising_demo(out: Path, quick: bool) -> dict[str, Any]:
    from .demo import run_demo
    return run_demo(out, quick=quick, progress=False)
