"""The figure tables of the docs are generated from the committed results (docs/results/*.json) and match them."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("doc_tables", ROOT / "tools" / "doc_tables.py")
doc_tables = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(doc_tables)


def test_every_doc_table_matches_the_committed_results():
    assert doc_tables.stale_documents() == [], "run: python tools/doc_tables.py"


def test_every_marked_table_has_results_and_every_result_is_a_full_run():
    results = doc_tables.load_results()
    for p in doc_tables.DOCUMENTS:
        if p.exists():
            for m in doc_tables.BLOCK.finditer(p.read_text()):
                assert m.group("name") in results, (p, m.group("name"))
    for name, res in results.items():
        assert res["entry"] == name and res["tier"] == "full" and res["figures"]


def test_committed_figures_hold_by_their_numbers():
    from boltzlab.studies import holds
    for res in doc_tables.load_results().values():
        for f in res["figures"]:
            assert f["ok"] == holds(f["kind"], f["value"] if f["value"] is not None else float("nan"),
                                    f["reference"], f["tolerance"], f.get("stderr"))
        assert res["ok"] == all(f["ok"] for f in res["figures"])


def test_an_edited_table_is_detected():
    results = {"x": {"entry": "x", "tier": "full", "ok": True, "figures": [
        {"name": "f", "value": 1.0, "reference": 1.0, "tolerance": 0.1, "kind": "exact", "ok": True, "source": "s"}]}}
    text = "intro\n<!-- figures: x -->\nold table\n<!-- /figures -->\nend\n"
    fresh = doc_tables.render(text, results)
    assert fresh != text and "| f | 1 | 1 | 0.1 (exact) | yes | s |" in fresh
    assert doc_tables.render(fresh, results) == fresh
    assert doc_tables.render(fresh.replace("| 1 | 1 |", "| 1.1 | 1 |"), results) == fresh
    json.dumps(results)


def test_every_figure_in_the_docs_names_its_command():
    assert doc_tables.unattributed_figures() == [], "name the command beside each figure (tools/doc_tables.py)"


def test_an_unattributed_table_or_paragraph_is_caught():
    table = "| model | ln Z |\n| --- | --- |\n| a | 578.82 |\n"
    prose = "The estimate lands within 0.037 nats of the exact value.\n"
    setting = "Trained with lr 0.1 for 1e-3 of the schedule, 50% acceptance.\n"
    assert [line for line, _ in doc_tables.unattributed("## A\n\n" + table)] == [3]
    assert [line for line, _ in doc_tables.unattributed("## A\n\n" + prose)] == [3]
    assert doc_tables.unattributed("## A\n\n" + setting) == []
    for named in ("Command: `boltzlab reproduce x --quick`.\n\n" + table,
                  table + "\n(`python benchmarks/x.py --seeds 3`)\n",
                  "    .venv-bench/bin/python benchmarks/x.py --repeats 3\n\n" + prose,
                  prose.replace("value.", "value (`tests/test_x.py::test_y`)."),
                  "<!-- figures: x -->\n" + table + "<!-- /figures -->\n"):
        assert doc_tables.unattributed("## A\n\n" + named) == [], named
    # a figure in a code span or far below the command, or under another heading, is not covered by it
    assert doc_tables.unattributed("## A\n\n`lr = 0.037`\n") == []
    far = "Command: `boltzlab x`.\n\n" + "words\n\n" * 10 + table
    assert doc_tables.unattributed("## A\n\n" + far) != []
    assert doc_tables.unattributed("## A\n\n`boltzlab x`\n\n## B\n\n" + prose) != []
