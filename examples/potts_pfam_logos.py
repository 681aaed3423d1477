"""A Potts-dReLU RBM trained on a Pfam seed alignment, with sequence logos of its strongest hidden units.

    python examples/potts_pfam_logos.py --alignment /usr/share/doc/hmmer/examples/tutorial/fn3.sto
    python examples/potts_pfam_logos.py --quick

The alignment (Stockholm, aligned FASTA, a2m/a3m) is read with sequence reweighting at 80% identity
(Morcos et al., PNAS 2011); the RBM has q = 21 Potts visible units and double-ReLU hidden units (Tubiana,
Cocco & Monasson, eLife 2019).  The default alignment is the Pfam seed of the fibronectin type III
domain (fn3) from the Debian package ``hmmer-examples``; without it a small synthetic alignment is generated.  Writes ``logos.png`` (the
weights W_{i a mu} of the hidden units with the largest norms), ``frequencies.png`` (site frequencies of
the data against the model's samples) and ``result.json`` into ``--out``.
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
from boltzlab.data.alignment import ALPHABETS  # noqa: E402
from boltzlab.plots.logo import draw_logo  # noqa: E402
from boltzlab.training import TrainConfig, Trainer  # noqa: E402

PFAM = Path("/usr/share/doc/hmmer/examples/tutorial/fn3.sto")


def synthetic_alignment(path: Path, n: int = 300, length: int = 30, seed: int = 0) -> Path:
    """Sequences of two 'subfamilies' with conserved columns and a correlated pair, as aligned FASTA."""
    rng = np.random.default_rng(seed)
    symbols = ALPHABETS["protein"]
    cons = rng.integers(1, 21, size=(2, length))
    family = rng.integers(0, 2, size=n)
    seqs = np.where(rng.random((n, length)) < 0.8, cons[family], rng.integers(0, 21, size=(n, length)))
    path.write_text("".join(f">s{i}\n{''.join(symbols[c] for c in s)}\n" for i, s in enumerate(seqs)))
    return path


def site_frequencies(x: np.ndarray, q: int, weights: np.ndarray | None = None) -> np.ndarray:
    onehot = np.eye(q)[x]  # (n, L, q)
    w = np.ones(len(x)) if weights is None else weights
    return np.einsum("n,nlq->lq", w / w.sum(), onehot)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alignment", default=None, help=f"alignment file (default: {PFAM} when installed)")
    parser.add_argument("--hidden", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--out", default=None, help="output folder (default: a new temporary folder)")
    parser.add_argument("--quick", action="store_true", help="a small run (seconds)")
    args = parser.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="boltzlab-potts-"))
    out.mkdir(parents=True, exist_ok=True)

    path = Path(args.alignment) if args.alignment else PFAM
    if not path.exists():
        if args.alignment:
            raise SystemExit(f"boltzlab: error: {path}: no such alignment file")
        print(f"{PFAM} is missing (apt-get install hmmer-examples); using a synthetic alignment")
        path = synthetic_alignment(out / "synthetic.fasta")
    x, weights = bl.read_alignment(path, "protein", reweight=0.8)
    q = len(ALPHABETS["protein"])
    print(f"{path.name}: {x.shape[0]} sequences of {x.shape[1]} match columns, "
          f"effective number {weights.sum():.1f}")

    config = TrainConfig(visible_units="potts", n_states=q, hidden_units="drelu", n_hidden=args.hidden,
                         method="pcd", k=5 if args.quick else 10, batch_size=min(100, len(x)), n_chains=100,
                         epochs=10 if args.quick else args.epochs, optimizer="adam", lr=0.01, l1=1e-3,
                         monitor_samples=200, seed=0)
    trainer = Trainer.create(x, config, weights=weights, out_dir=out, progress=False)
    trainer.fit()
    model = trainer.model
    bl.save_model(model, out / "model.pt")

    # logos of the hidden units with the largest weight norms, over their most weighted columns
    w = model.potts_weights.detach().cpu().numpy()  # (L, q, n_hidden)
    order = np.argsort(-np.sqrt((w ** 2).sum((0, 1))))[:2 if args.quick else 4]
    n_sites = min(w.shape[0], 20 if args.quick else 60)
    fig, axes = plt.subplots(len(order), 1, figsize=(0.3 * n_sites + 2, 1.8 * len(order)), squeeze=False)
    for ax, mu in zip(axes[:, 0], order):
        sites = np.sort(np.argsort(-np.sqrt((w[:, :, mu] ** 2).sum(1)))[:n_sites])
        draw_logo(ax, w[sites, :, mu], ALPHABETS["protein"], positions=sites.tolist())
        ax.set_ylabel(f"unit {mu}")
    axes[-1, 0].set_xlabel("alignment column")
    fig.tight_layout()
    fig.savefig(out / "logos.png", dpi=90)
    plt.close(fig)

    v, _ = model.sample(200 if args.quick else 5000, steps=30 if args.quick else 1000, seed=1)
    f_data = site_frequencies(x, q, weights)
    f_model = site_frequencies(v.cpu().numpy(), q)
    r = float(np.corrcoef(f_data.ravel(), f_model.ravel())[0, 1])
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.scatter(f_data.ravel(), f_model.ravel(), s=5, alpha=0.5)
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    ax.set_xlabel("data f_i(a) (reweighted)")
    ax.set_ylabel("model f_i(a)")
    ax.set_title(f"site frequencies, r = {r:.3f}")
    fig.tight_layout()
    fig.savefig(out / "frequencies.png", dpi=100)
    plt.close(fig)
    history = trainer.history
    result = {"alignment": str(path), "sequences": int(x.shape[0]), "length": int(x.shape[1]),
              "effective_sequences": float(weights.sum()), "frequency_correlation": r,
              "pseudo_log_likelihood": history[-1].get("pseudo_log_likelihood"), "strongest_units": order.tolist()}
    (out / "result.json").write_text(json.dumps(result, indent=1))
    print(f"site-frequency correlation data/model {r:.3f}; wrote logos.png and frequencies.png to {out}")


if __name__ == "__main__":
    main()
