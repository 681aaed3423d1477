"""ReLU, dReLU and Gaussian hidden units: log-partition and moments against quadrature (float64, extreme
fields included), exact samplers against the exact moments, annealing interpolation, and RBMs of these
hidden units with Potts visible units against brute force."""

import math

import numpy as np
import pytest
import torch
from scipy import integrate

from boltzlab.random import Rng
from boltzlab.units import DReLULayer, GaussianLayer, ReLULayer
from boltzlab.units.relu import sample_truncated, truncated_moments

FIELDS = [-50.0, -12.0, -3.0, -0.4, 0.0, 0.7, 4.0, 15.0, 50.0]


def _quad(log_f, lo, hi, peak, width):
    """int_lo^hi exp(log_f(x)) dx as (ln I, mean, var), by quad around the mode with a shifted exponent."""
    c = log_f(peak)
    lo_ = max(lo, peak - 60 * width)
    hi_ = min(hi, peak + 60 * width)
    pts = [p for p in (peak - width, peak, peak + width) if lo_ < p < hi_]

    def integ(k):
        return integrate.quad(lambda x: x ** k * math.exp(log_f(x) - c), lo_, hi_, points=pts or None,
                              epsabs=0, epsrel=1e-13, limit=500)[0]
    z0, z1 = integ(0), integ(1)
    m = z1 / z0
    var = integrate.quad(lambda x: (x - m) ** 2 * math.exp(log_f(x) - c), lo_, hi_, points=pts or None,
                         epsabs=0, epsrel=1e-13, limit=500)[0] / z0
    return c + math.log(z0), m, var


def _half_line(a, b, sign=1.0):
    """(log_f, lo, hi, peak, width) of exp(-a h^2/2 + b h) on h >= 0 (sign=1) or h <= 0 (sign=-1)."""
    def log_f(h):
        return -0.5 * a * h * h + b * h
    s = 1 / math.sqrt(a)
    mode = b / a
    if sign > 0:
        peak = max(mode, 0.0)
        width = s if mode > 0 else min(s, 1 / max(abs(b), 1e-300))
        return log_f, 0.0, math.inf, peak, width
    peak = min(mode, 0.0)
    width = s if mode < 0 else min(s, 1 / max(abs(b), 1e-300))
    return log_f, -math.inf, 0.0, peak, width


def _reference(kind, gp, gm, tp, tm, field, beta):
    """ln Z, mean and variance of one unit by quadrature."""
    if kind == "gaussian":
        return _quad(lambda h: -beta * (0.5 * gp * h * h - (tp + field) * h), -math.inf, math.inf,
                     (tp + field) / gp, 1 / math.sqrt(beta * gp))
    a_p, b_p = beta * gp, beta * (tp + field)
    pos = _quad(*_half_line(a_p, b_p, 1.0))
    if kind == "relu":
        return pos
    neg = _quad(*_half_line(beta * gm, beta * (tm + field), -1.0))
    lz = np.logaddexp(pos[0], neg[0])
    p, q = math.exp(pos[0] - lz), math.exp(neg[0] - lz)
    mean = p * pos[1] + q * neg[1]
    var = p * (pos[2] + pos[1] ** 2) + q * (neg[2] + neg[1] ** 2) - mean ** 2
    return lz, mean, var


def _layer(kind, gp, gm, tp, tm, n):
    kw = dict(dtype=torch.float64)
    if kind == "relu":
        return ReLULayer(n, bias=torch.full((n,), tp, dtype=torch.float64), precision=torch.full((n,), gp, dtype=torch.float64), **kw)
    if kind == "drelu":
        return DReLULayer(n, bias=torch.full((n,), tp, dtype=torch.float64), precision=torch.full((n,), gp, dtype=torch.float64),
                          bias_neg=torch.full((n,), tm, dtype=torch.float64), precision_neg=torch.full((n,), gm, dtype=torch.float64), **kw)
    return GaussianLayer(n, bias=torch.full((n,), tp, dtype=torch.float64), precision=torch.full((n,), gp, dtype=torch.float64), **kw)


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
@pytest.mark.parametrize("kind", ["relu", "drelu", "gaussian"])
@pytest.mark.parametrize("params", [(1.0, 1.0, 0.0, 0.0, 1.0), (2.5, 0.4, 0.8, -1.3, 0.6)])
def test_log_partition_and_moments_against_quadrature(kind, params):
    gp, gm, tp, tm, beta = params
    layer = _layer(kind, gp, gm, tp, tm, len(FIELDS))
    inputs = torch.tensor([FIELDS], dtype=torch.float64)
    lz = layer.log_partition(inputs, beta)  # summed over the units
    mean, var = layer.mean(inputs, beta)[0], layer.variance(inputs, beta)[0]
    total = 0.0
    for i, f in enumerate(FIELDS):
        ref_lz, ref_m, ref_v = _reference(kind, gp, gm, tp, tm, f, beta)
        total += ref_lz
        single = _layer(kind, gp, gm, tp, tm, 1).log_partition(inputs[:, i:i + 1], beta).item()
        assert abs(single - ref_lz) <= 1e-8 * max(abs(ref_lz), 1.0), (f, single, ref_lz)
        assert abs(mean[i].item() - ref_m) <= 1e-8 * abs(ref_m) + 1e-12 * math.sqrt(ref_v), (f, mean[i].item(), ref_m)
        assert abs(var[i].item() - ref_v) <= 1e-8 * ref_v, (f, var[i].item(), ref_v)
    assert abs(lz.item() - total) <= 1e-8 * abs(total)


@pytest.mark.parametrize("kind", ["relu", "drelu"])
def test_mean_is_the_gradient_of_the_log_partition(kind):
    layer = _layer(kind, 1.7, 0.6, 0.3, -0.9, 5)
    x = torch.tensor([[-60.0, -2.0, 0.1, 3.0, 60.0]], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(layer.log_partition(x, 0.7).sum(), x)
    assert torch.allclose(g / 0.7, layer.mean(x.detach(), 0.7), rtol=1e-10, atol=0)


def test_truncated_moments_are_continuous_across_the_branch_switch():
    z = torch.tensor([-4.0 - 1e-12, -4.0, -4.0 + 1e-12], dtype=torch.float64)
    m, v = truncated_moments(z)
    assert (m.max() - m.min()) / m.mean() < 1e-12 and (v.max() - v.min()) / v.mean() < 1e-12
    # deep tail: y ~ Exp(|z|) to leading order, mean -> 1/|z| - 2/|z|^3, variance -> 1/z^2 - 6/z^4
    m, v = truncated_moments(torch.tensor([-1e4], dtype=torch.float64))
    assert abs(m.item() - (1e-4 - 2e-12)) < 1e-18 and abs(v.item() - (1e-8 - 6e-16)) < 1e-21


@pytest.mark.parametrize("z", [-40.0, -5.0, -3.2, -2.9, -0.5, 0.0, 2.0, 30.0])
def test_truncated_sampler_moments(z):
    n = 100_000
    y = sample_truncated(torch.full((n,), z, dtype=torch.float64), Rng(3))
    assert bool((y >= 0).all())
    m, v = (t.item() for t in truncated_moments(torch.tensor([z], dtype=torch.float64)))
    assert abs(y.mean().item() - m) < 5 * math.sqrt(v / n)
    assert abs(y.var().item() / v - 1) < 0.03


@pytest.mark.parametrize("kind", ["relu", "drelu", "gaussian"])
def test_layer_sampler_against_exact_moments(kind):
    layer = _layer(kind, 1.3, 0.5, 0.4, -0.8, 4)
    inputs = torch.tensor([[-20.0, -0.7, 0.9, 8.0]], dtype=torch.float64)
    n = 100_000
    x = layer.sample(inputs.expand(n, -1).contiguous(), beta=0.8, rng=Rng(5))
    mean, var = layer.mean(inputs, 0.8)[0], layer.variance(inputs, 0.8)[0]
    assert ((x.mean(0) - mean).abs() < 5 * torch.sqrt(var / n)).all()
    assert ((x.var(0) / var - 1).abs() < 0.03).all()
    if kind == "drelu":  # the probability of the positive half is the exact one
        z_p, s_p, z_m, s_m, lg_p, lg_m = layer._halves(inputs, 0.8)
        p = torch.sigmoid(lg_p - lg_m)[0]
        frac = (x > 0).double().mean(0)
        assert ((frac - p).abs() < 5 * torch.sqrt(p * (1 - p) / n) + 1e-12).all()


@pytest.mark.parametrize("kind", ["relu", "drelu"])
def test_interpolation_is_linear_in_the_energy(kind):
    a = _layer(kind, 0.5, 2.0, 1.0, -1.0, 3)
    b = _layer(kind, 3.0, 0.2, -2.0, 0.5, 3)
    mid = _layer(kind, 1.0, 1.0, 0.0, 0.0, 3)
    mid.interpolate_(a, b, 0.3)
    h = torch.tensor([[0.5, 1.5, 0.0], [2.0, 0.1, 3.0]], dtype=torch.float64)
    if kind == "drelu":
        h = h - 1.0
    assert torch.allclose(mid.energy(h), 0.7 * a.energy(h) + 0.3 * b.energy(h), rtol=1e-12, atol=1e-12)


def test_relu_refuses_negative_states_and_precisions():
    from boltzlab.errors import DomainError
    layer = ReLULayer(2, dtype=torch.float64)
    with pytest.raises(DomainError):
        layer.validate(torch.tensor([[1.0, -0.5]], dtype=torch.float64))
    with pytest.raises(DomainError):
        ReLULayer(2, precision=torch.tensor([1.0, 0.0]))


@pytest.mark.parametrize("hidden", ["relu", "drelu", "gaussian"])
@pytest.mark.parametrize("visible", ["binary", "spin"])
def test_any_visible_with_continuous_hidden_units(visible, hidden):
    """Exact ln Z of binary/spin x ReLU/dReLU/Gaussian RBMs against quadrature, and a short training run."""
    import itertools

    import boltzlab as bl
    from boltzlab.training import TrainConfig, Trainer
    rbm = bl.make_rbm(3, 2, visible, hidden, weight_std=0.7, seed=1, dtype=torch.float64)
    with torch.no_grad():
        rbm.visible.bias.copy_(torch.tensor([0.3, -0.5, 0.8], dtype=torch.float64))
    vals = rbm.visible.unit_values.tolist()
    w = rbm.weights.detach().numpy()
    terms = []
    for v in itertools.product(vals, repeat=3):
        lp = float(rbm.visible.bias.detach().numpy() @ np.array(v))
        for mu in range(2):
            inp = float(np.array(v) @ w[:, mu])
            f = lambda x: math.exp(-rbm.hidden.energy(torch.tensor([[x if j == mu else 0.0 for j in range(2)]],  # noqa: E731
                                                                         dtype=torch.float64)).item() + inp * x)
            lo = 0.0 if hidden == "relu" else -np.inf
            lp += math.log(sum(integrate.quad(f, a, b, epsabs=0, epsrel=1e-12)[0]
                               for a, b in ((lo, 0.0), (0.0, np.inf)) if a < b))
        terms.append(lp)
    assert abs(bl.exact_log_z(rbm) - float(np.logaddexp.reduce(terms))) < 1e-8
    data = (torch.rand(60, 3, generator=torch.Generator().manual_seed(0)) < 0.4).double()
    if visible == "spin":
        data = 2 * data - 1
    cfg = TrainConfig(visible_units=visible, hidden_units=hidden, n_hidden=2, epochs=2, batch_size=20,
                      dtype="float64", optimizer="adam", lr=0.01)
    hist = Trainer.create(data, cfg, progress=False).fit()
    assert math.isfinite(hist[-1]["train_log_likelihood"])


def test_half_line_integrals_and_moments_against_mpmath_deep_in_the_tail():
    """ln G and the truncated-normal moments against 60-digit mpmath where the textbook forms fail: ln Phi(z) + z^2/2
    underflows at z = -40, and the direct moments M = z + R, V = 1 - R M lose every digit of V by z = -1e4."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 60
    from boltzlab.units.relu import log_half_gaussian

    def exact(z):
        z = mp.mpf(z)
        phi, big_phi = mp.npdf(z), mp.ncdf(z)
        r = phi / big_phi
        return 0.5 * mp.log(mp.pi / 2) + z * z / 2 + mp.log(mp.erfc(-z / mp.sqrt(2))), z + r, 1 - r * (z + r)
    for z in (-40.0, -50.0):
        lg = log_half_gaussian(torch.tensor([z], dtype=torch.float64), torch.ones(1, dtype=torch.float64)).item()
        assert abs(lg - float(exact(z)[0])) < 1e-15 * abs(lg)
        assert torch.special.ndtr(torch.tensor(z, dtype=torch.float64)).item() == 0   # ln Phi(z) = -inf
    for z in (-5.0, -50.0, -1e3, -1e4):
        m, v = (t.item() for t in truncated_moments(torch.tensor([z], dtype=torch.float64)))
        _, m_ref, v_ref = (float(t) for t in exact(z))
        assert abs(m / m_ref - 1) < 1e-15 and abs(v / v_ref - 1) < 1e-15, (z, m / m_ref - 1, v / v_ref - 1)
    # the direct form in float64 (the cancellation the continued fraction avoids): V off by more than 100% at -1e4
    zt = torch.tensor(-1e4, dtype=torch.float64)
    r = math.sqrt(2 / math.pi) / torch.special.erfcx(-zt / math.sqrt(2))
    assert abs((1 - r * (zt + r)).item() / float(exact(-1e4)[2]) - 1) > 1
