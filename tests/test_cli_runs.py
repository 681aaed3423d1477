"""Run directories and results of the command line: ownership (lock, --overwrite), strict resume, the recorded
split, honest brackets, divergence, output conventions, and signals and concurrent runs in subprocesses."""

from __future__ import annotations

import json
import math
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
from boltzlab.rundir import RunLock

SMALL = ["--data", "ising:L=3,n=200", "--hidden", "3", "--batch-size", "40", "--no-progress"]


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_error(err: str, *words: str) -> bool:
    return err.count("\n") == 1 and err.startswith("boltzlab: error: ") and all(w in err for w in words)


@pytest.fixture
def trained(tmp_path, capsys):
    out = tmp_path / "run"
    code, _, err = run(["train", *SMALL, "--epochs", "2", "--keep-checkpoints", "--out", out, "--json"], capsys)
    assert code == 0, err
    return out


def test_overwrite_removes_every_file_of_the_old_run_checkpoints_included(trained, capsys):
    old = sorted(p.name for p in (trained / "checkpoints").glob("step_*.pt"))
    assert len(old) == 2
    code, _, err = run(["train", *SMALL, "--epochs", "1", "--out", trained, "--overwrite", "--json"], capsys)
    assert code == 0, err
    assert not (trained / "checkpoints").exists()  # the new run keeps none; the old run's are gone
    assert "removed the previous run's" in err and "checkpoints/" in err
    assert len((trained / "metrics.jsonl").read_text().splitlines()) == 1
    assert bl.load_model(trained / "checkpoint.pt") is not None


def test_resume_is_strict_names_the_difference_and_refuses_contradictions(trained, capsys):
    before = (trained / "checkpoint.pt").read_bytes()
    code, _, err = run(["train", "--resume", "--out", trained, "--hidden", "5", "--lr", "0.5"], capsys)
    assert code == 2 and one_error(err, "--hidden: 3 -> 5", "--lr: ", "-> 0.5")
    code, _, err = run(["train", "--resume", "--overwrite", "--out", trained], capsys)
    assert code == 2 and one_error(err, "--resume", "--overwrite")
    assert (trained / "checkpoint.pt").read_bytes() == before
    code, out, err = run(["train", "--resume", "--out", trained, "--epochs", "3", "--no-progress", "--json"], capsys)
    assert code == 0 and json.loads(out)["epochs"] == 3, err  # extending a run is what --resume is for


def test_resume_with_a_corrupt_run_json_is_one_error(trained, capsys):
    (trained / "run.json").write_text('{"config": ')
    code, _, err = run(["train", "--resume", "--out", trained], capsys)
    assert code == 2 and one_error(err, "run.json", "corrupt")


def test_train_records_its_split_and_evaluate_split_uses_exactly_those_rows(trained, capsys):
    from boltzlab.data import load_dataset
    with np.load(trained / "split.npz") as z:
        train_rows, test_rows = z["train_rows"], z["test_rows"]
    assert len(test_rows) == 40 and len(np.intersect1d(train_rows, test_rows)) == 0
    assert sorted(np.concatenate([train_rows, test_rows])) == list(range(200))
    x = load_dataset("ising:L=3,n=200")
    model = bl.load_model(trained / "checkpoint.pt", dtype=torch.float64)
    log_z = bl.exact_log_z(model)
    for split, rows in (("test", test_rows), ("train", train_rows)):
        code, out, err = run(["evaluate", trained, "--split", split, "--json"], capsys)
        assert code == 0, err
        res = json.loads(out)
        with torch.no_grad():
            expected = float((-model.free_energy(torch.as_tensor(x[rows], dtype=torch.float64)) - log_z).mean())
        assert res["n_samples"] == len(rows) and abs(res["log_likelihood"] - expected) < 1e-4


def test_bracket_reports_each_end_with_its_own_error_and_never_a_negative_one(trained, capsys):
    code, out, err = run(["logz", trained, "--method", "bracket", "--runs", 20, "--betas", 200, "--no-progress",
                          "--json"], capsys)
    assert code == 0, err
    r = json.loads(out)
    assert r["lower_stderr"] > 0 and r["upper_stderr"] > 0
    assert r["stderr"] >= max(r["lower_stderr"], r["upper_stderr"], abs(r["upper"] - r["lower"]) / 2)
    code, out, _ = run(["logz", trained, "--method", "bracket", "--runs", 20, "--betas", 200, "--no-progress"], capsys)
    assert "in expectation" in out and "not in every run" in out and "± -" not in out
    code, out, err = run(["evaluate", trained, "--split", "test", "--logz", "bracket", "--runs", 20, "--betas", 200,
                          "--no-progress", "--json"], capsys)
    e = json.loads(out)
    assert e["log_likelihood_lower_stderr"] >= e["log_likelihood_lower_stderr"] > 0
    assert e["log_likelihood_upper_stderr"] > 0 and e["stderr"] >= 0


def test_crossed_bracket_ends_give_an_error_at_least_as_large_as_either():
    from boltzlab.partition.ais import AISResult, Bracket
    from boltzlab.studies.model_reports import log_z_record

    def result(log_z, stderr):
        return AISResult(log_z=log_z, stderr=stderr, log_weights=torch.zeros(3, dtype=torch.float64),
                         log_z_base=0.0, ess=3.0, method="ais", betas=np.linspace(0, 1, 3), base="uniform")
    rec = log_z_record(Bracket(result(126.514763, 0.004), result(126.471351, 0.006)))
    assert rec["crossed"] and rec["stderr"] >= max(0.004, 0.006, (126.514763 - 126.471351) / 2)


def test_divergence_stops_training_naming_the_last_good_checkpoint(tmp_path, capsys):
    code, _, err = run(["train", *SMALL, "--epochs", "3", "--lr", "1e30", "--out", tmp_path / "d"], capsys)
    assert code == 2 and one_error(err, "diverged", "lower the learning rate")
    from boltzlab.training import TrainConfig, Trainer
    from boltzlab.training.trainer import TrainingDiverged
    x = torch.as_tensor(bl.data.load_dataset("ising:L=3,n=200"))
    trainer = Trainer.create(x, TrainConfig(n_hidden=3, epochs=1, batch_size=40), out_dir=tmp_path / "t",
                             progress=False)
    trainer.fit()
    trainer.total_updates += 10
    for group in trainer.optimizer.param_groups:
        group["lr"] = 1e30
    with pytest.raises(TrainingDiverged, match=r"last good checkpoint is .*checkpoint.pt \(update 5\)"):
        trainer.fit()
    assert bl.load_model(tmp_path / "t" / "checkpoint.pt") is not None


def test_a_second_writer_is_refused_naming_the_holders_pid(tmp_path, capsys):
    with RunLock(tmp_path / "held"):
        code, _, err = run(["train", *SMALL, "--epochs", "1", "--out", tmp_path / "held"], capsys)
    assert code == 2 and one_error(err, f"PID {os.getpid()}")
    assert not (tmp_path / "held" / "checkpoint.pt").exists()


def test_toml_keys_are_the_flag_names_and_a_wrong_type_names_its_key(tmp_path, capsys):
    cfg = tmp_path / "run.toml"
    cfg.write_text('[train]\ndata = "ising:L=3,n=200"\nhidden = 4\nbatch-size = 40\nepochs = 1\nkeep-checkpoints = true\n')
    code, out, err = run(["train", "--config", cfg, "--out", tmp_path / "o", "--no-progress", "--json"], capsys)
    assert code == 0, err
    assert json.loads((tmp_path / "o" / "run.json").read_text())["config"]["n_hidden"] == 4
    cfg.write_text('[train]\nhidden = "four"\n')
    code, _, err = run(["train", "--config", cfg, "--out", tmp_path / "p"], capsys)
    assert code == 2 and one_error(err, "'hidden'", "four")


def test_sizes_are_checked_against_memory_before_allocation(tmp_path, capsys):
    code, _, err = run(["train", *SMALL, "--hidden", 10**11, "--out", tmp_path / "o"], capsys)
    assert code == 2 and one_error(err, "GiB")
    from boltzlab.checkpoint import save_payload
    save_payload(tmp_path / "big.pt", {"kind": "model", "model": {
        "config": {"class": "BinaryRBM", "visible": {"type": "binary", "n_units": 40000},
                   "hidden": {"type": "binary", "n_units": 40000}},
        "state": {"weights": torch.zeros(2, 2)}}})
    code, _, err = run(["info", tmp_path / "big.pt"], capsys)
    assert code == 2 and one_error(err, "stores")


def test_a_csv_header_line_is_announced(tmp_path, capsys):
    (tmp_path / "d.csv").write_text("a,b,c\n" + "\n".join("1,0,1" if i % 2 else "0,1,0" for i in range(60)))
    code, out, err = run(["train", "--data", tmp_path / "d.csv", "--hidden", 2, "--epochs", 1, "--out",
                          tmp_path / "o", "--no-progress"], capsys)
    assert code == 0 and "boltzlab: warning:" in err and "header" in err


def test_results_go_to_stdout_and_sample_out_is_a_directory(trained, tmp_path, capsys):
    code, out, err = run(["sample", trained, "--n", 10, "--steps", 2, "--out", tmp_path / "s"], capsys)
    assert code == 0 and "wrote" in out
    assert np.load(tmp_path / "s" / "samples.npz")["v"].shape == (10, 9) and (tmp_path / "s" / "samples.png").exists()
    code, _, err = run(["sample", trained, "--n", 10, "--steps", 2, "--out", tmp_path / "s"], capsys)
    assert code == 2 and one_error(err, "--overwrite")
    code, out, err = run(["train", *SMALL, "--epochs", "1", "--out", tmp_path / "r"], capsys)
    assert code == 0 and "done:" in out and "log_likelihood" in out


# ------------------------------------------------------------------------------------------------ processes
def _cli(*args: object) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "boltzlab.cli.main", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("sig, code, word", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_a_signal_during_start_up_ends_in_one_line(tmp_path, sig, code, word):
    p = _cli("train", *SMALL, "--out", tmp_path / "o")
    time.sleep(0.3)
    p.send_signal(sig)
    _, err = p.communicate(timeout=120)
    assert p.returncode == code and "Traceback" not in err and err.count("\n") == 1 and word in err, err


def test_sigterm_during_training_keeps_an_intact_last_checkpoint(tmp_path):
    out = tmp_path / "o"
    p = _cli("train", "--data", "ising:L=4,n=4000", "--hidden", 8, "--epochs", 200, "--batch-size", 20,
             "--no-progress", "--out", out)
    deadline = time.time() + 180
    while not (out / "checkpoint.pt").exists() and time.time() < deadline and p.poll() is None:
        time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 143 and err.strip().splitlines()[-1].startswith("boltzlab: terminated"), err
    assert "Traceback" not in err
    assert bl.load_model(out / "checkpoint.pt").n_visible == 16


def test_two_concurrent_trainings_into_one_out_one_refused_the_other_complete_and_its_own(tmp_path):
    out = tmp_path / "shared"
    common = ["--data", "ising:L=4,n=2000", "--hidden", 6, "--epochs", 6, "--batch-size", 50, "--no-progress",
              "--out", out, "--json"]
    procs = {seed: _cli("train", *common, "--seed", seed) for seed in (11, 22)}
    results = {seed: (p.communicate(timeout=600), p.returncode) for seed, p in procs.items()}
    codes = sorted(rc for _, rc in results.values())
    assert codes == [0, 2], results
    (winner,) = [s for s, (_, rc) in results.items() if rc == 0]
    (loser_err,) = [io[1] for s, (io, rc) in results.items() if rc == 2]
    assert loser_err.count("\n") == 1 and ("in use by another boltzlab process (PID" in loser_err
                                           or "already holds a checkpoint" in loser_err)
    assert json.loads((out / "run.json").read_text())["config"]["seed"] == winner
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2, 3, 4, 5, 6]
    from boltzlab.checkpoint import load_payload
    assert load_payload(out / "checkpoint.pt")["trainer"]["config"]["seed"] == winner
    assert math.isfinite(json.loads((out / "summary.json").read_text())["final"]["test_log_likelihood"])
