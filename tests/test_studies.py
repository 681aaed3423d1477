"""The reproduction framework: figures hold by their numbers, a figure out of tolerance fails its entry (exit 1),
``--all`` summarises every entry, and ``--list`` names what each entry reproduces."""

from __future__ import annotations

import json
import math

import pytest

from boltzlab.cli.main import main
from boltzlab.studies import Figure, Study, entry, holds, registry
from boltzlab.studies.registry import Entry


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _independent_ok(f: dict) -> bool:
    """Whether a figure of an entry's JSON holds, recomputed here without the framework's code."""
    v, r, t = f["value"], f["reference"], f["tolerance"]
    if v is None or r is None:
        return False
    return {"exact": abs(v - r) <= t, "relative": abs(v - r) <= t * abs(r),
            "stderr": f.get("stderr") is not None and abs(v - r) <= t * f["stderr"],
            "upper": v <= r + t, "lower": v >= r - t}[f["kind"]]


@pytest.mark.parametrize("kind,value,reference,tolerance,stderr,expected", [
    ("exact", 1.05, 1.0, 0.1, None, True), ("exact", 1.2, 1.0, 0.1, None, False),
    ("relative", 103.0, 100.0, 0.05, None, True), ("relative", 94.0, 100.0, 0.05, None, False),
    ("stderr", 1.25, 1.0, 3, 0.1, True), ("stderr", 1.35, 1.0, 3, 0.1, False),
    ("upper", 0.5, 1.0, 0.0, None, True), ("upper", 1.2, 1.0, 0.1, None, False),
    ("lower", 0.95, 1.0, 0.1, None, True), ("lower", 0.5, 1.0, 0.1, None, False),
    ("exact", math.nan, 1.0, 0.1, None, False), ("upper", math.inf, 1.0, 0.1, None, False),
])
def test_holds_by_kind(kind, value, reference, tolerance, stderr, expected):
    assert holds(kind, value, reference, tolerance, stderr) is expected
    fig = Figure("f", value, reference, tolerance, kind, "test", stderr)
    assert fig.ok is expected and fig.to_dict()["ok"] is expected


def test_figure_needs_a_known_kind_a_source_and_a_stderr_for_kind_stderr():
    with pytest.raises(ValueError):
        Figure("f", 1.0, 1.0, 0.1, "close", "test")
    with pytest.raises(ValueError):
        Figure("f", 1.0, 1.0, 0.1, "exact", "")
    with pytest.raises(ValueError):
        Figure("f", 1.0, 1.0, 3, "stderr", "test")


def _fake_entries(monkeypatch, shift: float) -> None:
    """Two entries measuring the mean of a fixed sample against its exact mean 0.5, one with the reference
    shifted by ``shift`` tolerances, one that raises."""
    import numpy as np

    def mean_entry(study: Study):
        x = np.random.default_rng(0).random(study.size(10_000, 100_000))
        se = x.std() / np.sqrt(len(x))
        study.figure("sample mean", x.mean(), 0.5 + shift * 4 * se, 4, "stderr", "exact mean of U(0, 1)", stderr=se)
        return {"n": len(x)}

    def broken(study: Study):
        raise RuntimeError("boom")

    entries = {"mean": Entry("mean", "the mean of U(0, 1)", mean_entry),
               "broken": Entry("broken", "an entry that raises", broken)}
    monkeypatch.setattr(registry, "load_entries", lambda: entries)


def test_reference_shifted_by_twice_the_tolerance_makes_the_entry_exit_1(tmp_path, capsys, monkeypatch):
    _fake_entries(monkeypatch, 0.0)
    code, out, _ = _run(["reproduce", "mean", "--quick", "--out", tmp_path / "a", "--json"], capsys)
    res = json.loads(out)
    assert code == 0 and res["ok"] and res["entry"] == "mean" and res["n"] == 10_000
    assert json.loads((tmp_path / "a" / "results.json").read_text())["ok"]
    _fake_entries(monkeypatch, 2.0)
    code, out, _ = _run(["reproduce", "mean", "--quick", "--out", tmp_path / "b", "--json"], capsys)
    res = json.loads(out)
    assert code == 1 and not res["ok"] and not res["figures"][0]["ok"]
    assert all(_independent_ok(f) == f["ok"] for f in res["figures"])


def test_all_runs_every_entry_and_fails_when_one_fails(tmp_path, capsys, monkeypatch):
    _fake_entries(monkeypatch, 0.0)
    code, out, _ = _run(["reproduce", "--all", "--quick", "--out", tmp_path, "--no-progress"], capsys)
    assert code == 1
    assert "mean" in out and "broken" in out and "ERROR" in out and "1/2 entries" in out
    assert json.loads((tmp_path / "mean" / "results.json").read_text())["ok"]


def test_an_entry_without_figures_does_not_hold(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(registry, "load_entries", lambda: {"empty": Entry("empty", "nothing", lambda s: {})})
    code, _, _ = _run(["reproduce", "empty", "--out", tmp_path, "--no-progress"], capsys)
    assert code == 1


@pytest.mark.parametrize("argv", [["reproduce"], ["reproduce", "nope"], ["reproduce", "gibbs-vs-exact", "--all"],
                                  ["reproduce", "gibbs-vs-exact", "--mnist", "/nonexistent/dir"]])
def test_bad_input_is_one_line_and_exit_2(argv, capsys):
    code, out, err = _run(argv, capsys)
    assert code == 2 and out == "" and err.startswith("boltzlab: error:") and err.count("\n") == 1


def test_every_entry_has_a_list_line_and_two_names_cannot_collide(capsys):
    code, out, _ = _run(["reproduce", "--list"], capsys)
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == len(registry.load_entries()) >= 30
    assert all(len(line.split(None, 1)) == 2 for line in lines)
    with pytest.raises(ValueError):
        entry("gibbs-vs-exact", "again")(lambda s: None)


def test_gibbs_at_the_wrong_temperature_fails_its_entry(tmp_path, capsys, monkeypatch):
    """gibbs-vs-exact holds with the right sampler and exits 1 when the sampler runs at 1.3 times beta."""
    import boltzlab.studies.foundation as foundation
    code, out, _ = _run(["reproduce", "gibbs-vs-exact", "--quick", "--out", tmp_path / "right", "--json"], capsys)
    right = json.loads(out)
    assert code == 0 and right["ok"]
    assert all(_independent_ok(f) == f["ok"] for f in right["figures"])
    good = foundation.block_gibbs
    monkeypatch.setattr(foundation, "block_gibbs", lambda rbm, v, k, beta, rng: good(rbm, v, k, 1.3 * beta, rng))
    code, out, _ = _run(["reproduce", "gibbs-vs-exact", "--quick", "--out", tmp_path / "wrong", "--json"], capsys)
    wrong = json.loads(out)
    assert code == 1 and not wrong["ok"]
    assert all(not f["ok"] for f in wrong["figures"])
    assert all(_independent_ok(f) == f["ok"] for f in wrong["figures"])
