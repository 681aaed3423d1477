"""The counter-based two-valued draws (boltzlab.counter_draws): the stream is SplitMix64, compiled and eager
kernels agree bit for bit, draws split or batched equal one draw, and the frequencies are right."""

import math

import pytest
import torch

from boltzlab import counter_draws as cd
from boltzlab.errors import CheckpointError
from boltzlab.random import Rng, SplitRng


def splitmix64_reference(state: int, n: int) -> list[int]:
    """The next ``n`` SplitMix64 outputs from ``state``, in plain Python."""
    out = []
    for _ in range(n):
        state = (state + 0x9E3779B97F4A7C15) & cd.MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & cd.MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & cd.MASK64
        out.append(z ^ (z >> 31))
    return out


@pytest.mark.parametrize("dtype,bits", [(torch.float32, 24), (torch.float64, 53)])
def test_uniforms_are_splitmix64_outputs(dtype, bits):
    rng = Rng(3)
    key = rng._counter
    p = torch.full((6, 7), 0.5, dtype=dtype)
    x = rng.bernoulli_(p.clone())
    u = torch.tensor([(z >> (64 - bits)) / 2.0 ** bits for z in splitmix64_reference(key, 42)],
                     dtype=torch.float64).view(6, 7)
    assert torch.equal(x, (u < 0.5).to(dtype))
    # the known first output of SplitMix64 from state 0 (Vigna's reference implementation)
    assert splitmix64_reference(0, 1) == [0xE220A8397B1DCDAF]
    assert rng._counter == (key + 42 * 0x9E3779B97F4A7C15) % 2 ** 64


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_compiled_kernels_equal_numpy_hashing(dtype, monkeypatch):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 57, generator=g, dtype=dtype) * 3
    bias = torch.randn(57, generator=g, dtype=dtype)
    p = torch.rand(300, 57, generator=g, dtype=dtype)
    keys = [12345, 2 ** 64 - 7]  # two blocks; a key above 2^63 wraps to a negative int64
    results = []
    for min_block in (0, 10 ** 9):  # every draw compiled, then every draw hashed by NumPy
        monkeypatch.setattr(cd, "COMPILE_MIN_BLOCK", min_block)
        results.append((cd.fill_below_logistic_(x.clone(), bias, 0.7, keys, -1.0, 1.0),
                        cd.fill_below_(p.clone(), keys)))
    assert cd._eager_only or {"below", "below_logistic"} <= set(cd._compiled)
    assert torch.equal(results[0][0], results[1][0]) and torch.equal(results[0][1], results[1][1])


def test_split_draws_equal_one_draw_and_blocks_equal_separate_streams():
    p = torch.full((10, 13), 0.4)
    one = Rng(9).bernoulli_(p.clone())
    r = Rng(9)
    assert torch.equal(torch.cat([r.bernoulli_(p[:4].clone()), r.bernoulli_(p[4:].clone())]), one)
    streams = [Rng(1), Rng(2)]
    batched = SplitRng([Rng(1), Rng(2)], 0).bernoulli_logistic_(torch.zeros(2, 5, 13), torch.zeros(2, 1, 13), 1.0)
    separate = torch.stack([s.bernoulli_logistic_(torch.zeros(5, 13), torch.zeros(13), 1.0) for s in streams])
    assert torch.equal(batched, separate)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_logistic_draws_have_the_logistic_frequencies(dtype):
    fields = torch.tensor([-9.0, -3.0, -0.5, 0.0, 0.5, 3.0, 9.0], dtype=dtype)
    n = 200_000
    rng = Rng(21)
    x = rng.bernoulli_logistic_(fields.repeat(n, 1).contiguous(), torch.zeros(7, dtype=dtype), 1.0)
    freq = x.double().mean(0)
    target = torch.sigmoid(fields.double())
    se = torch.sqrt(target * (1 - target) / n)
    assert ((freq - target).abs() < 4.5 * se).all(), (freq, target)
    spins = rng.bernoulli_logistic_(fields.repeat(n, 1).contiguous(), torch.zeros(7, dtype=dtype), 0.5, -1.0, 1.0)
    assert set(spins.unique().tolist()) <= {-1.0, 1.0}
    p_up = torch.sigmoid(fields.double() / 2)
    se_spin = 2 * torch.sqrt(p_up * (1 - p_up) / n)
    assert ((spins.double().mean(0) - torch.tanh(fields.double() / 4)).abs() < 4.5 * se_spin).all()


def test_neighbouring_uniforms_are_uncorrelated():
    """A broken mixer (e.g. an arithmetic shift where a logical one belongs) leaves the counter's
    structure in the output: successive uniforms would correlate and their bits would be biased."""
    key = Rng(4)._advance(1)
    x = cd.fill_below_(torch.full((1, 400_000), 0.5, dtype=torch.float64), [key])  # one bit per element
    u = x.view(-1)
    assert abs(float(u.mean()) - 0.5) < 4 * 0.5 / math.sqrt(u.numel())
    c = torch.corrcoef(torch.stack([u[:-1], u[1:]]))[0, 1]
    assert abs(float(c)) < 4 / math.sqrt(u.numel())


def test_state_from_before_counter_draws_is_refused():
    rng = Rng(0)
    state = rng.get_state()
    del state["counter"]
    with pytest.raises(CheckpointError, match="older boltzlab"):
        rng.set_state(state)


def test_without_a_compiler_the_draws_are_the_same(monkeypatch):
    """Where torch.compile cannot build its kernel (no C++ compiler), draws fall back to NumPy hashing with a
    warning, and equal the compiled draws."""
    from torch._inductor.exc import InvalidCxxCompiler
    x = torch.randn(4, 5000, generator=torch.Generator().manual_seed(1))
    bias = torch.zeros(5000)
    monkeypatch.setattr(cd, "COMPILE_MIN_BLOCK", 0)
    expected = Rng(8).bernoulli_logistic_(x.clone(), bias, 1.0)

    def no_compiler(fn, **kwargs):
        def fail(*args):
            raise InvalidCxxCompiler()
        return fail
    monkeypatch.setattr(cd, "_compiled", {})
    monkeypatch.setattr(cd, "_eager_only", False)
    monkeypatch.setattr(torch, "compile", no_compiler)
    with pytest.warns(RuntimeWarning, match="torch.compile is unavailable"):
        got = Rng(8).bernoulli_logistic_(x.clone(), bias, 1.0)
    assert cd._eager_only and torch.equal(got, expected)
    assert torch.equal(Rng(8).bernoulli_logistic_(x.clone(), bias, 1.0), expected)  # no second warning needed


def test_strided_states_take_the_torch_stream():
    """A non-contiguous view cannot be hashed in place; it draws from the torch generator (as on CUDA)."""
    p = torch.full((400, 300), 0.25).t()
    spins = Rng(2).bernoulli_(p, -1.0, 1.0)
    assert spins is p and set(spins.unique().tolist()) == {-1.0, 1.0}
    assert abs(float(spins.mean()) + 0.5) < 4 * 2 * math.sqrt(0.1875 / p.numel())
    fields = torch.zeros(300, 400).t()
    x = Rng(3).bernoulli_logistic_(fields, torch.full((300,), math.log(3)), 1.0)  # sigmoid(ln 3) = 3/4
    assert abs(float(x.mean()) - 0.75) < 4 * math.sqrt(0.1875 / x.numel())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("min_block", [0, 10 ** 9])  # the compiled kernel, then NumPy hashing
def test_gaussian_draws_are_normal(dtype, min_block, monkeypatch):
    """Kolmogorov-Smirnov against N(0, 1) after undoing the affine map, on the compiled and the NumPy path;
    the two paths give the same numbers up to the last bits of log and cos."""
    from scipy import stats
    monkeypatch.setattr(cd, "COMPILE_MIN_BLOCK", min_block)
    n, m = 4000, 50
    bias = torch.linspace(-1, 1, m, dtype=dtype)
    gain = torch.linspace(0.5, 2, m, dtype=dtype)
    std = torch.linspace(0.1, 3, m, dtype=dtype)
    x0 = torch.randn(n, m, generator=torch.Generator().manual_seed(0), dtype=dtype)
    y = Rng(12).gaussian_(x0.clone(), bias, gain, std)
    z = ((y - (x0 + bias) * gain) / std).double().flatten().numpy()
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert abs(z.mean()) < 4 / math.sqrt(z.size) and abs(z.var() - 1) < 4 * math.sqrt(2 / z.size)
    tail = 2 * stats.norm.sf(3)  # beyond 3 standard deviations
    assert abs(float((abs(z) > 3).mean()) - tail) < 4 * math.sqrt(tail / z.size)
    monkeypatch.setattr(cd, "COMPILE_MIN_BLOCK", 10 ** 9 if min_block == 0 else 0)  # the other path
    y2 = Rng(12).gaussian_(x0.clone(), bias, gain, std)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    assert torch.allclose(y, y2, rtol=tol, atol=tol)


def test_gaussian_blocks_equal_separate_streams_on_both_paths(monkeypatch):
    """Two replicas drawn at once (one stream each, per-replica parameters) are the two separate draws, with
    the compiled kernel and with NumPy hashing; consecutive draws move each stream on by 2 outputs a value."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 100, 50, generator=g, dtype=torch.float64)
    bias, gain, std = (torch.rand(2, 1, 50, generator=g, dtype=torch.float64) + 0.5 for _ in range(3))
    results = []
    for min_block in (0, 10 ** 9):
        monkeypatch.setattr(cd, "COMPILE_MIN_BLOCK", min_block)
        split = SplitRng([Rng(1), Rng(2)], 0)
        batched = [split.gaussian_(x.clone(), bias, gain, std) for _ in range(2)]
        streams = [Rng(1), Rng(2)]
        separate = [torch.stack([s.gaussian_(x[r].clone(), bias[r], gain[r], std[r]) for r, s in enumerate(streams)])
                    for _ in range(2)]
        assert all(torch.equal(b, s) for b, s in zip(batched, separate))
        assert not torch.allclose(batched[0], batched[1])
        results.append(batched[0])
    assert torch.allclose(results[0], results[1], rtol=1e-12, atol=1e-12)
