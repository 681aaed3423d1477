"""The command line: JSON outputs, one-line errors with exit code 2, kill-and-resume, demo smoke test."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import boltzlab as bl
from boltzlab.cli.main import main
from conftest import brute_force_log_z, random_rbm


def run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def npz_model(tmp_path):
    rbm = random_rbm(7, 4, seed=3).to(torch.float32)
    path = tmp_path / "m.npz"
    np.savez(path, weights=rbm.weights.detach().numpy(), visible_bias=rbm.visible.bias.detach().numpy(),
             hidden_bias=rbm.hidden.bias.detach().numpy())
    return path, rbm


def test_logz_exact_json(npz_model, capsys):
    path, rbm = npz_model
    code, out, _ = run(["logz", path, "--method", "exact", "--json"], capsys)
    assert code == 0
    res = json.loads(out)
    assert res["method"] == "exact"
    assert abs(res["log_z"] - brute_force_log_z(rbm.double())) < 1e-6


def test_info_and_sample(npz_model, tmp_path, capsys):
    path, _ = npz_model
    code, out, _ = run(["info", path, "--json"], capsys)
    assert code == 0 and json.loads(out)["n_visible"] == 7
    code, out, _ = run(["sample", path, "--n", 50, "--steps", 10, "--npz", tmp_path / "s.npz", "--json"], capsys)
    assert code == 0
    s = np.load(tmp_path / "s.npz")
    assert s["v"].shape == (50, 7) and set(np.unique(s["v"])) <= {0.0, 1.0}
    assert (tmp_path / "s.png").stat().st_size > 1000


@pytest.mark.parametrize("make_bad, pattern", [
    (lambda p: None, "no such model file"),
    (lambda p: p.write_bytes(b"BOLTZLB1" + b"\0" * 40), "truncated or corrupt"),
    (lambda p: np.savez(p, weights=np.zeros((3, 2))), "lacks"),
    (lambda p: np.savez(p, weights=np.zeros((3, 2)), visible_bias=np.zeros(2), hidden_bias=np.zeros(2)), "entries"),
    (lambda p: np.savez(p, weights=np.full((3, 2), np.nan), visible_bias=np.zeros(3), hidden_bias=np.zeros(2)), "NaN"),
])
def test_bad_model_files_exit_2_one_line(tmp_path, capsys, make_bad, pattern):
    p = tmp_path / "bad.npz"
    make_bad(p)
    code, out, err = run(["logz", p, "--json"], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("boltzlab: error:") and pattern in err


def test_intractable_logz_exit_2(tmp_path, capsys):
    bl.save_model(bl.BinaryRBM.initialize(30, 30), tmp_path / "big.npz")
    code, _, err = run(["logz", tmp_path / "big.npz"], capsys)
    assert code == 2 and "AIS" in err and err.count("\n") == 1


@pytest.mark.parametrize("args, pattern", [
    (["train", "--data", "MISSING.npy"], "MISSING"),
    (["train", "--data", "ising:L=4,n=200", "--lr", "-1"], "lr"),
    (["train", "--data", "ising:L=4,n=200", "--k", "0"], "k"),
    (["train", "--data", "ising:L=4,n=200", "--method", "magic"], "method"),
    (["train", "--data", "ising:L=4,n=200", "--hidden", "0"], "hidden"),
    (["sample", "x.npz", "--beta", "-1"], "beta"),
    (["logz"], "model"),
])
def test_bad_arguments_exit_2_one_line(tmp_path, capsys, args, pattern):
    code, _, err = run(args + ["--out", tmp_path / "o"] if args[0] == "train" else args, capsys)
    assert code == 2
    assert err.count("\n") == 1 and pattern in err, err


def test_non_binary_and_nan_data_refused(tmp_path, capsys):
    np.save(tmp_path / "nan.npy", np.array([[0.0, 1.0], [np.nan, 0.0]]))
    np.save(tmp_path / "spin.npy", np.array([[0.0, 1.0], [1.0, 0.0]]))
    code, _, err = run(["train", "--data", tmp_path / "nan.npy", "--out", tmp_path / "o1", "--no-progress"], capsys)
    assert code == 2 and err.count("\n") == 1
    code, _, err = run(["train", "--data", tmp_path / "spin.npy", "--visible-units", "spin", "--binarize", "none",
                        "--hidden-units", "spin", "--out", tmp_path / "o2", "--no-progress"], capsys)
    assert code == 0, err


def test_train_toml_config_and_refuse_overwrite(tmp_path, capsys):
    cfg = tmp_path / "run.toml"
    cfg.write_text('[train]\ndata = "ising:L=4,beta=0.4,n=400"\nhidden = 4\nepochs = 2\nbatch-size = 40\n'
                   'lr = 0.05\nseed = 1\n')
    out = tmp_path / "run"
    code, stdout, err = run(["train", "--config", cfg, "--out", out, "--json", "--no-progress"], capsys)
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["updates"] == 2 * 8 and summary["final"]["test_log_likelihood"] < 0
    for name in ("checkpoint.pt", "metrics.jsonl", "learning_curves.png", "samples.png", "filters.png"):
        assert (out / name).stat().st_size > 0
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2
    good = (out / "checkpoint.pt").read_bytes()
    code, _, err = run(["train", "--config", cfg, "--out", out, "--no-progress"], capsys)
    assert code == 2 and "--resume" in err
    code, _, err = run(["train", "--config", cfg, "--out", out, "--lr", "nan", "--overwrite"], capsys)
    assert code == 2
    assert (out / "checkpoint.pt").read_bytes() == good  # an invalid run never touches a good checkpoint
    bad = tmp_path / "bad.toml"
    bad.write_text("[train]\nlearning_rate = 3\n")
    code, _, err = run(["train", "--config", bad, "--out", tmp_path / "x"], capsys)
    assert code == 2 and "learning_rate" in err


def _cli(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "boltzlab.cli.main", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path):
    common = ["--data", "ising:L=6,beta=0.4,n=3000", "--hidden", 8, "--epochs", 12, "--batch-size", 20,
              "--lr", 0.02, "--k", 3, "--seed", 7, "--no-progress", "--json"]
    ref = _cli("train", *common, "--out", tmp_path / "ref")
    ref.communicate(timeout=300)
    assert ref.returncode == 0
    killed = _cli("train", *common, "--out", tmp_path / "run")
    ckpt = tmp_path / "run" / "checkpoint.pt"
    deadline = time.time() + 120
    while not ckpt.exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    killed.send_signal(signal.SIGKILL)
    killed.communicate()
    if killed.returncode == 0:
        pytest.skip("the run finished before it could be killed")
    assert bl.load_model(ckpt) is not None  # what the kill left behind is a readable checkpoint
    resumed = _cli("train", "--resume", "--out", tmp_path / "run", "--no-progress", "--json")
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err.decode()
    a = bl.load_model(tmp_path / "ref" / "checkpoint.pt")
    b = bl.load_model(ckpt)
    for x, y in zip(a.state_dict().values(), b.state_dict().values()):
        assert torch.equal(x, y)
    ref_lines = [json.loads(x) for x in (tmp_path / "ref" / "metrics.jsonl").read_text().splitlines()]
    run_lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    strip = lambda rs: [{k: v for k, v in r.items() if k != "seconds"} for r in rs]  # noqa: E731
    assert strip(ref_lines) == strip(run_lines)


def test_reproduce_list_and_gibbs_entry(tmp_path, capsys):
    code, out, _ = run(["reproduce", "--list"], capsys)
    assert code == 0 and "gibbs-vs-exact" in out and "ising-demo" in out
    code, out, _ = run(["reproduce", "gibbs-vs-exact", "--quick", "--out", tmp_path, "--json"], capsys)
    assert code == 0
    res = json.loads(out)
    assert res["beta"]["1.0"]["tv"][-1] < 0.1
    assert (tmp_path / "gibbs_vs_exact.png").exists() and (tmp_path / "results.json").exists()
    code, _, err = run(["reproduce", "nope"], capsys)
    assert code == 2


def test_demo_quick(tmp_path, capsys):
    code, out, err = run(["demo", "--quick", "--out", tmp_path, "--json", "--no-progress"], capsys)
    assert code == 0, err
    rep = json.loads(out)
    ll = rep["held_out_log_likelihood"]
    assert ll["independent_units"] < ll["rbm_exact"] < ll["true_ising_model"] + 0.5
    for p in rep["plots"]:
        assert Path(p).stat().st_size > 1000


def test_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "boltzlab.cli.main", "--help"], capture_output=True, text=True,
                         env={**os.environ})
    for cmd in ("train", "sample", "logz", "info", "demo", "reproduce"):
        assert cmd in out.stdout


# ---------------------------------------------------------------- annealed ln Z and evaluate
def test_logz_ais_rais_bracket_json(npz_model, tmp_path, capsys):
    path, rbm = npz_model
    exact = brute_force_log_z(rbm.double())
    for method in ("ais", "rais", "bracket"):
        code, out, _ = run(["logz", path, "--method", method, "--runs", 60, "--betas", 300, "--json",
                            "--no-progress", "--out", tmp_path / method], capsys)
        assert code == 0
        res = json.loads(out)
        assert res["method"] == method and {"log_z", "stderr"} <= res.keys()
        assert abs(res["log_z"] - exact) < 4 * res["stderr"] + 0.05
        assert (tmp_path / method / "log_weights.png").stat().st_size > 0
        assert "log_weights" in json.loads((tmp_path / method / "logz.json").read_text())


def test_logz_ais_sizes_its_runs_and_warns_in_one_line(npz_model, capsys):
    path, rbm = npz_model
    code, out, err = run(["logz", path, "--method", "ais", "--betas", 20, "--target-stderr", 1e-4,
                          "--max-runs", 130, "--json", "--no-progress"], capsys)
    assert code == 0
    res = json.loads(out)
    assert res["n_runs"] == 130 and res["max_runs"] == 130 and res["target_stderr"] == 1e-4
    assert err.strip().startswith("boltzlab: warning: AIS standard error") and len(err.strip().splitlines()) == 1


def test_evaluate_exact_and_annealed(npz_model, tmp_path, capsys):
    path, rbm = npz_model
    x = (np.random.default_rng(0).random((300, 7)) < 0.4).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    exact_ll = bl.exact_log_likelihood(rbm.double(), x[100:])
    code, out, _ = run(["evaluate", path, "--data", tmp_path / "x.npy", "--rows", "100:", "--json",
                        "--out", tmp_path / "ev"], capsys)
    assert code == 0
    res = json.loads(out)
    assert res["n_samples"] == 200 and abs(res["log_likelihood"] - exact_ll) < 1e-4 and res["stderr"] > 0
    assert (tmp_path / "ev" / "log_likelihood.png").exists() and (tmp_path / "ev" / "evaluate.json").exists()
    for method in ("ais", "rais", "bracket"):
        code, out, _ = run(["evaluate", path, "--data", tmp_path / "x.npy", "--rows", "100:", "--logz", method,
                            "--runs", 60, "--betas", 300, "--json", "--no-progress"], capsys)
        assert code == 0
        res = json.loads(out)
        assert res["logz_method"] == method and abs(res["log_likelihood"] - exact_ll) < 3 * res["stderr"] + 0.05
    code, out, _ = run(["evaluate", path, "--data", tmp_path / "x.npy", "--logz", "bracket", "--runs", 60,
                        "--betas", 300, "--no-progress"], capsys)
    assert code == 0 and "bracket:" in out and "mean log-likelihood" in out


@pytest.mark.parametrize("args, message", [
    (["logz", "{m}", "--method", "ais", "--preset", "salakhutdinov-murray"], "needs data|pass data"),
    (["logz", "{m}", "--method", "ais", "--beta", "0.5"], "--beta applies"),
    (["evaluate", "{m}", "--data", "{bad}"], "7 visible"),
    (["evaluate", "{m}", "--data", "{x}", "--rows", "5"], "START:STOP"),
    (["evaluate", "{m}", "--data", "{x}", "--rows", "500:"], "no rows"),
    (["evaluate", "{m}", "--data", "{x}", "--logz", "ais", "--runs", "1"], "at least 2 runs"),
    (["sample", "{m}", "--tempering", "4", "--beta", "0.5"], "drop --beta"),
])
def test_annealing_commands_reject_bad_input(npz_model, tmp_path, capsys, args, message):
    path, _ = npz_model
    np.save(tmp_path / "x.npy", np.zeros((10, 7), np.float32))
    np.save(tmp_path / "bad.npy", np.zeros((10, 5), np.float32))
    argv = [a.format(m=path, x=tmp_path / "x.npy", bad=tmp_path / "bad.npy") for a in args]
    code, _, err = run(argv, capsys)
    assert code == 2 and err.startswith("boltzlab: error:") and len(err.strip().splitlines()) == 1
    import re
    assert re.search(message, err), err


def test_sample_with_parallel_tempering(npz_model, tmp_path, capsys):
    path, _ = npz_model
    code, out, _ = run(["sample", path, "--n", 40, "--steps", 20, "--tempering", 4, "--npz", tmp_path / "s.npz",
                        "--json"], capsys)
    assert code == 0
    res = json.loads(out)
    assert len(res["tempering"]["acceptance"]) == 3 and np.load(tmp_path / "s.npz")["v"].shape == (40, 7)


@pytest.mark.parametrize("command", [["sample", "MODEL"], ["logz", "MODEL"], ["train", "--data", "ising:L=3,n=50"],
                                     ["thermo", "xft", "MODEL"]])
@pytest.mark.parametrize("device", ["nosuch", "cuda:7"])
def test_every_device_flag_refuses_devices_that_do_not_exist(tmp_path, capsys, npz_model, command, device):
    args = [npz_model if a == "MODEL" else a for a in command] + ["--device", device, "--out", tmp_path / "o"]
    code, _, err = run(args, capsys)
    assert code == 2 and "--device" in err and "Traceback" not in err
