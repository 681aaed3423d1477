"""Running entries: one entry into its output directory, or all of them with one summary table."""

from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Any, Callable

from ..checkpoint import atomic_write_json
from ..errors import ConfigError
from . import registry
from .registry import Study


def run_entry(name: str, out: Path, quick: bool = False, progress: bool = True,
              cache_root: Path | None = None, data: dict[str, str | None] | None = None) -> dict[str, Any]:
    """Run entry ``name`` at its quick or full tier, write ``out/results.json`` and return it:
    ``{"entry", "summary", "tier", "ok", "figures": [...], "plots": [...], "seconds", **further numbers}``.
    ``ok`` is true when the entry declared at least one figure and every figure holds."""
    entries = registry.load_entries()
    if name not in entries:
        raise ConfigError(f"no reproduction named {name!r}; see 'boltzlab reproduce --list'")
    e = entries[name]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    study = Study(name, out, quick, progress, cache_root, data)
    start = time.perf_counter()
    extra = e.fn(study) or {}
    seconds = time.perf_counter() - start
    plots = study.plots + [p for p in extra.pop("plots", []) if p not in study.plots]
    figures = [f.to_dict() for f in study.figures]
    result = {"entry": name, "summary": e.summary, "tier": study.tier,
              "ok": bool(figures) and all(f["ok"] for f in figures), "figures": figures, "plots": plots,
              "seconds": round(seconds, 2)}
    result |= {k: v for k, v in extra.items() if k not in result}
    atomic_write_json(out / "results.json", result)
    return result


def run_all(out_root: Path, quick: bool = False, progress: bool = True, cache_root: Path | None = None,
            data: dict[str, str | None] | None = None,
            on_result: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Run every entry (each into ``out_root/NAME``); an entry that raises counts as failed and the rest still run."""
    from tqdm.auto import tqdm
    results = []
    names = sorted(registry.load_entries())
    for name in tqdm(names, desc="reproduce", unit="entry", disable=not progress):
        start = time.perf_counter()
        try:
            res = run_entry(name, Path(out_root) / name, quick, False, cache_root, data)
        except Exception as exc:  # noqa: BLE001  (one broken entry must not hide the others' results)
            res = {"entry": name, "tier": "quick" if quick else "full", "ok": False, "figures": [],
                   "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc(),
                   "seconds": round(time.perf_counter() - start, 2)}
        results.append(res)
        if on_result is not None:
            on_result(res)
    return results


def _fmt(x: Any) -> str:
    if x is None:
        return "nan"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def figure_table(result: dict[str, Any]) -> str:
    """The figures of one entry as an aligned text table."""
    rows = [("figure", "value", "reference", "tolerance", "ok")]
    for f in result["figures"]:
        tol = f"{_fmt(f['tolerance'])} ({f['kind']}" + (f", stderr {_fmt(f['stderr'])})" if "stderr" in f else ")")
        rows.append((f["name"], _fmt(f["value"]), _fmt(f["reference"]), tol, "ok" if f["ok"] else "FAIL"))
    head = f"{result['entry']} ({result['tier']}): {'all figures hold' if result['ok'] else 'FAILED'}"
    if not result["figures"]:
        head += " (no figures: " + result.get("error", "the entry declared none") + ")"
    return head + "\n" + _align(rows)


def summary_table(results: list[dict[str, Any]]) -> str:
    """One line per entry: figures holding, seconds, ok."""
    rows = [("entry", "figures ok", "seconds", "ok")]
    for r in results:
        n_ok = sum(f["ok"] for f in r["figures"])
        rows.append((r["entry"], f"{n_ok}/{len(r['figures'])}", f"{r['seconds']:.1f}",
                     "ok" if r["ok"] else ("ERROR" if "error" in r else "FAIL")))
    total = sum(r["seconds"] for r in results)
    n_pass = sum(r["ok"] for r in results)
    return _align(rows) + f"\n{n_pass}/{len(results)} entries hold all their figures; {total:.0f} s in all"


def _align(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
