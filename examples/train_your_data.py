"""Train and evaluate a binary RBM on your own data: a .npy, .csv or IDX file (or an MNIST-style directory).

    python examples/train_your_data.py --data my_data.csv --hidden 64 --epochs 20 --out runs/mine
    python examples/train_your_data.py --quick          # writes a small data set in all three formats

Each row of the file is one sample; values in [0, 1] are binarised at 0.5 (8-bit images are scaled first).
Small models (up to 20 visible or hidden units) get their exact log-likelihood; larger ones an AIS
estimate with its reverse-AIS bracket.  Writes the model (``model.pt``), ``metrics.jsonl``, the learning
curves and ``result.json`` into ``--out``.
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
from boltzlab.data import load_dataset, train_test_split  # noqa: E402
from boltzlab.training import TrainConfig, Trainer  # noqa: E402


def bars_and_stripes(side: int, n: int, seed: int) -> np.ndarray:
    """Bars-and-stripes images (side x side), flattened, as a stand-in for the user's data."""
    rng = np.random.default_rng(seed)
    lines = rng.integers(0, 2, size=(n, side))
    vertical = rng.integers(0, 2, size=n).astype(bool)
    img = np.repeat(lines[:, :, None], side, axis=2)
    img[vertical] = img[vertical].transpose(0, 2, 1)
    return img.reshape(n, side * side).astype(np.uint8)


def write_examples(folder: Path, data: np.ndarray) -> dict[str, Path]:
    """The same data set as .npy, .csv and IDX (uint8, header: magic 0x00000803, then the sizes)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"npy": folder / "data.npy", "csv": folder / "data.csv", "idx": folder / "data-idx2-ubyte"}
    np.save(paths["npy"], data)
    np.savetxt(paths["csv"], data, fmt="%d", delimiter=",", header=",".join(f"x{i}" for i in range(data.shape[1])),
               comments="")
    header = bytes([0, 0, 0x08, 2]) + np.array(data.shape, dtype=">u4").tobytes()
    paths["idx"].write_bytes(header + data.astype(np.uint8).tobytes())
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="a .npy, .csv/.txt or IDX file, or a directory with MNIST files")
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--out", default=None, help="output folder (default: a new temporary folder)")
    parser.add_argument("--quick", action="store_true", help="a small run (seconds)")
    args = parser.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="boltzlab-train-"))
    out.mkdir(parents=True, exist_ok=True)

    if args.data is None:  # no data given: the same small data set in every format the readers take
        paths = write_examples(out / "data", bars_and_stripes(4, 1000 if args.quick else 5000, seed=0))
        sets = {fmt: load_dataset(path) for fmt, path in paths.items()}
        assert all(np.array_equal(sets["npy"], x) for x in sets.values()), "the three formats disagree"
        print("read the same data from " + ", ".join(str(p) for p in paths.values()))
        x = sets["csv"]
    else:
        x = load_dataset(args.data)
    if x.min() < 0 or x.max() > 1:
        raise SystemExit(f"boltzlab: error: {args.data}: values outside [0, 1]; scale them first")
    x = (x > 0.5).astype(np.float32)
    train, test = train_test_split(x, test_fraction=0.2, seed=0)
    print(f"data: {len(train)} training and {len(test)} test samples of {x.shape[1]} units")

    epochs = 5 if args.quick else args.epochs
    config = TrainConfig(n_hidden=args.hidden, method="pcd", k=5, batch_size=50, epochs=epochs, lr=0.05,
                         optimizer="adam", seed=0)
    trainer = Trainer.create(train, config, test=test, out_dir=out, progress=False)
    history = trainer.fit()
    model = trainer.model
    bl.save_model(model, out / "model.pt")

    result = {"n_visible": model.n_visible, "n_hidden": model.n_hidden, "epochs": epochs}
    try:
        log_z = bl.exact_log_z(model)
        result.update(method="exact", log_z=log_z, test_log_likelihood=bl.exact_log_likelihood(model, test))
    except bl.IntractableError:
        lo_hi = bl.bracket(model, data=train, n_runs=100, n_betas=1000 if args.quick else 10_000, seed=0)
        ais = bl.ais_log_z(model, n_runs=100, n_betas=1000 if args.quick else 10_000, seed=0)
        ll, ll_err = bl.log_likelihood(model, test, ais)
        result.update(method="ais", log_z=ais.log_z, log_z_stderr=ais.stderr, bracket=lo_hi.to_dict(),
                      test_log_likelihood=ll, test_log_likelihood_stderr=ll_err)
    result["history"] = history
    (out / "result.json").write_text(json.dumps(result, indent=1))

    fig, ax = plt.subplots(figsize=(5, 3.5))
    steps = [r["step"] for r in history]
    for key in ("train_log_likelihood", "test_log_likelihood", "pseudo_log_likelihood"):
        if history[-1].get(key) is not None:
            ax.plot(steps, [r[key] for r in history], marker="o", ms=3, label=key.replace("_", " "))
    ax.set_xlabel("updates")
    ax.set_ylabel("nats per sample")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "learning_curves.png", dpi=100)
    print(f"test log-likelihood ({result['method']}): {result['test_log_likelihood']:.3f} nats; wrote {out}")


if __name__ == "__main__":
    main()
