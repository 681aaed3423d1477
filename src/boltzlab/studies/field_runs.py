"""The analyses behind `boltzlab field ...` (scalar-field RBMs and lattice field theory; docs/field-theory.md):
each takes the parsed options, writes PNG plots and a JSON of its numbers into ``args.out`` and returns
(numbers, summary).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..checkpoint import atomic_savez, atomic_write_json
from ..errors import CheckpointError, ConfigError, ShapeError


# ---------------------------------------------------------------------------------------------- helpers
def _config(args: argparse.Namespace) -> Any:
    from ..field import FieldTrainConfig
    cfg = FieldTrainConfig(epochs=args.epochs, lr=args.lr, decay=args.decay, decay_every=args.decay_every,
                           method=args.method, chains=args.chains, gibbs_steps=args.gibbs_steps,
                           record_every=args.record_every or max(1, args.epochs // 400), seed=args.seed)
    cfg.validate()
    return cfg


def _check_lattice(args: argparse.Namespace) -> None:
    if not args.m2 > 0:
        raise ConfigError(f"the lattice mass m^2 must be positive (the free field does not exist otherwise), "
                          f"got {args.m2:g}")


def _finish(args: argparse.Namespace, out: Path, result: dict[str, Any], name: str,
            keep: tuple[str, ...] = ()) -> tuple[dict[str, Any], str]:
    """Write the numbers as JSON; return them (without the long histories) and a one-line summary."""
    atomic_write_json(out / f"{name}.json", result)
    return ({k: v for k, v in result.items() if k not in ("history", "weights", "weights_initial") or k in keep},
            f"wrote {out}/{name}.json and its plots")


def _load_data(path: str) -> np.ndarray:
    from ..data import load_dataset
    return load_dataset(path)


# ---------------------------------------------------------------------------------------------- commands
def train(args: argparse.Namespace) -> int:
    from .pipelines.field import train_lattice
    _check_lattice(args)
    cfg = _config(args)
    out = Path(args.out)
    data = None
    if args.data:
        data = _load_data(args.data)
        nv = int(np.prod(args.lattice))
        if data.shape[1] != nv:
            raise ShapeError(f"{args.data}: configurations have {data.shape[1]} sites; the lattice "
                             f"{'x'.join(map(str, args.lattice))} has {nv}")
    if args.hidden is not None and args.init != "random" and args.hidden != int(np.prod(args.lattice)):
        raise ConfigError(f"--init {args.init} is an exact solution of eq. (13)-(16) and needs N_h = N_v "
                          f"= {int(np.prod(args.lattice))}; got --hidden {args.hidden}")
    res = train_lattice(out, args.lattice, args.m2, args.mu2, args.hidden, config=cfg, sigma_h2=args.sigma_h2,
                        learn_mu2=args.learn_mu2, init=args.init, init_std=args.init_std,
                        progress=not args.no_progress, data=data, device=args.device)
    atomic_savez(out / "model.npz", weights=np.asarray(res["weights"]), mu2=np.asarray([res["mu2"]]),
                 sigma_h2=np.asarray([args.sigma_h2]), lattice=np.asarray(args.lattice), m2=np.asarray([args.m2]))
    res["model"] = str(out / "model.npz")
    return _finish(args, out, res, "train")


def load_field_model(path: str) -> tuple[Any, tuple[int, ...], float]:
    """A ScalarFieldRBM from the model.npz of 'boltzlab field train', with its lattice and m^2."""
    from ..field import ScalarFieldRBM
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{path}: no such model file (write one with 'boltzlab field train --out DIR')")
    try:
        with np.load(p) as z:
            w, mu2, s2 = z["weights"], float(z["mu2"][0]), float(z["sigma_h2"][0])
            shape, m2 = tuple(int(s) for s in z["lattice"]), float(z["m2"][0])
    except (OSError, ValueError, KeyError, IndexError) as exc:
        raise CheckpointError(f"{path}: not a scalar-field model file ({exc})") from None
    if w.ndim != 2:
        raise CheckpointError(f"{path}: weights have shape {w.shape}; expected a matrix")
    model = ScalarFieldRBM(w.shape[0], w.shape[1], mu2=mu2, sigma_h2=s2, weights=torch.as_tensor(w),
                           dtype=torch.float64)
    return model, shape, m2


def action(args: argparse.Namespace) -> int:
    from .pipelines.field import action_histograms
    model, shape, m2 = load_field_model(args.model)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res = action_histograms(out, model, shape, m2, n=args.samples, steps=args.steps, seed=args.seed)
    return _finish(args, out, res, "action")


def uv(args: argparse.Namespace) -> int:
    from .pipelines.field import uv_regularisation
    _check_lattice(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res = uv_regularisation(out, args.lattice, args.m2, args.mu2_list, args.hidden_list, args.mu2, _config(args),
                            progress=not args.no_progress)
    return _finish(args, out, res, "uv")


def flow(args: argparse.Namespace) -> int:
    from .pipelines.field import flow_overlay
    _check_lattice(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res = flow_overlay(out, args.lattice, args.m2, args.mu2, args.hidden, _config(args), learn_mu2=args.learn_mu2,
                       progress=not args.no_progress)
    return _finish(args, out, res, "flow")


def two_node(args: argparse.Namespace) -> int:
    from .pipelines.field import two_node_study
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return _finish(args, out, two_node_study(out, seed=args.seed), "two_node")


def kl(args: argparse.Namespace) -> int:
    from .pipelines.field import kl_check
    _check_lattice(args)
    nv = int(np.prod(args.lattice))
    if max(args.hidden_list) > nv:
        raise ConfigError(f"--hidden-list values must not exceed N_v = {nv}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res = kl_check(out, args.lattice, args.m2, args.mu2, args.hidden_list, _config(args), n_mc=args.mc_samples,
                   progress=not args.no_progress)
    return _finish(args, out, res, "kl")


def _data_for(args: argparse.Namespace) -> np.ndarray:
    from ..data import mnist_dir
    data = _load_data(args.data if args.data is not None else str(mnist_dir()))
    if data.shape[1] > 4096:
        raise ConfigError(f"{args.data}: {data.shape[1]} sites; the correlation matrix would be too large")
    return data


def mnist_spectrum(args: argparse.Namespace) -> int:
    from .pipelines.field import mnist_spectrum
    out = Path(args.out)
    data = _data_for(args)
    out.mkdir(parents=True, exist_ok=True)
    return _finish(args, out, mnist_spectrum(out, data, args.mu2), "mnist_spectrum")


def kl_hidden(args: argparse.Namespace) -> int:
    from .pipelines.field import kl_vs_hidden
    data = _data_for(args)
    if max(args.hidden_list) > data.shape[1]:
        raise ConfigError(f"--hidden-list values must not exceed N_v = {data.shape[1]}")
    if args.epochs < 0:
        raise ConfigError(f"--epochs must be >= 0, got {args.epochs}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res = kl_vs_hidden(out, data, args.mu2, args.hidden_list, epochs=args.epochs, lr=args.lr, seed=args.seed,
                       progress=not args.no_progress)
    return _finish(args, out, res, "kl_hidden")


def regenerate(args: argparse.Namespace) -> int:
    from .pipelines.field import regenerate_images
    data = _data_for(args)
    if max(args.hidden_list) > data.shape[1]:
        raise ConfigError(f"--hidden-list values must not exceed N_v = {data.shape[1]}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return _finish(args, out, regenerate_images(out, data, args.mu2, args.hidden_list, n_images=args.n), "regenerate")


def bernoulli(args: argparse.Namespace) -> int:
    from .pipelines.field import bernoulli_study
    if args.hidden > 16:
        raise ConfigError(f"--hidden {args.hidden}: the exact checks enumerate 2^N_h states; use at most 16")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res = bernoulli_study(out, n_hidden=args.hidden, mu2=args.mu2, n_samples=args.samples, epochs=args.epochs,
                          seed=args.seed)
    return _finish(args, out, res, "bernoulli")
