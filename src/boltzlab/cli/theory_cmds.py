"""`boltzlab theory ...`: checks of the theory of energy-based models on a data set (docs/theory.md); the
analyses are in :mod:`boltzlab.studies.theory_runs`.

* ``theory report``: first-order (perturbative) Boltzmann machine against the exact maximum-likelihood one,
  exact against first-order marginals, the RBM perturbation equations, and the error of the first-order
  solution against the coupling strength (it scales as the next order); JSON + PNG into ``--out``.
* ``theory zoom``: the zoom-in trick (Definition 36) as a data transform, with the statistics of Lemma 37.
* ``theory rbm-to-bm``: the Boltzmann machine an RBM reduces to (Lemma 31, Appendix A), saved as a model,
  with the exact comparison of the two marginals when they can be enumerated.
"""

from __future__ import annotations

import argparse

from ..studies import theory_runs as study
from ..studies.theory_runs import REPORT_JSON
from .common import (Parser, add_output_options, add_seed_option, file_with_suffix, finite_float, positive_float,
                     positive_int, reporting, row_range)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("theory", help="numerical checks of the theory of energy-based models on a data set",
                       description="Perturbative solutions of Boltzmann machines and RBMs, the zoom-in trick "
                                   "and the effective BM of an RBM (see docs/theory.md).")
    tsub = p.add_subparsers(dest="theory_command", metavar="SUBCOMMAND", parser_class=Parser, required=True)

    r = tsub.add_parser("report", help="perturbative vs trained BM, marginals, error vs coupling strength",
                        description="On binary data with at most 16 units (select them with --units or "
                                    "--select): the first-order solution of the BM (Theorem 27, Cor. 28/30) "
                                    "against exact maximum likelihood, exact vs first-order marginals, the "
                                    "maximum-entropy residual (eq. 5), the least-squares RBM of Theorem 32 and "
                                    "the error of the first-order solution as the correlations are scaled "
                                    "down (it should fall as the square of the coupling). Writes "
                                    f"OUT/{REPORT_JSON} and PNG plots.")
    add_data_arguments(r)
    r.add_argument("--zoom-delta", type=finite_float, default=None,
                   help="apply the zoom-in trick first with this delta in [0, 0.5) (Definition 36)")
    r.add_argument("--zoom-copies", type=positive_int, default=1, help="copies per unit for the zoom-in (default 1)")
    r.add_argument("--hidden", type=positive_int, default=2,
                   help="hidden units of the perturbative RBM (Theorem 32, default 2)")
    r.add_argument("--points", type=positive_int, default=9, help="points of each scaling scan (default 9, >= 3)")
    r.add_argument("--trained", default=None,
                   help="a BM checkpoint (from 'boltzlab train --model bm') to compare as well")
    add_output_options(r, "runs/theory")
    r.set_defaults(func=reporting(study.report))

    z = tsub.add_parser("zoom", help="the zoom-in trick as a data transform (Definition 36)",
                        description="Replace every binary unit by COPIES noisy copies that flip with "
                                    "probability DELTA; writes the new data (.npy) and prints the statistics "
                                    "of Lemma 37 (predicted and measured means).")
    add_data_arguments(z)
    z.add_argument("--delta", type=finite_float, required=True, help="flip probability in [0, 0.5)")
    z.add_argument("--copies", type=positive_int, default=1, help="copies per unit (default 1)")
    z.add_argument("--npy", type=file_with_suffix(".npy"), required=True, help="output .npy file of the zoomed data")
    z.add_argument("--overwrite", action="store_true", help="replace the .npy file if it exists")
    z.add_argument("--json", action="store_true", help="print the numbers as one JSON object on stdout")
    z.set_defaults(func=reporting(study.zoom))

    e = tsub.add_parser("rbm-to-bm", help="the Boltzmann machine an RBM reduces to (Lemma 31)",
                        description="W_eff = (beta/4) U U^T, b_eff = b - U (h_hat - 1/2 - beta c/4), centres "
                                    "v_hat (Lemma 31, Appendix A). Saves the BM as a model file and, for "
                                    "small models, compares the exact marginals.")
    e.add_argument("model", help="a binary RBM (.pt checkpoint or .npz)")
    e.add_argument("--beta", type=positive_float, default=1.0, help="inverse temperature (default 1)")
    e.add_argument("--save", type=file_with_suffix(".pt"), required=True, help="model file (.pt) for the Boltzmann machine")
    e.add_argument("--overwrite", action="store_true", help="replace the model file if it exists")
    e.add_argument("--json", action="store_true", help="print the numbers as one JSON object on stdout")
    e.set_defaults(func=reporting(study.rbm_to_bm))


def add_data_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True,
                   help="binary data: a file (.npy, .npz, .csv, IDX), an MNIST directory or 'ising:...'")
    p.add_argument("--rows", type=row_range, default=None, help="use rows START:STOP of the data")
    p.add_argument("--binarize", choices=["threshold", "stochastic"], default=None,
                   help="binarise [0, 1] data (default: threshold when the data are not binary)")
    p.add_argument("--units", default=None,
                   help="columns to use: 'START:STOP' or a comma list, e.g. '0:12' or '3,5,9'")
    p.add_argument("--select", type=positive_int, default=None,
                   help="use the N most variable columns (default 12 when the data have more than 16)")
    add_seed_option(p, "seed of stochastic binarisation and of the zoom-in, >= 0 (default 0)")


