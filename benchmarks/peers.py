"""Peer implementations for side-by-side benchmarks of boltzlab.

Thin wrappers around two third-party RBM implementations, called the way a
user of those packages would call them:

* ``rbms`` (PyPI ``rbms==0.5.0``, DsysDML): ``BBRBM`` + ``sample_state`` for
  block Gibbs sampling, ``fit_batch_pcd`` + ``torch.optim.SGD(maximize=True)``
  for PCD training (the body of its own ``rbms.training.pcd.train`` loop,
  without the per-update HDF5 writes).
* scikit-learn's ``sklearn.neural_network.BernoulliRBM`` (PCD-1, numpy).

Every function takes and returns numpy arrays, and imports the peer lazily,
so this module imports without torch, rbms or scikit-learn installed.

Energy convention of every returned parameter set (the same as boltzlab's):

    E(v, h) = -v^T W h - a.v - b.h,   W: (n_visible, n_hidden),
    a = "visible_bias" (n_visible,),  b = "hidden_bias" (n_hidden,).

Run ``python benchmarks/peers.py check`` for the correctness checks against
exact enumeration and ``python benchmarks/peers.py time`` for the sampler
timing quoted in benchmarks/PEERS.md (see that file for the peers' quirks).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import time
from typing import Any, Iterator

import numpy as np

__all__ = [
    "rbms_block_gibbs",
    "rbms_pcd_train",
    "sklearn_bernoulli_rbm",
    "exact_log_z",
    "exact_log_likelihood",
    "exact_visible_marginal",
]


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


@contextlib.contextmanager
def _torch_threads(n_threads: int | None) -> Iterator[None]:
    """Temporarily set torch's intra-op thread count (None: leave as is)."""
    import torch

    if n_threads is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(old)


@contextlib.contextmanager
def _seeded_torch(seed: int) -> Iterator[None]:
    """Seed torch's *global* CPU generator for the block, then restore it.

    rbms takes no ``torch.Generator`` anywhere (``torch.bernoulli`` /
    ``torch.randn`` / ``torch.randperm`` on the default generator), so seeding
    the global generator is the only way to make its runs reproducible.
    """
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


def _as_f32(x: Any) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(x, dtype=np.float32))


def _make_bbrbm(weights: np.ndarray, visible_bias: np.ndarray, hidden_bias: np.ndarray):
    import torch
    from rbms.bernoulli_bernoulli import BBRBM

    w = torch.from_numpy(_as_f32(weights).copy())
    a = torch.from_numpy(_as_f32(visible_bias).copy())
    b = torch.from_numpy(_as_f32(hidden_bias).copy())
    if w.ndim != 2 or a.shape != (w.shape[0],) or b.shape != (w.shape[1],):
        raise ValueError(
            f"expected W (n_visible, n_hidden), a (n_visible,), b (n_hidden,); "
            f"got {tuple(w.shape)}, {tuple(a.shape)}, {tuple(b.shape)}"
        )
    # rbms's BBRBM: weight_matrix (n_visible, n_hidden), vbias, hbias, and
    # _compute_energy = -v.vbias - h.hbias - v W h: our convention, no transpose.
    return BBRBM(weight_matrix=w, vbias=a, hbias=b, device=torch.device("cpu"), dtype=torch.float32)


# --------------------------------------------------------------------------
# 1. rbms: block Gibbs sampling
# --------------------------------------------------------------------------


def rbms_block_gibbs(
    weights: np.ndarray,
    visible_bias: np.ndarray,
    hidden_bias: np.ndarray,
    n_chains: int,
    n_sweeps: int,
    seed: int,
    warmup: int = 2,
    *,
    per_layer: bool = False,
    n_threads: int | None = None,
) -> dict:
    """Time rbms's own block-Gibbs sampler on a binary-binary RBM.

    Chains are created with ``BBRBM.init_chains(n_chains)`` (uniform random
    binary visibles, hidden sampled given them: the peer's dict format with
    keys visible/hidden/visible_mag/hidden_mag/weights).

    Default (``per_layer=False``): one call of the peer's public
    ``rbms.sampling.gibbs.sample_state(gibbs_steps=k, ...)`` (= ``params.
    sample_state``, what its PCD loop calls).  One such call clones the
    visible state, performs k sweeps (h|v then v|h) and then ONE EXTRA h|v
    update so the returned ``hidden``/``hidden_mag`` match the final visible
    state.  The next call restarts from ``visible`` only, so the visible chain
    advances exactly k sweeps per call; here the timed part is a single call
    with k = n_sweeps, i.e. n_sweeps sweeps + 1 extra hidden half-sweep (at
    20 sweeps ~2.5% extra work that the peer always does, and which is
    charged to it).  ``warmup`` sweeps are one separate untimed call first.

    ``per_layer=True`` instead loops over the peer's ``sample_hiddens`` /
    ``sample_visibles`` methods, exactly n_sweeps h-then-v updates with no
    extra half sweep (the same jit-scripted kernels); useful to check that
    the overhead above is not what a comparison measures.

    Seeds torch's global generator (the peer accepts no generator) inside
    ``torch.random.fork_rng``, so the caller's RNG state is untouched.
    """
    import torch
    from rbms.sampling.gibbs import sample_state

    n_chains = int(n_chains)
    n_sweeps = int(n_sweeps)
    warmup = int(warmup)
    if n_sweeps < 1:
        raise ValueError("n_sweeps must be >= 1")
    params = _make_bbrbm(weights, visible_bias, hidden_bias)
    with _torch_threads(n_threads), _seeded_torch(seed), torch.no_grad():
        chains = params.init_chains(num_samples=n_chains)
        if per_layer:
            for _ in range(warmup):
                chains = params.sample_hiddens(chains)
                chains = params.sample_visibles(chains)
            t0 = time.perf_counter()
            for _ in range(n_sweeps):
                chains = params.sample_hiddens(chains)
                chains = params.sample_visibles(chains)
            seconds = time.perf_counter() - t0
        else:
            if warmup > 0:
                chains = sample_state(gibbs_steps=warmup, chains=chains, params=params)
            t0 = time.perf_counter()
            chains = sample_state(gibbs_steps=n_sweeps, chains=chains, params=params)
            seconds = time.perf_counter() - t0
        final_visible = chains["visible"].numpy().copy()
    return {
        "seconds": seconds,
        "sweeps_per_sec": n_sweeps / seconds,
        "chain_sweeps_per_sec": n_chains * n_sweeps / seconds,
        "final_visible": final_visible,
        "hidden_updates": n_sweeps + (0 if per_layer else 1),
        "visible_updates": n_sweeps,
    }


# --------------------------------------------------------------------------
# 2. rbms: PCD training
# --------------------------------------------------------------------------


def rbms_pcd_train(
    data: np.ndarray,
    n_hidden: int,
    n_chains: int,
    batch_size: int,
    gibbs_steps: int,
    n_updates: int,
    lr: float,
    seed: int,
    *,
    centered: bool = True,
    normalize_grad: bool = True,
    n_threads: int | None = None,
    snapshot_every: int | None = None,
) -> dict:
    """Train rbms's BBRBM with PCD, replicating ``rbms.training.pcd.train``.

    ``snapshot_every=s``: also return ``snapshots``, (training seconds so far, W, a, b) after every s updates
    (the copies are not timed).

    Setup (untimed), as the peer's ``initialize_model_archive`` /
    ``create_machine`` / ``load_model`` do:
      * ``BBRBM.init_parameters``: W = 1e-4 * N(0,1) (its ``var_init`` is used
        as a standard deviation), vbias = logit(clamped data frequencies),
        hbias = 0;
      * persistent chains = ``init_chains(n_chains)`` then ``sample_state``
        with ``gibbs_steps``; ``init_grad()``;
      * ``torch.optim.SGD(params.parameters(), lr=lr, maximize=True)``.
    Timed loop, n_updates times (the body of the peer's ``train``, minus its
    per-update checkpoint/HDF5 learning-rate logging):
      * minibatch = ``torch.randperm(n)[:batch_size]`` (fresh random subset
        each update, not epochs);
      * ``optimizer.zero_grad(set_to_none=False)``;
      * ``fit_batch_pcd(batch, chains, params, gibbs_steps, beta=1.0,
        centered=centered)``: data hiddens = P(h=1|v_data); chains advance
        ``gibbs_steps`` sweeps (+1 hidden half-sweep); centered gradient with
        hidden *means* for both phases; then ``params.normalize_grad()``,
        which rescales the whole gradient to unit global L2 norm, so every
        update has step length exactly ``lr`` (NOT plain SGD);
      * ``optimizer.step()``.

    Defaults reproduce the peer exactly.  ``normalize_grad=False`` runs the
    same steps through the peer's own methods but skips the normalisation
    (plain SGD on the gradient); ``centered=False`` is the peer's
    ``--no_center``.  Both only for like-for-like comparisons.
    """
    import torch
    from rbms.bernoulli_bernoulli import BBRBM
    from rbms.dataset.dataset_class import RBMDataset
    from rbms.training.pcd import fit_batch_pcd

    x = _as_f32(data)
    if x.ndim != 2:
        raise ValueError("data must be (n_samples, n_visible)")
    n = x.shape[0]
    n_updates = int(n_updates)
    with _torch_threads(n_threads), _seeded_torch(seed), torch.no_grad():
        dataset = RBMDataset(
            data=x,
            labels=np.zeros(n, dtype=np.int32),
            weights=np.ones(n, dtype=np.float32),
            names=np.arange(n).astype(str).astype(object),
            dataset_name="boltzlab-bench",
            is_binary=True,
            device="cpu",
            dtype=torch.float32,
        )
        params = BBRBM.init_parameters(
            num_hiddens=int(n_hidden), dataset=dataset, device=torch.device("cpu"), dtype=torch.float32
        )
        chains = params.init_chains(num_samples=int(n_chains))
        chains = params.sample_state(chains=chains, n_steps=int(gibbs_steps))
        chains = params.init_chains(chains["visible"].shape[0], start_v=chains["visible"])
        params.init_grad()
        optimizer = torch.optim.SGD(params.parameters(), lr=float(lr), maximize=True)

        snapshots = []
        seconds = 0.0
        t0 = time.perf_counter()
        for i in range(n_updates):
            rand_idx = torch.randperm(len(dataset))[: int(batch_size)]
            batch = (dataset.data[rand_idx], dataset.weights[rand_idx])
            optimizer.zero_grad(set_to_none=False)
            if normalize_grad:
                chains, _logs = fit_batch_pcd(
                    batch=batch,
                    parallel_chains=chains,
                    params=params,
                    gibbs_steps=int(gibbs_steps),
                    beta=1.0,
                    centered=centered,
                    lambda_l1=0.0,
                    lambda_l2=0.0,
                )
            else:  # fit_batch_pcd without its final params.normalize_grad()
                v_data, w_data = batch
                curr = params.init_chains(num_samples=v_data.shape[0], weights=w_data, start_v=v_data)
                chains = params.sample_state(chains=chains, n_steps=int(gibbs_steps), beta=1.0)
                params.compute_gradient(data=curr, chains=chains, centered=centered)
            optimizer.step()
            if snapshot_every and (i + 1) % int(snapshot_every) == 0:
                seconds += time.perf_counter() - t0
                snapshots.append((seconds, params.weight_matrix.numpy().copy(), params.vbias.numpy().copy(),
                                  params.hbias.numpy().copy()))
                t0 = time.perf_counter()
        seconds += time.perf_counter() - t0

        out = {
            "seconds": seconds,
            "seconds_per_update": seconds / n_updates if n_updates > 0 else float("nan"),
            "n_updates": n_updates,
            "weights": params.weight_matrix.numpy().copy(),
            "visible_bias": params.vbias.numpy().copy(),
            "hidden_bias": params.hbias.numpy().copy(),
            "snapshots": snapshots,
        }
    return out


# --------------------------------------------------------------------------
# 3. scikit-learn BernoulliRBM
# --------------------------------------------------------------------------


def sklearn_bernoulli_rbm(
    data: np.ndarray,
    n_hidden: int,
    batch_size: int,
    n_iter: int,
    learning_rate: float,
    seed: int,
    *,
    n_threads: int | None = 2,
) -> dict:
    """Train ``sklearn.neural_network.BernoulliRBM`` (PCD-1) and time ``fit``.

    ``fit`` runs n_iter epochs over ``ceil(n / batch_size)`` contiguous,
    never-shuffled slices (the last one shorter when batch_size does not
    divide n), one update per slice: n_updates = ceil(n/batch_size) * n_iter.
    One update: positive phase with P(h|v_data); the ``batch_size`` persistent
    chains (kept as *hidden* states, started at h = 0) do v ~ P(v|h),
    P(h|v) (means for the gradient), then h sampled: one sweep per update.
    Step: ``learning_rate / len(batch)`` times the summed gradient.
    ``components_`` is (n_hidden, n_visible): W = components_.T.
    float32 input stays float32.  BLAS threads limited to ``n_threads`` via
    threadpoolctl (None: leave as is).
    """
    from sklearn.neural_network import BernoulliRBM

    x = _as_f32(data)
    n = x.shape[0]
    model = BernoulliRBM(
        n_components=int(n_hidden),
        learning_rate=float(learning_rate),
        batch_size=int(batch_size),
        n_iter=int(n_iter),
        random_state=int(seed),
        verbose=0,
    )
    if n_threads is None:
        limiter = contextlib.nullcontext()
    else:
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(limits=int(n_threads))
    with limiter:
        t0 = time.perf_counter()
        model.fit(x)
        seconds = time.perf_counter() - t0
    n_batches = int(np.ceil(n / int(batch_size)))
    n_updates = n_batches * int(n_iter)
    return {
        "seconds": seconds,
        "n_updates": n_updates,
        "seconds_per_update": seconds / n_updates if n_updates > 0 else float("nan"),
        "weights": np.array(model.components_.T, dtype=np.float32, order="C"),
        "visible_bias": np.array(model.intercept_visible_, dtype=np.float32),
        "hidden_bias": np.array(model.intercept_hidden_, dtype=np.float32),
    }


# --------------------------------------------------------------------------
# exact enumeration (numpy float64), for the checks
# --------------------------------------------------------------------------


def _all_states(n: int) -> np.ndarray:
    return np.array(list(itertools.product((0.0, 1.0), repeat=n)), dtype=np.float64)


def _logsumexp(x: np.ndarray, axis=None) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True)
    return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(x - m), axis=axis))


def exact_log_z(weights, visible_bias, hidden_bias) -> float:
    """log Z by brute force over all 2^n_visible * 2^n_hidden joint states."""
    w = np.asarray(weights, np.float64)
    a = np.asarray(visible_bias, np.float64)
    b = np.asarray(hidden_bias, np.float64)
    v = _all_states(w.shape[0])
    h = _all_states(w.shape[1])
    neg_e = v @ w @ h.T + (v @ a)[:, None] + (h @ b)[None, :]  # -E(v,h)
    return float(_logsumexp(neg_e.ravel()))


def _neg_free_energy(v, w, a, b) -> np.ndarray:
    return v @ a + np.logaddexp(0.0, v @ w + b).sum(axis=1)


def exact_log_likelihood(data, weights, visible_bias, hidden_bias) -> float:
    """Mean exact log p(v) over the rows of ``data`` (float64)."""
    w = np.asarray(weights, np.float64)
    a = np.asarray(visible_bias, np.float64)
    b = np.asarray(hidden_bias, np.float64)
    v = np.asarray(data, np.float64)
    return float(np.mean(_neg_free_energy(v, w, a, b)) - exact_log_z(w, a, b))


def exact_visible_marginal(weights, visible_bias, hidden_bias) -> np.ndarray:
    """p(v) for all 2^n_visible states, ordered as itertools.product((0,1), ...)."""
    w = np.asarray(weights, np.float64)
    a = np.asarray(visible_bias, np.float64)
    b = np.asarray(hidden_bias, np.float64)
    v = _all_states(w.shape[0])
    lp = _neg_free_energy(v, w, a, b)
    lp -= _logsumexp(lp)
    return np.exp(lp)


def _state_index(v: np.ndarray) -> np.ndarray:
    n = v.shape[1]
    powers = 2 ** np.arange(n - 1, -1, -1)
    return (np.rint(v).astype(np.int64) * powers).sum(axis=1)


# --------------------------------------------------------------------------
# checks and timing (CLI)
# --------------------------------------------------------------------------


def _toy_data(n: int, rng: np.random.Generator) -> np.ndarray:
    """6-bit structured data: 3 prototypes with 5% bit-flip noise."""
    protos = np.array([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1], [1, 0, 1, 0, 1, 0]], dtype=np.float32)
    x = protos[rng.integers(0, len(protos), size=n)]
    flip = rng.random(x.shape) < 0.05
    return np.where(flip, 1.0 - x, x).astype(np.float32)


def _independent_ll(train, test) -> float:
    """Held-out LL of the best factorised model fitted on ``train``."""
    p = np.clip(train.mean(0), 1e-4, 1 - 1e-4).astype(np.float64)
    t = test.astype(np.float64)
    return float(np.mean(t @ np.log(p) + (1 - t) @ np.log(1 - p)))


def run_checks(seed: int = 0) -> bool:
    import torch

    torch.set_num_threads(2)
    ok = True
    rng = np.random.default_rng(seed)

    # (0) enumeration sanity: joint-state log Z == free-energy log Z
    w = rng.normal(0, 1, (6, 3))
    a = rng.normal(0, 0.5, 6)
    b = rng.normal(0, 0.5, 3)
    lz_joint = exact_log_z(w, a, b)
    lz_free = float(_logsumexp(_neg_free_energy(_all_states(6), w, a, b)))
    print(f"[enum] log Z joint={lz_joint:.10f} free-energy={lz_free:.10f}")
    ok &= abs(lz_joint - lz_free) < 1e-9

    # (b) rbms Gibbs sampler vs exact marginal on a 5x3 RBM
    w = rng.normal(0, 1.0, (5, 3)).astype(np.float32)
    a = rng.normal(0, 0.5, 5).astype(np.float32)
    b = rng.normal(0, 0.5, 3).astype(np.float32)
    exact = exact_visible_marginal(w, a, b)
    for per_layer in (False, True):
        res = rbms_block_gibbs(w, a, b, n_chains=20000, n_sweeps=10, seed=seed + 1, warmup=2, per_layer=per_layer)
        emp = np.bincount(_state_index(res["final_visible"]), minlength=32) / 20000.0
        tv = 0.5 * np.abs(emp - exact).sum()
        # discriminating control: the same parameters with W transposed-sign
        tv_wrong = 0.5 * np.abs(emp - exact_visible_marginal(-w, a, b)).sum()
        print(
            f"[gibbs] rbms sample_state{' (per_layer)' if per_layer else ''}: "
            f"TV(empirical, exact)={tv:.4f}  (vs. exact of W->-W: {tv_wrong:.4f})"
        )
        ok &= tv < 0.05 and tv_wrong > 0.1

    # (a) training increases the exact held-out log-likelihood
    data = _toy_data(3000, rng)
    train, test = data[:2000], data[2000:]
    ll_uniform = -6 * np.log(2.0)
    ll_indep = _independent_ll(train, test)
    print(f"[train] held-out LL: uniform={ll_uniform:.4f} best-independent={ll_indep:.4f}")

    kw = dict(n_hidden=3, n_chains=200, batch_size=100, gibbs_steps=10, lr=0.05, seed=seed + 2)
    init = rbms_pcd_train(train, n_updates=0, **kw)
    fit = rbms_pcd_train(train, n_updates=600, **kw)
    ll0 = exact_log_likelihood(test, init["weights"], init["visible_bias"], init["hidden_bias"])
    ll1 = exact_log_likelihood(test, fit["weights"], fit["visible_bias"], fit["hidden_bias"])
    finite = all(np.isfinite(fit[k]).all() for k in ("weights", "visible_bias", "hidden_bias"))
    shapes = fit["weights"].shape == (6, 3) and fit["visible_bias"].shape == (6,) and fit["hidden_bias"].shape == (3,)
    print(
        f"[train] rbms PCD: LL init={ll0:.4f} -> trained={ll1:.4f}  "
        f"finite={finite} shapes={shapes} ({fit['seconds_per_update'] * 1e3:.2f} ms/update)"
    )
    ok &= finite and shapes and ll1 > ll0 + 0.1 and ll1 > ll_indep
    # the same parameters read with a wrong convention must be worse
    ll_bad = exact_log_likelihood(test, -fit["weights"], fit["visible_bias"], fit["hidden_bias"])
    print(f"[train] rbms PCD with W sign flipped: {ll_bad:.4f} (must be < trained)")
    ok &= ll_bad < ll1

    kw = dict(n_hidden=3, batch_size=20, learning_rate=0.05, seed=seed + 3)
    init = sklearn_bernoulli_rbm(train, n_iter=0, **kw)
    fit = sklearn_bernoulli_rbm(train, n_iter=30, **kw)
    ll0 = exact_log_likelihood(test, init["weights"], init["visible_bias"], init["hidden_bias"])
    ll1 = exact_log_likelihood(test, fit["weights"], fit["visible_bias"], fit["hidden_bias"])
    finite = all(np.isfinite(fit[k]).all() for k in ("weights", "visible_bias", "hidden_bias"))
    shapes = fit["weights"].shape == (6, 3) and fit["visible_bias"].shape == (6,) and fit["hidden_bias"].shape == (3,)
    print(
        f"[train] sklearn BernoulliRBM: LL init={ll0:.4f} -> trained={ll1:.4f}  finite={finite} "
        f"shapes={shapes} n_updates={fit['n_updates']} ({fit['seconds_per_update'] * 1e3:.3f} ms/update)"
    )
    ok &= finite and shapes and ll1 > ll0 + 0.1 and fit["n_updates"] == 100 * 30
    ll_bad = exact_log_likelihood(test, -fit["weights"], fit["visible_bias"], fit["hidden_bias"])
    print(f"[train] sklearn with W sign flipped: {ll_bad:.4f} (must be < trained)")
    ok &= ll_bad < ll1

    print("ALL CHECKS PASSED" if ok else "SOME CHECKS FAILED")
    return bool(ok)


def run_timing(
    n_visible: int = 784,
    n_hidden: int = 500,
    n_chains: int = 2000,
    n_sweeps: int = 20,
    repeats: int = 3,
    seed: int = 0,
    threads: int = 2,
) -> None:
    import torch

    torch.set_num_threads(threads)
    rng = np.random.default_rng(seed)
    w = rng.normal(0.0, 0.01, (n_visible, n_hidden)).astype(np.float32)
    a = np.zeros(n_visible, np.float32)
    b = np.zeros(n_hidden, np.float32)
    print(
        f"rbms {_version('rbms')}, torch {torch.__version__}, threads={torch.get_num_threads()}; "
        f"{n_visible}x{n_hidden}, {n_chains} chains, {n_sweeps} sweeps, warmup 2, {repeats} repeats"
    )
    for per_layer in (False, True):
        rates = []
        for r in range(repeats):
            res = rbms_block_gibbs(w, a, b, n_chains, n_sweeps, seed=seed + r, warmup=2, per_layer=per_layer)
            rates.append((res["sweeps_per_sec"], res["chain_sweeps_per_sec"], res["seconds"]))
        rates.sort()
        med = rates[len(rates) // 2]
        name = "sample_state (1 call)" if not per_layer else "per_layer loop      "
        print(
            f"  {name}: median {med[0]:.2f} sweeps/s = {med[1]:.4g} chain-sweeps/s "
            f"({med[2]:.3f} s for {n_sweeps} sweeps); all sweeps/s: "
            + ", ".join(f"{x[0]:.2f}" for x in sorted(rates, key=lambda t: t[2]))
        )


def run_train_timing(repeats: int = 2, threads: int = 2) -> None:
    """Illustrative PCD-1 per-update timing of both peers at 784x500."""
    import torch

    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    x = (rng.random((5000, 784)) < 0.3).astype(np.float32)
    for rep in range(repeats):
        r = rbms_pcd_train(x, n_hidden=500, n_chains=500, batch_size=500, gibbs_steps=1, n_updates=20, lr=0.01, seed=rep)
        s = sklearn_bernoulli_rbm(x, n_hidden=500, batch_size=500, n_iter=2, learning_rate=0.01, seed=rep, n_threads=threads)
        print(
            f"rbms PCD-1: {r['seconds_per_update'] * 1e3:.1f} ms/update ({r['n_updates']} updates); "
            f"sklearn PCD-1: {s['seconds_per_update'] * 1e3:.1f} ms/update ({s['n_updates']} updates, float32)"
        )


def _version(name: str) -> str:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:  # pragma: no cover
        return "?"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("check", help="correctness checks against exact enumeration")
    t = sub.add_parser("time", help="time rbms block Gibbs")
    t.add_argument("--n-visible", type=int, default=784)
    t.add_argument("--n-hidden", type=int, default=500)
    t.add_argument("--n-chains", type=int, default=2000)
    t.add_argument("--n-sweeps", type=int, default=20)
    t.add_argument("--repeats", type=int, default=3)
    t.add_argument("--threads", type=int, default=2)
    sub.add_parser("time-train", help="illustrative PCD-1 per-update timing of both peers")
    args = p.parse_args(argv)
    if args.cmd == "check":
        return 0 if run_checks() else 1
    if args.cmd == "time-train":
        run_train_timing()
        return 0
    run_timing(args.n_visible, args.n_hidden, args.n_chains, args.n_sweeps, args.repeats, threads=args.threads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
