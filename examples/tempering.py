"""Sampling an RBM at several temperatures, and parallel tempering across a bimodal landscape.

    python examples/tempering.py
    python examples/tempering.py --quick

The model is a spin RBM with p(v) proportional to cosh(w sum_i v_i)^2 (two hidden units coupled equally to
every visible spin): a ferromagnet with two modes, all spins up or all down, separated by a barrier that
grows with w.  Part 1 samples it by block Gibbs at several inverse temperatures beta and compares the mean
|magnetisation| with exact enumeration.  Part 2 starts every chain in the up mode at beta = 1: plain Gibbs
chains stay there, replica exchange over a geometric ladder of temperatures (Swendsen & Wang, PRL 1986;
Hukushima & Nemoto, JPSJ 1996) moves them between the modes and recovers the symmetric answer
P(m > 0) = 1/2.  Writes ``temperatures.png``, ``tempering.png`` and ``result.json`` into ``--out``.
"""

import argparse
import json
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import boltzlab as bl  # noqa: E402
from boltzlab.sampling import ParallelTempering  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spins", type=int, default=16)
    parser.add_argument("--coupling", type=float, default=0.6, help="w: the barrier grows with it")
    parser.add_argument("--out", default=None, help="output folder (default: a new temporary folder)")
    parser.add_argument("--quick", action="store_true", help="a small run (seconds)")
    args = parser.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="boltzlab-tempering-"))
    out.mkdir(parents=True, exist_ok=True)
    n = args.spins
    model = bl.SpinRBM(torch.full((n, 2), args.coupling, dtype=torch.float64), dtype=torch.float64)
    chains, steps = (200, 200) if args.quick else (2000, 1000)

    # Part 1: Gibbs sampling at several temperatures against exact enumeration
    betas = np.linspace(0.2, 1.0, 5 if args.quick else 9)
    sampled, exact = [], []
    for beta in betas:
        v, _ = model.sample(chains, steps=steps, beta=float(beta), seed=0)
        sampled.append(float(v.mean(1).abs().mean()))
        states, p = bl.visible_distribution(model, beta=float(beta))
        exact.append(float((p * states.mean(1).abs()).sum()))
        print(f"beta = {beta:.2f}: <|m|> sampled {sampled[-1]:.4f}, exact {exact[-1]:.4f}")
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(betas, exact, "k-", label="exact")
    ax.plot(betas, sampled, "o", label=f"block Gibbs, {chains} chains x {steps} sweeps")
    ax.set_xlabel("inverse temperature beta")
    ax.set_ylabel("<|m|>")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "temperatures.png", dpi=100)
    plt.close(fig)

    # Part 2: every chain starts in the up mode; does the sampler find the down mode?
    up = torch.ones(chains, n, dtype=torch.float64)
    gibbs_up, tempering_up = [], []
    v = up.clone()
    pt = ParallelTempering(model, chains, n_replicas=8, beta_min=0.1, init=up, seed=1)
    rng = bl.Rng(2)
    for _ in range(steps):
        v = model.sample_chains(v, 1, 1.0, rng)
        pt.step()
        gibbs_up.append(float((v.sum(1) > 0).double().mean()))
        tempering_up.append(float((pt.samples.sum(1) > 0).double().mean()))
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(gibbs_up, label="block Gibbs at beta = 1")
    ax.plot(tempering_up, label=f"parallel tempering, {pt.n_replicas} replicas")
    ax.axhline(0.5, color="k", ls="--", lw=1, label="exact P(m > 0)")
    ax.set_xlabel("sweeps")
    ax.set_ylabel("fraction of chains with m > 0")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "tempering.png", dpi=100)
    plt.close(fig)
    tail = len(tempering_up) // 2
    result = {"betas": betas.tolist(), "abs_magnetisation_sampled": sampled, "abs_magnetisation_exact": exact,
              "gibbs_fraction_up": float(np.mean(gibbs_up[tail:])),
              "tempering_fraction_up": float(np.mean(tempering_up[tail:])),
              "swap_acceptance": pt.acceptance.tolist(), "round_trips": int(pt.round_trips)}
    (out / "result.json").write_text(json.dumps(result, indent=1))
    print(f"fraction of chains in the up mode (second half): Gibbs {result['gibbs_fraction_up']:.3f}, "
          f"tempering {result['tempering_fraction_up']:.3f} (exact 0.5); wrote {out}")


if __name__ == "__main__":
    main()
