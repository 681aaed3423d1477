"""`boltzlab reproduce NAME | --all | --list`: argument parsing for the entries of :mod:`boltzlab.studies`.

Exit code 0 when every declared figure holds, 1 when one does not, 2 for bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import ConfigError, require
from .common import emit_json, say


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reproduce", help="reproduce a figure or check of the source papers",
                       description="Run one named reproduction (or --all); every entry checks its figures "
                                   "against their references and exits 1 when one fails. --list shows them.")
    p.add_argument("name", nargs="?", help="entry name (see --list)")
    p.add_argument("--list", action="store_true", help="list the entries: name, then what it reproduces")
    p.add_argument("--all", action="store_true", help="run every entry and print one summary table")
    p.add_argument("--out", default=None,
                   help="output directory (default runs/reproduce/NAME; with --all, runs/reproduce)")
    p.add_argument("--quick", action="store_true", help="the quick tier: smaller sizes, tolerances valid at them")
    p.add_argument("--cache", default=None,
                   help="directory of models trained by entries and reused by later ones (default runs/cache)")
    p.add_argument("--mnist", default=None, help="directory of the MNIST test set (IDX files); default: "
                                                 "$BOLTZLAB_MNIST, then ../shared/data/mnist beside the project")
    p.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_reproduce)


def cmd_reproduce(args: argparse.Namespace) -> int:
    from ..studies import figure_table, registry, run_all, run_entry, summary_table
    entries = registry.load_entries()
    if args.list:
        if args.json:
            emit_json({name: e.summary for name, e in sorted(entries.items())})
        else:
            for name, e in sorted(entries.items()):
                print(f"{name:28s} {e.summary}")
        return 0
    require(args.all != bool(args.name), "give an entry NAME, --all or --list (see 'boltzlab reproduce --list')")
    if args.name and args.name not in entries:
        raise ConfigError(f"no reproduction named {args.name!r}; see 'boltzlab reproduce --list'")
    require(args.mnist is None or Path(args.mnist).is_dir(), f"--mnist {args.mnist}: no such directory")
    cache = Path(args.cache) if args.cache else None
    data = {"mnist": args.mnist}
    table_out = sys.stderr if args.json else sys.stdout
    if args.all:
        results = run_all(Path(args.out or "runs/reproduce"), args.quick, not args.no_progress, cache, data)
        if args.json:
            emit_json([{k: r[k] for k in ("entry", "tier", "ok", "figures", "seconds") if k in r}
                       for r in results])
        for r in results:
            if not r["ok"]:
                print(figure_table(r), file=table_out)
        print(summary_table(results), file=table_out)
        return 0 if all(r["ok"] for r in results) else 1
    out = Path(args.out or f"runs/reproduce/{args.name}")
    result = run_entry(args.name, out, args.quick, not args.no_progress, cache, data)
    if args.json:
        emit_json(result)
    print(figure_table(result), file=table_out)
    say(f"wrote {out}/results.json and its plots")
    return 0 if result["ok"] else 1
