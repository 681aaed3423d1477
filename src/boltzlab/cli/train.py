"""`boltzlab train`: train an RBM from flags or a TOML file, with checkpoints, metrics and plots."""

from __future__ import annotations

import argparse
import json
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import CheckpointError, ConfigError
from ..training import TrainConfig, Trainer
from ..training.config import MIN_UPDATES, recommended_options
from ..checkpoint import atomic_write_json
from ..training.trainer import CHECKPOINT
from .common import emit_json, image_shape, positive_int, say, torch_device

RUN_FILE = "run.json"
RECOMMENDED_HELP = {**recommended_options({}), "method": "pt for an RBM, pcd otherwise",
                    "epochs": f"enough for {MIN_UPDATES} updates, at least 10"}
DATA_KEYS = ("data", "test_data", "test_fraction", "binarize", "limit", "data_seed", "image_shape", "alphabet",
             "reweight", "alignment_format")
ALIGNMENT_SUFFIXES = (".sto", ".stk", ".stockholm", ".a2m", ".a3m", ".fasta", ".fa", ".afa", ".aln", ".faa")


def _hidden_spec(text: str) -> int | str:
    """--hidden takes a number of hidden units (as before) or a hidden unit type (relu, drelu, ...)."""
    from ..units import Layer
    if text.strip().isdigit():
        return int(text)
    if text in Layer.registry:
        return text
    raise argparse.ArgumentTypeError(f"{text!r} is neither a number of hidden units nor a hidden unit type "
                                     f"({', '.join(sorted(Layer.registry))})")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train an RBM by the learning rule (CD-k, PCD-k, Rdm-k)",
        description="Train an RBM. Options come from --config FILE.toml (keys as below, dashes or "
                    "underscores, at top level or in a [train] table) and are overridden by flags. "
                    "Writes OUT/checkpoint.pt, OUT/metrics.jsonl, OUT/summary.json and PNG plots.")
    p.add_argument("--config", help="TOML file with the options below")
    p.add_argument("--data", help="data: a file (.npy, .npz, .csv, IDX), an MNIST directory, or 'ising' / "
                                  "'ising:L=8,beta=0.4,n=5000' (the embedded default)")
    p.add_argument("--test-data", help="held-out data (default: split off --test-fraction)")
    p.add_argument("--test-fraction", type=float, help="fraction held out when no --test-data (default 0.2)")
    p.add_argument("--limit", type=int, help="use only the first N samples of --data")
    p.add_argument("--binarize", choices=["threshold", "stochastic", "none"],
                   help="binarise [0,1] data (default: threshold for non-binary data with binary units)")
    p.add_argument("--data-seed", type=int, help="seed of the train/test split and stochastic binarisation")
    p.add_argument("--image-shape", type=image_shape, help="HxW for sample and filter plots")
    p.add_argument("--out", help="output directory (default runs/train)")
    p.add_argument("--resume", action="store_true", help="continue the run whose checkpoint is in --out")
    p.add_argument("--overwrite", action="store_true", help="start over even if --out holds a checkpoint")
    p.add_argument("--json", action="store_true", help="print the final summary as JSON on stdout")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--distributed", action="store_true",
                   help="data-parallel run under torchrun (torch.distributed: gloo on CPU, NCCL on CUDA), e.g. "
                        "`torchrun --nproc_per_node 2 -m boltzlab.cli.main train --distributed ...`")
    p.add_argument("--shards", type=positive_int,
                   help="with --distributed: chain shards, each with its own random stream (default: the "
                        "number of processes); runs with the same shards agree for any world size dividing it")
    p.add_argument("--hidden", dest="n_hidden", type=_hidden_spec,
                   help="number of hidden units, or the hidden unit type (binary, spin, gaussian, relu, drelu, "
                        "potts with --hidden-states q)")
    p.add_argument("--n-hidden", dest="n_hidden_count", type=int, help="number of hidden units")
    p.add_argument("--visible", "--visible-units", dest="visible_units",
                   help="visible unit type (binary, spin, gaussian, potts)")
    p.add_argument("--alphabet", help="alignment alphabet: protein (default), dna, rna, or the symbols, gap first")
    p.add_argument("--reweight", type=float, help="sequence-identity threshold of the alignment weights "
                                                  "(default 0.8; 0 for unit weights)")
    p.add_argument("--alignment-format", choices=["auto", "fasta", "a2m", "a3m", "stockholm"],
                   help="alignment file format (default: from the suffix or the first line)")
    for f in fields(TrainConfig):
        if f.name in ("n_hidden", "visible_units"):
            continue
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            p.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None)
        else:
            kind = {"int": int, "float": float, "str": str, "int | None": int}.get(str(f.type), str)
            kind = torch_device if f.name == "device" else kind
            p.add_argument(flag, dest=f.name, type=kind, default=None, help=f"(default {RECOMMENDED_HELP.get(f.name, f.default)})")
    p.set_defaults(func=cmd_train)


def _read_toml(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    table = raw.get("train", raw)
    return {k.replace("-", "_"): v for k, v in table.items()}


def resolve_options(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """(training options, data options): TOML < flags; unknown TOML keys are an error."""
    opts: dict[str, Any] = _read_toml(args.config) if args.config else {}
    for key, val in vars(args).items():
        if val is not None and key not in ("config", "func", "command", "resume", "overwrite", "json",
                                           "distributed", "shards",
                                           "no_progress", "out"):
            opts[key] = val
    if isinstance(opts.get("n_hidden"), str):  # --hidden drelu names the unit type
        opts["hidden_units"] = opts.pop("n_hidden")
    if opts.get("n_hidden_count") is not None:
        opts["n_hidden"] = opts.pop("n_hidden_count")
    opts.pop("n_hidden_count", None)
    data = {k: opts.pop(k) for k in DATA_KEYS if k in opts}
    if args.out is not None:
        opts["out"] = args.out
    out = opts.pop("out", "runs/train")
    names = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(opts) - names)
    if unknown:
        raise ConfigError(f"unknown option(s) in the config: {', '.join(unknown)}")
    data["out"] = out
    return opts, data


def load_data(d: dict[str, Any], visible_units: str) -> tuple[np.ndarray, np.ndarray]:
    from ..data import load_dataset, train_test_split
    spec = d.get("data") or "ising"
    binarize = d.get("binarize")
    if binarize == "none":
        binarize = None
    seed = int(d.get("data_seed", 0))
    x = load_dataset(spec, seed=seed)
    if d.get("limit"):
        x = x[: int(d["limit"])]
    needs_binary = visible_units in ("binary", "spin")
    if binarize is None and needs_binary and not np.isin(x, (0, 1)).all():
        binarize = "threshold"
    if binarize:
        from ..data import binarize as _binarize
        x = _binarize(x, method=binarize, seed=seed)
    if d.get("test_data"):
        test = load_dataset(d["test_data"], seed=seed)
        if binarize:
            test = _binarize(test, method=binarize, seed=seed + 1)
        train = x
    else:
        frac = float(d.get("test_fraction", 0.2))
        if not 0 <= frac < 1:
            raise ConfigError(f"test_fraction must lie in [0, 1); got {frac}")
        train, test = train_test_split(x, test_fraction=frac, seed=seed) if frac > 0 else (x, None)
    if visible_units == "spin":
        train = 2 * train - 1
        test = None if test is None else 2 * test - 1
    return train.astype(np.float32), None if test is None or len(test) == 0 else test.astype(np.float32)


def is_alignment(d: dict[str, Any], visible_units: str | None) -> bool:
    spec = str(d.get("data") or "")
    name = spec.lower().removesuffix(".gz")
    return bool(spec) and (visible_units == "potts" or name.endswith(ALIGNMENT_SUFFIXES))


def _weight_kwargs(w: Any, wt: Any) -> dict[str, Any]:
    return {} if w is None else {"weights": torch.as_tensor(w), "test_weights": None if wt is None else torch.as_tensor(wt)}


def load_training_data(d: dict[str, Any], opts: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    """(train, test, train weights, test weights); alignments (Potts units) come with sequence weights.

    For an alignment, ``opts`` gains visible_units="potts" and n_states = the alphabet size unless given.
    """
    if not is_alignment(d, opts.get("visible_units")):
        train, test = load_data(d, opts.get("visible_units", "binary"))
        return train, test, None, None
    from ..data.alignment import alphabet_symbols, read_alignment
    if opts.setdefault("visible_units", "potts") != "potts":
        raise ConfigError(f"an alignment needs Potts visible units (--visible potts), not {opts['visible_units']!r}")
    alphabet = d.get("alphabet") or "protein"
    reweight = d.get("reweight", 0.8)
    if reweight is not None and not 0 <= float(reweight) <= 1:
        raise ConfigError(f"--reweight must lie in [0, 1] (0: unit weights); got {reweight}")
    x, w = read_alignment(d["data"], alphabet, reweight or None, format=d.get("alignment_format") or "auto")
    opts.setdefault("n_states", len(alphabet_symbols(alphabet)))
    if d.get("limit"):
        x, w = x[: int(d["limit"])], w[: int(d["limit"])]
    seed = int(d.get("data_seed", 0))
    if d.get("test_data"):
        xt, wt = read_alignment(d["test_data"], alphabet, reweight or None,
                                format=d.get("alignment_format") or "auto")
        if xt.shape[1] != x.shape[1]:
            raise ConfigError(f"the test alignment has {xt.shape[1]} columns, the training one {x.shape[1]}")
        return x.astype(np.float32), xt.astype(np.float32), w, wt
    frac = float(d.get("test_fraction", 0.2))
    if not 0 <= frac < 1:
        raise ConfigError(f"test_fraction must lie in [0, 1); got {frac}")
    perm = np.random.default_rng(seed).permutation(len(x))
    n_test = int(round(frac * len(x)))
    if n_test == 0:
        return x.astype(np.float32), None, w, None
    te, tr = perm[:n_test], perm[n_test:]
    return x[tr].astype(np.float32), x[te].astype(np.float32), w[tr], w[te]


def cmd_train(args: argparse.Namespace) -> int:
    opts, data_opts = resolve_options(args)
    trainer_cls, extra, main = _trainer_kind(args, opts)
    out = Path(data_opts["out"])
    ckpt = out / CHECKPOINT
    if args.resume:
        if not ckpt.exists():
            raise CheckpointError(f"{ckpt}: nothing to resume (no checkpoint in {out})")
        saved = json.loads((out / RUN_FILE).read_text()) if (out / RUN_FILE).exists() else {}
        data_opts = {**saved.get("data", {}), **{k: v for k, v in data_opts.items() if k != "out"}}
        data_opts["out"] = str(out)
        cfg_saved = saved.get("config", {})
        train, test, w, wt = load_training_data(data_opts, {"visible_units": "binary", **cfg_saved, **opts})
        trainer = trainer_cls.resume(ckpt, torch.as_tensor(train), test=None if test is None else torch.as_tensor(test),
                                 out_dir=out, epochs=opts.get("epochs"), max_updates=opts.get("max_updates"),
                                 progress=not args.no_progress, **_weight_kwargs(w, wt))
        say(f"resuming {ckpt} at epoch {trainer.epoch}, update {trainer.step}", args.json)
    else:
        if ckpt.exists() and not args.overwrite:
            raise CheckpointError(f"{out} already holds a checkpoint; pass --resume to continue it or "
                                  "--overwrite to start a new run there")
        train, test, w, wt = load_training_data(data_opts, opts)
        cfg = TrainConfig.recommended(len(train), args.distributed, **opts)
        trainer = trainer_cls.create(torch.as_tensor(train), cfg,
                                     test=None if test is None else torch.as_tensor(test),
                                     out_dir=out, progress=not args.no_progress, **extra, **_weight_kwargs(w, wt))
        out.mkdir(parents=True, exist_ok=True)
        run = {"config": cfg.to_dict(), "data": {k: v for k, v in data_opts.items() if k != "out"}}
        if main:
            atomic_write_json(out / RUN_FILE, run)
    history = trainer.fit()
    if not main:  # rank 0 reports
        return 0
    summary = write_report(trainer, out, data_opts.get("image_shape"), data_opts.get("alphabet"))
    if args.json:
        emit_json(summary)
    else:
        say(f"done: {summary['updates']} updates; wrote {out}/checkpoint.pt, metrics.jsonl and plots")
        last = history[-1] if history else {}
        for k in ("train_log_likelihood", "test_log_likelihood", "pseudo_log_likelihood"):
            if last.get(k) is not None:
                say(f"  {k}: {last[k]:.4f}")
    return 0


def _trainer_kind(args: argparse.Namespace, opts: dict[str, Any]) -> tuple[type[Trainer], dict[str, Any], bool]:
    """The trainer class, its extra arguments, and whether this process writes reports (rank 0)."""
    if not args.distributed:
        if args.shards is not None:
            raise ConfigError("--shards applies only with --distributed")
        return Trainer, {}, True
    from ..distributed import init_from_env, local_device
    from ..training.distributed import DistributedTrainer
    if "device" in opts:
        opts["device"] = local_device(opts["device"])
    world = init_from_env(opts.get("device", "cpu"))
    return DistributedTrainer, {"shards": args.shards}, world.is_main


def write_report(trainer: Trainer, out: Path, shape: Any = None, alphabet: str | None = None) -> dict[str, Any]:
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
        return _summary(trainer, out, plots)
    v, _ = model.sample(64, steps=1000, seed=trainer.config.seed)
    sweeps = "block-Gibbs" if n_hidden else "single-site Gibbs"
    plots["samples"] = str(save_figure(image_grid(v.float().cpu().numpy(), shape, n_cols=8,
                                                  title=f"model samples (1000 {sweeps} sweeps from random starts)"),
                                       out / "samples.png"))
    plots["filters"] = str(save_figure(weight_filters(model.weights.detach().float().cpu().numpy(), shape),
                                       out / "filters.png"))
    return _summary(trainer, out, plots)


def potts_report(trainer: Trainer, out: Path, alphabet: str | None) -> dict[str, str]:
    """Sequence logos of the strongest hidden units and data-vs-model single-site frequencies."""
    from ..data.alignment import alphabet_symbols, site_frequencies
    from ..plots import save_figure
    from ..plots.logo import frequency_comparison, weight_logos
    model = trainer.model
    q = model.visible.n_states
    symbols = alphabet_symbols(alphabet or "protein")
    if len(symbols) != q:
        symbols = "".join(chr(ord("0") + i) if i < 10 else chr(ord("a") + i - 10) for i in range(q))
    w = model.weights.detach().double().cpu().numpy().reshape(model.n_visible, q, -1)
    plots = {"weight_logos": str(save_figure(weight_logos(w, symbols), out / "weight_logos.png"))}
    v, _ = model.sample(1000, steps=100, seed=trainer.config.seed)
    train = trainer.train.cpu().numpy()
    wts = None if trainer.weights is None else trainer.weights.cpu().numpy()
    plots["site_frequencies"] = str(save_figure(frequency_comparison(
        site_frequencies(train, q, wts), site_frequencies(v.cpu().numpy(), q),
        title="training data vs 1000 model samples (100 block-Gibbs sweeps)"), out / "site_frequencies.png"))
    return plots


def _summary(trainer: Trainer, out: Path, plots: dict[str, str]) -> dict[str, Any]:
    last = trainer.history[-1] if trainer.history else {}
    summary = {"out": str(out), "updates": trainer.step, "epochs": trainer.epoch, "plots": plots,
               "checkpoint": str(out / CHECKPOINT), "final": last}
    atomic_write_json(out / "summary.json", summary)
    return summary
