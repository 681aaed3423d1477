"""Log-likelihood by annealed importance sampling (AIS) and reverse AIS, checked against exact enumeration.

    python examples/ais_log_likelihood.py                # 30 x 14 RBM: exact ln Z by enumerating 2^14 hidden states
    python examples/ais_log_likelihood.py --quick

Forward AIS (Neal 2001; Salakhutdinov & Murray, ICML 2008) anneals from a base-rate model to the RBM and
gives a stochastic lower bound on ln Z; reverse AIS (Burda, Grosse & Salakhutdinov, AISTATS 2015) anneals
down from samples of the RBM and gives an upper estimate.  Together they bracket ln Z, and hence the
log-likelihood.  The example trains an RBM whose hidden layer is small enough for exact ln Z, so the
bracket can be checked, then repeats the estimate with more intermediate distributions.
Writes ``result.json`` and ``bracket.png`` into ``--out``.
"""

import argparse
import json
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import boltzlab as bl  # noqa: E402
from boltzlab.training import TrainConfig, Trainer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="output folder (default: a new temporary folder)")
    parser.add_argument("--quick", action="store_true", help="a small run (seconds)")
    args = parser.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="boltzlab-ais-"))
    out.mkdir(parents=True, exist_ok=True)

    # data: exact samples of the 2D Ising model (L = 5, near the critical temperature), as {0, 1}
    data = bl.data.load_dataset("ising:L=5,beta=0.4,n=2000")
    train, test = bl.data.train_test_split(data, test_fraction=0.25, seed=0)
    config = TrainConfig(n_hidden=10 if args.quick else 14, method="pcd", k=5, batch_size=50, n_chains=200,
                         epochs=5 if args.quick else 30, optimizer="adam", lr=0.02, monitor_exact_max_log2=0,
                         seed=0)
    trainer = Trainer.create(train, config, progress=False)
    trainer.fit()
    model = trainer.model

    exact = bl.exact_log_z(model)  # enumerates the 2^n_hidden hidden states
    runs, ladder = (50, [100, 300]) if args.quick else (200, [100, 1000, 10_000])
    rows = []
    for n_betas in ladder:
        b = bl.bracket(model, data=train, n_runs=runs, n_betas=n_betas, seed=1)
        rows.append({"n_betas": n_betas, "ais": b.lower, "ais_stderr": b.ais.stderr,
                     "rais": b.upper, "rais_stderr": b.rais.stderr})
        print(f"K = {n_betas:6d}: AIS {b.lower:.4f} +- {b.ais.stderr:.4f} <= ln Z = {exact:.4f} "
              f"<= reverse AIS {b.upper:.4f} +- {b.rais.stderr:.4f}")
    best = bl.ais_log_z(model, n_runs=runs, n_betas=ladder[-1], seed=2)
    ll, ll_err = bl.log_likelihood(model, test, best)
    ll_exact = bl.exact_log_likelihood(model, test)
    print(f"test log-likelihood: AIS {ll:.4f} +- {ll_err:.4f}, exact {ll_exact:.4f} nats per sample")

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ks = np.array([r["n_betas"] for r in rows])
    ax.errorbar(ks, [r["ais"] for r in rows], [r["ais_stderr"] for r in rows], marker="o", label="AIS (lower)")
    ax.errorbar(ks, [r["rais"] for r in rows], [r["rais_stderr"] for r in rows], marker="s", label="reverse AIS (upper)")
    ax.axhline(exact, color="k", ls="--", lw=1, label="exact ln Z")
    ax.set_xscale("log")
    ax.set_xlabel("intermediate distributions K")
    ax.set_ylabel("ln Z")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "bracket.png", dpi=100)
    plt.close(fig)
    result = {"exact_log_z": exact, "bracket": rows, "test_log_likelihood_ais": ll,
              "test_log_likelihood_ais_stderr": ll_err, "test_log_likelihood_exact": ll_exact}
    (out / "result.json").write_text(json.dumps(result, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
