"""Figure tables of the docs, generated from the committed results of ``boltzlab reproduce``.

Each ``docs/results/NAME.json`` holds the figures of the last full-tier run of entry NAME (written by
``--collect``).  A Markdown file marks where the table of an entry goes::

    <!-- figures: NAME -->
    (generated; do not edit)
    <!-- /figures -->

Usage (from the project root)::

    python tools/doc_tables.py --collect runs/reproduce   # copy each entry's results.json into docs/results/
    python tools/doc_tables.py                            # rewrite every marked table from docs/results/
    python tools/doc_tables.py --check                    # exit 1 when a table differs from docs/results/,
                                                          # or when a figure names no command (below)

A figure is a number with two or more decimals or a mantissa and an exponent (0.42, 3.05, 2.7e-15) in a table
or a paragraph outside code; settings (lr 0.1, 1e-3 steps, 50%) are not caught.  Every table or paragraph (a
list item counts as one) holding a figure must name the command that produced it: a backquoted ``boltzlab
...``, ``python ...``, ``pytest ...``, ``make ...``, a script ``benchmarks/x.py`` or test ``tests/test_x.py``
or ``test_name``, or a command line in a code block, or a generated table, in the block itself, within
``BEFORE`` lines above it or ``AFTER`` lines below it, under the same heading.
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
FIGURE = re.compile(r"(?<![\w.^/])[-+]?\d+\.\d{2,}(?:e[-+]?\d+)?(?![\w.])|(?<![\w.^/])\d+\.\d+e[-+]?\d+(?!\w)")
_RUN = r"(?:[A-Z_]+=\S+ )*(?:\.venv(?:-bench)?/bin/)?(?:boltzlab|python3?|pytest|make|torchrun|taskset)\b"
COMMAND = re.compile(r"`" + _RUN + r"[^`]*`|`(?:benchmarks|tests|tools|examples)/[\w/.-]+\.py[^`]*`|`test_\w+"
                     r"[^`]*`|<!-- figures: ")
CODE_COMMAND = re.compile(r"^\s*" + _RUN)
BEFORE, AFTER = 15, 5


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


def _blocks(text: str) -> list[dict]:
    """Tables, paragraphs (each list item its own) and code blocks, with their heading index, line span, whether
    they name a command and the figures they hold."""
    blocks: list[dict] = []
    cur: dict | None = None
    fenced, section = False, 0

    def close() -> None:
        nonlocal cur
        if cur is not None:
            body = "\n".join(cur.pop("lines"))
            if cur["kind"] != "code":
                cur["command"] = bool(COMMAND.search(body))
                cur["figures"] = FIGURE.findall(re.sub(r"`[^`]*`|<!--.*?-->", "", body, flags=re.S))
            blocks.append(cur)
            cur = None

    for i, line in enumerate(text.split("\n")):
        s = line.strip()
        if s.startswith("```"):
            if not fenced:
                close()
                cur = {"kind": "code", "start": i, "end": i, "section": section, "command": False, "figures": [],
                       "lines": []}
            else:
                cur["end"] = i
                close()
            fenced = not fenced
            continue
        if fenced or (line.startswith("    ") and s and (cur is None or cur["kind"] == "code")):
            if cur is None:
                cur = {"kind": "code", "start": i, "end": i, "section": section, "command": False, "figures": [],
                       "lines": []}
            cur["end"] = i
            cur["command"] |= bool(CODE_COMMAND.match(line))
            continue
        if not s or s.startswith("#"):
            close()
            section += s.startswith("#")
            continue
        kind = "table" if s.startswith("|") else "text"
        item = kind == "text" and re.match(r"^ {0,3}(?:[*-]|\d+\.)\s", line)
        if cur is None or cur["kind"] != kind or item:
            close()
            cur = {"kind": kind, "start": i, "end": i, "section": section, "lines": []}
        cur["end"] = i
        cur["lines"].append(line)
    close()
    return blocks


def unattributed(text: str) -> list[tuple[int, list[str]]]:
    """(first line, figures) of every table or paragraph of ``text`` that holds a figure and names no command
    within reach (see the module docstring)."""
    blocks = _blocks(text)
    out = []
    for b in blocks:
        if b["figures"] and not b["command"] and not any(
                o["command"] and o["section"] == b["section"]
                and (b["start"] - BEFORE <= o["end"] < b["start"] or b["end"] < o["start"] <= b["end"] + AFTER)
                for o in blocks):
            out.append((b["start"] + 1, b["figures"]))
    return out


def unattributed_figures() -> list[str]:
    """``path:line: figures`` for every block of the documents whose figures name no command."""
    return [f"{p.relative_to(ROOT)}:{line}: {', '.join(figs[:4])}{' ...' if len(figs) > 4 else ''}"
            for p in DOCUMENTS if p.exists() for line, figs in unattributed(p.read_text())]


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
        loose = unattributed_figures()
        for s in loose:
            print(f"{s}: figures that name no command")
        return 1 if stale or loose else 0
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
