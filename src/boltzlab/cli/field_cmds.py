"""`boltzlab field ...`: scalar-field RBMs and lattice field theory
(Aarts, Lucini, Park, PRD 109, 034521 (2024); see docs/field-theory.md).

Every subcommand writes PNG plots and a JSON of its numbers into ``--out`` and prints the numbers with
``--json``; bad input ends with one line ``boltzlab: error: ...`` and exit code 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..checkpoint import atomic_savez, atomic_write_json
from ..errors import CheckpointError, ConfigError, ShapeError
from .common import Parser, add_output_options, add_seed_option, emit_json, finite_float, float_list, int_list, positive_float, positive_int, say, torch_device



def lattice_arg(text: str) -> tuple[int, ...]:
    from ..field.lattice import parse_lattice
    try:
        return parse_lattice(text)
    except ShapeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("field", help="scalar-field (Gaussian) RBMs: lattice field theory targets, UV regularisation",
                       description="Analyses of Aarts, Lucini, Park, PRD 109, 034521 (2024): training on free "
                                   "lattice fields and data correlation matrices, spectra, UV cutoffs by mu^2 and N_h, "
                                   "learning flow, KL divergences, the Gaussian-Bernoulli RBM.  See docs/field-theory.md.")
    fs = p.add_subparsers(dest="field_command", metavar="ANALYSIS", parser_class=Parser)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])

    def common(q: argparse.ArgumentParser, name: str) -> None:
        add_output_options(q, f"runs/field/{name}")
        add_seed_option(q)

    def lattice(q: argparse.ArgumentParser, mu2: float = 9.0) -> None:
        q.add_argument("--lattice", type=lattice_arg, default=(10,), help="N (1D) or NxM (2D) periodic lattice (default 10)")
        q.add_argument("--m2", type=finite_float, default=4.0, help="lattice mass m^2 of the target (default 4)")
        q.add_argument("--mu2", type=positive_float, default=mu2, help=f"RBM mass parameter mu^2 (default {mu2:g})")

    def training(q: argparse.ArgumentParser, epochs: int = 60_000, method: str = "pcd") -> None:
        q.add_argument("--method", choices=["pcd", "exact"], default=method,
                       help=f"model term by persistent chains or exactly from K^-1 (default {method})")
        q.add_argument("--epochs", type=positive_int, default=epochs, help=f"updates (default {epochs})")
        q.add_argument("--lr", type=positive_float, default=0.1, help="initial learning rate eta_0 (default 0.1)")
        q.add_argument("--decay", type=positive_float, default=0.99, help="r of eq. (A2) (default 0.99; 1 = none)")
        q.add_argument("--decay-every", type=positive_int, default=128, help="N_epoch^rate of eq. (A2) (default 128)")
        q.add_argument("--chains", type=positive_int, default=128, help="persistent chains (default 128)")
        q.add_argument("--gibbs-steps", type=positive_int, default=1, help="block-Gibbs sweeps per epoch (default 1)")
        q.add_argument("--record-every", type=positive_int, default=None, help="epochs between records (default epochs/400)")

    q = fs.add_parser("train", help="train on a lattice free field (or data); eigenvalues per epoch vs kappa (Figs. 3-12)")
    common(q, "train")
    lattice(q)
    training(q)
    q.add_argument("--hidden", type=positive_int, default=None, help="N_h (default N_v)")
    q.add_argument("--sigma-h2", type=positive_float, default=1.0, help="hidden variance sigma_h^2 (default 1)")
    q.add_argument("--learn-mu2", action="store_true", help="learn mu^2 too (eq. 22)")
    q.add_argument("--init", choices=["random", "cholesky", "symmetric"], default="random",
                   help="W(0): N(0, init-std^2), or an exact solution (eq. 13-16) (default random)")
    q.add_argument("--init-std", type=positive_float, default=0.1, help="std of the random W(0) (default 0.1)")
    q.add_argument("--data", default=None, help="train on the two-point function of these configurations instead "
                                                "(.npy/.npz/.csv, one configuration per row, N_v columns)")
    q.add_argument("--device", type=torch_device, default="cpu", help="torch device, e.g. cpu or cuda (default cpu)")
    q.set_defaults(func=cmd_train)

    q = fs.add_parser("action", help="action-density histograms: RBM samples vs exact samples (Fig. 5)")
    common(q, "action")
    q.add_argument("--model", required=True, help="model.npz written by 'boltzlab field train'")
    q.add_argument("--samples", type=positive_int, default=10_000, help="configurations of each kind (default 10000)")
    q.add_argument("--steps", type=positive_int, default=200, help="block-Gibbs sweeps of the RBM chains (default 200)")
    q.set_defaults(func=cmd_action)

    q = fs.add_parser("uv", help="UV regularisation by mu^2 and by N_h (Figs. 10-12)")
    common(q, "uv")
    lattice(q)
    training(q, epochs=40_000)
    q.add_argument("--mu2-list", type=float_list, default=[6.0], help="mu^2 values at N_h = N_v (default 6)")
    q.add_argument("--hidden-list", type=int_list, default=[9, 8, 7, 6], help="N_h values at --mu2 (default 9,8,7,6)")
    q.set_defaults(func=cmd_uv)

    q = fs.add_parser("flow", help="continuous-time learning equations (eq. 26-27, 81) laid over training (Fig. 6)")
    common(q, "flow")
    lattice(q)
    training(q, epochs=20_000)
    q.add_argument("--hidden", type=positive_int, default=None, help="N_h (default N_v)")
    q.add_argument("--learn-mu2", action="store_true")
    q.set_defaults(func=cmd_flow, decay=1.0)

    q = fs.add_parser("two-node", help="N_v = 2: eq. (53)-(57), fixed points (59-62), relaxation rates (67) (Fig. 2)")
    common(q, "two-node")
    q.set_defaults(func=cmd_two_node)

    q = fs.add_parser("kl", help="analytic KL (eq. B8) vs the numerically evaluated KL of trained RBMs")
    common(q, "kl")
    lattice(q)
    training(q, epochs=40_000)
    q.add_argument("--hidden-list", type=int_list, default=[10, 9, 8, 7, 6], help="N_h values (default 10,9,8,7,6)")
    q.add_argument("--mc-samples", type=positive_int, default=200_000, help="Monte Carlo samples (default 200000)")
    q.set_defaults(func=cmd_kl)

    def data_opts(q: argparse.ArgumentParser) -> None:
        q.add_argument("--data", default=None, help="data set (default: the MNIST test set from $BOLTZLAB_MNIST, "
                                                         "else ../shared/data/mnist beside the project)")
        q.add_argument("--mu2", type=positive_float, default=100.0, help="RBM mass parameter mu^2 (default 100)")

    q = fs.add_parser("mnist-spectrum", help="correlation spectrum of a data set and the modes below mu^2 (Fig. 13)")
    common(q, "mnist-spectrum")
    data_opts(q)
    q.set_defaults(func=cmd_mnist_spectrum)

    q = fs.add_parser("kl-hidden", help="data-averaged KL (eq. 86) vs N_h at fixed mu^2 (Fig. 17)")
    common(q, "kl-hidden")
    data_opts(q)
    q.add_argument("--hidden-list", type=int_list, default=[8, 16, 32, 64, 100, 200, 289, 400, 784])
    q.add_argument("--epochs", type=int, default=0, help="also train from random for this many exact-gradient "
                                                         "epochs (default 0: fixed points only; on MNIST the "
                                                         "stable rate is ~6e-6, so reaching them takes ~1e6 epochs)")
    q.add_argument("--lr", type=positive_float, default=None,
                   help="learning rate of that training (default: half of bl.field.stable_learning_rate)")
    q.set_defaults(func=cmd_kl_hidden)

    q = fs.add_parser("regenerate", help="images passed forward and back through RBMs with N_h hidden nodes (Fig. 16)")
    common(q, "regenerate")
    data_opts(q)
    q.add_argument("--hidden-list", type=int_list, default=[8, 16, 32, 64, 128, 289, 784])
    q.add_argument("--n", type=positive_int, default=8, help="images (default 8)")
    q.set_defaults(func=cmd_regenerate)

    q = fs.add_parser("bernoulli", help="Gaussian-Bernoulli RBM (h = +-1): sampling, effective action, quartic "
                                        "couplings, training (Sec. VII)")
    common(q, "bernoulli")
    q.add_argument("--hidden", type=positive_int, default=3, help="N_h of the N_v = 1 system (default 3, <= 16)")
    q.add_argument("--mu2", type=positive_float, default=2.0)
    q.add_argument("--samples", type=positive_int, default=100_000)
    q.add_argument("--epochs", type=positive_int, default=500)
    q.set_defaults(func=cmd_bernoulli)


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


def _finish(args: argparse.Namespace, out: Path, result: dict[str, Any], name: str, keep: tuple[str, ...] = ()) -> int:
    atomic_write_json(out / f"{name}.json", result)
    if args.json:
        emit_json({k: v for k, v in result.items() if k not in ("history", "weights", "weights_initial") or k in keep})
    else:
        say(f"wrote {out}/{name}.json and its plots")
    return 0


def _load_data(path: str) -> np.ndarray:
    from ..data import load_dataset
    return load_dataset(path)


# ---------------------------------------------------------------------------------------------- commands
def cmd_train(args: argparse.Namespace) -> int:
    from ..studies.pipelines.field import train_lattice
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


def cmd_action(args: argparse.Namespace) -> int:
    from ..studies.pipelines.field import action_histograms
    model, shape, m2 = load_field_model(args.model)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res = action_histograms(out, model, shape, m2, n=args.samples, steps=args.steps, seed=args.seed)
    return _finish(args, out, res, "action")


def cmd_uv(args: argparse.Namespace) -> int:
    from ..studies.pipelines.field import uv_regularisation
    _check_lattice(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res = uv_regularisation(out, args.lattice, args.m2, args.mu2_list, args.hidden_list, args.mu2, _config(args),
                            progress=not args.no_progress)
    return _finish(args, out, res, "uv")


def cmd_flow(args: argparse.Namespace) -> int:
    from ..studies.pipelines.field import flow_overlay
    _check_lattice(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res = flow_overlay(out, args.lattice, args.m2, args.mu2, args.hidden, _config(args), learn_mu2=args.learn_mu2,
                       progress=not args.no_progress)
    return _finish(args, out, res, "flow")


def cmd_two_node(args: argparse.Namespace) -> int:
    from ..studies.pipelines.field import two_node_study
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return _finish(args, out, two_node_study(out, seed=args.seed), "two_node")


def cmd_kl(args: argparse.Namespace) -> int:
    from ..studies.pipelines.field import kl_check
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


def cmd_mnist_spectrum(args: argparse.Namespace) -> int:
    from ..studies.pipelines.field import mnist_spectrum
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return _finish(args, out, mnist_spectrum(out, _data_for(args), args.mu2), "mnist_spectrum")


def cmd_kl_hidden(args: argparse.Namespace) -> int:
    from ..studies.pipelines.field import kl_vs_hidden
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


def cmd_regenerate(args: argparse.Namespace) -> int:
    from ..studies.pipelines.field import regenerate_images
    data = _data_for(args)
    if max(args.hidden_list) > data.shape[1]:
        raise ConfigError(f"--hidden-list values must not exceed N_v = {data.shape[1]}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return _finish(args, out, regenerate_images(out, data, args.mu2, args.hidden_list, n_images=args.n), "regenerate")


def cmd_bernoulli(args: argparse.Namespace) -> int:
    from ..studies.pipelines.field import bernoulli_study
    if args.hidden > 16:
        raise ConfigError(f"--hidden {args.hidden}: the exact checks enumerate 2^N_h states; use at most 16")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res = bernoulli_study(out, n_hidden=args.hidden, mu2=args.mu2, n_samples=args.samples, epochs=args.epochs,
                          seed=args.seed)
    return _finish(args, out, res, "bernoulli")
