"""The CUDA path (skipped where no GPU is present; CI has none): same statistics as on the CPU."""

import pytest
import torch

import boltzlab as bl
from boltzlab.training import TrainConfig, Trainer
from conftest import brute_force_log_z, random_rbm
from test_sampling import BOUND, _tv

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@pytest.mark.parametrize("cls", [bl.BinaryRBM, bl.SpinRBM])
def test_cuda_block_gibbs_matches_exact(cls):
    rbm = random_rbm(6, 4, scale=1.0, seed=1, cls=cls, offsets=True)
    gpu = random_rbm(6, 4, scale=1.0, seed=1, cls=cls, offsets=True).to("cuda", torch.float32)
    v, h = gpu.sample(60_000, steps=40, beta=0.7, seed=3)
    assert v.is_cuda and h.is_cuda
    assert _tv(v.cpu().double(), rbm, 0.7) < BOUND
    assert _tv(v.cpu().double(), rbm, 1.4) > 2 * BOUND


def test_cuda_exact_log_z_and_training():
    rbm = random_rbm(7, 5, seed=2, offsets=True)
    assert abs(bl.exact_log_z(rbm.to("cuda")) - brute_force_log_z(rbm.cpu())) < 1e-9 * 10
    data = (torch.rand(200, 8, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    tr = Trainer.create(data, TrainConfig(n_hidden=3, epochs=2, batch_size=20, device="cuda", centered=True),
                        progress=False)
    hist = tr.fit()
    assert tr.model.weights.is_cuda and hist[-1]["train_log_likelihood"] < 0


def test_cuda_ais_rais_and_tempering():
    rbm = random_rbm(10, 6, scale=1.0, seed=3, offsets=True)
    exact = bl.exact_log_z(rbm)
    gpu = random_rbm(10, 6, scale=1.0, seed=3, offsets=True).to("cuda", torch.float32)
    a = bl.ais_log_z(gpu, 200, 500, seed=0)
    assert abs(a.log_z - exact) < max(4 * a.stderr, 0.02) and a.log_weights.device.type == "cpu"
    v, _ = gpu.sample(400, steps=200, seed=1)
    r = bl.rais_log_z(gpu, v, 100, 500, seed=0)
    assert abs(r.log_z - exact) < 4 * r.stderr + 0.05
    # BOUND is sized for 6 visible units (64 states) at 60,000 samples, as in test_partition's CPU twin;
    # with 10 visible units (1024 states) the sampling noise alone gives a total variation near 0.045.
    small = random_rbm(6, 4, scale=1.5, seed=1, offsets=True)
    small_gpu = random_rbm(6, 4, scale=1.5, seed=1, offsets=True).to("cuda", torch.float32)
    pt = bl.sampling.ParallelTempering(small_gpu, 60_000, n_replicas=4, beta_min=0.3, seed=2)
    v = pt.run(30).cpu().double()
    assert _tv(v, small, 1.0) < BOUND and _tv(v, small, 0.6) > 2 * BOUND


def test_cuda_batched_replicas_equal_separate_runs():
    models = [random_rbm(9, 5, scale=1.0, seed=s, offsets=True).to("cuda") for s in range(3)]
    v, h = bl.sampling.ReplicaBatch(models).sample(200, steps=10, beta=[1.0, 0.7, 1.2], seeds=[0, 1, 2])
    for r, m in enumerate(models):
        vr, hr = m.sample(200, steps=10, beta=[1.0, 0.7, 1.2][r], seed=r)
        assert torch.equal(v[r], vr) and torch.equal(h[r], hr)
