"""Data-parallel training on torch.distributed: 2 gloo processes on loopback against 1 process.

The runs share the chain shards (2) and their random streams, so a 2-process run must reproduce the
1-process run to floating-point rounding, and a checkpoint written by 2 processes must resume in 1.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import boltzlab as bl
from boltzlab.distributed import ShardedRng, World, shard_range
from boltzlab.errors import CheckpointError, ConfigError
from boltzlab.training import TrainConfig, Trainer
from boltzlab.training.distributed import DistributedTrainer

WORKER = Path(__file__).with_name("distributed_worker.py")


def _run(tmp: Path, method: str, epochs: int, nproc: int | None, resume: bool = False) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo"}
    args = [str(WORKER), method, str(epochs), str(tmp)] + (["--resume"] if resume else [])
    if nproc is None:  # no launcher: a world of one
        cmd = [sys.executable, *args]
        env = {k: v for k, v in env.items() if k not in ("RANK", "WORLD_SIZE")}
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *args]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return torch.load(tmp / "params.pt")


def _close(a: dict, b: dict, tol: float = 1e-12) -> bool:
    return all(float((a[k] - b[k]).abs().max()) < tol for k in a)


@pytest.mark.parametrize("method", ["pcd", "cd"])
def test_two_gloo_processes_reproduce_one_process(tmp_path, method):
    one = _run(tmp_path / "one", method, 2, None)
    two = _run(tmp_path / "two", method, 2, 2)
    assert _close(one, two)
    # the runs moved: not a comparison of two untouched initialisations
    assert float(one["weights"].abs().max()) > 1e-2


def test_checkpoint_of_two_processes_resumes_in_one(tmp_path):
    straight = _run(tmp_path / "straight", "pcd", 3, None)
    _run(tmp_path / "split", "pcd", 2, 2)
    resumed = _run(tmp_path / "split", "pcd", 3, None, resume=True)
    assert _close(straight, resumed)
    with pytest.raises(CheckpointError, match="data-parallel"):
        Trainer.resume(tmp_path / "split" / "checkpoint.pt", (torch.rand(200, 12, generator=torch.Generator()
                       .manual_seed(0)) < 0.3).double(), progress=False)


def test_sharded_streams_do_not_depend_on_who_holds_them():
    whole = ShardedRng(5, 4, range(0, 4))
    halves = [ShardedRng(5, 4, shard_range(4, World(r, 2))) for r in range(2)]
    p = torch.full((8, 3), 0.5, dtype=torch.float64)
    a = whole.bernoulli_(p.clone())
    b = torch.cat([h.bernoulli_(p[:4].clone()) for h in halves])
    assert torch.equal(a, b)
    assert torch.equal(whole.normal((8, 2), torch.float64),
                       torch.cat([h.normal((4, 2), torch.float64) for h in halves]))
    assert torch.equal(whole.permutation(10), halves[1].permutation(10))  # the shared stream
    state = whole.get_state()
    x = whole.uniform((4, 2), torch.float64)
    whole.set_state(state)
    assert torch.equal(x, whole.uniform((4, 2), torch.float64))


def test_shard_counts_that_cannot_split_are_refused():
    with pytest.raises(ConfigError, match="cannot share"):
        shard_range(3, World(0, 2))
    data = (torch.rand(100, 6, generator=torch.Generator().manual_seed(0)) < 0.5).double()
    with pytest.raises(ConfigError, match="multiple of 4"):
        DistributedTrainer.create(data, TrainConfig(n_hidden=3, n_chains=10, dtype="float64"), shards=4,
                                  progress=False)
    with pytest.raises(ConfigError, match="split evenly"):
        ShardedRng(0, 2, range(2)).normal((3, 2))


@pytest.mark.parametrize("flags, message", [(["--distributed", "--shards", "3"], "cannot be split over 3 shards"),
                                            (["--shards", "2"], "only with --distributed")])
def test_cli_refuses_bad_sharding(tmp_path, capsys, flags, message):
    from test_cli import run
    code, _, err = run(["train", "--data", "ising:L=3,n=100", "--hidden", "2", "--epochs", "1", "--batch-size", "20",
                        "--n-chains", "20", "--no-progress", "--out", tmp_path, *flags], capsys)
    assert code == 2 and message in err and "Traceback" not in err


def test_cli_sample_refuses_bad_sharding(tmp_path, capsys):
    from test_cli import run
    rbm = bl.BinaryRBM(torch.zeros(4, 2))
    bl.save_model(rbm, tmp_path / "m.npz")
    for flags, message in ((["--shards", "2"], "only with --distributed"),
                           (["--distributed", "--shards", "3"], "cannot be split over 3 shards"),
                           (["--distributed", "--tempering", "3"], "does not combine")):
        code, _, err = run(["sample", tmp_path / "m.npz", "--chains", "10", "--steps", "2", "--npz",
                            tmp_path / "s.npz", *flags], capsys)
        assert code == 2 and message in err, err
