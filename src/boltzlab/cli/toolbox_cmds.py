"""`boltzlab ptt | trajectory-ll | pretrain | pl`: the practitioner's toolbox (docs/trajectory-tempering.md).

* ``ptt RUN``: parallel trajectory tempering over the models a training run saved (``train --save-every N``),
  with automatic choice of the replicas for a target exchange acceptance; swap-rate plot, samples, JSON.
* ``trajectory-ll RUN --data D``: ln Z and the log-likelihood at every saved model by AIS along the
  trajectory, against exact enumeration where the model is small enough.
* ``pretrain --data D``: low-rank pretraining (d <= 4 principal directions, exact grid partition function),
  then training from it and from a random start with the same settings; log-likelihood curves.
* ``pl MODEL --data D``: the pseudo-log-likelihood of data under a model.

Each writes PNG plots and a JSON of its numbers into ``--out``; ``--json`` prints the numbers.
"""

from __future__ import annotations

import argparse

from ..studies import toolbox_runs as study
from .common import add_run_options, integer, number, positive_float, positive_int, reporting
from .model_cmds import add_data_options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ptt", help="parallel trajectory tempering over the models saved along training",
                       description="Replica exchange between models saved along training (train --save-every N): "
                                   "the saved models to use are chosen so that neighbouring exchanges accept at "
                                   "least --target; writes OUT/ptt.json, OUT/swap_rates.png and OUT/samples.npz.")
    p.add_argument("run", help="a training run directory or its checkpoint.pt (trained with --save-every N)")
    p.add_argument("--chains", type=positive_int, default=500, help="chains per replica (default 500)")
    p.add_argument("--steps", type=positive_int, default=1000, help="tempering steps (default 1000)")
    p.add_argument("--sweeps", type=positive_int, default=1, help="Gibbs sweeps per replica per step (default 1)")
    p.add_argument("--target", type=number(0.001, 0.999), default=0.3, help="target exchange acceptance (default 0.3)")
    p.add_argument("--pilot-steps", type=positive_int, default=100, help="steps of the selection pilot (default 100)")
    p.add_argument("--all-models", action="store_true", help="use every saved model (no selection)")
    add_run_options(p, "runs/ptt")
    p.set_defaults(func=reporting(study.ptt))

    t = sub.add_parser("trajectory-ll", help="log-likelihood along training by AIS along the trajectory",
                       description="ln Z_t and the mean log-likelihood of --data at every model a run saved, by "
                                   "annealing from the independent model through the saved models in order "
                                   "(--between interpolation steps per pair); compared with exact enumeration "
                                   "where tractable. Writes OUT/trajectory_ll.json and OUT/log_likelihood.png.")
    t.add_argument("run", help="a training run directory or its checkpoint.pt (trained with --save-every N)")
    t.add_argument("--data", help="data whose log-likelihood is tracked (e.g. the training data)")
    t.add_argument("--test-data", help="held-out data, tracked too")
    add_data_options(t)
    t.add_argument("--chains", type=positive_int, default=1000, help="AIS chains (default 1000)")
    t.add_argument("--between", type=positive_int, default=100,
                   help="interpolation steps between successive saved models (default 100)")
    t.add_argument("--exact", choices=["auto", "no"], default="auto",
                   help="also compute exact ln Z where the smaller layer has <= 2^20 states (default auto)")
    add_run_options(t, "runs/trajectory-ll")
    t.set_defaults(func=reporting(study.trajectory_ll))

    r = sub.add_parser("pretrain", help="low-rank pretraining, compared with a random start",
                       description="Fit a model of the data's top --dim principal directions whose partition "
                                   "function is computed on a grid, convert it to a binary RBM, then train from it "
                                   "and from a random start with the same settings (PCD); exact log-likelihood "
                                   "per epoch when the hidden layer has <= 2^20 states. Writes OUT/pretrain.json, "
                                   "OUT/log_likelihood.png, OUT/lowrank_density.png and OUT/lowrank_init.pt.")
    r.add_argument("--data", required=True, help="binary data: a file, an MNIST directory or 'ising'")
    add_data_options(r)
    r.add_argument("--test-fraction", type=number(0.001, 0.999), default=0.2, help="held-out fraction (default 0.2)")
    r.add_argument("--dim", type=integer(1, 4), default=2, help="intrinsic dimension d, 1..4 (default 2)")
    r.add_argument("--hidden", type=positive_int, default=16, help="hidden units = hyperplane features (default 16)")
    r.add_argument("--grid-points", type=positive_int, default=None, help="grid points per dimension")
    r.add_argument("--epochs", type=integer(0), default=10, help="training epochs of the comparison (default 10; 0: none)")
    r.add_argument("--lr", type=positive_float, default=0.01, help="learning rate (default 0.01)")
    r.add_argument("--k", type=positive_int, default=10, help="Gibbs sweeps per update (default 10)")
    r.add_argument("--batch-size", type=positive_int, default=100, help="minibatch size (default 100)")
    r.add_argument("--method", choices=["pcd", "cd", "rdm"], default="pcd", help="chain initialisation (default pcd)")
    r.add_argument("--random-chains", action="store_true",
                   help="start the persistent chains of the low-rank run at random states (default: exact samples "
                        "of the low-rank model, as fastrbm does)")
    r.add_argument("--no-bias-base", action="store_true",
                   help="fastrbm's bias-free base measure (no per-unit fields; see the docs)")
    add_run_options(r, "runs/pretrain")
    r.set_defaults(func=reporting(study.pretrain))

    q = sub.add_parser("pl", help="pseudo-log-likelihood of data under a model",
                       description="sum_i ln p(v_i | v_-i) averaged over --data, for any discrete visible units "
                                   "(binary, spin, Potts). Writes OUT/pl.json.")
    q.add_argument("model", help="a model: boltzlab checkpoint (.pt), .npz, or a training run directory")
    q.add_argument("--data", required=True, help="data (a file, an MNIST directory or 'ising')")
    add_data_options(q)
    q.add_argument("--sites", default="all", help="'all' (exact sum) or an integer: random sites per sample")
    add_run_options(q, "runs/pl")
    q.set_defaults(func=reporting(study.pl))
