"""Unit types: log-partitions and moments against direct sums and quadrature, at any beta."""

import math

import numpy as np
import pytest
import torch
from scipy import integrate

from boltzlab.random import Rng
from boltzlab.units import BinaryLayer, GaussianLayer, SpinLayer


@pytest.mark.parametrize("layer_cls", [BinaryLayer, SpinLayer])
def test_discrete_log_partition_and_moments(layer_cls):
    layer = layer_cls(3, torch.tensor([0.3, -1.0, 2.0]), dtype=torch.float64)
    inputs = torch.tensor([[0.5, 1.5, -40.0], [-700.0, 0.0, 800.0]], dtype=torch.float64)
    for beta in (1.0, 0.3):
        vals = layer.unit_values
        z = beta * (inputs + layer.bias).unsqueeze(-1) * vals  # (batch, n, k)
        ref = torch.logsumexp(z, -1).sum(-1)
        assert torch.allclose(layer.log_partition(inputs, beta), ref, atol=1e-10)
        p = torch.softmax(z, -1)
        mean = (p * vals).sum(-1)
        assert torch.allclose(layer.mean(inputs, beta), mean, atol=1e-12)
        assert torch.allclose(layer.variance(inputs, beta), (p * vals ** 2).sum(-1) - mean ** 2, atol=1e-12)


def test_gaussian_against_quadrature():
    layer = GaussianLayer(2, bias=torch.tensor([0.4, -1.2]), precision=torch.tensor([2.0, 0.7]),
                          dtype=torch.float64)
    inputs = torch.tensor([[0.3, 2.0]], dtype=torch.float64)
    beta = 0.6
    total = 0.0
    for i in range(2):
        g, t, I = layer.precision[i].item(), layer.bias[i].item(), inputs[0, i].item()
        f = lambda x: math.exp(-beta * (0.5 * g * x * x - t * x - I * x))  # noqa: E731
        val, _ = integrate.quad(f, -np.inf, np.inf, epsabs=0, epsrel=1e-12)
        total += math.log(val)
        m, _ = integrate.quad(lambda x: x * f(x), -np.inf, np.inf, epsabs=0, epsrel=1e-12)
        assert abs(m / val - layer.mean(inputs, beta)[0, i].item()) < 1e-9
    assert abs(layer.log_partition(inputs, beta).item() - total) < 1e-9 * abs(total)


def test_gaussian_sampler_moments():
    layer = GaussianLayer(2, bias=torch.tensor([0.4, -1.2]), precision=torch.tensor([2.0, 0.5]),
                          dtype=torch.float64)
    inputs = torch.tensor([[1.0, 0.5]], dtype=torch.float64).expand(200_000, 2).contiguous()
    x = layer.sample(inputs, beta=0.5, rng=Rng(0))
    mean, var = layer.mean(inputs[:1], 0.5)[0], layer.variance(inputs[:1], 0.5)[0]
    se = torch.sqrt(var / len(x))
    assert ((x.mean(0) - mean).abs() < 4 * se).all()
    assert ((x.var(0) / var - 1).abs() < 0.02).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rng_bernoulli_matches_probabilities(dtype):
    rng = Rng(11)
    p = torch.linspace(0, 1, 11, dtype=dtype).repeat(100_000, 1).contiguous()
    x = rng.bernoulli_(p.clone())
    freq = x.mean(0).double()
    target = torch.linspace(0, 1, 11, dtype=torch.float64)
    se = torch.sqrt(target * (1 - target) / 100_000).clamp_min(1e-9)
    assert ((freq - target).abs() <= 4 * se + 1e-12).all()
    assert freq[0] == 0 and freq[-1] == 1


def test_rng_state_roundtrip_and_seed():
    a, b = Rng(5), Rng(5)
    p = torch.full((1000,), 0.5)
    assert torch.equal(a.bernoulli_(p.clone()), b.bernoulli_(p.clone()))
    state = a.get_state()
    x1 = a.bernoulli_(p.clone()), a.normal((5,))
    a.set_state(state)
    x2 = a.bernoulli_(p.clone()), a.normal((5,))
    assert torch.equal(x1[0], x2[0]) and torch.equal(x1[1], x2[1])
    assert not torch.equal(Rng(6).bernoulli_(p.clone()), x1[0])
