"""Figure tables of the docs, generated from the committed results of ``boltzlab reproduce``.

Each ``docs/results/NAME.json`` holds the figures of the last full-tier run of entry NAME (written by
``--collect``).  A Markdown file marks where the table of an entry goes::

    <!-- figures: NAME -->
    (generated; do not edit)
    <!-- /figures -->

Usage (from the project root)::

    python tools/doc_tables.py --collect runs/reproduce   # copy each entry's results.json into docs/results/
    python tools/doc_tables.py                            # rewrite every marked table from docs/results/
    python tools/doc_tables.py --check                    # exit 1 when a table differs from docs/results/
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results"
DOCUMENTS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "benchmarks" / "RESULTS.md", ROOT / "README.md"]
BLOCK = re.compile(r"(<!-- figures: (?P<name>[a-z0-9-]+) -->\n)(?P<body>.*?)(<!-- /figures -->)", re.S)
KEEP = ("entry", "summary", "tier", "ok", "figures")


def _fmt(x: object) -> str:
    if x is None:
        return "nan"
    if isinstance(x, float):
        return f"{x:.6g}"
    return str(x)


def _cell(x: object) -> str:
    return _fmt(x).replace("|", "\\|")


def table(result: dict) -> str:
    """The Markdown table of one entry's figures, headed by the command that produced them."""
    tier = "" if result["tier"] == "full" else " --quick"
    lines = [f"Generated from `docs/results/{result['entry']}.json`, written by "
             f"`boltzlab reproduce {result['entry']}{tier}` ({'all figures hold' if result['ok'] else 'FAILED'}).",
             "", "| figure | value | reference | tolerance | holds | source of the reference |",
             "| --- | --- | --- | --- | --- | --- |"]
    for f in result["figures"]:
        tol = f"{_fmt(f['tolerance'])} ({f['kind']}" + (f", stderr {_fmt(f['stderr'])})" if "stderr" in f else ")")
        lines.append(f"| {_cell(f['name'])} | {_cell(f['value'])} | {_cell(f['reference'])} | {tol} | "
                     f"{'yes' if f['ok'] else '**no**'} | {_cell(f['source'])} |")
    return "\n".join(lines) + "\n"


def load_results() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"))}


def render(text: str, results: dict[str, dict], where: str = "") -> str:
    """``text`` with every marked block replaced by the table of its entry."""
    def sub(m: re.Match) -> str:
        name = m.group("name")
        if name not in results:
            raise SystemExit(f"{where}: no docs/results/{name}.json for the table of {name!r}")
        return m.group(1) + table(results[name]) + m.group(4)
    return BLOCK.sub(sub, text)


def stale_documents() -> list[str]:
    """The documents whose marked tables differ from what docs/results/ generates."""
    results = load_results()
    return [str(p.relative_to(ROOT)) for p in DOCUMENTS if p.exists()
            and render(p.read_text(), results, str(p)) != p.read_text()]


def collect(runs: Path) -> list[str]:
    """Copy the figures of every full-tier ``runs/NAME/results.json`` into docs/results/NAME.json."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    done = []
    for p in sorted(Path(runs).glob("*/results.json")):
        res = json.loads(p.read_text())
        if res.get("tier") != "full" or "figures" not in res:
            continue
        (RESULTS / f"{res['entry']}.json").write_text(json.dumps({k: res[k] for k in KEEP}, indent=1) + "\n")
        done.append(res["entry"])
    return done


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 when a table differs from docs/results/")
    ap.add_argument("--collect", metavar="RUNS", help="copy full-tier results.json files from RUNS/NAME/")
    args = ap.parse_args(argv)
    if args.collect:
        print("collected:", ", ".join(collect(Path(args.collect))) or "nothing (no full-tier results)")
    if args.check:
        stale = stale_documents()
        for s in stale:
            print(f"{s}: a figure table differs from docs/results/ (run python tools/doc_tables.py)")
        return 1 if stale else 0
    results = load_results()
    for p in DOCUMENTS:
        if p.exists():
            new = render(p.read_text(), results, str(p))
            if new != p.read_text():
                p.write_text(new)
                print(f"rewrote the figure tables of {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
