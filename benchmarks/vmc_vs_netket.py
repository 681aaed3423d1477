"""Lattice VMC: boltzlab against NetKet on the same TFIM problem, side by side in one run.

Problem (issue 8): periodic chain of ``--sites`` spins (default 16), H = -sum Z_i Z_{i+1} - h sum X_i with h = 1,
real RBM with alpha = 1 (NetKet ``nk.models.RBM``; boltzlab ``RBMSpinState``; the same ln Psi = a.s +
sum_j ln cosh(b_j + W_j.s), parameters drawn N(0, 0.01^2)), about 1000 samples per step, stochastic reconfiguration
with the same learning rate and diagonal shift, the same number of iterations.  The updates are identical:
NetKet's ``VMC_SR`` solves (S + shift) d = 2 Re F (the energy gradient; netket/_src/ngd/sr_srt_common.py,
``dv = 2.0 * de``), boltzlab's ``StochasticReconfiguration`` solves (S + shift) d = F, so boltzlab gets ``2 * lr``
for ``--lr`` (and ``--lr-final``).  Samplers: NetKet's ``MetropolisLocal`` (``--netket-chains`` chains, default 16 = NetKet's default,
``n_samples`` = ``--samples``); boltzlab's vectorised single-flip Metropolis with ``--samples`` chains, one sweep
(N proposals per chain) per step.

Reported for each: seconds per iteration (the optimisation loop after 5 warm-up iterations, which include
NetKet's JIT compilation), the relative error of the final state's energy against exact diagonalisation
(Lanczos) -- both the exact variational energy of the final parameters (enumerating all 2^N states, no Monte
Carlo noise) and a Monte Carlo estimate with ``--eval-samples`` samples and its error bar -- and the energy
variance.  boltzlab runs with ``--threads`` torch threads (default 1); NetKet/JAX with its own default threading
(``--jax-threads 1`` pins XLA to one thread).  Everything runs in the same process, one after the other, so both
see the same machine load.

Time to accuracy (``--ansatz symmetric``): the translation-symmetric RBM on both sides (NetKet
``nk.models.RBMSymm`` over the translation group; boltzlab ``SymmetricRBMSpinState``; the same alpha filters,
1 + alpha + alpha N parameters), any chain length (the reference is the free-fermion energy, so no exact
diagonalisation is needed; the exact variational energy of the final state is computed only up to 20 sites).
Reported for each: the wall time (optimisation loop after the warm-up, JIT excluded for NetKet) at which the mean
energy of the last ``--window`` iterations first lies within ``--target`` relative error of the reference, and
the final estimate.

    .venv-bench/bin/python benchmarks/vmc_vs_netket.py                   # 16 sites, h = 1, 300 iterations
    .venv-bench/bin/python benchmarks/vmc_vs_netket.py --iterations 600 --out benchmarks/results/vmc_vs_netket.json
    .venv-bench/bin/python benchmarks/vmc_vs_netket.py --ansatz symmetric --alpha 2 --sites 80 --iterations 400 \
        --samples 1008 --lr 0.05 --lr-final 0.005 --target 1e-4 --out benchmarks/results/vmc_tta_80.json
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _report import report  # noqa: E402

WARMUP = 5


def time_to_accuracy(energies: list[float], stamps: list[float], exact: float, target: float,
                     window: int) -> float | None:
    """Seconds until the mean energy of the last ``window`` iterations is first within ``target`` of ``exact``."""
    for k in range(window, len(energies) + 1):
        if abs(np.mean(energies[k - window:k]) - exact) <= target * abs(exact):
            return stamps[k - 1]
    return None


def run_boltzlab(args: argparse.Namespace, exact: float) -> dict:
    import torch

    from boltzlab.quantum.lattice import (RBMSpinState, SpinVMC, SpinVMCConfig, SymmetricRBMSpinState,
                                          all_configurations, exact_expectation, make_hamiltonian)
    torch.set_num_threads(args.threads)
    ham = make_hamiltonian("tfim", str(args.sites), field=args.field)
    if args.ansatz == "symmetric":
        rbm = SymmetricRBMSpinState(ham.lattice, alpha=args.alpha, init_scale=0.01, seed=args.seed)
    else:
        rbm = RBMSpinState(args.sites, alpha=args.alpha, init_scale=0.01, seed=args.seed)
    cfg = SpinVMCConfig(n_chains=args.samples, sweeps=1, burn_in=20, iterations=args.iterations, optimizer="sr",
                        lr=2 * args.lr, lr_schedule=args.schedule, lr_final=2 * args.lr_final,
                        diag_shift=args.diag_shift, eval_steps=max(args.eval_samples // args.samples, 2),
                        seed=args.seed)
    vmc = SpinVMC(ham, rbm, cfg, exact_energy=exact)
    t0 = time.perf_counter()
    vmc.run(WARMUP)
    t1 = time.perf_counter()
    stamps: list[float] = []
    vmc.run(args.iterations, callback=lambda rec: stamps.append(time.perf_counter() - t1))
    t2 = time.perf_counter()
    res = vmc.estimate()
    energies = [r["energy"] for r in vmc.history[WARMUP:]]
    out = {"seconds_per_iteration": (t2 - t1) / (args.iterations - WARMUP), "warmup_seconds": t1 - t0,
           "mc_energy": res.energy, "mc_stderr": res.stderr, "mc_samples": res.n_samples,
           "mc_relative_error": abs(res.energy - exact) / abs(exact), "acceptance": res.acceptance,
           "n_parameters": vmc.n_parameters, "samples_per_iteration": args.samples, "threads": args.threads,
           "seconds_to_target": time_to_accuracy(energies, stamps, exact, args.target, args.window),
           "history": [r["energy"] for r in vmc.history]}
    if args.sites <= 20:
        with torch.no_grad():
            e_var, var = exact_expectation(ham, rbm.log_psi(all_configurations(args.sites)))
        out.update({"exact_variational_energy": e_var, "relative_error": abs(e_var - exact) / abs(exact),
                    "variance": var})
    return out


def run_netket(args: argparse.Namespace, exact: float) -> dict:
    if args.jax_threads:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false "
                                   f"intra_op_parallelism_threads={args.jax_threads}")
    import jax
    import netket as nk

    g = nk.graph.Chain(length=args.sites, pbc=True)
    hi = nk.hilbert.Spin(s=0.5, N=args.sites)
    H = nk.operator.Ising(hilbert=hi, graph=g, h=args.field, J=-1.0)      # -h sum X + J sum Z Z, J = -1
    if args.ansatz == "symmetric":
        model = nk.models.RBMSymm(symmetries=g.translation_group(), alpha=args.alpha, param_dtype=float)
    else:
        model = nk.models.RBM(alpha=args.alpha, param_dtype=float)
    sampler = nk.sampler.MetropolisLocal(hi, n_chains=args.netket_chains)
    vs = nk.vqs.MCState(sampler, model, n_samples=args.samples, seed=args.seed, sampler_seed=args.seed + 1)
    lr = args.lr
    if args.schedule == "cosine":  # the same formula as boltzlab.quantum.optim.cosine
        import optax
        lr = optax.cosine_decay_schedule(args.lr, args.iterations, alpha=args.lr_final / args.lr)
    drv = nk.driver.VMC_SR(H, nk.optimizer.Sgd(learning_rate=lr), diag_shift=args.diag_shift,
                           variational_state=vs)
    log = nk.logging.RuntimeLog()
    t0 = time.perf_counter()
    drv.run(n_iter=WARMUP, out=log, show_progress=False)
    t1 = time.perf_counter()
    stamps: list[float] = []
    energies: list[float] = []

    def record(step: int, data: dict, driver: object) -> bool:
        energies.append(float(np.real(data["Energy"].mean)))
        stamps.append(time.perf_counter() - t1)
        return True

    drv.run(n_iter=args.iterations - WARMUP, out=log, show_progress=False, callback=record)
    jax.block_until_ready(vs.parameters)
    t2 = time.perf_counter()
    extra: dict = {}
    if args.sites <= 20:
        hs = H.to_sparse()
        psi = np.asarray(vs.to_array())                                   # normalised over hi.all_states()
        e_var = float(np.vdot(psi, hs @ psi).real)
        extra = {"exact_variational_energy": e_var, "relative_error": abs(e_var - exact) / abs(exact),
                 "variance": float(np.vdot(hs @ psi, hs @ psi).real - e_var ** 2)}
    vs.n_samples = args.eval_samples
    est = vs.expect(H)
    n_samples = int(vs.n_samples)
    hist = np.asarray(log.data["Energy"]["Mean"]).real.tolist() if "Energy" in log.data else []
    return {"seconds_per_iteration": (t2 - t1) / (args.iterations - WARMUP), "warmup_seconds": t1 - t0,
            "mc_energy": float(est.mean.real), "mc_stderr": float(est.error_of_mean),
            "mc_samples": n_samples, "mc_relative_error": abs(float(est.mean.real) - exact) / abs(exact),
            "n_parameters": int(vs.n_parameters), "samples_per_iteration": int(args.samples),
            "chains": args.netket_chains, "version": nk.__version__, "jax": jax.__version__,
            "seconds_to_target": time_to_accuracy(energies, stamps, exact, args.target, args.window),
            "history": hist, **extra}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=16)
    ap.add_argument("--field", type=float, default=1.0)
    ap.add_argument("--alpha", type=int, default=1)
    ap.add_argument("--ansatz", choices=["rbm", "symmetric"], default="rbm",
                    help="rbm: all couplings free (default); symmetric: translation-invariant RBM on both sides")
    ap.add_argument("--target", type=float, default=1e-4, help="relative error of the time-to-accuracy (1e-4)")
    ap.add_argument("--window", type=int, default=20, help="iterations averaged for the time to accuracy (20)")
    ap.add_argument("--samples", type=int, default=1000, help="samples per iteration (default 1000)")
    ap.add_argument("--netket-chains", type=int, default=16, help="NetKet Metropolis chains (default 16)")
    ap.add_argument("--iterations", type=int, default=300)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--schedule", choices=["constant", "cosine"], default="cosine",
                    help="learning rate: constant, or cosine from --lr to --lr-final over the run (default)")
    ap.add_argument("--lr-final", type=float, default=0.005)
    ap.add_argument("--diag-shift", type=float, default=0.01)
    ap.add_argument("--eval-samples", type=int, default=16000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch threads of boltzlab (default 1)")
    ap.add_argument("--jax-threads", type=int, default=0, help="pin XLA to this many threads (default: its own)")
    ap.add_argument("--only", choices=["both", "boltzlab", "netket"], default="both")
    ap.add_argument("--out", default=None, help="also write the JSON here")
    args = ap.parse_args(argv)
    from boltzlab.quantum.lattice import tfim_chain_energy
    exact = tfim_chain_energy(args.sites, args.field)
    result: dict = {"problem": {"model": "tfim", "sites": args.sites, "field": args.field, "alpha": args.alpha,
                                "ansatz": args.ansatz, "target": args.target, "window": args.window,
                                "samples": args.samples, "iterations": args.iterations, "lr": args.lr,
                                "schedule": args.schedule, "lr_final": args.lr_final,
                                "diag_shift": args.diag_shift, "exact_energy": exact}}
    if args.only in ("both", "netket"):
        result["netket"] = run_netket(args, exact)
    if args.only in ("both", "boltzlab"):
        result["boltzlab"] = run_boltzlab(args, exact)
    rows = [k for k in ("netket", "boltzlab") if k in result]
    print(f"TFIM chain N={args.sites}, h={args.field:g}, RBM alpha={args.alpha}, {args.samples} samples/step, SR "
          f"lr={args.lr:g} shift={args.diag_shift:g}, {args.iterations} iterations; exact E0 = {exact:.10f}",
          file=sys.stderr)
    print(f"{'':10s} {'ms/iter':>9s} {'rel.err (exact <H>)':>20s} {'rel.err (MC)':>13s} {'MC E +- se':>24s} "
          f"{'s to ' + format(args.target, '.0e'):>10s}", file=sys.stderr)
    for k in rows:
        r = result[k]
        tta = r["seconds_to_target"]
        print(f"{k:10s} {1e3 * r['seconds_per_iteration']:9.2f} {r.get('relative_error', float('nan')):20.2e} "
              f"{r['mc_relative_error']:13.2e} {r['mc_energy']:15.6f} +- {r['mc_stderr']:.1e} "
              f"{'not reached' if tta is None else format(tta, '.1f'):>10s}", file=sys.stderr)
    if len(rows) == 2:
        result["speedup_boltzlab_over_netket"] = (result["netket"]["seconds_per_iteration"]
                                                  / result["boltzlab"]["seconds_per_iteration"])
    slim = {k: ({kk: vv for kk, vv in v.items() if kk != "history"} if isinstance(v, dict) else v)
            for k, v in result.items()}
    report(slim, None)
    if args.out:
        from boltzlab.checkpoint import atomic_write_json
        atomic_write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
