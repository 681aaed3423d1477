"""A Gaussian-Gaussian RBM learns a free scalar field on a periodic lattice; hidden units act as a UV regulator.

    python examples/scalar_field.py --hidden 6
    python examples/scalar_field.py --quick

The target is the lattice free field with action S = phi^T K phi / 2, K = m^2 + (lattice Laplacian)
(Aarts, Lucini & Park, Phys. Rev. D 109, 034521 (2024), eq. 77).  Integrating out N_h Gaussian hidden
units gives the visible kernel K_RBM = mu^2 - sigma_h^2 W W^T (their eq. 9), so with N_h < N_v the RBM can only move
N_h eigenvalues away from mu^2: trained to the target's two-point function it reproduces the N_h lowest
(infrared) modes and leaves the others at mu^2, a cut-off in momentum.  Writes ``spectrum.png`` and
``result.json`` into ``--out``.
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
from boltzlab import field  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=10, help="lattice sites N_v (a periodic chain)")
    parser.add_argument("--hidden", type=int, default=6, help="hidden units N_h")
    parser.add_argument("--m2", type=float, default=4.0, help="the target's squared mass")
    parser.add_argument("--out", default=None, help="output folder (default: a new temporary folder)")
    parser.add_argument("--quick", action="store_true", help="a small run (seconds)")
    args = parser.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="boltzlab-field-"))
    out.mkdir(parents=True, exist_ok=True)

    kernel = field.lattice_kernel(shape=(args.sites,), m2=args.m2)
    target = field.target_from_kernel(kernel)  # <phi phi^T> of the target theory
    mu2 = float(field.lattice_spectrum((args.sites,), args.m2).max()) + 1.0  # above every target eigenvalue
    model = bl.ScalarFieldRBM(args.sites, args.hidden, mu2=mu2, sigma_h2=1.0).init_random(0.1, seed=0)
    config = field.FieldTrainConfig(epochs=1500 if args.quick else 30_000, lr=0.1, method="exact", record_every=100)
    history = field.train_field(model, target, config)

    learned = model.spectrum().detach().double().numpy()
    exact = field.lattice_spectrum((args.sites,), args.m2).numpy()
    n_ir = args.hidden
    err = float(np.abs(learned[:n_ir] - exact[:n_ir]).max())
    print(f"the {n_ir} lowest eigenvalues: learned {np.round(learned[:n_ir], 3).tolist()}")
    print(f"                               target  {np.round(exact[:n_ir], 3).tolist()} (max error {err:.2e})")
    print(f"the other {args.sites - n_ir} stay at mu^2 = {mu2:.3f}: {np.round(learned[n_ir:], 3).tolist()}")

    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    ax[0].plot(exact, "ko", label="target m^2 + p_lat^2")
    ax[0].plot(learned, "rx", ms=8, label=f"RBM, N_h = {args.hidden}")
    ax[0].axhline(mu2, color="0.6", ls=":", label="mu^2")
    ax[0].set_xlabel("mode (ascending)")
    ax[0].set_ylabel("eigenvalue of K")
    ax[0].legend(fontsize=8)
    eig = np.array(history.eigenvalues)
    for a in range(eig.shape[1]):
        ax[1].plot(history.time, eig[:, a], lw=1)
    ax[1].set_xlabel("training time t (sum of learning rates)")
    ax[1].set_ylabel("eigenvalues")
    fig.tight_layout()
    fig.savefig(out / "spectrum.png", dpi=100)
    plt.close(fig)
    result = {"sites": args.sites, "hidden": args.hidden, "m2": args.m2, "mu2": mu2, "learned": learned.tolist(),
              "target": exact.tolist(), "max_error_infrared": err}
    (out / "result.json").write_text(json.dumps(result, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
