"""Table-driven fuzz test of the command line: every command over generated bad inputs (files, data,
hyperparameters, output places) must end with exit code 2, exactly one line ``boltzlab: error: ...`` on stderr,
no traceback, and no file created, changed or removed.  Signals and concurrent runs, which need processes of
their own, are in tests/test_cli_runs.py."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
import torch

import boltzlab as bl
from boltzlab.checkpoint import save_payload
from boltzlab.cli.main import main

MODELS = {  # bad model arguments: name -> how to make it in the workspace
    "missing.pt": None,
    "trunc.pt": lambda ws: (ws / "trunc.pt").write_bytes((ws / "run" / "checkpoint.pt").read_bytes()[:60]),
    "junk.pt": lambda ws: (ws / "junk.pt").write_bytes(os.urandom(300)),
    "empty.pt": lambda ws: (ws / "empty.pt").write_bytes(b""),
    "text.txt": lambda ws: (ws / "text.txt").write_text("not a model\n"),
    "vmc.pt": lambda ws: save_payload(ws / "vmc.pt", {"kind": "vmc", "config": {"n_chains": 4}}),
    "big.pt": lambda ws: save_payload(ws / "big.pt", {"kind": "model", "model": {
        "config": {"class": "BinaryRBM", "visible": {"type": "binary", "n_units": 40000},
                   "hidden": {"type": "binary", "n_units": 40000}},
        "state": {"weights": torch.zeros(2, 2), "visible.bias": torch.zeros(2), "hidden.bias": torch.zeros(2)}}}),
    "emptydir": lambda ws: (ws / "emptydir").mkdir(),
    "bad.npz": lambda ws: np.savez(ws / "bad.npz", weights=np.zeros((9, 3))),
}


def _npy_with_header(path: Path, shape: tuple[int, ...]) -> None:
    header = np.lib.format.header_data_from_array_1_0(np.zeros((1, 1), np.float32))
    header["shape"] = shape
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        f.write(b"\0" * 64)


DATA = {  # bad data arguments
    "nodata.npy": None,
    "nan.npy": lambda ws: np.save(ws / "nan.npy", np.array([[0.0, 1.0] * 4 + [np.nan]] * 5)),
    "vec.npy": lambda ws: np.save(ws / "vec.npy", np.zeros(9)),
    "hugeheader.npy": lambda ws: _npy_with_header(ws / "hugeheader.npy", (10**9, 10**9)),
    "cols5.npy": lambda ws: np.save(ws / "cols5.npy", np.ones((20, 5), np.float32)),
    "words.csv": lambda ws: (ws / "words.csv").write_text("a,b,c\nd,e,f\ng,h,i\n"),
    "empty.csv": lambda ws: (ws / "empty.csv").write_text(""),
    "hugeidx": lambda ws: (ws / "hugeidx").write_bytes(b"\0\0\x08\x02" + (100000).to_bytes(4, "big") * 2 + b"\0" * 8),
    "negative.npy": lambda ws: np.save(ws / "negative.npy", -3 * np.ones((10, 9), np.float32)),
}

TOML = {
    "wrongtype.toml": '[train]\nhidden = "four"\n',
    "unknown.toml": "[train]\nlearning_rate = 3\n",
    "syntax.toml": "[train\nhidden = 4\n",
    "boolnum.toml": "[train]\nepochs = true\n",
    "list.toml": "[train]\nlr = [0.1]\n",
    "negseed.toml": "[train]\nseed = -1\n",
    "zerolimit.toml": "[train]\nlimit = 0\n",
}


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Path:
    ws = tmp_path_factory.mktemp("fuzz")
    code = main(["train", "--data", "ising:L=3,n=200", "--hidden", "3", "--epochs", "2", "--batch-size", "40",
                 "--keep-checkpoints", "--save-every", "2", "--out", str(ws / "run"), "--no-progress", "--json"])
    assert code == 0
    rbm = bl.BinaryRBM.initialize(9, 3, seed=0)
    np.savez(ws / "m.npz", weights=rbm.weights.detach().numpy(), visible_bias=rbm.visible.bias.detach().numpy(),
             hidden_bias=rbm.hidden.bias.detach().numpy())
    np.save(ws / "good.npy", (np.random.default_rng(0).random((50, 9)) < 0.5).astype(np.float32))
    np.save(ws / "frac.npy", np.random.default_rng(0).random((50, 9)).astype(np.float32))
    (ws / "afile").write_text("a file, not a directory\n")
    (ws / "ckpt.npz").write_bytes((ws / "run" / "checkpoint.pt").read_bytes())
    (ws / "exists.npz").write_bytes(b"old samples")
    (ws / "exists.npy").write_bytes(b"old data")
    (ws / "exists.pt").write_bytes(b"old model")
    (ws / "runbad").mkdir()
    (ws / "runbad" / "checkpoint.pt").write_bytes((ws / "run" / "checkpoint.pt").read_bytes())
    (ws / "runbad" / "run.json").write_text("{not json")
    (ws / "vmcdir").mkdir()
    save_payload(ws / "vmcdir" / "checkpoint.pt", {"kind": "vmc", "config": {}})
    for name, make in {**MODELS, **DATA}.items():
        if make is not None:
            make(ws)
    for name, text in TOML.items():
        (ws / name).write_text(text)
    return ws


def _cases() -> list[tuple[str, list[str]]]:
    cases: list[tuple[str, list[str]]] = []

    def add(group: str, *argvs: list[str]) -> None:
        cases.extend((group, list(map(str, a))) for a in argvs)

    # every command that reads a model, with every bad model file
    model_cmds = [["sample", "{m}", "--steps", "2"], ["logz", "{m}"], ["evaluate", "{m}", "--data", "good.npy"],
                  ["info", "{m}"], ["pl", "{m}", "--data", "good.npy"], ["thermo", "xft", "{m}", "--chains", "10"],
                  ["thermo", "curves", "{m}", "--points", "2"], ["thermo", "cd", "{m}", "--data", "good.npy"],
                  ["reciprocal", "spectrum", "{m}"], ["reciprocal", "symmetry", "{m}"],
                  ["reciprocal", "hierarchy", "{m}", "--n", "2", "--steps", "2"],
                  ["theory", "rbm-to-bm", "{m}", "--save", "new.pt"]]
    for argv in model_cmds:
        add("model", *[[a.replace("{m}", m) for a in argv] for m in MODELS])
    # seeds: negative, not integers, too large
    seeded = [["train", "--epochs", "1"], ["sample", "m.npz"], ["logz", "m.npz", "--method", "ais"],
              ["evaluate", "m.npz", "--data", "good.npy"], ["thermo", "xft", "m.npz"], ["thermo", "curves", "m.npz"],
              ["thermo", "work", "m.npz"], ["thermo", "cd", "m.npz", "--data", "good.npy"],
              ["pl", "m.npz", "--data", "good.npy"], ["ptt", "run"], ["trajectory-ll", "run"],
              ["pretrain", "--data", "good.npy"], ["theory", "report", "--data", "good.npy"],
              ["theory", "zoom", "--data", "good.npy", "--delta", "0.1", "--npy", "z.npy"],
              ["field", "two-node"], ["field", "train"], ["reciprocal", "spectrum", "m.npz"],
              ["reciprocal", "kurtosis"], ["vmc", "spins"], ["vmc", "qdot"]]
    for argv in seeded:
        add("seed", *[argv + ["--seed", s] for s in ("-1", "x", "1.5", "99999999999999999999999")])
    add("seed", ["train", "--data-seed", "-1"], ["train", "--data-seed", "y"])
    # devices that do not exist
    for argv in [["train"], ["sample", "m.npz"], ["logz", "m.npz"], ["evaluate", "m.npz", "--data", "good.npy"],
                 ["thermo", "xft", "m.npz"], ["pl", "m.npz", "--data", "good.npy"], ["ptt", "run"],
                 ["field", "train"], ["reciprocal", "spectrum", "m.npz"], ["vmc", "spins"], ["vmc", "qdot"],
                 ["thermo", "curves", "m.npz"]]:
        add("device", argv + ["--device", "nope"], argv + ["--device", "cuda:7"])
    # --out naming an existing file, and a file below a file
    for argv in [["train", "--epochs", "1"], ["sample", "m.npz"], ["logz", "m.npz"],
                 ["evaluate", "m.npz", "--data", "good.npy"], ["thermo", "xft", "m.npz"], ["thermo", "curves", "m.npz"],
                 ["thermo", "work", "m.npz"], ["thermo", "cd", "run", "--data", "good.npy"], ["ptt", "run"],
                 ["trajectory-ll", "run"], ["pl", "m.npz", "--data", "good.npy"], ["pretrain", "--data", "good.npy"],
                 ["theory", "report", "--data", "good.npy"], ["field", "two-node"], ["field", "train"],
                 ["reciprocal", "spectrum", "m.npz"], ["reciprocal", "kurtosis"], ["demo", "--quick"],
                 ["vmc", "spins"], ["vmc", "qdot"], ["reciprocal", "replicas", "--config", "x.toml"]]:
        add("out", argv + ["--out", "afile"], argv + ["--out", "afile/sub"])
    # every command that reads data, with every bad data file
    data_cmds = [["train", "--data", "{d}", "--epochs", "1"], ["evaluate", "m.npz", "--data", "{d}"],
                 ["logz", "m.npz", "--method", "ais", "--data", "{d}"], ["pl", "m.npz", "--data", "{d}"],
                 ["thermo", "cd", "run", "--data", "{d}"], ["theory", "report", "--data", "{d}"],
                 ["pretrain", "--data", "{d}"], ["reciprocal", "landscape", "m.npz", "--data", "{d}"],
                 ["thermo", "xft", "m.npz", "--init", "data", "--data", "{d}"]]
    for argv in data_cmds:  # five constant columns are bad only for a model with other units, or for a BM fit
        add("data", *[[a.replace("{d}", d) for a in argv] for d in DATA
                      if not (d == "cols5.npy" and argv[0] in ("train", "pretrain"))])
    # training hyperparameters and run-directory rules
    t = ["train", "--data", "good.npy", "--epochs", "1", "--out", "new"]
    for flag, values in {"--hidden": ["0", "-1", "1e9", "100000000000", "x", "relu"], "--epochs": ["0", "-1", "x"],
                         "--lr": ["0", "-1", "nan", "inf", "x"], "--k": ["0", "-2"], "--batch-size": ["0"],
                         "--limit": ["0", "-5", "x"], "--test-fraction": ["1", "-0.1", "x"],
                         "--image-shape": ["2x2", "0x9", "x"], "--momentum": ["1", "-0.5"], "--method": ["magic"],
                         "--visible-units": ["banana"], "--hidden-units": ["potts2"], "--n-chains": ["0"],
                         "--reweight": ["2"], "--weight-std": ["-1"], "--lr-decay": ["0", "2"], "--l2": ["-1"],
                         "--dtype": ["float16"], "--checkpoint-every": ["0"], "--shards": ["2"]}.items():
        add("train", *[t + [flag, v] for v in values])
    add("train", t + ["--binarize", "none", "--data", "frac.npy"], t + ["--resume", "--overwrite"],
        ["train", "--resume", "--out", "nothing-here"], ["train", "--out", "run", "--epochs", "1"],
        ["train", "--resume", "--out", "run", "--hidden", "5"], ["train", "--resume", "--out", "run", "--lr", "0.5"],
        ["train", "--resume", "--out", "run", "--data", "good.npy"], ["train", "--resume", "--out", "runbad"],
        ["train", "--hidden", "4", "--hidden", "5", "--hidden-units", "drelu", "--visible-units", "gaussian",
         "--model", "bm", "--out", "new"], ["train", "--config", "missing.toml"], ["train", "--config", "emptydir"])
    add("toml", *[["train", "--config", name, "--out", "new"] for name in TOML])
    s = ["sample", "m.npz", "--steps", "2"]
    add("sample", s + ["--n", "0"], s + ["--steps", "0"], s + ["--beta", "0"], s + ["--beta", "-1"],
        s + ["--beta", "nan"], s + ["--tempering", "0"], s + ["--png", "x.jsonl"], s + ["--npz", "exists.npz"],
        s + ["--npz", "run/checkpoint.pt"], s + ["--npz", "ckpt.npz", "--overwrite"], s + ["--image-shape", "2x2"],
        s + ["--tempering", "3", "--beta", "0.5"], s + ["--shards", "2"], s + ["--npz", "afile/x.npz"],
        s + ["--n", "100000000000000"], ["sample", "run", "--npz", "x.npz", "--png", "run/checkpoint.pt"])
    add("logz", ["logz", "m.npz", "--method", "magic"], ["logz", "m.npz", "--method", "ais", "--runs", "0"],
        ["logz", "m.npz", "--method", "ais", "--betas", "0"], ["logz", "m.npz", "--method", "ais", "--beta", "2"],
        ["logz", "m.npz", "--method", "ais", "--target-stderr", "0"], ["logz", "m.npz", "--rows", "x"],
        ["evaluate", "m.npz"], ["evaluate", "m.npz", "--split", "test"], ["evaluate", "run", "--split", "test",
                                                                           "--data", "good.npy"],
        ["evaluate", "run", "--split", "test", "--rows", "0:5"], ["evaluate", "run", "--split", "valid"],
        ["evaluate", "m.npz", "--data", "good.npy", "--rows", "50:"], ["info", "m.npz", "--extra"],
        ["logz", "m.npz", "--method", "ais", "--burn-in", "-1"])
    r = ["theory", "report", "--data", "good.npy"]
    add("theory", r + ["--units", "0:1"], r + ["--units", "5,5"], r + ["--units", "0:99"], r + ["--units", "x"],
        r + ["--points", "2"], r + ["--select", "0"], r + ["--zoom-delta", "0.7"], r + ["--units", "0:4", "--select", "3"],
        ["theory", "zoom", "--data", "good.npy", "--delta", "0.6", "--npy", "z.npy"],
        ["theory", "zoom", "--data", "good.npy", "--delta", "0.1", "--npy", "z.txt"],
        ["theory", "zoom", "--data", "good.npy", "--delta", "0.1", "--npy", "exists.npy"],
        ["theory", "rbm-to-bm", "m.npz", "--save", "x.npz"], ["theory", "rbm-to-bm", "m.npz", "--save", "exists.pt"],
        ["theory", "report", "--data", "frac.npy", "--trained", "m.npz", "--units", "0:4"])
    add("thermo", ["thermo", "xft", "m.npz", "--t1", "0"], ["thermo", "xft", "m.npz", "--chains", "0"],
        ["thermo", "xft", "m.npz", "--init", "data"], ["thermo", "xft", "m.npz", "--fraction", "2"],
        ["thermo", "work", "m.npz", "--protocol", "interpolate"], ["thermo", "work", "m.npz", "--points", "1"],
        ["thermo", "curves", "m.npz", "--t-min", "3", "--t-max", "1"], ["thermo", "cd", "m.npz", "--steps", "-1"],
        ["thermo", "work", "m.npz", "--fraction", "auto"], ["thermo", "xft", "m.npz", "--data", "good.npy"])
    add("field", ["field", "train", "--lattice", "0"], ["field", "train", "--m2", "-1"],
        ["field", "train", "--epochs", "0"], ["field", "train", "--hidden", "0"], ["field", "action", "--model", "x.npz"],
        ["field", "action", "--model", "m.npz"], ["field", "uv", "--mu2-list", "x"], ["field", "kl", "--hidden-list", "99"],
        ["field", "bernoulli", "--hidden", "17"], ["field", "mnist-spectrum", "--data", "nodata.npy"],
        ["field", "kl-hidden", "--data", "good.npy", "--epochs", "-1"], ["field", "regenerate", "--data", "good.npy",
                                                                         "--hidden-list", "99"])
    add("reciprocal", ["reciprocal", "spectrum"], ["reciprocal", "spectrum", "m.npz", "--top", "0"],
        ["reciprocal", "variables", "m.npz", "--modes", "0"], ["reciprocal", "kurtosis", "--hidden", "1"],
        ["reciprocal", "hierarchy", "m.npz", "--image-shape", "2x2", "--n", "2", "--steps", "2"],
        ["reciprocal", "landau", "m.npz", "--data", "good.npy", "--mode", "99", "--gibbs", "0"],
        ["reciprocal", "replicas", "--config", "missing.toml"], ["reciprocal", "landscape", "m.npz", "--gibbs", "-1",
                                                                  "--data", "good.npy"])
    add("toolbox", ["ptt", "m.npz"], ["ptt", "run", "--target", "1.5"], ["trajectory-ll", "emptydir"],
        ["pretrain", "--data", "good.npy", "--dim", "5"], ["pretrain", "--data", "good.npy", "--epochs", "-1"],
        ["pl", "m.npz", "--data", "good.npy", "--sites", "x"], ["pretrain", "--data", "frac.npy", "--rows", "0:2"])
    add("vmc", ["vmc", "spins", "--sites", "0"], ["vmc", "spins", "--sites", "4", "--resume", "--checkpoint",
                                                 "run/checkpoint.pt", "--out", "v1"],
        ["vmc", "spins", "--sites", "4", "--out", "vmcdir"], ["vmc", "spins", "--sites", "4", "--resume", "--overwrite",
                                                              "--out", "vmcdir"],
        ["vmc", "qdot", "--particles", "0"], ["vmc", "qdot", "--resume"],
        ["vmc", "qdot", "--particles", "2", "--ansatz", "rbm-jastrow", "--many-body", "3"],
        ["vmc", "qdot", "--particles", "6", "--many-body", "-1"],
        ["vmc", "qdot", "--resume", "--checkpoint", "run/checkpoint.pt"])
    add("misc", ["demo", "--out", "run", "--quick"], ["reproduce", "no-such-entry"], ["no-such-command"], [],
        ["train", "--no-such-flag"], ["logz", "m.npz", "--json", "--json=1"])
    return cases


CASES = _cases()


def _snapshot(root: Path) -> dict[str, str]:
    """Every path under ``root`` with the digest of its contents ("dir" for folders)."""
    snap = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            snap[os.path.relpath(os.path.join(dirpath, d), root)] = "dir"
        for f in filenames:
            p = os.path.join(dirpath, f)
            snap[os.path.relpath(p, root)] = hashlib.sha256(Path(p).read_bytes()).hexdigest()
    return snap


def test_the_table_is_large_and_covers_every_command():
    from boltzlab.cli.main import build_parser
    assert len(CASES) >= 300
    commands = {argv[0] for _, argv in CASES if argv}
    parser = build_parser()
    top = next(a for a in parser._actions if a.dest == "command").choices
    assert set(top) <= commands | {"reproduce"}, set(top) - commands


@pytest.mark.parametrize("group, argv", CASES, ids=[f"{g}-{i}" for i, (g, _) in enumerate(CASES)])
def test_bad_input_is_one_line_exit_2_and_touches_nothing(ws, monkeypatch, capsys, group, argv):
    monkeypatch.chdir(ws)
    before = _snapshot(ws)
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (argv, code, err[-500:])
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("boltzlab: error: "), (argv, err)
    assert _snapshot(ws) == before, argv


def test_every_flag_says_what_it_does():
    import argparse
    import re

    from boltzlab.cli.main import build_parser

    def walk(p, name):
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                for n, sp in a.choices.items():
                    yield from walk(sp, f"{name} {n}")
            elif not isinstance(a, (argparse._HelpAction, argparse._VersionAction)):
                yield name, a
    bare = [(n, a.option_strings or a.dest) for n, a in walk(build_parser(), "boltzlab")
            if len((a.help or "").strip()) < 10 or re.fullmatch(r"\(default [^)]*\)", a.help.strip())]
    assert not bare, bare
