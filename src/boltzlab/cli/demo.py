"""`boltzlab demo`: an RBM learns the 2D Ising model, judged by exact log-likelihoods.

The study itself is :mod:`boltzlab.studies.demo`; this module only parses the options.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import CheckpointError
from .common import add_output_options, emit_json, say


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="train an RBM on the embedded 2D Ising data and report (about a minute)",
                       description=__doc__.splitlines()[0])
    add_output_options(p, "demo-output")
    p.add_argument("--quick", action="store_true", help="a few epochs only (smoke test)")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if (out / "checkpoint.pt").exists() and not (out / "report.json").exists():
        raise CheckpointError(f"{out} holds a training run, not a demo; choose another --out")
    from ..rundir import RunLock
    from ..studies.demo import run_demo
    with RunLock(out):
        report = run_demo(out, quick=args.quick, progress=not args.no_progress)
    if args.json:
        emit_json(report)
    else:
        print((out / "report.md").read_text())
        say(f"wrote {out}/report.md, report.json and {len(report['plots'])} plots")
    return 0
