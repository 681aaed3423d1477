"""`boltzlab thermo ...`: stochastic thermodynamics of RBMs (docs/thermodynamics.md); the analyses are in
:mod:`boltzlab.studies.thermo_runs`.

* ``thermo xft MODEL --t1 1 --t2 2``: the heat-exchange fluctuation theorem on an ensemble of chains.
* ``thermo work MODEL``: work protocols (inverse-temperature ramps, interpolation between two models, the
  parameters of a training run read from its checkpoints, the AIS path), with Jarzynski and Crooks checks.
* ``thermo curves MODEL``: free energy, energy, entropy and heat capacity against temperature.
* ``thermo cd MODEL_OR_RUN --data ...``: contrastive divergence as a relaxation process, exactly.

Each writes PNG plots and a JSON of its numbers into ``--out``; ``--json`` prints the numbers.
"""

from __future__ import annotations

import argparse

from ..studies import thermo_runs as study
from ..studies.thermo_runs import CD_JSON, CURVES_JSON, WORK_JSON, XFT_JSON
from .common import Parser, add_run_options, finite_float, non_negative_int, positive_float, positive_int, reporting
from .model_cmds import add_data_options


def fraction_arg(text: str) -> float | str:
    if text == "auto":
        return text
    v = finite_float(text)
    if not 0 < v <= 1:
        raise argparse.ArgumentTypeError(f"must be 'auto' or a number in (0, 1], got {text}")
    return v


def _kernel_options(p: argparse.ArgumentParser, default_fraction: str | float) -> None:
    p.add_argument("--kernel", choices=["palindromic", "random-scan", "plain"], default="palindromic",
                   help="transition kernel on (v, h): palindromic h|v,v|h,h|v (default, reversible), random-scan "
                        "(reversible), plain h|v then v|h (NOT reversible; for demonstrations)")
    p.add_argument("--fraction", type=fraction_arg, default=default_fraction,
                   help=f"fraction of a layer's units redrawn per move (default {default_fraction})")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("thermo", help="stochastic thermodynamics: heat exchange, work, equilibrium curves, CD",
                       description="Fluctuation theorems, work and heat of RBMs "
                                   "(see docs/thermodynamics.md).")
    tsub = p.add_subparsers(dest="thermo_command", metavar="SUBCOMMAND", parser_class=Parser, required=True)

    x = tsub.add_parser("xft", help="heat-exchange fluctuation theorem P(Q)/P(-Q) = exp((1/T1 - 1/T2) Q)",
                        description="Equilibrate an ensemble at T1 (block-Gibbs sweeps from random starts or "
                                    "data), run K steps of a reversible kernel at T2, record Q = E(s') - E(s) on "
                                    "the joint state, and fit the slope of ln P(Q)/P(-Q) against Q (expected "
                                    "1/T1 - 1/T2). A control run at T2 = T1 (slope 0) checks equilibration. "
                                    f"Writes OUT/{XFT_JSON}, OUT/xft.png and OUT/equilibration.png.")
    x.add_argument("model", help="an RBM: boltzlab checkpoint (.pt) or .npz")
    x.add_argument("--t1", type=positive_float, default=1.0, help="temperature of the initial ensemble (default 1)")
    x.add_argument("--t2", type=positive_float, nargs="+", default=[2.0],
                   help="bath temperature(s) (default 2); several values share the equilibrated states")
    x.add_argument("--chains", type=positive_int, default=100_000, help="ensemble size (default 100,000)")
    x.add_argument("--equilibrate", type=non_negative_int, default=300,
                   help="block-Gibbs sweeps at T1 before the heat exchange (default 300, as in the paper)")
    x.add_argument("--steps", type=positive_int, default=1, help="K, steps of the process at T2 (default 1)")
    _kernel_options(x, "auto")
    x.add_argument("--init", choices=["random", "data"], default="random",
                   help="initial states: uniform random (default) or rows of --data")
    x.add_argument("--data", default=None, help="data for --init data (a file, an MNIST directory, ...)")
    add_data_options(x)
    x.add_argument("--batch-size", type=positive_int, default=None,
                   help="chains per batch (memory; default 16,384 on CPU, 262,144 on CUDA)")
    x.add_argument("--no-control", action="store_true", help="skip the control run at T2 = T1")
    add_run_options(x, "runs/thermo/xft")
    x.set_defaults(func=reporting(study.xft))

    w = tsub.add_parser("work", help="work protocols with Jarzynski and Crooks checks",
                        description="Run a protocol lambda_0 -> lambda_K forward from p_{lambda_0} and backward from "
                                    "p_{lambda_K}, with the work w = sum_i beta_{i+1} E(s_i; theta_{i+1}) - beta_i "
                                    "E(s_i; theta_i) (reduced units); check Jarzynski <exp(-w)> = exp(-Delta f), "
                                    "Crooks P_F(w)/P_R(-w) = exp(w - Delta f) and the second law, with Delta f exact "
                                    "or from AIS. Protocols: beta-ramp (one MODEL), interpolate (MODEL_A MODEL_B), "
                                    "checkpoints (a training-run directory with kept checkpoints, or several "
                                    "checkpoint files), ais (the AIS path of one MODEL: forward AIS against reverse "
                                    f"AIS). Writes OUT/{WORK_JSON} and OUT/work.png.")
    w.add_argument("models", nargs="+", help="model file(s) or a training-run directory (see --protocol)")
    w.add_argument("--protocol", choices=["beta-ramp", "interpolate", "checkpoints", "ais"], default="beta-ramp",
                   help="the protocol (default beta-ramp)")
    w.add_argument("--beta-from", type=finite_float, default=0.5, help="beta-ramp: first inverse temperature")
    w.add_argument("--beta-to", type=finite_float, default=1.0, help="beta-ramp: last inverse temperature")
    w.add_argument("--beta", type=positive_float, default=1.0,
                   help="inverse temperature of interpolate and checkpoints protocols (default 1)")
    w.add_argument("--points", type=positive_int, default=None,
                   help="points lambda_0..lambda_K of beta-ramp and interpolate (default 11); for ais the number of "
                        "intermediate distributions (default 1000)")
    w.add_argument("--chains", type=positive_int, default=10_000, help="runs in each direction (default 10,000)")
    w.add_argument("--sweeps", type=non_negative_int, default=1, help="kernel steps after each switch (default 1)")
    _kernel_options(w, 1.0)
    w.add_argument("--init", choices=["auto", "exact", "equilibrate"], default="auto",
                   help="start states: exact samples (small models) or Gibbs chains (default auto)")
    w.add_argument("--equilibrate", type=non_negative_int, default=1000,
                   help="sweeps of the start chains with --init equilibrate (default 1000)")
    w.add_argument("--delta-f", choices=["auto", "exact", "ais"], default="auto",
                   help="reference Delta f: exact enumeration when possible, else AIS (default auto)")
    w.add_argument("--ais-runs", type=positive_int, default=None, help="AIS runs for Delta f (default: automatic)")
    w.add_argument("--ais-betas", type=positive_int, default=10_000, help="AIS intermediate distributions")
    w.add_argument("--ais-base", choices=["model", "uniform"], default="model", help="base of the ais protocol")
    w.add_argument("--burn-in", type=non_negative_int, default=1000,
                   help="ais protocol: sweeps of the reverse-AIS start chains (default 1000)")
    w.add_argument("--batch-size", type=positive_int, default=None, help="chains per batch (memory)")
    add_run_options(w, "runs/thermo/work")
    w.set_defaults(func=reporting(study.work))

    c = tsub.add_parser("curves", help="free energy, energy, entropy and heat capacity against temperature",
                        description="F = -ln Z / beta, <E>, S = ln Z + beta <E> and C = beta^2 Var(E) on a grid of "
                                    "temperatures: exact for small models (autograd through the enumerated free "
                                    "energy), else from one AIS pass along the inverse-temperature path with "
                                    f"bootstrap error bars. Writes OUT/{CURVES_JSON} and OUT/curves.png.")
    c.add_argument("model", help="an RBM: boltzlab checkpoint (.pt) or .npz")
    c.add_argument("--t-min", type=positive_float, default=0.5, help="lowest temperature (default 0.5)")
    c.add_argument("--t-max", type=positive_float, default=3.0, help="highest temperature (default 3)")
    c.add_argument("--points", type=positive_int, default=16, help="temperatures on the grid (default 16)")
    c.add_argument("--method", choices=["auto", "exact", "ais", "both"], default="auto",
                   help="exact when the smaller layer has <= 2^20 states, else ais (default auto)")
    c.add_argument("--ais-runs", type=positive_int, default=500, help="AIS runs (default 500)")
    c.add_argument("--ais-steps", type=positive_int, default=2000, help="AIS steps from beta=0 (default 2000)")
    add_run_options(c, "runs/thermo/curves")
    c.set_defaults(func=reporting(study.curves))

    d = tsub.add_parser("cd", help="contrastive divergence as a relaxation process (exact, small models)",
                        description="CD_n = KL(p_D||p) - KL(p_n||p) = -beta(<E>_n - <E>_D) + (S_n - S_D): the entropy "
                                    "produced by n Gibbs steps from the data (section 4.2), exactly by enumeration, "
                                    "for one model or along a training run (a directory with kept checkpoints). "
                                    f"Writes OUT/{CD_JSON} and OUT/cd.png.")
    d.add_argument("model", help="an RBM file, or a training-run directory with checkpoints/step_*.pt")
    d.add_argument("--data", required=True, help="the training data (a file, an MNIST directory, 'ising:...')")
    add_data_options(d)
    d.add_argument("--steps", type=non_negative_int, nargs="+", default=[1, 5, 25],
                   help="numbers of Gibbs steps n (default 1 5 25)")
    d.add_argument("--kernel", choices=["plain", "palindromic", "random-scan", "visible"], default="plain",
                   help="the Gibbs kernel of CD (default plain h|v then v|h, as CD-k runs it)")
    d.add_argument("--beta", type=positive_float, default=1.0, help="inverse temperature (default 1)")
    add_run_options(d, "runs/thermo/cd")
    d.set_defaults(func=reporting(study.cd))


