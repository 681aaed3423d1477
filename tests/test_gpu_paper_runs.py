"""benchmarks/gpu_paper_runs.py: the GPU script runs its stages at the quick tier on a CPU (--smoke), keeps
checkpoints out of what it returns, and refuses a full run without CUDA."""

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from boltzlab.data import mnist_dir
from boltzlab.errors import DataError

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_paper_runs.py"


def _script():
    spec = importlib.util.spec_from_file_location("gpu_paper_runs", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_smoke_stage_and_budget(tmp_path):
    try:
        mnist = str(mnist_dir())
    except DataError:
        pytest.skip("no MNIST test images")
    mod = _script()
    code = mod.main(["--smoke", "--only", "field-mnist-fig14", "field-mnist-fig16", "--out", str(tmp_path / "out"),
                     "--cache", str(tmp_path / "cache"), "--mnist", mnist, "--budget", "8"])
    summary = json.loads((tmp_path / "out" / "gpu_paper_runs.json").read_text())
    assert code == 0 and summary["tier"] == "quick"
    assert [s["entry"] for s in summary["stages"]] == ["field-mnist-fig14"] and summary["stages"][0]["ok"]
    assert [s["entry"] for s in summary["skipped"]] == ["field-mnist-fig16"]   # estimate 10 s > budget left
    assert not list((tmp_path / "out").rglob("*.pt"))
    assert {name for name, _, _ in mod.STAGES} >= {"thermo-xft-paper-protocol", "reciprocal-fig1", "reciprocal-fig3f",
                                                  "reciprocal-fig4", "reciprocal-fig8", "field-mnist-fig14"}


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_full_run_needs_cuda(tmp_path, capsys):
    assert _script().main(["--out", str(tmp_path)]) == 2
    assert "boltzlab: error: no CUDA device" in capsys.readouterr().err
