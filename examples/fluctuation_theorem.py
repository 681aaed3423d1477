"""Fluctuation theorems on an RBM: heat exchange between two temperatures, and Jarzynski's equality.

    python examples/fluctuation_theorem.py
    python examples/fluctuation_theorem.py --quick

Part 1, the exchange fluctuation theorem (Jarzynski & Wojcik, PRL 2004): chains equilibrated at T1 are put
in contact with a bath at T2 for one reversible Gibbs step; the heat Q = E(s') - E(s) they take in obeys
ln P(Q) / P(-Q) = (1/T1 - 1/T2) Q.  The fitted slope is compared with 1/T1 - 1/T2, and a control run at
T2 = T1 must give slope 0.  Part 2, Jarzynski's equality (PRL 1997): chains heated from beta = 1 to
beta = 0.5 in K steps do work w with <exp(-w)> = Z(0.5) / Z(1); the estimate is compared with the exact
free-energy difference.  Writes ``heat.png`` and ``result.json`` into ``--out``.
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
from boltzlab import thermo  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--t2", type=float, default=1.5, help="the bath temperature (T1 = 1)")
    parser.add_argument("--out", default=None, help="output folder (default: a new temporary folder)")
    parser.add_argument("--quick", action="store_true", help="a small run (seconds)")
    args = parser.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="boltzlab-xft-"))
    out.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    model = bl.BinaryRBM(torch.randn(12, 6, generator=g, dtype=torch.float64) * 0.8,
                         torch.randn(12, generator=g, dtype=torch.float64) * 0.3,
                         torch.randn(6, generator=g, dtype=torch.float64) * 0.3, dtype=torch.float64)
    chains = 20_000 if args.quick else 400_000

    xft = thermo.heat_exchange(model, t1=1.0, t2=args.t2, chains=chains, equilibrate=100, seed=0)
    run = xft.runs[0].to_dict(bins=False)
    control = xft.control.to_dict(bins=False)
    print(f"XFT: slope {run['slope']:.4f} +- {run['slope_stderr']:.4f}, expected {run['expected_slope']:.4f}; "
          f"control (T2 = T1): {control['slope']:.4f} +- {control['slope_stderr']:.4f}, expected 0")

    protocol = thermo.BetaRamp.linear(model, 1.0, 0.5, steps=5)
    work, w_forward, w_reverse = thermo.work_experiment(protocol, chains=chains // 4, equilibrate=100, seed=1)
    exact_df = -(bl.exact_log_z(model, beta=0.5) - bl.exact_log_z(model, beta=1.0))
    fwd = work["forward"]
    print(f"Jarzynski: Delta f = {fwd['delta_f_jarzynski']:.4f} +- {fwd['delta_f_jarzynski_stderr']:.4f}, "
          f"exact {exact_df:.4f}; mean work {fwd['mean_work']:.4f} >= Delta f (second law)")

    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    ax[0].hist(w_forward, bins=60, density=True, alpha=0.6, label="forward w (heating)")
    ax[0].hist(-np.asarray(w_reverse), bins=60, density=True, alpha=0.6, label="-w of the reverse (cooling)")
    ax[0].axvline(exact_df, color="k", ls="--", lw=1, label="exact Delta f")
    ax[0].set_xlabel("work (units of kT)")
    ax[0].legend(fontsize=8)
    ax[1].bar(["XFT slope", "expected"], [run["slope"], run["expected_slope"]],
              yerr=[run["slope_stderr"], 0], color=["C0", "0.6"])
    ax[1].set_title(f"heat exchange T1 = 1 -> T2 = {args.t2:g}")
    fig.tight_layout()
    fig.savefig(out / "heat.png", dpi=100)
    plt.close(fig)
    result = {"xft": run, "control": control, "jarzynski": fwd, "exact_delta_f": exact_df,
              "crooks": work["crooks"]}
    (out / "result.json").write_text(json.dumps(result, indent=1, default=float))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
