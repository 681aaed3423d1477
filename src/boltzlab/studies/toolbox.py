"""Reproduction entries of the toolbox (issue 11): trajectory tempering, trajectory AIS, pseudo-likelihood.

* ``ptt-two-modes``: a 20x4 RBM trained by exact maximum likelihood on two well-separated modes of unequal
  weight; the mode weights from PTT, from plain block Gibbs with the same budget of sweeps, and exact by
  enumeration; the log-likelihood along training from trajectory AIS against exact enumeration.
* ``pl-training``: a small RBM trained by maximum pseudo-likelihood and by exact maximum likelihood from the
  same start on data of a known teacher; exact log-likelihood along both.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch

from .registry import Study, entry


def two_mode_data(n_visible: int, n: int, weight: float = 0.75, noise: float = 0.05, seed: int = 1):
    """Noisy copies of a random pattern A (fraction ``weight``) and of its complement B; returns (x, [A, B])."""
    g = torch.Generator().manual_seed(seed)
    a = (torch.rand(n_visible, generator=g) < 0.5).double()
    x = torch.where((torch.rand(n, generator=g) < weight)[:, None], a, 1 - a)
    x = torch.where(torch.rand(n, n_visible, generator=g) < noise, 1 - x, x)
    return x, torch.stack([a, 1 - a])


@entry("ptt-two-modes", "trajectory tempering vs block Gibbs on two separated modes; trajectory AIS vs exact")
def ptt_two_modes(study: Study) -> dict[str, Any]:
    """Issue 11's checks of PTT: mode weights within 2% of exact where Gibbs fails, and the log-likelihood
    tracked along training within 0.1 nats of exact at every saved model."""
    quick = study.quick
    import boltzlab as bl
    from ..partition.pseudolikelihood import fit_pseudolikelihood
    from ..plots import subplots
    from ..sampling.trajectory import TrajectoryTempering, mode_fractions, select_models, trajectory_log_z
    n_visible = 16 if quick else 20
    x, patterns = two_mode_data(n_visible, 2000)
    model = bl.BinaryRBM.initialize(n_visible, 4, 0.01, seed=0, dtype=torch.float64)
    model.visible.init_from_data(x)
    models, steps = [copy.deepcopy(model)], [0]

    def save(epoch, m):
        if epoch % 5 == 0:
            models.append(copy.deepcopy(m)); steps.append(epoch)
    fit_pseudolikelihood(model, x, epochs=100, lr=0.05, objective="exact", on_epoch=save)
    target = models[-1]
    states, p = bl.visible_distribution(target)
    exact_a = float(p[torch.cdist(states, patterns).argmin(1) == 0].sum())
    chains = 300
    sel = select_models(models, 0.3, n_chains=chains, pilot_steps=100, seed=0)
    ptt = TrajectoryTempering(sel.models, chains, seed=1)
    n_steps, burn = (1000, 300) if quick else (3000, 1000)
    trace: list[float] = []
    ptt.run(n_steps, callback=lambda s: trace.append(float(mode_fractions(s.samples, patterns)[0])))
    ptt_a = float(np.mean(trace[burn:]))
    budget = n_steps * ptt.n_replicas  # sweeps per chain slot that PTT spent
    rng = bl.Rng(0)
    v = target.visible.random_state(chains, rng)
    gibbs_trace, done = [], 0
    for _ in range(n_steps):
        v = target.sample_chains(v, ptt.n_replicas, 1.0, rng)
        done += ptt.n_replicas
        gibbs_trace.append(float(mode_fractions(v, patterns)[0]))
    gibbs_a = float(np.mean(gibbs_trace[burn:]))
    ais = trajectory_log_z(models, steps, n_chains=1000, n_between=50, data=x, seed=0)
    exact_z = np.array([bl.exact_log_z(m) for m in models])
    exact_ll = np.array([bl.exact_log_likelihood(m, x, log_z=z) for m, z in zip(models, exact_z)])
    # Plots: swap rates, mode-weight traces, log-likelihood along training.
    fig, axes = subplots(1, 3, figsize=(15, 4))
    ax = axes[0]
    names = ["indep."] + [f"{steps[int(l)] if float(l).is_integer() else l}" for l in sel.labels]
    ax.bar(range(len(ptt.acceptance)), ptt.acceptance)
    ax.set_xticks(range(len(ptt.acceptance)))
    ax.set_xticklabels([f"{names[i]}↔{names[i + 1]}" for i in range(len(ptt.acceptance))], rotation=45, fontsize=8)
    ax.axhline(0.3, color="gray", ls="--", label="target 0.3"); ax.set_ylim(0, 1)
    ax.set_ylabel("exchange acceptance"); ax.set_title(f"PTT replicas (saved epochs; of {len(models)} saved)")
    ax.legend()
    ax = axes[1]
    ax.plot(np.arange(1, n_steps + 1) * ptt.n_replicas, trace, lw=0.8, label=f"PTT (mean {ptt_a:.3f})")
    ax.plot(np.arange(1, n_steps + 1) * ptt.n_replicas, gibbs_trace, lw=0.8, label=f"block Gibbs (mean {gibbs_a:.3f})")
    ax.axhline(exact_a, color="k", ls="--", label=f"exact {exact_a:.3f}")
    ax.axvline(burn * ptt.n_replicas, color="gray", ls=":", lw=0.8)
    ax.set_xlabel("sweeps per chain slot"); ax.set_ylabel("fraction in mode A"); ax.set_ylim(0, 1)
    ax.set_title(f"{n_visible}x4 RBM, {chains} chains"); ax.legend()
    ax = axes[2]
    ax.errorbar(steps, ais.log_likelihood, yerr=ais.stderr, marker="o", ms=3, label="trajectory AIS")
    ax.plot(steps, exact_ll, "kx--", lw=1, label="exact")
    ax.set_xlabel("epoch (exact-gradient training)"); ax.set_ylabel("log-likelihood (nats)")
    ax.set_title(f"max |error| {np.abs(ais.log_likelihood - exact_ll).max():.3f} nats"); ax.legend()
    for a in axes:
        a.grid(alpha=0.3)
    study.save(fig, "ptt_two_modes.png")
    enum = "exact enumeration of the visible states"
    study.figure("PTT: weight of mode A - exact", ptt_a - exact_a, 0.0, 0.02, "exact",
                 f"{enum}; trajectory tempering mixes the modes (within 0.02)")
    study.figure("block Gibbs, same sweeps: |weight of mode A - exact|", abs(gibbs_a - exact_a), 0.1, 0.0, "lower",
                 f"{enum}; plain Gibbs does not cross between the modes (off by more than 0.1)")
    study.figure("trajectory AIS: max |LL - exact LL| along training",
                 float(np.abs(ais.log_likelihood - exact_ll).max()), 0.0, 0.1, "upper", f"{enum} (0.1 nats)")
    return {"n_visible": n_visible, "n_hidden": 4, "saved_models": len(models), "replica_labels": sel.labels,
            "ptt_acceptance": ptt.acceptance.tolist(), "chains": chains, "ptt_steps": n_steps, "burn_in_steps": burn,
            "sweep_budget_per_chain": budget, "mode_a_exact": exact_a, "mode_a_ptt": ptt_a, "mode_a_gibbs": gibbs_a,
            "ptt_abs_error": abs(ptt_a - exact_a), "gibbs_abs_error": abs(gibbs_a - exact_a),
            "ais_log_likelihood": ais.log_likelihood.tolist(), "exact_log_likelihood": exact_ll.tolist(),
            "ais_max_abs_error_log_likelihood": float(np.abs(ais.log_likelihood - exact_ll).max()),
            "ais_max_abs_error_log_z": float(np.abs(ais.log_z - exact_z).max()), "ais_min_ess": float(ais.ess.min())}


@entry("pl-training", "maximum pseudo-likelihood vs exact maximum likelihood on a small RBM (exact LL along both)")
def pl_training(study: Study) -> dict[str, Any]:
    import boltzlab as bl
    from ..partition.pseudolikelihood import fit_pseudolikelihood, pseudo_log_likelihood
    from ..plots import subplots
    g = torch.Generator().manual_seed(11)
    teacher = bl.BinaryRBM(torch.randn(10, 4, generator=g, dtype=torch.float64) * 1.5,
                           torch.randn(10, generator=g, dtype=torch.float64) * 0.5,
                           torch.randn(4, generator=g, dtype=torch.float64) * 0.5, dtype=torch.float64)
    states, p = bl.visible_distribution(teacher)
    x = states[torch.multinomial(p, 2000, replacement=True, generator=torch.Generator().manual_seed(0))]
    epochs = study.size(60, 200)
    curves: dict[str, list[float]] = {}
    pls: dict[str, list[float]] = {}
    for objective in ("pseudo", "exact"):
        student = bl.BinaryRBM.initialize(10, 4, 0.01, seed=1, dtype=torch.float64)
        curves[objective] = [bl.exact_log_likelihood(student, x)]
        pls[objective] = [float(pseudo_log_likelihood(student, x).detach())]

        def track(epoch, m, name=objective):
            curves[name].append(bl.exact_log_likelihood(m, x))
            with torch.no_grad():
                pls[name].append(float(pseudo_log_likelihood(m, x)))
        fit_pseudolikelihood(student, x, epochs=epochs, lr=0.05, objective=objective, on_epoch=track)
    teacher_ll = bl.exact_log_likelihood(teacher, x)
    fig, axes = subplots(1, 2, figsize=(11, 4))
    for name, label in (("pseudo", "max pseudo-likelihood"), ("exact", "max likelihood (exact gradient)")):
        axes[0].plot(curves[name], label=label)
        axes[1].plot(pls[name], label=label)
    axes[0].axhline(teacher_ll, color="k", ls="--", label="teacher")
    axes[0].set_ylabel("exact log-likelihood (nats)"); axes[1].set_ylabel("pseudo-log-likelihood (nats)")
    for a in axes:
        a.set_xlabel("epoch (full batch, Adam lr 0.05)"); a.grid(alpha=0.3); a.legend()
    axes[0].set_title("10x4 RBM students of a 10x4 teacher, 2000 samples")
    study.save(fig, "pl_training.png")
    src = "the teacher's exact log-likelihood on its own samples (Besag, The Statistician 24, 179 (1975): PL is " \
          "consistent)"
    study.figure("max PL student: exact LL - teacher LL", curves["pseudo"][-1] - teacher_ll, 0.0,
                 study.size(0.5, 0.05), "exact", src)
    study.figure("max likelihood student: exact LL - teacher LL", curves["exact"][-1] - teacher_ll, 0.0,
                 study.size(0.5, 0.05), "exact", src)
    return {"epochs": epochs, "teacher_log_likelihood": teacher_ll, "exact_log_likelihood": curves,
            "pseudo_log_likelihood": pls, "improvement_pl_training": curves["pseudo"][-1] - curves["pseudo"][0]}
