"""Energies, free energies and exact partition functions against brute-force enumeration."""

import math

import numpy as np
import pytest
import torch

import boltzlab as bl
from boltzlab.errors import DomainError, IntractableError, ShapeError
from conftest import all_states, brute_force_log_z, random_rbm


@pytest.mark.parametrize("cls", [bl.BinaryRBM, bl.SpinRBM])
@pytest.mark.parametrize("offsets", [False, True])
@pytest.mark.parametrize("beta", [1.0, 0.37])
def test_free_energy_equals_marginalisation(cls, offsets, beta):
    rbm = random_rbm(5, 4, seed=2, cls=cls, offsets=offsets)
    values = tuple(rbm.visible.unit_values.tolist())
    vv, hh = all_states(5, values), all_states(4, values)
    e = torch.stack([rbm.energy(vv, h.expand(len(vv), 4)) for h in hh], 1)
    brute = -torch.logsumexp(-beta * e, 1)
    assert torch.allclose(rbm.free_energy(vv, beta), brute, atol=1e-12, rtol=0)
    eh = -torch.logsumexp(-beta * e, 0)
    assert torch.allclose(rbm.free_energy_hidden(hh, beta), eh, atol=1e-12, rtol=0)


@pytest.mark.parametrize("cls", [bl.BinaryRBM, bl.SpinRBM])
@pytest.mark.parametrize("shape", [(7, 3), (3, 8)])
@pytest.mark.parametrize("beta", [1.0, 2.5])
def test_exact_log_z_against_independent_float64(cls, shape, beta):
    rbm = random_rbm(*shape, scale=1.3, seed=5, cls=cls, offsets=True)
    ref = brute_force_log_z(rbm, beta)
    assert abs(bl.exact_log_z(rbm, beta=beta) - ref) <= 1e-9 * abs(ref)


def test_exact_log_z_float32_model_and_numpy_input():
    rbm64 = random_rbm(6, 5, seed=3)
    rbm32 = bl.BinaryRBM(rbm64.weights.detach().numpy().astype(np.float32),
                         rbm64.visible.bias.detach().numpy(), rbm64.hidden.bias.detach().numpy())
    assert rbm32.dtype == torch.float32
    assert abs(bl.exact_log_z(rbm32) - brute_force_log_z(rbm64)) < 1e-5


def test_enumeration_picks_smaller_layer_and_chunks():
    g = torch.Generator().manual_seed(0)
    rbm = bl.BinaryRBM(torch.randn(784, 12, generator=g, dtype=torch.float64) * 0.05, dtype=torch.float64)
    # hidden layer enumerated (2^12 states), in chunks far smaller than 4096 x 784
    lz = bl.exact_log_z(rbm, chunk_elements=10_000)
    lz_big = bl.exact_log_z(rbm)
    assert abs(lz - lz_big) < 1e-9 * abs(lz)


def test_refuses_intractable_and_names_estimator():
    rbm = bl.BinaryRBM.initialize(30, 30)
    with pytest.raises(IntractableError, match="AIS"):
        bl.exact_log_z(rbm)


def test_log_likelihood_normalised():
    rbm = random_rbm(6, 3, seed=9)
    vv = all_states(6)
    p = torch.exp(bl.exact_log_prob(rbm, vv))
    assert abs(float(p.sum()) - 1.0) < 1e-12


def test_overflow_safe_extreme_fields():
    rbm = bl.BinaryRBM(torch.full((3, 2), 400.0), torch.full((3,), -300.0), torch.full((2,), 500.0),
                       dtype=torch.float64)
    lz = bl.exact_log_z(rbm)
    assert math.isfinite(lz)
    assert abs(lz - brute_force_log_z(rbm)) < 1e-9 * abs(lz)
    spin = bl.SpinRBM(torch.full((3, 2), 400.0), dtype=torch.float64)
    assert math.isfinite(bl.exact_log_z(spin))


def test_domain_and_shape_errors():
    rbm = bl.BinaryRBM.initialize(4, 3)
    with pytest.raises(DomainError, match="0 and 1"):
        rbm.free_energy(torch.full((2, 4), 0.5))
    with pytest.raises(DomainError, match="NaN"):
        rbm.free_energy(torch.tensor([[0.0, 1.0, float("nan"), 1.0]]))
    with pytest.raises(ShapeError):
        rbm.free_energy(torch.zeros(2, 5))
    with pytest.raises(ShapeError):
        bl.BinaryRBM(torch.zeros(4, 3), visible_bias=torch.zeros(3))
    with pytest.raises(DomainError):
        bl.SpinRBM.initialize(3, 2).free_energy(torch.zeros(1, 3))


def test_energy_definition_eq16():
    """E = -(v - v_hat) U (h - h_hat) - b.v - c.h, term by term."""
    rbm = random_rbm(4, 3, seed=4, offsets=True)
    v = torch.tensor([[1.0, 0, 1, 1]], dtype=torch.float64)
    h = torch.tensor([[0.0, 1, 1]], dtype=torch.float64)
    U, b, c = rbm.weights, rbm.visible.bias, rbm.hidden.bias
    vh, hh = rbm.visible_offset, rbm.hidden_offset
    expect = -((v - vh) @ U @ (h - hh).T).squeeze() - (b * v).sum() - (c * h).sum()
    assert torch.allclose(rbm.energy(v, h), expect.reshape(1))


def test_recentring_leaves_distribution_unchanged():
    rbm = random_rbm(5, 4, seed=6)
    vv = all_states(5)
    before = bl.exact_log_prob(rbm, vv)
    rbm.set_offsets(torch.rand(5, dtype=torch.float64), torch.rand(4, dtype=torch.float64))
    after = bl.exact_log_prob(rbm, vv)
    assert torch.allclose(before, after, atol=1e-12)


def test_float32_default_and_device_dtype_choice():
    rbm = bl.BinaryRBM.initialize(5, 3)
    assert rbm.dtype == torch.float32
    r64 = bl.BinaryRBM.initialize(5, 3, dtype=torch.float64)
    assert r64.dtype == torch.float64 and torch.allclose(r64.weights.float(), rbm.weights)


@pytest.mark.parametrize("name", sorted(bl.EnergyModel.registry))
@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_every_registered_model_class_saves_and_loads(name, suffix, tmp_path):
    """Every class in the model registry (new classes included) round-trips with its free energies."""
    cls = bl.EnergyModel.registry[name]
    model = cls.example(seed=3)
    assert type(model) is cls
    v = model.visible.random_state(20, bl.Rng(1))
    bl.save_model(model, tmp_path / f"m{suffix}")
    back = bl.load_model(tmp_path / f"m{suffix}")
    assert type(back) is cls and back.config() == model.config()
    assert torch.equal(back.free_energy(v), model.free_energy(v))
    for (k, a), (k2, b) in zip(model.state_dict().items(), back.state_dict().items()):
        assert k == k2 and torch.equal(a, b)


def test_safetensors_files_are_checked_and_written_atomically(tmp_path):
    from safetensors.torch import save_file
    model = bl.RBM.example(seed=1)
    path = tmp_path / "m.safetensors"
    bl.save_model(model, path)
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]          # no temporary file left behind
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0xFF                                                          # flip bits in the tensor data
    (tmp_path / "flipped.safetensors").write_bytes(bytes(raw))
    with pytest.raises(bl.CheckpointError, match="checksum"):
        bl.load_model(tmp_path / "flipped.safetensors")
    (tmp_path / "cut.safetensors").write_bytes(path.read_bytes()[:-20])
    with pytest.raises(bl.CheckpointError, match="safetensors"):
        bl.load_model(tmp_path / "cut.safetensors")
    save_file({"w": torch.zeros(2, 2)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(bl.CheckpointError, match="boltzlab model description"):
        bl.load_model(tmp_path / "foreign.safetensors")
    back = bl.load_model(path, dtype=torch.float32)
    assert back.dtype == torch.float32 and type(back) is bl.RBM
