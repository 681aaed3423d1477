"""Batched replicas: R models sampled in one batched computation equal R separate runs, seed for seed."""

import pytest
import torch

import boltzlab as bl
from boltzlab.errors import ShapeError
from boltzlab.sampling import ReplicaBatch, group_by_shape
from conftest import random_rbm


@pytest.mark.parametrize("betas", [[1.0, 0.8, 0.6, 1.3], [0.7] * 4])  # per-replica layers; stacked layers
@pytest.mark.parametrize("cls", [bl.BinaryRBM, bl.SpinRBM])
def test_batched_replicas_equal_separate_runs(cls, betas):
    models = [random_rbm(9, 5, scale=1.0, seed=s, cls=cls, offsets=s % 2 == 1) for s in range(4)]
    v, h = ReplicaBatch(models).sample(300, steps=25, beta=betas, seeds=[10, 11, 12, 13])
    assert v.shape == (4, 300, 9) and h.shape == (4, 300, 5)
    for r, m in enumerate(models):
        vr, hr = m.sample(300, steps=25, beta=betas[r], seed=10 + r)
        assert torch.equal(v[r], vr) and torch.equal(h[r], hr)


def test_batched_replicas_with_gaussian_hidden_units_match_closely():
    models = [bl.make_rbm(6, 3, "binary", "gaussian", weight_std=0.3, seed=s, dtype=torch.float64)
              for s in range(3)]
    v, h = ReplicaBatch(models).sample(50, steps=5, seeds=[0, 1, 2])
    for r, m in enumerate(models):
        vr, hr = m.sample(50, steps=5, seed=r)
        assert torch.equal(v[r], vr) and torch.allclose(h[r], hr, atol=1e-12)


def test_replicas_of_different_shapes_are_grouped_and_refused_together():
    models = [random_rbm(6, 3, seed=0), random_rbm(6, 4, seed=1), random_rbm(6, 3, seed=2)]
    assert group_by_shape(models) == [[0, 2], [1]]
    with pytest.raises(ShapeError, match="group_by_shape"):
        ReplicaBatch(models)
    with pytest.raises(ShapeError, match="inverse temperatures"):
        ReplicaBatch(models[::2]).sample(10, steps=1, beta=[1.0, 1.0, 1.0])


@pytest.mark.parametrize("method", ["pcd", "cd", "rdm"])
def test_replica_training_follows_each_separate_run(tmp_path, method):
    from boltzlab.training import TrainConfig, Trainer
    from boltzlab.training.replicas import ReplicaTrainer
    data = (torch.rand(120, 8, generator=torch.Generator().manual_seed(0)) < 0.3).double()
    cfgs = [TrainConfig(n_hidden=4, method=method, k=2, batch_size=20, n_chains=30, epochs=2, lr=lr, seed=s,
                        centered=True, dtype="float64", monitor_exact_max_log2=8, monitor_samples=0)
            for s, lr in ((0, 0.05), (1, 0.1), (2, 0.02))]
    together = [Trainer.create(data, c, progress=False, out_dir=tmp_path / f"r{i}") for i, c in enumerate(cfgs)]
    histories = ReplicaTrainer(together, progress=False).fit()
    for i, c in enumerate(cfgs):
        alone = Trainer.create(data, c, progress=False)
        alone.fit()
        for k, v in alone.model.state_dict().items():
            assert torch.equal(v, together[i].model.state_dict()[k]), k
        assert histories[i][-1]["train_log_likelihood"] == alone.history[-1]["train_log_likelihood"]
        assert (tmp_path / f"r{i}" / "checkpoint.pt").exists()
    assert float(together[0].model.weights.detach().abs().max()) > 1e-2  # they trained


def test_replica_training_refuses_mismatched_runs():
    from boltzlab.errors import ConfigError
    from boltzlab.training import TrainConfig, Trainer
    from boltzlab.training.replicas import ReplicaTrainer
    data = (torch.rand(60, 6, generator=torch.Generator().manual_seed(0)) < 0.3).double()
    a = Trainer.create(data, TrainConfig(n_hidden=3, k=1, dtype="float64"), progress=False)
    b = Trainer.create(data, TrainConfig(n_hidden=3, k=2, dtype="float64"), progress=False)
    c = Trainer.create(data, TrainConfig(n_hidden=4, k=1, dtype="float64"), progress=False)
    with pytest.raises(ConfigError, match="method, k"):
        ReplicaTrainer([a, b])
    with pytest.raises(ShapeError, match="group_by_shape"):
        ReplicaTrainer([a, c])
