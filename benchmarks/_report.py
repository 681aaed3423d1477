"""Shared output of the benchmark scripts: the result as JSON on stdout and, if asked, in a file."""

from __future__ import annotations

import json
from pathlib import Path


def report(result: dict, out: str | None) -> dict:
    text = json.dumps(result, indent=2)
    print(text)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text)
    return result
