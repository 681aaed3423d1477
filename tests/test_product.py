"""The sweep's matrix product is chosen by measurement among routines that compute it correctly."""

import time

import pytest
import torch

from boltzlab import counter_draws as cd
from boltzlab.random import Rng
from boltzlab.sampling import product as pr


def _operands(n=64, k=48, m=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, k, generator=g), torch.randn(k, m, generator=g), torch.randn(m, generator=g)


def _slow(x, m, shift, out):
    time.sleep(0.1)  # far above any preemption of a loaded machine
    pr.torch_product(x, m, shift, out)


def test_a_slow_product_is_not_chosen_and_the_fast_one_serves():
    x, m, shift = _operands()
    calls = []

    def counted(x, m, shift, out):
        calls.append(1)
        pr.torch_product(x, m, shift, out)
    for order in (("slow", "fast"), ("fast", "slow")):  # the choice does not depend on the order
        cands = {"slow": _slow, "fast": counted}
        chooser = pr.FastestProduct({name: cands[name] for name in order}, min_work=0)
        out = torch.empty(x.shape[0], m.shape[1])
        chooser(x, m, shift, out)
        assert list(chooser.choices.values()) == ["fast"]
        assert torch.allclose(out, torch.addmm(shift, x, m), atol=1e-5)
        before = len(calls)
        chooser(x, m, None, out)  # a new shape class (no shift) is measured afresh
        chooser(x, m, None, out)
        assert len(chooser.choices) == 2 and set(chooser.choices.values()) == {"fast"}
        assert torch.allclose(out, x @ m, atol=1e-5)


def test_a_fast_product_with_a_wrong_result_is_rejected():
    x, m, shift = _operands()

    def wrong(x, m, shift, out):  # fast, but off by far more than float32 rounding allows
        pr.torch_product(x, m, shift, out)
        out.mul_(1 + 1e-4)

    def raises(x, m, shift, out):
        raise RuntimeError("no such kernel")
    chooser = pr.FastestProduct({"torch.mm": _slow, "wrong": wrong, "raises": raises}, min_work=0)
    out = torch.empty(x.shape[0], m.shape[1])
    chooser(x, m, shift, out)
    assert list(chooser.choices.values()) == ["torch.mm"]
    assert torch.allclose(out, torch.addmm(shift, x, m), atol=1e-5)


def test_a_product_that_only_rounds_differently_is_accepted():
    x, m, shift = _operands(k=300)

    def reordered(x, m, shift, out):  # the same sums in another order: rounding differs, the product does not
        half = x.shape[1] // 2
        out.copy_(x[:, half:] @ m[half:] + (x[:, :half] @ m[:half] + shift))
    chooser = pr.FastestProduct({"torch.mm": _slow, "reordered": reordered}, min_work=0)
    chooser(x, m, shift, torch.empty(x.shape[0], m.shape[1]))
    assert list(chooser.choices.values()) == ["reordered"]


def test_small_products_take_torch_mm_without_measuring():
    x, m, _ = _operands()
    chooser = pr.FastestProduct({"torch.mm": _slow, "fast": pr.torch_product})
    chooser(x, m, None, torch.empty(x.shape[0], m.shape[1]))
    assert list(chooser.choices.values()) == ["torch.mm"]


def test_safe_kernels_switch_leaves_torch_mm_and_uncompiled_draws(monkeypatch):
    monkeypatch.setenv("BOLTZLAB_SAFE_KERNELS", "1")
    assert set(pr.cpu_float32_candidates()) == {"torch.mm"}
    x = torch.randn(4, 5000, generator=torch.Generator().manual_seed(1))
    bias = torch.zeros(5000)
    monkeypatch.setattr(cd, "COMPILE_MIN_BLOCK", 0)
    monkeypatch.setattr(cd, "_compiled", {})

    def no_compile(fn, **kwargs):
        raise AssertionError("torch.compile called under BOLTZLAB_SAFE_KERNELS")
    monkeypatch.setattr(torch, "compile", no_compile)
    got = Rng(8).bernoulli_logistic_(x.clone(), bias, 1.0)
    monkeypatch.undo()
    monkeypatch.setattr(cd, "COMPILE_MIN_BLOCK", 0)
    assert torch.equal(got, Rng(8).bernoulli_logistic_(x.clone(), bias, 1.0))  # the same draws, compiled


@pytest.mark.skipif(pr._onednn_linear() is None, reason="this PyTorch has no oneDNN product")
def test_onednn_product_agrees_with_torch_mm():
    x, m, shift = _operands(k=200)
    for mat, sh in ((m, shift), (m.t().contiguous().t(), None)):
        out = torch.empty(x.shape[0], m.shape[1])
        pr.onednn_product(x, mat, sh, out)
        ref = torch.empty_like(out)
        pr.torch_product(x, mat, sh, ref)
        assert pr._agrees(out, ref, x, mat, sh)
