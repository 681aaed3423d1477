"""Interchange: scikit-learn BernoulliRBM and rbms HDF5 archives give the same free energies in boltzlab."""

import numpy as np
import pytest
import torch

import boltzlab as bl
from boltzlab.errors import CheckpointError, ConfigError

sklearn_rbm = pytest.importorskip("sklearn.neural_network")
h5py = pytest.importorskip("h5py")


@pytest.mark.parametrize("seed,n_features,n_components", [(0, 12, 5), (1, 30, 17), (2, 7, 40), (3, 64, 8)])
def test_from_sklearn_free_energies(seed, n_features, n_components):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.1, 0.9, n_features)
    x = (rng.random((200, n_features)) < p).astype(np.float64)
    est = sklearn_rbm.BernoulliRBM(n_components=n_components, learning_rate=0.1 * (seed + 1), n_iter=3 + seed,
                                   batch_size=10, random_state=seed).fit(x)
    m = bl.from_sklearn(est)
    assert isinstance(m, bl.BinaryRBM) and m.dtype == torch.float64
    v = (rng.random((300, n_features)) < 0.5).astype(np.float64)
    for data in (x, v):
        ours = m.free_energy(data).detach().numpy()
        np.testing.assert_allclose(ours, est._free_energy(data), rtol=0, atol=1e-6)
        np.testing.assert_allclose(m.mean_hidden(torch.as_tensor(data)).detach().numpy(), est.transform(data), atol=1e-10)
    # the free energies differ across states (the check above is not trivially satisfied by a constant)
    assert np.ptp(est._free_energy(v)) > 1e-3


def test_from_sklearn_refuses_unfitted():
    with pytest.raises(ConfigError, match="not a fitted"):
        bl.from_sklearn(sklearn_rbm.BernoulliRBM())


def _write_rbms(path, model_type, updates):
    """An archive laid out as rbms 0.5.0 (rbms.io.save_model) writes it, one group per update."""
    with h5py.File(path, "w") as f:
        hyper = f.create_group("hyperparameters")
        hyper["batch_size"] = 10
        for index, params in updates.items():
            ckpt = f.create_group(f"update_{index}")
            group = ckpt.create_group("params")
            for name, value in params.items():
                group[name] = value.numpy()
                ckpt[name] = group[name]
            ckpt["torch_rng_state"] = torch.get_rng_state()
            ckpt["time"] = 0.0
        f["parallel_chains"] = np.zeros((4, updates[max(updates)]["vbias"].shape[0]))
        f["model_type"] = model_type


def _bb_free_energy(v, p):  # rbms.bernoulli_bernoulli.implement._compute_energy_visibles
    return -v @ p["vbias"] - torch.nn.functional.softplus(p["hbias"] + v @ p["weight_matrix"]).sum(1)


def _pb_free_energy(v, p):  # rbms.potts_bernoulli.implement._compute_energy_visibles
    n, q, m = p["weight_matrix"].shape
    oh = torch.nn.functional.one_hot(v, q).double().reshape(len(v), n * q)
    field = oh @ p["vbias"].flatten()
    return -field - torch.nn.functional.softplus(p["hbias"] + oh @ p["weight_matrix"].reshape(n * q, m)).sum(1)


def test_rbms_binary_archive(tmp_path):
    g = torch.Generator().manual_seed(0)
    updates = {i: {"weight_matrix": torch.randn(9, 6, generator=g, dtype=torch.float64),
                   "vbias": torch.randn(9, generator=g, dtype=torch.float64),
                   "hbias": torch.randn(6, generator=g, dtype=torch.float64)} for i in (1, 10, 100)}
    path = tmp_path / "bb.h5"
    _write_rbms(path, "BBRBM", updates)
    assert bl.interchange.rbms_updates(path) == [1, 10, 100]
    v = torch.randint(0, 2, (50, 9), generator=g).double()
    for index, which in ((None, 100), (10, 10), (1, 1)):
        m = bl.load_rbms(path, index)
        assert isinstance(m, bl.BinaryRBM)
        torch.testing.assert_close(m.free_energy(v).detach(), _bb_free_energy(v, updates[which]), rtol=0, atol=1e-10)
    with pytest.raises(CheckpointError, match="no update 5"):
        bl.load_rbms(path, 5)


def test_rbms_potts_archive(tmp_path):
    g = torch.Generator().manual_seed(1)
    n, q, m = 7, 4, 5
    params = {"weight_matrix": torch.randn(n, q, m, generator=g, dtype=torch.float64),
              "vbias": torch.randn(n, q, generator=g, dtype=torch.float64),
              "hbias": torch.randn(m, generator=g, dtype=torch.float64)}
    path = tmp_path / "pb.h5"
    _write_rbms(path, np.bytes_(b"PBRBM"), {3: params})
    model = bl.load_rbms(path)
    assert isinstance(model, bl.PottsRBM) and model.n_states == q
    v = torch.randint(0, q, (60, n), generator=g)
    torch.testing.assert_close(model.free_energy(v).detach(), _pb_free_energy(v, params), rtol=0, atol=1e-10)
    # exact log Z agrees with brute force over the q^n visible states of the rbms energy
    states = torch.cartesian_prod(*[torch.arange(q)] * n)
    ref = torch.logsumexp(-_pb_free_energy(states, params), 0)
    assert abs(bl.exact_log_z(model) - float(ref)) < 1e-8


def test_rbms_bad_archives(tmp_path):
    bad = tmp_path / "x.h5"
    bad.write_text("not hdf5")
    with pytest.raises(CheckpointError, match="not an HDF5"):
        bl.load_rbms(bad)
    empty = tmp_path / "e.h5"
    with h5py.File(empty, "w") as f:
        f["x"] = 1
    with pytest.raises(CheckpointError, match="not an rbms archive"):
        bl.load_rbms(empty)
    wrong = tmp_path / "w.h5"
    _write_rbms(wrong, "BBRBM", {1: {"weight_matrix": torch.zeros(3, 2), "vbias": torch.zeros(4),
                                     "hbias": torch.zeros(2)}})
    with pytest.raises(CheckpointError, match="inconsistent"):
        bl.load_rbms(wrong)
