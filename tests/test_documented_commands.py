"""Every command line written in README.md and docs/*.md parses: its command exists and every flag it names is
accepted (the commands are parsed, not run).  A renamed or removed flag fails here before a user finds it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from boltzlab.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[1]
PREFIX = re.compile(r"^(?:\$ )?(?:boltzlab |torchrun .*?-m boltzlab\.cli\.main )")


def documented_commands() -> list[tuple[str, str]]:
    """(where, command line) for each `boltzlab ...` line in a fenced or indented code block, continuation lines joined; lines
    with a placeholder alternative (`a | b`, `[--x ...]`) are expanded or skipped."""
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        lines, in_block = path.read_text().splitlines(), False
        i = 0
        while i < len(lines):
            line = lines[i].strip()
            if line.startswith("```"):
                in_block = not in_block
            elif (in_block or lines[i].startswith("    ")) and PREFIX.match(line):
                start = i
                while line.endswith("\\") and i + 1 < len(lines):
                    i += 1
                    line = line[:-1] + " " + lines[i].strip()
                for part in line.split(";"):
                    part = part.split(" #")[0].strip()
                    if PREFIX.match(part):
                        found.append((f"{path.name}:{start + 1}", part))
            i += 1
    return found


def _argvs(line: str) -> list[list[str]]:
    argv = shlex.split(PREFIX.sub("", line, count=1))
    argv = [a for a in argv if not (a.startswith("[") or a.endswith("]"))]
    if "|" in argv:  # `reproduce a | b | c`: each alternative
        head = argv[:argv.index("|") - 1]
        return [head + [a] for a in argv[len(head):] if a != "|"]
    return [argv]


COMMANDS = documented_commands()


def test_the_docs_document_commands():
    assert len(COMMANDS) >= 40


@pytest.mark.parametrize("where,line", COMMANDS, ids=[w for w, _ in COMMANDS])
def test_documented_command_parses(where, line, capsys):
    for argv in _argvs(line):
        argv = ["cpu" if a.startswith("cuda") else a for a in argv]  # a GPU run documented for a GPU machine
        try:
            build_parser().parse_args(argv)
        except SystemExit as stop:
            err = capsys.readouterr().err.strip()
            pytest.fail(f"{where}: `boltzlab {' '.join(argv)}` does not parse (exit {stop.code}): {err}")
