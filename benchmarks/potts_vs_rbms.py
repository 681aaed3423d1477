"""Potts-binary RBM training: boltzlab against `rbms`' PBRBM at equal settings, side by side.

Data: sequences drawn exactly (ancestral sampling through the 2^m hidden states) from a known Potts RBM
with ``--true-hidden`` hidden units, ``--sites`` sites and q = 21 states (a protein-like alphabet), split
into training and held-out halves.  Both tools train an RBM with ``--hidden`` binary hidden units by
PCD-k with the same number of persistent chains, minibatch size, Gibbs sweeps per update, number of
updates, learning rate, plain SGD (no momentum) and the *uncentered* gradient (rbms' ``--no_center``;
boltzlab's default), from the same kind of initialisation (W ~ N(0, 1e-4^2), fields from the site
frequencies, zero hidden biases), each keeping the zero-sum gauge after every update.  The peer runs
through its own methods (``init_chains``, ``sample_state``, ``compute_gradient``, ``ensure_zero_sum_gauge``);
its ``normalize_grad`` (unit-norm gradient) is skipped so that both take the plain gradient step, as in
``peers.rbms_pcd_train(normalize_grad=False)``.

Reported: seconds per update (median over interleaved repeats), and the final *exact* held-out
log-likelihood of each trained model (ln Z by enumerating the 2^hidden hidden states), next to that of the
true model and of the independent-site model.

    .venv-bench/bin/python benchmarks/potts_vs_rbms.py --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

import boltzlab as bl
from boltzlab.models.potts import exact_samples, random_potts_rbm
from boltzlab.training import TrainConfig, Trainer

sys.path.insert(0, str(Path(__file__).parent))
from _report import report  # noqa: E402


def known_model_data(args: argparse.Namespace):
    """A true model whose hidden units each couple strongly to a few sites (as in protein RBMs), so that the
    data carry correlations well above the independent-site model; samples drawn exactly."""
    true = random_potts_rbm(args.sites, 21, args.true_hidden, weight_std=args.true_weight_std, field_std=1.0,
                            seed=args.seed)
    g = torch.Generator().manual_seed(args.seed + 1)
    with torch.no_grad():
        mask = torch.zeros(args.sites, 1, args.true_hidden, dtype=torch.float64)
        for mu in range(args.true_hidden):
            mask[torch.randperm(args.sites, generator=g)[:args.sites_per_unit], 0, mu] = 1.0
        true.potts_weights.mul_(mask)
        true.apply_gauge_()
        # hidden biases that balance each unit (p(h_mu = 1) ~ 1/2), else a strong unit is always on and the
        # data are nearly independent sites
        a, w = true.visible.bias, true.potts_weights
        gain = torch.logsumexp(a[:, :, None] + w, 1) - torch.logsumexp(a, 1)[:, None]
        true.hidden.bias.copy_(-gain.sum(0))
    x = exact_samples(true, 2 * args.samples, seed=args.seed).long()
    return true, x[:args.samples], x[args.samples:]


def held_out_ll(model: bl.PottsRBM, test: torch.Tensor) -> float:
    return bl.exact_log_likelihood(model, test)


def run_boltzlab(train: torch.Tensor, args: argparse.Namespace, seed: int) -> tuple[float, bl.PottsRBM]:
    cfg = TrainConfig(visible_units="potts", n_states=21, n_hidden=args.hidden, method="pcd", k=args.k,
                      batch_size=args.batch_size, n_chains=args.chains, epochs=10 ** 6,
                      max_updates=args.updates + 1, optimizer="sgd", lr=args.lr, momentum=0.0, centered=False,
                      weight_std=1e-4, seed=seed, monitor_exact_max_log2=0, monitor_samples=0)
    tr = Trainer.create(train.float(), cfg, progress=False)
    tr.perm = tr.rng.permutation(len(train))
    t0 = time.perf_counter()
    for i in range(args.updates):
        j = (i * args.batch_size) % max(1, len(train) - args.batch_size + 1)
        tr.update(tr.train[tr.perm[j:j + args.batch_size]])
    return (time.perf_counter() - t0) / args.updates, tr.model


def run_rbms(train: torch.Tensor, args: argparse.Namespace, seed: int) -> tuple[float, bl.PottsRBM]:
    from rbms.potts_bernoulli.classes import PBRBM
    from rbms.potts_bernoulli.implement import _init_parameters
    from rbms.potts_bernoulli.utils import ensure_zero_sum_gauge
    torch.manual_seed(seed)
    data = train.float()
    n = len(data)
    with torch.no_grad():
        vbias, hbias, w = _init_parameters(args.hidden, data, torch.device("cpu"), torch.float32, var_init=1e-4)
        params = PBRBM(weight_matrix=w, vbias=vbias, hbias=hbias)
        chains = params.init_chains(num_samples=args.chains)
        params.init_grad()
        optimizer = torch.optim.SGD(params.parameters(), lr=args.lr, maximize=True)
        weights = torch.ones(n)
        t0 = time.perf_counter()
        for _ in range(args.updates):
            idx = torch.randperm(n)[:args.batch_size]
            optimizer.zero_grad(set_to_none=False)
            curr = params.init_chains(num_samples=len(idx), weights=weights[idx], start_v=data[idx])
            chains = params.sample_state(chains=chains, n_steps=args.k, beta=1.0)
            params.compute_gradient(data=curr, chains=chains, centered=False)
            optimizer.step()
            ensure_zero_sum_gauge(params)
        seconds = (time.perf_counter() - t0) / args.updates
    model = bl.PottsRBM(params.weight_matrix.clone(), params.vbias.clone(), params.hbias.clone(), dtype=torch.float64)
    return seconds, model


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=20)
    ap.add_argument("--true-hidden", type=int, default=4)
    ap.add_argument("--true-weight-std", type=float, default=2.0)
    ap.add_argument("--sites-per-unit", type=int, default=5, help="sites each true hidden unit couples to")
    ap.add_argument("--hidden", type=int, default=8)
    ap.add_argument("--samples", type=int, default=5000, help="training sequences (as many held out)")
    ap.add_argument("--chains", type=int, default=500)
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--updates", type=int, default=500)
    ap.add_argument("--lr", type=float, default=2.0)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="benchmarks/results/potts_vs_rbms.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    true, train, test = known_model_data(args)
    indep = bl.PottsRBM(torch.zeros(args.sites, 21, 1, dtype=torch.float64), dtype=torch.float64)
    indep.visible.init_from_data(train.double(), eps=1e-4)
    ref = {"true_model": held_out_ll(true, test), "independent_sites": held_out_ll(indep, test)}
    times = {"boltzlab": [], "rbms": []}
    lls = {"boltzlab": [], "rbms": []}
    for r in range(args.repeats):  # interleaved, so that load on the machine hits both alike
        for name, fn in (("boltzlab", run_boltzlab), ("rbms", run_rbms)):
            sec, model = fn(train, args, args.seed + r)
            times[name].append(sec)
            lls[name].append(held_out_ll(model.double(), test))
            print(f"repeat {r} {name:9s}: {1e3 * sec:7.2f} ms/update, held-out LL {lls[name][-1]:.4f}",
                  file=sys.stderr)
    rows = {name: {"ms_per_update_median": 1e3 * statistics.median(times[name]),
                   "ms_per_update": [1e3 * t for t in times[name]],
                   "held_out_log_likelihood": lls[name],
                   "held_out_log_likelihood_mean": float(np.mean(lls[name]))} for name in times}
    print(f"\n{'':12s} {'ms/update':>10s} {'held-out LL (exact, nats)':>28s}", file=sys.stderr)
    for name, row in rows.items():
        print(f"{name:12s} {row['ms_per_update_median']:10.2f} {row['held_out_log_likelihood_mean']:28.4f}",
              file=sys.stderr)
    print(f"{'true model':12s} {'':10s} {ref['true_model']:28.4f}", file=sys.stderr)
    print(f"{'independent':12s} {'':10s} {ref['independent_sites']:28.4f}", file=sys.stderr)
    return report({"benchmark": "potts_vs_rbms", "settings": vars(args), "reference_held_out_ll": ref,
                   "results": rows}, args.out)


if __name__ == "__main__":
    main()
