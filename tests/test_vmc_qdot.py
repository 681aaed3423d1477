"""Quantum dots by VMC (issue 8): closed forms vs autograd, exact energies, determinant updates, samplers
against exact |Psi|^2, blocking error bars on correlated chains, optimisers, checkpoints and the CLI."""

import json
import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from boltzlab.cli.main import main
from boltzlab.errors import CheckpointError, ConfigError
from boltzlab import stats as qstats
from boltzlab.quantum import optim
from boltzlab.quantum.qdot import (Ansatz, GaussianBinaryRBM, HarmonicTrap, PadeJastrow, ProductAnsatz, QDotConfig,
                                   Sampler, SlaterHermite, build_ansatz, build_vmc, default_spins, run_qdot,
                                   sherman_morrison_update)

D64 = torch.float64


def _x(n, d, w=5, seed=0, scale=1.0):
    return scale * torch.randn(w, n, d, dtype=D64, generator=torch.Generator().manual_seed(seed))


def _factors():
    g = torch.Generator().manual_seed(1)
    return [GaussianBinaryRBM(3, 2, 4, omega=0.7, init_scale=0.5, generator=g, train_sigma=True),
            GaussianBinaryRBM(2, 3, 3, power=0.5, init_scale=0.5, generator=g),
            GaussianBinaryRBM(1, 1, 2, init_scale=0.8, generator=g),
            PadeJastrow(6, 2, spins=default_spins(6), beta=0.7),
            PadeJastrow(2, 3, beta=1.3),
            SlaterHermite(6, 2, omega=0.8, alpha=0.9),
            SlaterHermite(12, 2, gaussian=True, alpha=1.1),
            SlaterHermite(8, 3, omega=1.2, alpha=1.05, train_alpha=True)]


# ---------------------------------------------------------------- closed forms vs autograd
@pytest.mark.parametrize("k", range(8))
def test_closed_forms_match_autograd(k):
    f = _factors()[k]
    x = _x(f.n_particles, f.dim, seed=k, scale=0.9)
    lp, g, lap = f.grad_lap(x)
    lp2, g2, lap2 = Ansatz.grad_lap(f, x)
    assert torch.allclose(lp, lp2, atol=1e-12)
    assert torch.allclose(g, g2, rtol=1e-10, atol=1e-10)
    assert torch.allclose(lap, lap2, rtol=1e-9, atol=1e-9)
    O = f.log_derivatives(x)
    O2 = Ansatz.log_derivatives(f, x)
    assert O.shape == (x.shape[0], f.n_parameters) and torch.allclose(O, O2, rtol=1e-10, atol=1e-10)


def test_product_and_user_ansatz():
    """A product of factors adds up; a user-defined class gets everything from log_psi by autograd."""

    class Gauss(Ansatz):
        def __init__(self):
            super().__init__(2, 2)
            self.alpha = torch.nn.Parameter(torch.tensor(0.7, dtype=D64))

        def log_psi(self, x):
            return -self.alpha * (x ** 2).sum((1, 2)) + torch.tanh(x[:, 0, 0] * x[:, 1, 1])

    rbm = GaussianBinaryRBM(2, 2, 3, init_scale=0.4, generator=torch.Generator().manual_seed(2))
    prod = ProductAnsatz([rbm, PadeJastrow(2, 2, beta=0.5), Gauss()])
    x = _x(2, 2, seed=3)
    a, b = prod.grad_lap(x), Ansatz.grad_lap(prod, x)
    for u, v in zip(a, b):
        assert torch.allclose(u, v, atol=1e-10)
    assert torch.allclose(prod.log_derivatives(x), Ansatz.log_derivatives(prod, x), atol=1e-10)
    assert not prod.supports_moves  # the user factor has no one-particle protocol -> all-particle moves
    assert Sampler(prod, 8, seed=0).single is False


def test_one_particle_protocol_matches_full_recomputation():
    ans = ProductAnsatz([SlaterHermite(6, 2, alpha=0.9),
                         GaussianBinaryRBM(6, 2, 3, init_scale=0.3, generator=torch.Generator().manual_seed(0)),
                         PadeJastrow(6, 2, spins=default_spins(6), beta=0.6)])
    x = _x(6, 2, w=4, seed=5)
    cache = ans.init_cache(x)
    for step, i in enumerate([0, 4, 2, 5, 0]):
        rn = x[:, i] + 0.4 * torch.randn(4, 2, dtype=D64, generator=torch.Generator().manual_seed(step))
        lr, g, aux = ans.propose(cache, x, i, rn)
        xn = x.clone(); xn[:, i] = rn
        assert torch.allclose(lr, ans.log_psi(xn) - ans.log_psi(x), atol=1e-10)
        assert torch.allclose(g, ans.grad_lap(xn)[1][:, i], atol=1e-9)
        assert torch.allclose(ans.grad_particle(cache, x, i), ans.grad_lap(x)[1][:, i], atol=1e-9)
        mask = torch.tensor([True, False, True, step % 2 == 0])
        ans.accept(cache, x, i, rn, aux, mask)
        x = torch.where(mask.view(-1, 1, 1), xn, x)
    fresh = ans.init_cache(x)
    for s in range(2):
        assert torch.allclose(cache[0]["dinv"][s], fresh[0]["dinv"][s], atol=1e-9)
    assert torch.allclose(cache[1]["u"], fresh[1]["u"], atol=1e-12)


def test_determinant_ratio_and_sherman_morrison_against_direct():
    g = torch.Generator().manual_seed(7)
    D = torch.randn(3, 5, 5, dtype=D64, generator=g)
    dinv = torch.linalg.inv(D)  # orbitals x particles for D = particles x orbitals
    for i in (0, 3, 4):
        row = torch.randn(3, 5, dtype=D64, generator=g)
        ratio = torch.einsum("wk,wk->w", row, dinv[:, :, i])
        Dn = D.clone(); Dn[:, i] = row
        assert torch.allclose(ratio, torch.linalg.det(Dn) / torch.linalg.det(D), rtol=1e-10)
        dinv = sherman_morrison_update(dinv, i, row, ratio)
        assert torch.allclose(dinv, torch.linalg.inv(Dn), rtol=1e-8, atol=1e-10)
        D = Dn


# ---------------------------------------------------------------- exact energies
@pytest.mark.parametrize("n,d,kind,exact", [(1, 1, "rbm", 0.5), (1, 2, "rbm", 1.0), (1, 3, "rbm", 1.5),
                                            (2, 2, "rbm", 2.0), (6, 2, "slater-rbm", 10.0), (6, 2, "slater", 10.0),
                                            (12, 2, "slater", 28.0), (8, 3, "slater-rbm", 2 * (1.5 + 3 * 2.5))])
def test_noninteracting_exact_energy_zero_variance(n, d, kind, exact):
    for power in (1.0, 0.5):
        cfg = QDotConfig(particles=n, dim=d, interaction=False, ansatz=kind, init_scale=0.0, power=power)
        ans = build_ansatz(cfg)
        ham = HarmonicTrap(n, d, 1.0, False)
        assert ham.exact_energy() == pytest.approx(exact)
        E = ham.local_energy(ans, _x(n, d, w=64, seed=n + d))
        assert torch.allclose(E, torch.full_like(E, exact), atol=1e-11)
        res = qstats.blocking(E.reshape(8, 8))
        assert res.variance < 1e-20 and res.stderr < 1e-10


def test_noninteracting_pair_reaches_zero_variance_from_random_start():
    """SR from random RBM parameters: the energy goes to 2 and its variance falls by orders of magnitude
    (zero-variance principle: the gradient noise vanishes with the variance)."""
    cfg = QDotConfig(particles=2, dim=2, interaction=False, ansatz="rbm", hidden=2, init_scale=0.5,
                     optimizer="sr", lr=0.3, iterations=60, walkers=64, steps=5, burn_in=30, seed=3)
    vmc = build_vmc(cfg)
    vmc.run(cfg.iterations)
    hist = vmc.history
    assert hist[0]["variance"] > 1e-2
    assert hist[-1]["variance"] < 1e-5 * hist[0]["variance"]
    assert abs(hist[-1]["energy"] - 2.0) < 1e-3


def test_energy_gradient_matches_analytic_derivative():
    """Psi = exp(-alpha x^2) in 1D: E(alpha) = alpha/2 + 1/(8 alpha), dE/dalpha = 1/2 - 1/(8 alpha^2);
    exact samples of |Psi|^2 = N(0, 1/(4 alpha))."""

    class G(Ansatz):
        def __init__(self, alpha):
            super().__init__(1, 1)
            self.alpha = torch.nn.Parameter(torch.tensor(alpha, dtype=D64))

        def log_psi(self, x):
            return -self.alpha * (x ** 2).sum((1, 2))

    alpha = 0.8
    psi = G(alpha)
    x = torch.randn(200_000, 1, 1, dtype=D64, generator=torch.Generator().manual_seed(0)) / math.sqrt(4 * alpha)
    E = HarmonicTrap(1, 1, 1.0, False).local_energy(psi, x)
    O = psi.log_derivatives(x)
    grad = optim.energy_gradient(O, E)
    assert float(E.mean()) == pytest.approx(alpha / 2 + 1 / (8 * alpha), abs=5e-3)
    assert float(grad[0]) == pytest.approx(0.5 - 1 / (8 * alpha ** 2), abs=5e-3)


# ---------------------------------------------------------------- samplers against exact |Psi|^2
@pytest.mark.parametrize("method,moves", [("metropolis", "all"), ("importance", "all"), ("metropolis", "single"),
                                          ("importance", "single")])
def test_sampler_matches_exact_density(method, moves):
    """One particle in 1D with a strongly non-Gaussian RBM wave function; walkers are independent, so the
    positions of all walkers at one time are an iid sample of |Psi|^2 (KS test against the numerical CDF)."""
    g = torch.Generator().manual_seed(11)
    rbm = GaussianBinaryRBM(1, 1, 3, init_scale=0.0, generator=g)
    with torch.no_grad():
        rbm.w.copy_(torch.tensor([[1.2, -0.9, 0.7]], dtype=D64)); rbm.b.copy_(torch.tensor([-1.0, 0.5, -2.0], dtype=D64))
    grid = np.linspace(-8, 8, 20001)
    lp = rbm.log_psi(torch.tensor(grid, dtype=D64).view(-1, 1, 1)).detach().numpy()
    dens = np.exp(2 * (lp - lp.max()))
    cdf = integrate.cumulative_trapezoid(dens, grid, initial=0)
    cdf /= cdf[-1]
    sam = Sampler(rbm, 3000, method=method, moves=moves, seed=2, step=1.5 if method == "importance" else 2.0)
    sam.burn_in(60, adapt=True)
    for _ in range(20):
        sam.sweep()
    xs = sam.x.reshape(-1).numpy()
    p = stats.kstest(xs, lambda t: np.interp(t, grid, cdf)).pvalue
    assert p > 1e-3
    # a wrong target (the Gaussian alone) is rejected by the same test
    assert stats.kstest(xs, stats.norm(0, math.sqrt(0.5)).cdf).pvalue < 1e-6


def test_thinned_samples_are_every_kth_sweep_and_less_correlated():
    """``sweeps = k`` returns the state after k sweeps (the same chain as k single sweeps from the same seed), and the
    lag-1 autocorrelation of the walker-averaged r^2 falls with k, as it must for a reversible chain (rho_k =
    rho_1^k for an AR(1)-like observable; here rho_1 ~ 0.9 with a small step)."""
    g = torch.Generator().manual_seed(0)
    rbm = GaussianBinaryRBM(2, 2, 2, init_scale=0.3, generator=g)
    one, three = (Sampler(rbm, 64, seed=5, step=0.05, sweeps=k) for k in (1, 3))
    for _ in range(4):
        ref = [one.sample()[0].clone() for _ in range(3)][-1]
        assert torch.equal(three.sample()[0], ref)
    with pytest.raises(ConfigError):
        Sampler(rbm, 4, sweeps=0)

    def lag1(k):
        sam = Sampler(rbm, 256, seed=7, step=0.05, sweeps=k)
        sam.burn_in(200, adapt=False)
        r2 = torch.stack([(sam.sample()[0] ** 2).sum((1, 2)) for _ in range(400)])  # (time, walkers)
        r2 = r2 - r2.mean(0)
        return float((r2[1:] * r2[:-1]).mean() / (r2 * r2).mean())

    rho1, rho4 = lag1(1), lag1(4)
    assert rho1 > 0.8 and rho4 < rho1 ** 4 + 0.1, (rho1, rho4)


def test_harmonic_oscillator_ground_state_sampling():
    """|Psi|^2 = exp(-x^2) for the exact 1D ground state: positions ~ N(0, 1/2); E_L = 1/2 exactly."""
    vmc = build_vmc(QDotConfig(particles=1, dim=1, interaction=False, ansatz="rbm", hidden=0, init_scale=0.0,
                               walkers=4000, method="importance", burn_in=40, seed=4))
    samples = []
    res = vmc.estimate(5, observe=samples.append)
    assert res.exact_energy == 0.5
    xs = samples[-1].reshape(-1).numpy()
    assert stats.kstest(xs, stats.norm(0, math.sqrt(0.5)).cdf).pvalue > 1e-3
    assert res.energy == pytest.approx(0.5, abs=1e-13) and res.variance < 1e-25
    assert 0.3 < res.acceptance <= 1.0 and not res.below_exact


# ---------------------------------------------------------------- statistics
def test_blocking_error_bar_is_honest_on_correlated_chains():
    """AR(1) chains, phi = 0.9 (integrated autocorrelation time 19): over 300 seeds the blocking error bar
    matches the true standard deviation of the mean and ~95% of the 1.96-sigma intervals cover 0; the naive
    error bar (no blocking) undercovers badly."""
    phi, n = 0.9, 2 ** 13
    true_sd = qstats.ar1_mean_sd(phi, n)
    rng = np.random.default_rng(0)
    z, zn, ses = [], [], []
    for _ in range(300):
        r = qstats.blocking(qstats.ar1_chain(phi, n, rng))
        z.append(r.mean / r.stderr); zn.append(r.mean / r.naive_stderr); ses.append(r.stderr)
    cover = np.mean(np.abs(z) < 1.96)
    assert 0.91 < cover < 0.985
    assert np.mean(np.abs(zn) < 1.96) < 0.6
    assert 0.92 < np.mean(ses) / true_sd < 1.08
    # iid data: block size 1 and the plain error bar
    iid = qstats.blocking(rng.normal(size=(4096, 3)))
    assert iid.block_size <= 2 and iid.stderr == pytest.approx(1 / math.sqrt(3 * 4096), rel=0.15)


def test_below_exact_flags_the_published_anomaly():
    assert qstats.below_exact(2.999587, 0.000005, 3.0)          # ~80 error bars below the exact 3
    assert not qstats.below_exact(3.00005, 0.00002, 3.0)
    assert not qstats.below_exact(2.99995, 0.00002, 3.0)        # 2.5 sigma: allowed
    assert not qstats.below_exact(2.0 - 1e-15, 0.0, 2.0)        # round-off of an exact zero-variance result


# ---------------------------------------------------------------- optimisers
def test_sr_solves_the_regularised_system_and_minsr_agrees():
    g = torch.Generator().manual_seed(0)
    O = torch.randn(40, 6, dtype=D64, generator=g); E = torch.randn(40, dtype=D64, generator=g)
    d = optim.StochasticReconfiguration(diag_shift=0.1).direction(O, E)
    Oc = (O - O.mean(0)).numpy(); Ec = (E - E.mean()).numpy()
    S = Oc.T @ Oc / 40 + 0.1 * np.eye(6); F = Oc.T @ Ec / 40
    assert np.allclose(d.numpy(), np.linalg.solve(S, F))
    Oc = torch.randn(8, 30, dtype=torch.complex128, generator=g); Ec = torch.randn(8, dtype=torch.complex128, generator=g)
    sr = optim.StochasticReconfiguration(diag_shift=1e-2)
    d_small = sr.direction(Oc, Ec)  # sample space (8 < 30)
    A = Oc - Oc.mean(0); S = A.conj().T @ A / 8 + 1e-2 * torch.eye(30, dtype=torch.complex128)
    F = (A.conj() * (Ec - Ec.mean()).unsqueeze(1)).mean(0)
    assert torch.allclose(d_small, torch.linalg.solve(S, F), atol=1e-8)
    assert torch.allclose(optim.energy_gradient(Oc, Ec), 2 * F)


@pytest.mark.parametrize("n, p, kind", [(200, 30, "real"), (20, 60, "real"), (50, 40, "complex"),
                                        (15, 40, "complex"), (30, 20, "complex-real-params"),
                                        (10, 40, "complex-real-params")])
def test_sr_solvers_equal_the_dense_solve(n, p, kind):
    """dense (Cholesky), conjugate gradients and minSR (sample space) give the same natural gradient, also for
    real parameters of a complex wave function (S and F are then real parts) and with more parameters than
    samples; a wrong solver (no shift, or the transpose system) would differ by far more than the tolerance."""
    g = torch.Generator().manual_seed(n + p)
    dt = D64 if kind == "real" else torch.complex128
    O = torch.randn(n, p, dtype=dt, generator=g) * torch.linspace(0.1, 2.0, p, dtype=D64)
    E = torch.randn(n, dtype=dt, generator=g)
    cplx = kind == "complex"
    Oc, Ec = O - O.mean(0), E - E.mean()
    S = Oc.conj().T @ Oc / n
    F = Oc.conj().T @ Ec / n
    if not cplx:
        S, F = S.real, F.real
    exact = torch.linalg.solve(S + 1e-2 * torch.eye(p, dtype=S.dtype), F)
    for solver in ("dense", "cg", "minsr", "auto"):
        d = optim.StochasticReconfiguration(diag_shift=1e-2, complex_params=cplx, solver=solver)(O, E)
        assert d.dtype == exact.dtype
        assert torch.allclose(d, exact, rtol=1e-7, atol=1e-8 * float(exact.abs().max())), solver


def test_torch_optimisers_schedules_and_stop():
    target = torch.tensor([1.0, -2.0], dtype=D64)
    for name, kw in (("sgd", dict(schedule="inverse-time", lr_decay=0.002)), ("sgd", {}), ("adam", {})):
        th = torch.nn.Parameter(torch.zeros(2, dtype=D64))
        opt, sched, sr = optim.make_optimizer(name, [th], 0.1, **kw)
        assert sr is None
        for _ in range(400):
            th.grad = 2 * (th.detach() - target)
            opt.step()
            if sched is not None:
                sched.step()
        assert torch.allclose(th.detach(), target, atol=1e-3)
    th = torch.nn.Parameter(torch.zeros(2, dtype=D64))
    opt, sched, _ = optim.make_optimizer("sgd", [th], 1.0, schedule="inverse-time", lr_decay=1.0)
    for _ in range(3):
        opt.step(); sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.25)
    opt, sched, _ = optim.make_optimizer("sr", [th], 1.0, schedule="cosine", iterations=10, lr_final=0.0)
    for _ in range(10):
        opt.step(); sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-15)
    stop = optim.ToleranceStop(1e-3, window=3)
    assert [stop.update(v) for v in (5.0, 4.0, 4.0005, 4.0002, 4.0001)] == [False, False, False, True, True]
    with pytest.raises(ConfigError):
        optim.make_optimizer("adam", [th], -1.0)


def test_complex_parameters_step_with_torch_optimisers():
    """E(theta) = |theta - c|^2 of a complex parameter: its gradient in PyTorch's convention is 2 (theta - c),
    the convention of energy_gradient for complex parameters; SGD and Adam reach c."""
    c = torch.tensor([0.5 - 1.0j, -0.3 + 0.2j], dtype=torch.complex128)
    for name in ("sgd", "adam"):
        th = torch.nn.Parameter(torch.zeros(2, dtype=torch.complex128))
        opt, _, _ = optim.make_optimizer(name, [th], 0.05)
        for _ in range(600):
            th.grad = 2 * (th.detach() - c)
            opt.step()
        assert torch.allclose(th.detach(), c, atol=1e-3), name
    th = torch.nn.Parameter(torch.zeros(2, dtype=torch.complex128))
    loss = ((th - c).abs() ** 2).sum()
    loss.backward()
    assert torch.allclose(th.grad, 2 * (th.detach() - c))


# ---------------------------------------------------------------- checkpoints and CLI
def test_checkpoint_resume_is_exact(tmp_path):
    cfg = QDotConfig(particles=2, dim=2, ansatz="rbm-jastrow", hidden=2, iterations=6, walkers=16, steps=3,
                     burn_in=10, eval_steps=5, eval_burn_in=0, seed=5)
    full = run_qdot(cfg, checkpoint=tmp_path / "a.ckpt", checkpoint_every=3)
    short = QDotConfig(**{**cfg.__dict__, "iterations": 3})
    run_qdot(short, checkpoint=tmp_path / "b.ckpt", checkpoint_every=3)
    resumed = run_qdot(cfg, checkpoint=tmp_path / "b.ckpt", resume=True, checkpoint_every=3)
    assert resumed["parameters"] == full["parameters"]
    assert resumed["energy"] == full["energy"]
    # a freshly built run takes the saved state back
    vmc = build_vmc(cfg)
    payload = vmc.load(tmp_path / "a.ckpt")
    assert vmc.iteration == 6 and len(payload["history"]) == 6
    with pytest.raises(CheckpointError):
        build_vmc(QDotConfig(particles=2, dim=2, ansatz="rbm", hidden=5)).load(tmp_path / "a.ckpt")
    (tmp_path / "bad.ckpt").write_bytes(b"garbage")
    with pytest.raises(CheckpointError):
        build_vmc(cfg).load(tmp_path / "bad.ckpt")


def test_cli_json_and_plots(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["vmc", "qdot", "--particles", "2", "--dim", "2", "--omega", "1.0", "--no-interaction", "--json",
                 "--iterations", "5", "--walkers", "32", "--steps", "3", "--eval-steps", "20", "--no-progress",
                 "--out", str(out)])
    res = json.loads(capsys.readouterr().out)
    assert code == 0 and {"energy", "stderr", "variance"} <= res.keys()
    assert abs(res["energy"] - 2.0) < 0.2 and res["exact"] == 2.0
    assert (out / "optimisation.png").stat().st_size > 0 and (out / "observables.png").exists()
    assert json.loads((out / "result.json").read_text())["energy"] == res["energy"]


@pytest.mark.parametrize("args", [["--particles", "0"], ["--omega", "-1"], ["--omega", "nan"], ["--dim", "4"],
                                  ["--dim", "1"], ["--particles", "3", "--ansatz", "slater"], ["--lr", "0"],
                                  ["--resume"]])
def test_cli_bad_input(args, capsys, tmp_path):
    code = main(["vmc", "qdot", *args, "--iterations", "1", "--no-progress", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("boltzlab: error:") and len(err.strip().splitlines()) == 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    """The same wave function on CUDA: identical local energies and log-derivatives; a short VMC run works."""
    cfg = QDotConfig(particles=6, dim=2, ansatz="slater-rbm-jastrow", hidden=3, init_scale=0.2, seed=1)
    cpu = build_ansatz(cfg)
    gpu = build_ansatz(QDotConfig(**{**cfg.__dict__, "device": "cuda"}))
    gpu.load_state_dict(cpu.state_dict())
    x = _x(6, 2, w=16, seed=2)
    ham = HarmonicTrap(6, 2, 1.0, True)
    assert torch.allclose(ham.local_energy(gpu, x.cuda()).cpu(), ham.local_energy(cpu, x), atol=1e-9)
    assert torch.allclose(gpu.log_derivatives(x.cuda()).cpu(), cpu.log_derivatives(x), atol=1e-9)
    res = run_qdot(QDotConfig(**{**cfg.__dict__, "device": "cuda", "iterations": 3, "walkers": 64, "steps": 2,
                                 "eval_steps": 20, "burn_in": 20}))
    assert 19.0 < res["energy"] < 23.0


def test_dmc_reference_across_omega_and_densities():
    """run_qdot quotes the DMC table at every tabulated (N, omega) and returns the one-body density, which
    integrates to N over the plane (up to the histogram's range)."""
    from boltzlab.quantum.qdot import DMC_REFERENCE
    assert {n for n, _ in DMC_REFERENCE} == {2, 6, 12, 20} and {w for _, w in DMC_REFERENCE} == {0.1, 0.28, 0.5, 1.0}
    assert all(DMC_REFERENCE[(n, a)] < DMC_REFERENCE[(n, b)] for n in (2, 6, 12, 20)
               for a, b in ((0.1, 0.28), (0.28, 0.5), (0.5, 1.0)))
    res = run_qdot(QDotConfig(particles=2, dim=2, omega=0.28, ansatz="rbm-jastrow", iterations=0, walkers=64,
                              eval_steps=20, eval_burn_in=20))
    assert res["reference"] == DMC_REFERENCE[(2, 0.28)] and res["energy"] > res["reference"] - 4 * res["stderr"]
    rad = res["densities"]["_radial"]
    dr = rad["r"][1] - rad["r"][0]
    assert abs((rad["rho"] * 2 * math.pi * rad["r"] * dr).sum() - 2.0) < 0.05


@pytest.mark.parametrize("many_body", [0, 3])
def test_backflow_jastrow_network_starts_as_slater_jastrow_and_is_antisymmetric(many_body):
    """At initialisation (zero output layers) the network, with or without its many-body Jastrow, is the
    Slater x Gaussian x Pade-Jastrow function; after a change of its parameters it stays invariant (in |Psi|) under
    the exchange of two same-spin electrons and under rotations, and it runs through the driver (autograd local
    energies and log-derivatives)."""
    from boltzlab.quantum.qdot.neural import BackflowJastrowNet
    net = BackflowJastrowNet(6, 2, omega=1.0, width=8, many_body=many_body)
    ref = ProductAnsatz([SlaterHermite(6, 2, gaussian=True), PadeJastrow(6, 2, spins=default_spins(6))])
    x = _x(6, 2, w=7, seed=4)
    assert torch.allclose(net.log_psi(x), ref.log_psi(x), atol=1e-10)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.3 * torch.randn(p.shape, dtype=p.dtype, generator=torch.Generator().manual_seed(p.numel())))
    lp = net.log_psi(x).detach()
    assert not torch.allclose(lp, ref.log_psi(x), atol=1e-3)
    swapped = x[:, [1, 0, 2, 3, 4, 5]]                               # two spin-up electrons exchanged
    assert torch.allclose(net.log_psi(swapped), lp, atol=1e-9)
    c, s = math.cos(0.7), math.sin(0.7)
    rot = torch.tensor([[c, -s], [s, c]], dtype=D64)
    assert torch.allclose(net.log_psi(x @ rot.T), lp, atol=1e-9)
    mixed = x[:, [3, 1, 2, 0, 4, 5]]                                 # an up and a down electron exchanged
    assert not torch.allclose(net.log_psi(mixed), lp, atol=1e-3)
    O = net.log_derivatives(x)
    assert O.shape == (7, net.n_parameters)
    cfg = QDotConfig(particles=6, dim=2, ansatz="backflow-jastrow", hidden=4, many_body=many_body, iterations=2,
                     walkers=16, steps=2, burn_in=5, eval_steps=4, eval_burn_in=0, optimizer="sr", lr=0.02)
    res = run_qdot(cfg)
    assert math.isfinite(res["energy"]) and res["iterations_run"] == 2 and 15.0 < res["energy"] < 30.0


@pytest.mark.parametrize("n, d, many_body", [(2, 2, 0), (6, 2, 0), (12, 2, 0), (8, 3, 0), (2, 2, 2), (6, 2, 3),
                                             (8, 3, 2)])
def test_backflow_network_closed_form_gradient_and_laplacian_match_autograd(n, d, many_body):
    """The closed-form grad and Laplacian of ln Psi (Jacobian of the backflow coordinates, Hessian of ln det,
    forward second derivatives of the networks, the many-body Jastrow's quadratic forms) equal nested autograd at
    random parameters; with zero output layers (the initial state) the local energies equal those of the
    Slater x Pade-Jastrow product exactly."""
    from boltzlab.quantum.qdot.neural import BackflowJastrowNet
    net = BackflowJastrowNet(n, d, omega=0.6, width=6, many_body=many_body)
    x = _x(n, d, w=6, seed=n + d)
    trap = HarmonicTrap(n, d, omega=0.6)
    ref = ProductAnsatz([SlaterHermite(n, d, omega=0.6, gaussian=True), PadeJastrow(n, d, spins=default_spins(n))])
    assert torch.allclose(trap.local_energy(net, x), trap.local_energy(ref, x), rtol=0, atol=1e-10)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.3 * torch.randn(p.shape, dtype=p.dtype, generator=g))
    for closed, auto in zip(net.grad_lap(x), Ansatz.grad_lap(net, x)):
        assert torch.allclose(closed, auto, rtol=1e-9, atol=1e-9)
    assert not torch.allclose(trap.local_energy(net, x), trap.local_energy(ref, x), atol=1e-3)
