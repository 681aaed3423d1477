"""The data and the report of a training run (`boltzlab train`): loading, the recorded train/test split,
learning curves, samples and filters (Potts: weight logos and site frequencies), summary.json."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..checkpoint import atomic_savez, atomic_write_json
from ..errors import ConfigError, ShapeError
from ..training.trainer import CHECKPOINT

RUN_FILE = "run.json"
SPLIT_FILE = "split.npz"
REPORT_FILES = ("summary.json", "learning_curves.png", "samples.png", "filters.png", "weight_logos.png",
                "site_frequencies.png")
ALIGNMENT_SUFFIXES = (".sto", ".stk", ".stockholm", ".a2m", ".a3m", ".fasta", ".fa", ".afa", ".aln", ".faa")


@dataclass
class RunData:
    """Training and held-out rows (float32), their sequence weights, and the rows of the source they are."""
    train: np.ndarray
    test: np.ndarray | None
    weights: np.ndarray | None
    test_weights: np.ndarray | None
    train_rows: np.ndarray
    test_rows: np.ndarray

    def save_split(self, out: Path) -> None:
        """Record which rows of the data were trained on and which were held out (``SPLIT_FILE``)."""
        atomic_savez(out / SPLIT_FILE, train_rows=self.train_rows, test_rows=self.test_rows)


def _split(n: int, frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from ..data import train_test_split
    if not 0 <= frac < 1:
        raise ConfigError(f"--test-fraction must lie in [0, 1); got {frac}")
    if frac == 0:
        return np.arange(n), np.arange(0)
    return train_test_split(np.arange(n), test_fraction=frac, seed=seed)


def is_alignment(d: dict[str, Any], visible_units: str | None) -> bool:
    spec = str(d.get("data") or "")
    return bool(spec) and (visible_units == "potts" or spec.lower().removesuffix(".gz").endswith(ALIGNMENT_SUFFIXES))


def _prepare(x: np.ndarray, binarize: str | None, visible_units: str, seed: int, spec: str) -> np.ndarray:
    """Binarise when asked (or, without --binarize, when binary units need it); map bits to spins."""
    from ..data import binarize as _binarize
    bits = np.isin(x, (0, 1)).all()
    if binarize is None and visible_units in ("binary", "spin") and not bits:
        binarize = "threshold"
    if binarize in ("threshold", "stochastic"):
        x = _binarize(x, method=binarize, seed=seed)
    elif visible_units in ("binary", "spin") and not bits and not (visible_units == "spin" and np.isin(x, (-1, 1)).all()):
        raise ConfigError(f"{spec}: the data are not binary and --binarize none keeps them as they are; "
                          f"{visible_units} units need --binarize threshold or stochastic")
    if visible_units == "spin" and np.isin(x, (0, 1)).all():
        x = 2 * x - 1
    return x.astype(np.float32)


def load_data(d: dict[str, Any], visible_units: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(train, test) of a data description ``d`` (the data options of `boltzlab train`)."""
    r = load_run_data(d, {"visible_units": visible_units})
    return r.train, r.test


def load_run_data(d: dict[str, Any], opts: dict[str, Any]) -> RunData:
    """The data of a run: ``d`` holds the data options, ``opts`` the training options (alignments set
    visible_units="potts" and n_states = the alphabet size unless given)."""
    from ..data import load_dataset
    seed, limit = int(d.get("data_seed") or 0), d.get("limit")
    visible = opts.get("visible_units", "binary")
    if is_alignment(d, visible):
        from ..data.alignment import alphabet_symbols, read_alignment
        if opts.setdefault("visible_units", "potts") != "potts":
            raise ConfigError(f"an alignment needs Potts visible units (--visible-units potts), not {visible!r}")
        alphabet, reweight = d.get("alphabet") or "protein", d.get("reweight", 0.8)
        if reweight is not None and not 0 <= float(reweight) <= 1:
            raise ConfigError(f"--reweight must lie in [0, 1] (0: unit weights); got {reweight}")
        opts.setdefault("n_states", len(alphabet_symbols(alphabet)))

        def read(spec: str) -> tuple[np.ndarray, np.ndarray]:
            return read_alignment(spec, alphabet, reweight or None, format=d.get("alignment_format") or "auto")
        x, w = read(d["data"])
        xt, wt = read(d["test_data"]) if d.get("test_data") else (None, None)
    else:
        binarize = d.get("binarize")
        x = _prepare(load_dataset(d.get("data") or "ising", seed=seed), binarize, visible, seed, d.get("data") or "ising")
        xt = (_prepare(load_dataset(d["test_data"], seed=seed), binarize, visible, seed + 1, d["test_data"])
              if d.get("test_data") else None)
        w = wt = None
    if limit:
        x, w = x[:limit], None if w is None else w[:limit]
    if xt is not None:
        if xt.shape[1] != x.shape[1]:
            raise ShapeError(f"{d['test_data']}: the held-out data have {xt.shape[1]} columns, the training data "
                             f"{x.shape[1]}")
        return RunData(x.astype(np.float32), xt.astype(np.float32), w, wt, np.arange(len(x)), np.arange(len(xt)))
    tr, te = _split(len(x), float(d.get("test_fraction", 0.2)), seed)
    sub = (lambda a, rows: None if a is None or len(rows) == 0 else a[rows])
    return RunData(x[tr].astype(np.float32), sub(x, te), sub(w, tr), sub(w, te), tr, te)


def run_rows(run: Path, split: str) -> np.ndarray:
    """The rows of a run's data (after ``limit``) that it trained on (``train``) or held out (``test``)."""
    from ..errors import CheckpointError
    try:
        with np.load(run / SPLIT_FILE) as z:
            return np.asarray(z[f"{split}_rows"])
    except (OSError, KeyError, ValueError) as exc:
        raise CheckpointError(f"{run / SPLIT_FILE}: no readable record of the run's split ({exc})".splitlines()[0]) from None


def write_report(trainer: Any, out: Path, shape: Any = None, alphabet: str | None = None) -> dict[str, Any]:
    """Learning curves, sample grid and weight filters (Potts: weight logos and site frequencies) as PNG;
    summary.json with the final numbers."""
    from ..plots import image_grid, learning_curves, save_figure, weight_filters
    model = trainer.model
    shape = tuple(shape) if shape else None
    n_hidden = model.n_hidden
    size = f"{model.n_visible}x{n_hidden}" if n_hidden else f"{model.n_visible} units"
    curves = learning_curves(trainer.history, title=f"{type(model).__name__} {size}, "
                                                    f"{trainer.config.method.upper()}-{trainer.config.k}")
    plots = {"learning_curves": str(save_figure(curves, out / "learning_curves.png"))}
    if model.visible.type_name == "potts":
        plots.update(potts_report(trainer, out, alphabet))
    else:
        v, _ = model.sample(64, steps=1000, seed=trainer.config.seed)
        sweeps = "block-Gibbs" if n_hidden else "single-site Gibbs"
        plots["samples"] = str(save_figure(image_grid(v.float().cpu().numpy(), shape, n_cols=8, title=f"model "
                                                      f"samples (1000 {sweeps} sweeps from random starts)"),
                                           out / "samples.png"))
        plots["filters"] = str(save_figure(weight_filters(model.weights.detach().float().cpu().numpy(), shape),
                                           out / "filters.png"))
    last = trainer.history[-1] if trainer.history else {}
    summary = {"out": str(out), "updates": trainer.step, "epochs": trainer.epoch, "plots": plots,
               "checkpoint": str(out / CHECKPOINT), "final": last}
    atomic_write_json(out / "summary.json", summary)
    return summary


def potts_report(trainer: Any, out: Path, alphabet: str | None) -> dict[str, str]:
    """Sequence logos of the strongest hidden units and data-vs-model single-site frequencies."""
    from ..data.alignment import alphabet_symbols, site_frequencies
    from ..plots import save_figure
    from .report_plots import frequency_comparison, weight_logos
    model = trainer.model
    q = model.visible.n_states
    symbols = alphabet_symbols(alphabet or "protein")
    if len(symbols) != q:
        symbols = "".join(chr(ord("0") + i) if i < 10 else chr(ord("a") + i - 10) for i in range(q))
    w = model.weights.detach().double().cpu().numpy().reshape(model.n_visible, q, -1)
    plots = {"weight_logos": str(save_figure(weight_logos(w, symbols), out / "weight_logos.png"))}
    v, _ = model.sample(1000, steps=100, seed=trainer.config.seed)
    wts = None if trainer.weights is None else trainer.weights.cpu().numpy()
    plots["site_frequencies"] = str(save_figure(frequency_comparison(
        site_frequencies(trainer.train.cpu().numpy(), q, wts), site_frequencies(v.cpu().numpy(), q),
        title="training data vs 1000 model samples (100 block-Gibbs sweeps)"), out / "site_frequencies.png"))
    return plots


def binary_data(spec: str, rows: slice | None, binarize: str | None, seed: int, min_rows: int) -> np.ndarray:
    """{0, 1} data: rows selected, binarised when asked or when not binary, at least ``min_rows`` rows."""
    from ..data import load_dataset
    from ..errors import DataError
    x = load_dataset(spec, seed=seed)
    if rows is not None:
        x = x[rows]
    if x.shape[0] < min_rows:
        raise DataError(f"{spec}: {x.shape[0]} rows selected; this needs at least {min_rows}")
    return _prepare(x, binarize, "binary", seed, spec)


def model_data(spec: str, model: Any, rows: slice | None = None, binarize: str | None = None,
               seed: int = 0) -> np.ndarray:
    """Data for a model's visible layer: read, rows selected, binarised if the units need it, mapped to spins."""
    from ..data import load_dataset
    from ..errors import DataError
    x = load_dataset(spec, seed=seed)
    if rows is not None:
        x = x[rows]
    if x.shape[0] == 0:
        raise DataError(f"{spec}: no rows selected")
    kind = model.visible.type_name
    if kind in ("binary", "spin"):
        spins = kind == "spin" and np.isin(x, (-1, 1)).all() and not binarize
        x = x if spins else _prepare(x, binarize, kind, seed, spec)
    if x.shape[1] != model.n_visible:
        raise ShapeError(f"{spec}: samples have {x.shape[1]} values; the model has {model.n_visible} visible units")
    return x.astype(np.float32)


def run_split_data(run: Path, split: str) -> np.ndarray:
    """Exactly the rows a training run trained on (``train``) or held out (``test``), as it prepared them."""
    import json
    from ..errors import CheckpointError
    try:
        saved = json.loads((run / RUN_FILE).read_text())
        config, d = dict(saved["config"]), dict(saved["data"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{run / RUN_FILE}: missing or corrupt ({exc}); the run's split is unknown"
                              .splitlines()[0]) from None
    data = load_run_data(d, config)
    if not np.array_equal(data.train_rows, run_rows(run, "train")):
        raise CheckpointError(f"{run}: the data no longer split as recorded in {SPLIT_FILE} (did the data file change?)")
    x = data.train if split == "train" else data.test
    if x is None:
        raise ConfigError(f"{run}: the run held out no rows (--test-fraction 0); use --split train or --data")
    return x
