"""The learning rule against autograd of the exact log-likelihood; training, checkpoints and resume."""

import copy

import pytest
import torch

import boltzlab as bl
from boltzlab.errors import CheckpointError, ConfigError
from boltzlab.training import TrainConfig, Trainer
from conftest import all_states, random_rbm


def exact_nll(model, data):
    """-mean ln p(v) with log Z as a differentiable logsumexp over all visible states."""
    states = all_states(model.n_visible, tuple(model.visible.unit_values.tolist()))
    log_z = torch.logsumexp(-model.visible_free_energy(states), 0)
    return model.visible_free_energy(data).mean() + log_z


def _data(n=64, nv=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    d = (torch.rand(n, nv, generator=g) < 0.3).double()
    d[: n // 2, : nv // 2] = 1.0
    return d


@pytest.mark.parametrize("cls", [bl.BinaryRBM, bl.SpinRBM])
@pytest.mark.parametrize("offsets", [False, True])
def test_learning_rule_equals_exact_gradient(cls, offsets):
    """<dF/dtheta>_data - <dF/dtheta>_model, the model average taken exactly, is the NLL gradient."""
    rbm = random_rbm(6, 3, seed=2, cls=cls, offsets=offsets)
    data = _data()
    if cls is bl.SpinRBM:
        data = 2 * data - 1
    ref = torch.autograd.grad(exact_nll(rbm, data), list(rbm.parameters()))
    states = all_states(6, tuple(rbm.visible.unit_values.tolist()))
    with torch.no_grad():
        p = torch.softmax(-rbm.visible_free_energy(states), 0)
    surrogate = rbm.visible_free_energy(data).mean() - (p * rbm.visible_free_energy(states)).sum()
    got = torch.autograd.grad(surrogate, list(rbm.parameters()))
    for a, b in zip(got, ref):
        assert torch.allclose(a, b, atol=1e-12)


def test_trainer_update_is_an_unbiased_gradient_step():
    """One SGD step of the Trainer (Rdm-k, many equilibrated chains) moves theta by -lr * exact gradient."""
    rbm = random_rbm(6, 3, seed=4)
    data = _data()
    grads = torch.autograd.grad(exact_nll(rbm, data), list(rbm.parameters()))
    cfg = TrainConfig(n_hidden=3, method="rdm", k=30, n_chains=200_000, batch_size=64, lr=1.0, momentum=0.0,
                      dtype="float64", seed=1)
    tr = Trainer(copy.deepcopy(rbm), data, cfg, progress=False)
    before = [p.detach().clone() for p in tr.model.parameters()]
    tr.update(data)
    for p0, p1, g in zip(before, tr.model.parameters(), grads):
        step = p0 - p1.detach()
        # Monte-Carlo error of a model average over 2e5 chains is ~ 1/sqrt(2e5) ~ 2e-3
        assert (step - g).abs().max() < 1.2e-2, (step - g).abs().max()


@pytest.mark.parametrize("method", ["pcd", "cd", "rdm"])
def test_training_improves_exact_likelihood(method):
    data = _data(400, 8, seed=3).float()
    cfg = TrainConfig(n_hidden=4, method=method, k=2, epochs=8, batch_size=20, lr=0.1, seed=0,
                      monitor_samples=400)
    tr = Trainer.create(data, cfg, progress=False)
    ll0 = bl.exact_log_likelihood(tr.model, data)
    hist = tr.fit()
    assert hist[-1]["train_log_likelihood"] > ll0 + 0.2
    assert hist[-1]["step"] == 8 * 20


def test_centered_adam_l1_l2_and_schedules_run_and_improve():
    data = _data(400, 8, seed=3).float()
    for extra in (dict(centered=True), dict(optimizer="adam", lr=0.03), dict(l1=1e-4, l2=1e-3),
                  dict(lr_schedule="step", lr_decay=0.5, lr_decay_every=100), dict(lr_schedule="linear")):
        base = dict(n_hidden=4, epochs=10, batch_size=20, lr=0.05, seed=0, k=5, n_chains=200)
        cfg = TrainConfig(**{**base, **extra})
        tr = Trainer.create(data, cfg, progress=False)
        ll0 = bl.exact_log_likelihood(tr.model, data)
        tr.fit()
        assert bl.exact_log_likelihood(tr.model, data) > ll0 + 0.1, extra
        if extra.get("lr_schedule") == "step":
            assert tr.optimizer.param_groups[0]["lr"] == pytest.approx(0.05 * 0.5 ** (tr.step // 100))


def test_invalid_hyperparameters_refused():
    for bad in (dict(lr=-1.0), dict(k=0), dict(method="gibbs"), dict(momentum=1.0), dict(batch_size=0),
                dict(lr=float("nan")), dict(dtype="float16")):
        with pytest.raises(ConfigError):
            TrainConfig(**bad)
    with pytest.raises(ConfigError, match="unknown"):
        TrainConfig.from_dict({"learning_rate": 0.1})


def test_resume_reproduces_uninterrupted_run_exactly(tmp_path):
    data = _data(300, 8, seed=5).float()
    cfg = TrainConfig(n_hidden=4, epochs=4, batch_size=32, lr=0.05, seed=3, centered=True, k=2)
    full = Trainer.create(data, cfg, out_dir=tmp_path / "full", progress=False)
    full.fit()
    # a run stopped after 2 epochs (its checkpoint is what a killed run leaves behind) ...
    part_cfg = TrainConfig(**{**cfg.to_dict(), "epochs": 2})
    part = Trainer.create(data, part_cfg, out_dir=tmp_path / "part", progress=False)
    part.fit()
    # ... resumed to 4 epochs
    resumed = Trainer.resume(tmp_path / "part" / "checkpoint.pt", data, epochs=4, progress=False)
    resumed.fit()
    for a, b in zip(full.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)
    assert torch.equal(full.chains, resumed.chains)
    lines_full = (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()
    lines_res = (tmp_path / "part" / "metrics.jsonl").read_text().splitlines()
    strip = lambda ls: [{k: v for k, v in __import__("json").loads(x).items() if k != "seconds"} for x in ls]  # noqa
    assert strip(lines_full) == strip(lines_res)


def test_resume_mid_epoch_via_max_updates(tmp_path):
    data = _data(300, 8, seed=5).float()
    cfg = TrainConfig(n_hidden=4, epochs=2, batch_size=32, lr=0.05, seed=3)
    full = Trainer.create(data, cfg, progress=False)
    full.fit()
    part = Trainer.create(data, TrainConfig(**{**cfg.to_dict(), "max_updates": 13}), out_dir=tmp_path,
                          progress=False)
    part.fit()
    resumed = Trainer.resume(tmp_path / "checkpoint.pt", data, max_updates=10**9, progress=False)
    resumed.config.max_updates = None
    resumed.fit()
    assert resumed.step == full.step
    assert torch.equal(full.model.weights, resumed.model.weights)


def test_truncated_and_corrupt_checkpoints_refused(tmp_path):
    data = _data(100, 6).float()
    tr = Trainer.create(data, TrainConfig(n_hidden=3, epochs=1, batch_size=50), out_dir=tmp_path, progress=False)
    tr.fit()
    ck = tmp_path / "checkpoint.pt"
    raw = ck.read_bytes()
    bl.load_model(ck)
    (tmp_path / "trunc.pt").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        bl.load_model(tmp_path / "trunc.pt")
    flipped = bytearray(raw)
    flipped[len(raw) // 2] ^= 0xFF
    (tmp_path / "flip.pt").write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        bl.load_model(tmp_path / "flip.pt")
    (tmp_path / "junk.pt").write_bytes(b"hello")
    with pytest.raises(CheckpointError):
        bl.load_model(tmp_path / "junk.pt")
    with pytest.raises(CheckpointError):
        Trainer.resume(tmp_path / "trunc.pt", data)
    with pytest.raises(CheckpointError, match="differ"):
        Trainer.resume(ck, _data(100, 6, seed=9).float())


def test_checkpoint_loads_on_other_dtype_and_npz_roundtrip(tmp_path):
    rbm = random_rbm(5, 3, seed=1).to(torch.float32)
    bl.save_model(rbm, tmp_path / "m.npz")
    bl.save_model(rbm, tmp_path / "m.pt")
    a = bl.load_model(tmp_path / "m.npz")
    b = bl.load_model(tmp_path / "m.pt", dtype=torch.float64)
    assert b.dtype == torch.float64
    assert abs(bl.exact_log_z(a) - bl.exact_log_z(rbm)) < 1e-9
    assert abs(bl.exact_log_z(b) - bl.exact_log_z(rbm)) < 1e-9


def test_trainer_refuses_a_learnt_precision_that_leaves_the_models_that_exist():
    """A Gaussian layer whose learnt precision crosses zero defines no distribution: the run stops with a
    clear TrainingDiverged naming the unit, instead of carrying on with NaN samples."""
    from boltzlab.training import TrainingDiverged
    from boltzlab.units import BinaryLayer, GaussianLayer
    g = torch.Generator().manual_seed(0)
    vis = GaussianLayer(3, precision=torch.full((3,), 5.0, dtype=torch.float64), learn_precision=True,
                        dtype=torch.float64)
    rbm = bl.RBM(vis, BinaryLayer(2, dtype=torch.float64), torch.randn(3, 2, generator=g, dtype=torch.float64) * 0.01)
    assert rbm.domain_problem() is None
    data = torch.randn(40, 3, generator=g, dtype=torch.float64) * 3.0
    cfg = TrainConfig(n_hidden=2, visible_units="gaussian", method="cd", k=1, batch_size=40, epochs=1,
                      lr=5.0, momentum=0.0, dtype="float64", monitor_exact_max_log2=0, monitor_samples=0)
    tr = Trainer(rbm, data, cfg, progress=False)
    with pytest.raises(TrainingDiverged, match=r"visible layer: Gaussian unit \d has precision"):
        tr.fit()
    assert "precision" in (rbm.domain_problem() or "")


def test_exact_negative_phase_steps_by_the_exact_gradient():
    """method="exact": one SGD step of the Trainer moves theta by exactly -lr * grad of the exact NLL."""
    rbm = random_rbm(6, 3, seed=4, offsets=True)
    data = _data()
    grads = torch.autograd.grad(exact_nll(rbm, data), list(rbm.parameters()))
    cfg = TrainConfig(n_hidden=3, method="exact", batch_size=64, lr=0.5, momentum=0.0, dtype="float64")
    tr = Trainer(copy.deepcopy(rbm), data, cfg, progress=False)
    before = [p.detach().clone() for p in tr.model.parameters()]
    tr.update(data)
    for p0, p1, g in zip(before, tr.model.parameters(), grads):
        assert torch.allclose(p0 - p1.detach(), 0.5 * g, atol=1e-12)


def test_negative_phases_register_by_method_name():
    """A new negative phase is a class naming its methods; TrainConfig accepts it and the trainer uses it."""
    from boltzlab.training.negative import NegativePhase, SampledNegativePhase

    class FixedSamples(SampledNegativePhase):
        methods = ("fixed-test-samples",)

        def samples(self, batch):
            return all_states(6)[:self.trainer.config.chains]

    try:
        cfg = TrainConfig(n_hidden=3, method="fixed-test-samples", n_chains=64, batch_size=64, lr=1.0,
                          momentum=0.0, dtype="float64")
        rbm = random_rbm(6, 3, seed=2)
        tr = Trainer(copy.deepcopy(rbm), _data(), cfg, progress=False)
        tr.update(_data())
        surrogate = rbm.visible_free_energy(_data()).mean() - rbm.visible_free_energy(all_states(6)).mean()
        for p0, p1, g in zip(rbm.parameters(), tr.model.parameters(), torch.autograd.grad(surrogate, list(rbm.parameters()))):
            assert torch.allclose(p0.detach() - p1.detach(), g, atol=1e-12)
        with pytest.raises(ConfigError, match="method must be one of"):
            TrainConfig(method="no-such-phase")
    finally:
        del NegativePhase.registry["fixed-test-samples"]
