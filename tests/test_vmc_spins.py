"""Lattice VMC (issue 8, spins): Hamiltonians and ED against Kronecker products and free fermions, local energies
against a dense H applied to the exact wave function, O(M) updates against full recomputation, the sampler
against |Psi|^2, SR against a dense solve, checkpoints resuming exactly, and the CLI."""

import json
import math
from functools import reduce

import numpy as np
import pytest
import torch

from boltzlab.cli.main import main
from boltzlab.errors import ConfigError, IntractableError
from torch.nn.utils import parameters_to_vector

from boltzlab.quantum.lattice import (Lattice, MetropolisSpinSampler, RBMSpinState, SpinAnsatz, SpinVMC,
                                      SymmetricRBMSpinState,
                                      SpinVMCConfig, all_configurations, exact_expectation, ground_state,
                                      heisenberg_chain_energy, make_hamiltonian, reference_energy,
                                      sparse_hamiltonian, tfim_chain_energy)
from boltzlab.quantum.optim import make_optimizer
from boltzlab.quantum.vmc import trainable_parameters

# Pauli matrices in the basis (bit 0 = spin down s=-1, bit 1 = spin up s=+1) of all_configurations.
Z = np.diag([-1.0, 1.0])
X = np.array([[0.0, 1.0], [1.0, 0.0]])
Y = np.array([[0.0, 1j], [-1j, 0.0]])
I2 = np.eye(2)


def op(n, ops):
    """Kronecker product with ``ops[i]`` on site i (site 0 = least significant bit, the last factor)."""
    return reduce(np.kron, [ops.get(i, I2) for i in reversed(range(n))])


def dense_reference(model, lattice, h=1.0, J=1.0):
    lat = Lattice.parse(lattice)
    n = lat.n_sites
    H = np.zeros((2 ** n, 2 ** n), dtype=complex)
    for i, j in lat.bonds.tolist():
        if model == "tfim":
            H -= J * op(n, {i: Z, j: Z})
        else:
            H += J * (op(n, {i: X, j: X}) + op(n, {i: Y, j: Y}) + op(n, {i: Z, j: Z}))
    if model == "tfim":
        for i in range(n):
            H -= h * op(n, {i: X})
    return H


def LP(ansatz, s):
    with torch.no_grad():
        return ansatz.log_psi(s)


def vec(ansatz):
    return parameters_to_vector(trainable_parameters(ansatz)).detach().clone()


@torch.no_grad()
def set_vec(ansatz, v):
    i = 0
    for p in trainable_parameters(ansatz):
        p.copy_(v[i:i + p.numel()].view_as(p))
        i += p.numel()


def random_rbm(n, alpha=1.0, scale=0.3, seed=0, **kw):
    return RBMSpinState(n, alpha=alpha, init_scale=scale, seed=seed, **kw)


class Jastrow(SpinAnsatz):
    """A user-defined ansatz (as in a notebook): ln Psi = sum_i a_i s_i + sum_{i<j} J_ij s_i s_j + i pi phase."""

    def __init__(self, n, seed=0):
        super().__init__(n)
        g = torch.Generator().manual_seed(seed)
        self.a = torch.nn.Parameter(0.3 * torch.randn(n, generator=g, dtype=torch.float64))
        self.J = torch.nn.Parameter(0.3 * torch.randn(n, n, generator=g, dtype=torch.float64))

    def log_psi(self, s):
        s = s.to(torch.float64)
        return s @ self.a + torch.einsum("ci,ij,cj->c", s, torch.triu(self.J, 1), s)


# ---------------------------------------------------------------- Hamiltonians and exact diagonalisation
@pytest.mark.parametrize("model, lattice, h", [("tfim", "5", 0.7), ("tfim", "3x3", 1.3), ("heisenberg", "6", 1.0),
                                               ("heisenberg", "3x3", 1.0), ("tfim", "2", 0.4)])
def test_sparse_hamiltonian_equals_pauli_kronecker_products(model, lattice, h):
    ham = make_hamiltonian(model, lattice, field=h, coupling=0.8)
    H = sparse_hamiltonian(ham).toarray()
    ref = dense_reference(model, lattice, h, 0.8)
    assert np.abs(ref.imag).max() < 1e-14
    assert np.allclose(H, ref.real, atol=1e-13)


@pytest.mark.parametrize("n", [4, 6, 10])
@pytest.mark.parametrize("h", [0.5, 1.0, 2.0])
def test_lanczos_tfim_matches_free_fermions(n, h):
    e = ground_state(make_hamiltonian("tfim", str(n), field=h))
    assert abs(e - tfim_chain_energy(n, h)) < 1e-9 * n


def test_lanczos_heisenberg_known_values():
    # spin-1/2 units are a quarter of the Pauli ones: E/N = -0.5 (L=4, exactly -2 for S.S), -0.7017777 (4x4).
    assert abs(ground_state(make_hamiltonian("heisenberg", "4")) - (-8.0)) < 1e-10
    e12 = ground_state(make_hamiltonian("heisenberg", "12"))
    assert abs(e12 / 4 - (-5.387390917445)) < 1e-8          # Bethe-ansatz / ED literature value, L = 12
    with pytest.raises(IntractableError):
        heisenberg_chain_energy(5)


@pytest.mark.parametrize("n", [3, 5, 7, 9, 8])
@pytest.mark.parametrize("h, J", [(0.3, 1.0), (1.0, 1.0), (2.0, 1.0), (0.3, -1.0), (1.0, -0.7), (2.0, -1.0),
                                  (-0.6, 1.0)])
def test_free_fermions_hold_at_any_length_and_sign(n, h, J):
    """Odd rings included: the unpaired k = pi mode of the even-parity sector is fixed by the parity constraint;
    taking -|J + h| for it instead (no parity constraint) is off by 2 (|J| - h) = 1.4 on the frustrated rings."""
    e = ground_state(make_hamiltonian("tfim", str(n), field=h, coupling=J))
    assert abs(e - tfim_chain_energy(n, h, J)) < 1e-9 * n


@pytest.mark.parametrize("n", [4, 6, 10, 14])
def test_bethe_ansatz_equals_lanczos(n):
    for J in (1.0, 0.6, -1.0):
        e = ground_state(make_hamiltonian("heisenberg", str(n), coupling=J))
        assert abs(heisenberg_chain_energy(n, J) - e) < 1e-9 * n


def test_references_at_every_size():
    """Free fermions and the Bethe ansatz at 80 sites (E/N near the thermodynamic limits -4/pi and
    4 (1/4 - ln 2)), Lanczos for small square lattices, Sandvik's QMC for 10 x 10, nothing for 6 x 6 TFIM."""
    r = reference_energy(make_hamiltonian("tfim", "80", field=1.0))
    assert r.stderr == 0 and "free fermions" in r.source and abs(r.energy / 80 + 4 / math.pi) < 1e-3
    r = reference_energy(make_hamiltonian("heisenberg", "80"))
    assert "Bethe" in r.source and abs(r.energy / 80 - 4 * (0.25 - math.log(2))) < 2e-3
    assert reference_energy(make_hamiltonian("heisenberg", "3x4")).energy == pytest.approx(
        ground_state(make_hamiltonian("heisenberg", "3x4")), abs=1e-9)
    r = reference_energy(make_hamiltonian("heisenberg", "10x10"))
    assert r.energy == pytest.approx(-0.671549 * 4 * 100) and r.stderr > 0 and "Sandvik" in r.source
    assert reference_energy(make_hamiltonian("tfim", "6x6")) is None


def test_lattice_geometry_and_bad_input():
    assert Lattice.parse("4x4").bonds.shape == (32, 2) and Lattice.parse("8").bonds.shape == (8, 2)
    assert Lattice.parse("4x4").bipartite and not Lattice.parse("5").bipartite
    sub = Lattice.parse("4x4").sublattice
    assert all(sub[i] != sub[j] for i, j in Lattice.parse("4x4").bonds.tolist())
    for bad in ("2x2", "axb", "2x3x4", "1"):
        with pytest.raises(ConfigError):
            Lattice.parse(bad)
    with pytest.raises(ConfigError):
        make_hamiltonian("potts", "4")


# ---------------------------------------------------------------- local energies and ratios
CASES = [("tfim", "6", dict()), ("tfim", "6", dict(complex=True)), ("heisenberg", "6", dict(marshall=True)),
         ("heisenberg", "4x4", dict(marshall=True, complex=True)), ("heisenberg", "6", dict()),
         ("tfim", "3x3", dict(alpha=2.0))]


@pytest.mark.parametrize("model, lattice, kw", CASES)
def test_local_energies_equal_dense_h_applied_to_the_exact_wave_function(model, lattice, kw):
    ham = make_hamiltonian(model, lattice, field=0.9)
    lat = ham.lattice
    kw = dict(kw)
    alpha = kw.pop("alpha", 1.0)
    rbm = random_rbm(lat.n_sites, alpha=alpha, scale=0.4, seed=3, sublattice=lat.sublattice, **kw)
    s = all_configurations(lat.n_sites)
    psi = torch.exp(LP(rbm, s).to(torch.complex128)).numpy()
    hpsi = sparse_hamiltonian(ham) @ psi
    rows = np.arange(len(s))
    if lat.n_sites > 12:  # 4x4: local energies of a random subset of rows (H psi is over all of them)
        rows = np.random.default_rng(0).choice(len(s), 1000, replace=False)
    x = s[rows]
    e_loc = ham.local_energy(rbm, x, rbm.init_cache(x)).to(torch.complex128).numpy()
    assert np.allclose(e_loc, hpsi[rows] / psi[rows], rtol=1e-10, atol=1e-10)


def test_generic_ansatz_local_energies_and_log_derivatives():
    ham = make_hamiltonian("heisenberg", "6")
    jas = Jastrow(6)
    s = all_configurations(6)
    psi = torch.exp(LP(jas, s)).numpy()
    e_loc = ham.local_energy(jas, s, jas.init_cache(s)).real.numpy()
    assert np.allclose(e_loc, (sparse_hamiltonian(ham) @ psi) / psi, atol=1e-10)
    O = jas.log_derivatives(s[:7])
    x = s[:7]
    expect = torch.cat([x, (x.unsqueeze(2) * x.unsqueeze(1) * torch.triu(torch.ones(6, 6), 1)).reshape(7, -1)], 1)
    assert torch.allclose(O, expect, atol=1e-12)


@pytest.mark.parametrize("complex_", [False, True])
def test_rbm_log_derivatives_match_autograd_and_finite_differences(complex_):
    rbm = random_rbm(5, alpha=2, scale=0.5, seed=1, complex=complex_)
    s = all_configurations(5)[::3]
    O = rbm.log_derivatives(s, rbm.init_cache(s))
    p0 = vec(rbm)
    eps = 1e-6
    for k in (0, 4, 5, 13, p0.numel() - 1):
        d = torch.zeros_like(p0)
        d[k] = eps
        set_vec(rbm, p0 + d); up = LP(rbm, s)
        set_vec(rbm, p0 - d); dn = LP(rbm, s)
        set_vec(rbm, p0)
        assert torch.allclose(O[:, k], ((up - dn) / (2 * eps)).to(O.dtype), atol=1e-7)
    if not complex_:  # the generic torch.func path of SpinAnsatz gives the same
        assert torch.allclose(SpinAnsatz.log_derivatives(rbm, s), O, atol=1e-12)


@pytest.mark.parametrize("move, complex_", [("local", False), ("local", True), ("exchange", False)])
def test_o_m_metropolis_update_equals_full_recompute(move, complex_):
    lat = Lattice.parse("8")
    rbm = random_rbm(8, alpha=2, scale=0.6, seed=5, complex=complex_, marshall=move == "exchange",
                     sublattice=lat.sublattice)
    g = torch.Generator().manual_seed(0)
    s = (2 * torch.randint(0, 2, (64, 8), generator=g) - 1).double()
    groups = torch.arange(8).unsqueeze(1) if move == "local" else lat.bonds
    tables = rbm.move_tables(groups)
    cache = rbm.init_cache(s)
    for _ in range(30):
        gi = torch.randint(0, len(groups), (64,), generator=g)
        sites = groups[gi]
        before = s.clone()
        lp0 = LP(rbm, before)
        valid = None if move == "local" else s[torch.arange(64), sites[:, 0]] != s[torch.arange(64), sites[:, 1]]
        u = torch.rand(64, generator=g, dtype=torch.float64)
        cache, acc = rbm.metropolis_step(s, cache, tables, gi, sites, u, valid)
        # acceptance decided by the exact ratio |Psi(s')/Psi(s)|^2
        proposed = before.clone()
        proposed.scatter_(1, sites, -before.gather(1, sites))
        p = torch.exp(2 * (LP(rbm, proposed) - lp0).real)
        expect = u < p
        if valid is not None:
            expect &= valid
        assert torch.equal(acc, expect)
        assert torch.equal(s, torch.where(acc.unsqueeze(1), proposed, before))
        fresh = rbm.init_cache(s)
        assert torch.allclose(cache[1], fresh[1], atol=1e-12)


def test_flip_ratios_equal_log_psi_differences():
    lat = Lattice.parse("3x4")
    rbm = random_rbm(12, scale=0.5, seed=2, complex=True, marshall=True, sublattice=lat.sublattice)
    s = all_configurations(12)[::97]
    ratios = rbm.flip_ratios(s, rbm.init_cache(s), torch.arange(12).unsqueeze(1))
    lp = LP(rbm, s)
    for i in range(12):
        t = s.clone(); t[:, i] *= -1
        assert torch.allclose(ratios[:, i], torch.exp(LP(rbm, t) - lp), rtol=1e-10)


# ---------------------------------------------------------------- translation-symmetric RBM
@pytest.mark.parametrize("lattice, kw", [("8", dict()), ("8", dict(complex=True)), ("3x4", dict(alpha=2)),
                                         ("4x4", dict(marshall=True, complex=True))])
def test_symmetric_rbm_is_translation_invariant_and_its_derivatives_are_exact(lattice, kw):
    lat = Lattice.parse(lattice)
    rbm = SymmetricRBMSpinState(lat, init_scale=0.4, seed=2, **kw)
    n = lat.n_sites
    assert rbm.n_parameters == 1 + rbm.alpha * (n + 1)
    s = (2 * torch.randint(0, 2, (64, n), generator=torch.Generator().manual_seed(1)) - 1).double()
    lp = LP(rbm, s)
    perm = lat.translations
    assert perm.shape == (n, n) and all(sorted(row.tolist()) == list(range(n)) for row in perm)
    for t in range(1, n):
        lpt = LP(rbm, s[:, perm[t]])
        diff = lpt - lp
        if rbm.marshall:  # the sign may change by a translation; |Psi| may not
            diff = diff.real
        assert torch.allclose(diff, torch.zeros_like(diff), atol=1e-10), t
    # a non-symmetric RBM is not invariant: the test can fail
    other = random_rbm(n, scale=0.4, seed=2)
    assert not torch.allclose(LP(other, s[:, perm[1]]), LP(other, s), atol=1e-3)
    # log-derivatives: closed form against finite differences (and autograd for real parameters)
    O = rbm.log_derivatives(s, rbm.init_cache(s))
    p0 = vec(rbm)
    for k in range(0, p0.numel(), 5):
        d = torch.zeros_like(p0); d[k] = 1e-6
        set_vec(rbm, p0 + d); up = LP(rbm, s)
        set_vec(rbm, p0 - d); dn = LP(rbm, s)
        set_vec(rbm, p0)
        assert torch.allclose(O[:, k], ((up - dn) / 2e-6).to(O.dtype), atol=1e-6), k
    if not rbm.is_complex:
        assert torch.allclose(SpinAnsatz.log_derivatives(rbm, s), O, atol=1e-12)


@pytest.mark.parametrize("model, lattice, kw", [("tfim", "8", dict(complex=True, alpha=2)),
                                                ("heisenberg", "3x4", dict(marshall=False)),
                                                ("heisenberg", "6", dict(marshall=True))])
def test_symmetric_rbm_local_energies_and_moves(model, lattice, kw):
    ham = make_hamiltonian(model, lattice, field=0.8)
    rbm = SymmetricRBMSpinState(ham.lattice, init_scale=0.4, seed=5, **kw)
    n = ham.n_sites
    s = all_configurations(n)
    psi = torch.exp(LP(rbm, s).to(torch.complex128)).numpy()
    hpsi = sparse_hamiltonian(ham) @ psi
    e_loc = ham.local_energy(rbm, s, rbm.init_cache(s)).to(torch.complex128).numpy()
    assert np.allclose(e_loc, hpsi / psi, rtol=1e-10, atol=1e-10)
    groups = ham.flip_sites
    tables = rbm.move_tables(groups)
    x = s[::7].clone()
    cache = rbm.init_cache(x)
    g = torch.Generator().manual_seed(0)
    for _ in range(10):
        gi = torch.randint(0, len(groups), (x.shape[0],), generator=g)
        cache, _ = rbm.metropolis_step(x, cache, tables, gi, groups[gi], torch.rand(x.shape[0], generator=g,
                                                                                     dtype=torch.float64))
    assert torch.allclose(cache[1], rbm.init_cache(x)[1], atol=1e-12)


# ---------------------------------------------------------------- sampler
def _tv(counts, p):
    q = counts / counts.sum()
    return 0.5 * np.abs(q - p).sum()


@pytest.mark.parametrize("move", ["local", "exchange"])
def test_sampler_distribution_matches_exact_psi_squared(move):
    lat = Lattice.parse("6")
    rbm = random_rbm(6, alpha=1, scale=0.3, seed=4)
    states = all_configurations(6)
    p = torch.exp(2 * LP(rbm, states)).numpy()
    if move == "exchange":
        p = np.where(states.sum(1).numpy() == 0, p, 0.0)
    p /= p.sum()
    smp = MetropolisSpinSampler(rbm, 2000, move, lat.bonds, sweeps=4, seed=1)
    smp.sample(100)  # exchange moves on a peaked |Psi|^2 mix slowly from a uniform start
    counts = np.zeros(64)
    weights = 2 ** torch.arange(6)
    for _ in range(15):
        s, _ = smp.sample()
        idx = (((s > 0).long()) * weights).sum(1).numpy()
        counts += np.bincount(idx, minlength=64)
    assert _tv(counts, p) < 0.025
    # the test separates |Psi|^2 from |Psi| (a sampler using the ratio instead of its square)
    q = np.sqrt(p); q /= q.sum()
    assert _tv(counts, q) > 0.15
    if move == "exchange":
        assert np.all(counts[states.sum(1).numpy() != 0] == 0)


def test_sampler_state_restores_exactly():
    rbm = random_rbm(6)
    a = MetropolisSpinSampler(rbm, 50, seed=3)
    a.sample(3)
    st = a.state_dict()
    s1, _ = a.sample(2)
    s1 = s1.clone()
    b = MetropolisSpinSampler(rbm, 50, seed=99)
    b.load_state_dict(st)
    s2, _ = b.sample(2)
    assert torch.equal(s1, s2)


# ---------------------------------------------------------------- SR and the gradient
def test_sr_step_equals_dense_solve_and_gradient_equals_exact_derivative():
    ham = make_hamiltonian("tfim", "6", field=1.0)
    rbm = random_rbm(6, scale=0.3, seed=7)
    smp = MetropolisSpinSampler(rbm, 500, seed=0)
    s, cache = smp.sample(5)
    e_loc = ham.local_energy(rbm, s, cache)
    O = rbm.log_derivatives(s, cache)
    # the SR direction handed to torch.optim.SGD as the gradient: the step is -lr (S + shift)^-1 F
    opt, _, sr = make_optimizer("sr", rbm.parameters(), 0.1, diag_shift=0.01)
    p_old = vec(rbm)
    for p, g in zip(rbm.parameters(), torch.split(sr(O, e_loc), [p.numel() for p in rbm.parameters()])):
        p.grad = g.view_as(p)
    opt.step()
    upd = vec(rbm) - p_old
    set_vec(rbm, p_old)
    o, e = O.numpy(), e_loc.numpy()
    oc, ec = o - o.mean(0), e - e.mean()
    S = oc.T @ oc / len(e) + 0.01 * np.eye(o.shape[1])
    F = oc.T @ ec / len(e)
    assert np.allclose(upd.numpy(), -0.1 * np.linalg.solve(S, F), rtol=1e-8, atol=1e-10)
    # With the exact distribution as weights, 2 <(E_L - E) O> is the derivative of the exact energy.
    states = all_configurations(6)
    w = torch.exp(2 * LP(rbm, states)); w = (w / w.sum()).numpy()
    c = rbm.init_cache(states)
    el = ham.local_energy(rbm, states, c).numpy()
    Ox = rbm.log_derivatives(states, c).numpy()
    grad = 2 * (w[:, None] * (el - (w * el).sum())[:, None] * (Ox - (w[:, None] * Ox).sum(0))).sum(0)
    p0 = vec(rbm)
    for k in (0, 7, 20, 41):
        d = torch.zeros_like(p0); d[k] = 1e-5
        set_vec(rbm, p0 + d); up = exact_expectation(ham, LP(rbm, states))[0]
        set_vec(rbm, p0 - d); dn = exact_expectation(ham, LP(rbm, states))[0]
        set_vec(rbm, p0)
        assert abs(grad[k] - (up - dn) / 2e-5) < 1e-6


# ---------------------------------------------------------------- the VMC loop
def test_vmc_converges_on_small_chains_and_estimate_is_honest():
    ham = make_hamiltonian("tfim", "6", field=1.0)
    exact = ground_state(ham)
    vmc = SpinVMC(ham, random_rbm(6, scale=0.01), SpinVMCConfig(n_chains=300, iterations=80, lr=0.1,
                                                                    eval_steps=40), exact_energy=exact)
    vmc.run()
    res = vmc.estimate()
    assert res.relative_error < 2e-3 and not res.below_exact
    e_var, var = exact_expectation(ham, LP(vmc.ansatz, all_configurations(6)))
    assert abs(res.energy - e_var) < 5 * res.stderr + 1e-9 and res.energy >= exact - 3 * res.stderr
    assert abs(res.variance - var) < 0.5 * var + 1e-3

    lat = Lattice.parse("6")
    ham = make_hamiltonian("heisenberg", lat)
    exact = ground_state(ham)
    rbm = random_rbm(6, alpha=2, scale=0.01, marshall=True, sublattice=lat.sublattice)
    vmc = SpinVMC(ham, rbm, SpinVMCConfig(n_chains=300, iterations=100, lr=0.05, move="exchange",
                                          eval_steps=40), exact_energy=exact)
    vmc.run()
    res = vmc.estimate()
    assert res.relative_error < 3e-3
    e_sector = exact_expectation(ham, LP(rbm, all_configurations(6)), magnetization=0)[0]
    assert abs(res.energy - e_sector) < 5 * res.stderr + 1e-9


def test_step_length_is_capped_in_the_quantum_metric():
    ham = make_hamiltonian("tfim", "6", field=1.0)
    rbm = random_rbm(6, scale=0.01)
    vmc = SpinVMC(ham, rbm, SpinVMCConfig(n_chains=200, lr=50.0, max_distance=0.2, burn_in=2))
    vmc.sampler.sample(2)
    vmc._burnt_in = True
    saved = vmc.sampler.state_dict()
    p0 = vec(rbm)
    rec = vmc.step()
    d = vec(rbm) - p0
    set_vec(rbm, p0)             # replay the step's samples at the old parameters
    vmc.sampler.load_state_dict(saved)
    s, cache = vmc.sampler.sample()
    O = rbm.log_derivatives(s, cache)
    assert rec["distance"] > 1.0
    assert abs(float(((O - O.mean(0)) @ d).std(unbiased=False)) - 0.2) < 1e-9


def test_checkpoint_resume_is_exact_also_for_a_user_defined_ansatz(tmp_path):
    ham = make_hamiltonian("tfim", "6", field=0.8)
    cfg = SpinVMCConfig(n_chains=64, iterations=6, lr=0.05, eval_steps=4)
    straight = SpinVMC(ham, Jastrow(6, seed=1), cfg)
    straight.run()
    first = SpinVMC(ham, Jastrow(6, seed=1), SpinVMCConfig(**{**cfg.__dict__, "iterations": 3}))
    first.run(checkpoint=tmp_path / "c.pt")
    resumed = SpinVMC.load(tmp_path / "c.pt", ham, Jastrow(6, seed=42), cfg)   # the notebook object, rebuilt
    assert resumed.iteration == 3
    resumed.run()
    assert torch.equal(vec(resumed.ansatz), vec(straight.ansatz))
    assert [r["energy"] for r in resumed.history] == [r["energy"] for r in straight.history]
    with pytest.raises(Exception, match="RBMSpinState|Jastrow"):
        SpinVMC.load(tmp_path / "c.pt", ham, random_rbm(6), cfg)


# ---------------------------------------------------------------- CLI
def run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_spins_json_plot_and_resume(tmp_path, capsys):
    args = ["vmc", "spins", "--model", "tfim", "--sites", 6, "--field", 1.0, "--samples", 200, "--iterations", 30,
            "--lr", 0.1, "--eval-steps", 10, "--no-progress", "--out", tmp_path, "--json"]
    code, out, _ = run(args, capsys)
    assert code == 0
    res = json.loads(out)
    for key in ("energy", "stderr", "variance", "exact_energy", "relative_error", "seconds_per_iteration"):
        assert key in res and math.isfinite(res[key])
    assert abs(res["exact_energy"] - tfim_chain_energy(6, 1.0)) < 1e-9 and res["relative_error"] < 0.02
    assert (tmp_path / "energy.png").stat().st_size > 5000
    saved = json.loads((tmp_path / "vmc_spins.json").read_text())
    assert len(saved["history"]) == 30
    code, out, _ = run(args[:-4] + ["--iterations", 35, "--resume", "--out", tmp_path, "--json"], capsys)
    assert code == 0 and json.loads(out)["iterations"] == 35


@pytest.mark.parametrize("extra, pattern", [
    (["--lattice", "2x2"], "at least 3"),
    (["--lattice", "4x4", "--sites", "16"], "either --sites or --lattice"),
    (["--field", "nan"], "finite"),
    (["--samples", "0"], ">= 1"),
    (["--model", "heisenberg", "--sites", "5"], "bipartite"),
    (["--resume", "--checkpoint", "/nonexistent/c.pt"], "no such checkpoint"),
    (["--device", "cuda:7"] if not torch.cuda.is_available() else ["--lr", "-1"], "CUDA|> 0"),
])
def test_cli_spins_bad_input_exits_2(extra, pattern, tmp_path, capsys):
    code, _, err = run(["vmc", "spins", "--iterations", 1, "--no-progress", "--out", tmp_path] + extra, capsys)
    assert code == 2
    assert err.startswith("boltzlab: error:") and len(err.strip().splitlines()) == 1
    import re
    assert re.search(pattern, err), err


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_local_energies_and_sampler_match_cpu():
    ham = make_hamiltonian("heisenberg", "6")
    lat = ham.lattice
    cpu = random_rbm(6, alpha=2, scale=0.4, seed=3, marshall=True, sublattice=lat.sublattice)
    gpu = random_rbm(6, alpha=2, scale=0.4, seed=3, marshall=True, sublattice=lat.sublattice, device="cuda")
    s = all_configurations(6)
    e_cpu = ham.local_energy(cpu, s, cpu.init_cache(s))
    e_gpu = ham.local_energy(gpu, s.cuda(), gpu.init_cache(s.cuda()))
    assert torch.allclose(e_gpu.cpu(), e_cpu, atol=1e-10)
    smp = MetropolisSpinSampler(gpu, 256, "exchange", lat.bonds, seed=0)
    s, cache = smp.sample(5)
    assert s.is_cuda and torch.all(s.sum(1) == 0) and 0 < smp.acceptance < 1
