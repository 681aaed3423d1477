"""`boltzlab reproduce NAME`: one entry per figure or check of the source papers.

Entries register themselves with :func:`entry`; each writes PNG plots and a JSON of its numbers into
``--out`` and returns that dictionary.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable

from ..errors import ConfigError
from ..checkpoint import atomic_write_json
from .common import emit_json, say

ENTRIES: dict[str, tuple[str, Callable[[Path, bool], dict[str, Any]]]] = {}


def entry(name: str, summary: str) -> Callable:
    def deco(fn: Callable[[Path, bool], dict[str, Any]]) -> Callable:
        ENTRIES[name] = (summary, fn)
        return fn
    return deco


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reproduce", help="reproduce a figure or check of the source papers",
                       description="Run one named reproduction; --list shows them all.")
    p.add_argument("name", nargs="?", help="entry name (see --list)")
    p.add_argument("--list", action="store_true", help="list the entries")
    p.add_argument("--out", default=None, help="output directory (default runs/reproduce/NAME)")
    p.add_argument("--quick", action="store_true", help="a smaller version for smoke tests")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_reproduce)


def cmd_reproduce(args: argparse.Namespace) -> int:
    from . import repro_reciprocal, repro_theory, repro_thermo, reproductions, repro_field, repro_vmc, repro_toolbox, repro_spins  # noqa: F401  (registers the entries)
    if args.list or not args.name:
        if args.json:
            emit_json({name: s for name, (s, _) in sorted(ENTRIES.items())})
        else:
            for name, (s, _) in sorted(ENTRIES.items()):
                print(f"{name:28s} {s}")
        return 0
    if args.name not in ENTRIES:
        raise ConfigError(f"no reproduction named {args.name!r}; see 'boltzlab reproduce --list'")
    out = Path(args.out or f"runs/reproduce/{args.name}")
    out.mkdir(parents=True, exist_ok=True)
    result = ENTRIES[args.name][1](out, args.quick)
    atomic_write_json(out / "results.json", result)
    if args.json:
        emit_json(result)
    else:
        say(f"wrote {out}/results.json and its plots")
    return 0
