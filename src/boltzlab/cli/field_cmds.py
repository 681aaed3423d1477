"""`boltzlab field ...`: scalar-field RBMs and lattice field theory (docs/field-theory.md); the analyses are in
:mod:`boltzlab.studies.field_runs`.  Every subcommand writes PNG plots and a JSON of its numbers into ``--out``
and prints the numbers with ``--json``.
"""

from __future__ import annotations

import argparse

from ..errors import ShapeError
from ..studies import field_runs as study
from .common import (Parser, add_device_options, add_output_options, add_seed_option, finite_float, float_list,
                     int_list, integer, positive_float, positive_int, reporting)

def lattice_arg(text: str) -> tuple[int, ...]:
    from ..field.lattice import parse_lattice
    try:
        return parse_lattice(text)
    except ShapeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("field", help="scalar-field (Gaussian) RBMs: lattice field theory targets, UV regularisation",
                       description="Scalar-field RBMs: training on free "
                                   "lattice fields and data correlation matrices, spectra, UV cutoffs by mu^2 and N_h, "
                                   "learning flow, KL divergences, the Gaussian-Bernoulli RBM.  See docs/field-theory.md.")
    fs = p.add_subparsers(dest="field_command", metavar="ANALYSIS", parser_class=Parser, required=True)

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
    add_device_options(q)
    q.set_defaults(func=reporting(study.train))

    q = fs.add_parser("action", help="action-density histograms: RBM samples vs exact samples (Fig. 5)")
    common(q, "action")
    q.add_argument("--model", required=True, help="model.npz written by 'boltzlab field train'")
    q.add_argument("--samples", type=positive_int, default=10_000, help="configurations of each kind (default 10000)")
    q.add_argument("--steps", type=positive_int, default=200, help="block-Gibbs sweeps of the RBM chains (default 200)")
    q.set_defaults(func=reporting(study.action))

    q = fs.add_parser("uv", help="UV regularisation by mu^2 and by N_h (Figs. 10-12)")
    common(q, "uv")
    lattice(q)
    training(q, epochs=40_000)
    q.add_argument("--mu2-list", type=float_list, default=[6.0], help="mu^2 values at N_h = N_v (default 6)")
    q.add_argument("--hidden-list", type=int_list, default=[9, 8, 7, 6], help="N_h values at --mu2 (default 9,8,7,6)")
    q.set_defaults(func=reporting(study.uv))

    q = fs.add_parser("flow", help="continuous-time learning equations (eq. 26-27, 81) laid over training (Fig. 6)")
    common(q, "flow")
    lattice(q)
    training(q, epochs=20_000)
    q.add_argument("--hidden", type=positive_int, default=None, help="N_h (default N_v)")
    q.add_argument("--learn-mu2", action="store_true", help="learn mu^2 too (eq. 22)")
    q.set_defaults(func=reporting(study.flow), decay=1.0)

    q = fs.add_parser("two-node", help="N_v = 2: eq. (53)-(57), fixed points (59-62), relaxation rates (67) (Fig. 2)")
    common(q, "two-node")
    q.set_defaults(func=reporting(study.two_node))

    q = fs.add_parser("kl", help="analytic KL (eq. B8) vs the numerically evaluated KL of trained RBMs")
    common(q, "kl")
    lattice(q)
    training(q, epochs=40_000)
    q.add_argument("--hidden-list", type=int_list, default=[10, 9, 8, 7, 6], help="N_h values (default 10,9,8,7,6)")
    q.add_argument("--mc-samples", type=positive_int, default=200_000, help="Monte Carlo samples (default 200000)")
    q.set_defaults(func=reporting(study.kl))

    def data_opts(q: argparse.ArgumentParser) -> None:
        q.add_argument("--data", default=None, help="data set (default: the MNIST test set from $BOLTZLAB_MNIST, "
                                                    "else ../shared/data/mnist beside the project)")
        q.add_argument("--mu2", type=positive_float, default=100.0, help="RBM mass parameter mu^2 (default 100)")

    q = fs.add_parser("mnist-spectrum", help="correlation spectrum of a data set and the modes below mu^2 (Fig. 13)")
    common(q, "mnist-spectrum")
    data_opts(q)
    q.set_defaults(func=reporting(study.mnist_spectrum))

    q = fs.add_parser("kl-hidden", help="data-averaged KL (eq. 86) vs N_h at fixed mu^2 (Fig. 17)")
    common(q, "kl-hidden")
    data_opts(q)
    q.add_argument("--hidden-list", type=int_list, default=[8, 16, 32, 64, 100, 200, 289, 400, 784],
                   help="N_h values of the KL scan (default 8,16,32,64,100,200,289,400,784)")
    q.add_argument("--epochs", type=integer(0), default=0, help="also train from random for this many exact-gradient "
                                                         "epochs (default 0: fixed points only; on MNIST the "
                                                         "stable rate is ~6e-6, so reaching them takes ~1e6 epochs)")
    q.add_argument("--lr", type=positive_float, default=None,
                   help="learning rate of that training (default: half of bl.field.stable_learning_rate)")
    q.set_defaults(func=reporting(study.kl_hidden))

    q = fs.add_parser("regenerate", help="images passed forward and back through RBMs with N_h hidden nodes (Fig. 16)")
    common(q, "regenerate")
    data_opts(q)
    q.add_argument("--hidden-list", type=int_list, default=[8, 16, 32, 64, 128, 289, 784],
                   help="N_h values whose regenerated images are shown (default 8,16,32,64,128,289,784)")
    q.add_argument("--n", type=positive_int, default=8, help="images (default 8)")
    q.set_defaults(func=reporting(study.regenerate))

    q = fs.add_parser("bernoulli", help="Gaussian-Bernoulli RBM (h = +-1): sampling, effective action, quartic "
                                        "couplings, training (Sec. VII)")
    common(q, "bernoulli")
    q.add_argument("--hidden", type=positive_int, default=3, help="N_h of the N_v = 1 system (default 3, <= 16)")
    q.add_argument("--mu2", type=positive_float, default=2.0, help="RBM mass parameter mu^2 (default 2)")
    q.add_argument("--samples", type=positive_int, default=100_000, help="samples of the checks (default 100000)")
    q.add_argument("--epochs", type=positive_int, default=500, help="training epochs of the check (default 500)")
    q.set_defaults(func=reporting(study.bernoulli))
