"""The practitioner's toolbox behind `boltzlab ptt | trajectory-ll | pretrain | pl`: each takes the parsed
options, writes its PNG figures and JSON into ``args.out`` and returns (numbers, one-line summary).

* ``ptt``: parallel trajectory tempering over the models a training run saved, with automatic choice of the
  replicas for a target exchange acceptance.
* ``trajectory_ll``: ln Z and the log-likelihood at every saved model by AIS along the trajectory, against
  exact enumeration where the model is small enough.
* ``pretrain``: low-rank pretraining (d <= 4 principal directions, exact grid partition function), then
  training from it and from a random start with the same settings.
* ``pl``: the pseudo-log-likelihood of data under a model, per visible unit.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..checkpoint import atomic_write_json
from ..errors import ConfigError, IntractableError
from .train_run import binary_data, model_data as load_model_data


def _finish(args: argparse.Namespace, path: Path, result: dict[str, Any], message: str) -> tuple[dict[str, Any], str]:
    """Write the numbers to ``path`` (JSON); return them with a one-line summary."""
    atomic_write_json(path, result)
    return result, message


# ------------------------------------------------------------------------------------------------ ptt
def _trajectory(run: str, device: str):
    from ..sampling.trajectory import load_trajectory
    return load_trajectory(run, device=device)


def ptt(args: argparse.Namespace) -> int:
    from ..plots import save_figure, subplots
    from ..sampling.trajectory import TrajectoryTempering, select_models
    models, steps = _trajectory(args.run, args.device)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    progress = not args.no_progress
    if args.all_models:
        chosen, labels, selection = models, [float(i) for i in range(len(models))], None
    else:
        selection = select_models(models, args.target, n_chains=args.chains, pilot_steps=args.pilot_steps,
                                  sweeps=args.sweeps, seed=args.seed, progress=progress)
        chosen, labels = selection.models, selection.labels
    ptt = TrajectoryTempering(chosen, args.chains, sweeps=args.sweeps, seed=args.seed + 1)
    ptt.run(args.steps, progress)

    def step_of(label: float) -> float:
        i = int(np.floor(label))
        if i + 1 >= len(steps):
            return float(steps[-1])
        return float(steps[i] + (label - i) * (steps[i + 1] - steps[i]))

    replica_steps = [None] + [step_of(x) for x in labels]
    acc = ptt.acceptance
    fig, ax = subplots(figsize=(7, 4))
    ax.bar(np.arange(len(acc)), acc, color="tab:blue")
    ax.axhline(args.target, color="gray", ls="--", label=f"target {args.target:g}")
    names = ["indep."] + [f"{s:g}" for s in replica_steps[1:]]
    ax.set_xticks(np.arange(len(acc)))
    ax.set_xticklabels([f"{names[i]}↔{names[i + 1]}" for i in range(len(acc))], rotation=60, fontsize=7)
    ax.set_ylabel("exchange acceptance"); ax.set_ylim(0, 1); ax.legend()
    ax.set_xlabel("neighbouring replicas (training update of each saved model)")
    ax.set_title(f"trajectory tempering: {ptt.n_replicas} replicas, {args.chains} chains, {args.steps} steps")
    save_figure(fig, out / "swap_rates.png")
    v = ptt.samples.detach().cpu().numpy()
    np.savez(out / "samples.npz", v=v)
    result: dict[str, Any] = {"run": str(args.run), "saved_models": len(models), "saved_steps": steps,
                              "replica_labels": labels, "replica_steps": replica_steps[1:], **ptt.summary(),
                              "selection": None if selection is None else selection.to_dict(),
                              "plots": [str(out / "swap_rates.png")], "samples": str(out / "samples.npz")}
    return _finish(args, out / "ptt.json", result,
                   f"{ptt.n_replicas} replicas; exchange acceptance min {float(acc.min()):.2f}, mean {float(acc.mean()):.2f}; "
                   f"wrote {out}/ptt.json, swap_rates.png, samples.npz")


# ------------------------------------------------------------------------------------------------ trajectory-ll
def trajectory_ll(args: argparse.Namespace) -> int:
    from ..partition import exact_log_likelihood, exact_log_z
    from ..plots import save_figure, subplots
    from ..sampling.trajectory import trajectory_log_z
    models, steps = _trajectory(args.run, args.device)
    data = None if args.data is None else load_model_data(args.data, models[-1], args.rows, args.binarize, args.seed)
    test = None if args.test_data is None else load_model_data(args.test_data, models[-1], None, args.binarize,
                                                               args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res = trajectory_log_z(models, steps, n_chains=args.chains, n_between=args.between, data=data, test=test,
                           seed=args.seed, progress=not args.no_progress)
    result: dict[str, Any] = {"run": str(args.run), **res.to_dict()}
    exact_z = None
    if args.exact == "auto":
        try:
            exact_z = [exact_log_z(m, max_log2_states=20) for m in models]
        except IntractableError:
            exact_z = None
    if exact_z is not None:
        result["exact_log_z"] = exact_z
        result["max_abs_error_log_z"] = float(np.max(np.abs(res.log_z - np.array(exact_z))))
        if data is not None:
            ex_ll = [exact_log_likelihood(m, data, log_z=z) for m, z in zip(models, exact_z)]
            result["exact_log_likelihood"] = ex_ll
            result["max_abs_error_log_likelihood"] = float(np.max(np.abs(res.log_likelihood - np.array(ex_ll))))
    fig, axes = subplots(1, 2, figsize=(11, 4))
    ax = axes[0]
    if res.log_likelihood is not None:
        ax.errorbar(steps, res.log_likelihood, yerr=res.stderr, marker="o", ms=3, label="data (trajectory AIS)")
        if "exact_log_likelihood" in result:
            ax.plot(steps, result["exact_log_likelihood"], "kx--", lw=1, ms=6, zorder=5, label="data (exact)")
    if res.test_log_likelihood is not None:
        ax.errorbar(steps, res.test_log_likelihood, yerr=res.stderr, marker="s", ms=3, label="held out (AIS)")
    if res.log_likelihood is None and res.test_log_likelihood is None:
        ax.errorbar(steps, res.log_z, yerr=res.stderr, marker="o", ms=3, label="ln Z (trajectory AIS)")
        if exact_z is not None:
            ax.plot(steps, exact_z, "kx--", lw=1, ms=6, zorder=5, label="ln Z (exact)")
        ax.set_ylabel("ln Z")
    else:
        ax.set_ylabel("log-likelihood (nats per sample)")
    ax.set_xlabel("training updates"); ax.legend(); ax.grid(alpha=0.3)
    ax.set_title("along training")
    axes[1].plot(steps, res.ess, marker="o", ms=3)
    axes[1].set_xlabel("training updates"); axes[1].set_ylabel("effective sample size")
    axes[1].set_title(f"AIS weights ({args.chains} chains, {args.between} steps between models)")
    axes[1].grid(alpha=0.3)
    save_figure(fig, out / "log_likelihood.png")
    result["plots"] = [str(out / "log_likelihood.png")]
    last = res.log_likelihood[-1] if res.log_likelihood is not None else res.log_z[-1]
    return _finish(args, out / "trajectory_ll.json", result,
                   f"{len(models)} saved models; last value {last:.4f} (+- {res.stderr[-1]:.4f}); "
                   f"wrote {out}/trajectory_ll.json and log_likelihood.png")


# ------------------------------------------------------------------------------------------------ pretrain
def _pretrain_data(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    from ..data import train_test_split
    x = binary_data(args.data, args.rows, args.binarize, args.seed, min_rows=4)
    train, test = train_test_split(x, test_fraction=args.test_fraction, seed=args.seed)
    return np.ascontiguousarray(train, dtype=np.float32), np.ascontiguousarray(test, dtype=np.float32)


def _exact_ll(model, data: np.ndarray) -> float | None:
    from ..partition import exact_log_likelihood
    try:
        return exact_log_likelihood(model, data)
    except IntractableError:
        return None


def pretrain(args: argparse.Namespace) -> int:
    import time
    from ..io import save_model
    from ..plots import save_figure, subplots
    from ..training import TrainConfig, Trainer
    from ..training.lowrank import fit_lowrank
    if not 1 <= args.dim <= 4:
        raise ConfigError(f"--dim must be 1..4; got {args.dim}")
    if args.epochs < 0:
        raise ConfigError(f"--epochs must be >= 0; got {args.epochs}")
    train, test = _pretrain_data(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    low = fit_lowrank(train, args.hidden, args.dim, grid_points=args.grid_points, seed=args.seed,
                      independent_fields=not args.no_bias_base)
    fit_seconds = time.perf_counter() - t0
    init = low.to_rbm(dtype=torch.float32, device=args.device)
    save_model(init, out / "lowrank_init.pt")
    cfg = TrainConfig(n_hidden=args.hidden, method=args.method, k=args.k, batch_size=args.batch_size,
                      epochs=max(args.epochs, 1), lr=args.lr, seed=args.seed, device=args.device,
                      monitor_exact_max_log2=20)
    progress = not args.no_progress
    start = {"lowrank": _exact_ll(init, test)}
    curves: dict[str, list[dict[str, Any]]] = {}
    if args.epochs > 0:
        lr_trainer = Trainer(copy.deepcopy(init), train, cfg, test=test, progress=progress)
        if cfg.method == "pcd" and not args.random_chains:
            lr_trainer.chains = low.sample(cfg.chains, seed=args.seed).to(lr_trainer.chains)
        curves["lowrank"] = lr_trainer.fit()
        rnd = Trainer.create(train, cfg, test=test, progress=progress)
        start["random"] = _exact_ll(rnd.model, test)
        curves["random"] = rnd.fit()
    else:
        rnd = Trainer.create(train, cfg, test=test, progress=False)
        start["random"] = _exact_ll(rnd.model, test)
    key = "test_log_likelihood"
    result: dict[str, Any] = {
        "data": str(args.data), "n_train": int(train.shape[0]), "n_test": int(test.shape[0]),
        "n_visible": int(train.shape[1]), "lowrank": low.summary(), "fit_seconds": round(fit_seconds, 3),
        "lowrank_grid_log_likelihood_test": float(low.log_prob(2 * torch.as_tensor(test, dtype=torch.float64) - 1).mean()),
        "initial_test_log_likelihood": start, "config": cfg.to_dict(),
        "lowrank_chains": "random" if args.random_chains or cfg.method != "pcd" else "low-rank samples",
        "curves": {name: [{"epoch": r["epoch"], "step": r["step"], "test_log_likelihood": r.get(key),
                           "train_log_likelihood": r.get("train_log_likelihood")} for r in hist]
                   for name, hist in curves.items()}}
    if curves:
        result["final_test_log_likelihood"] = {name: hist[-1].get(key) for name, hist in curves.items()}
    plots = []
    fig, ax = subplots(figsize=(7, 4.2))
    for name, color in (("lowrank", "tab:red"), ("random", "tab:blue")):
        hist = curves.get(name, [])
        xs = [0] + [r["epoch"] for r in hist]
        ys = [start[name]] + [r.get(key) for r in hist]
        if any(y is not None for y in ys):
            ax.plot(xs, [np.nan if y is None else y for y in ys], marker="o", ms=4, color=color,
                    label=f"{'low-rank init (d=%d)' % args.dim if name == 'lowrank' else 'random init'}")
    ax.set_xlabel("epoch"); ax.set_ylabel("held-out log-likelihood (exact, nats)")
    ax.set_title(f"{args.method.upper()}-{args.k}, {args.hidden} hidden units, lr {args.lr:g}")
    ax.grid(alpha=0.3); ax.legend()
    save_figure(fig, out / "log_likelihood.png")
    plots.append(str(out / "log_likelihood.png"))
    if low.dim <= 2:
        plots.append(str(_density_plot(low, train, out / "lowrank_density.png")))
    result["plots"] = plots
    result["init"] = str(out / "lowrank_init.pt")
    return _finish(args, out / "pretrain.json", result,
                   f"held-out LL at start: low-rank {start['lowrank']}, random {start['random']}; after "
                   f"{args.epochs} epochs: {result.get('final_test_log_likelihood', {})}; wrote {out}/pretrain.json")


def _density_plot(low, train: np.ndarray, path: Path) -> Path:
    """The low-rank model's density of m on the grid, with the data's projections."""
    from ..plots import save_figure, subplots
    s = 2 * torch.as_tensor(train, dtype=torch.float64) - 1
    proj = low.project(s).numpy()
    ok = torch.isfinite(low.log_omega)
    logp = torch.full_like(low.log_omega, -np.inf)
    logp[ok] = low.log_omega[ok] + low.n_visible * low.g(low.grid[ok])
    p = torch.softmax(logp, 0).numpy()
    fig, ax = subplots(figsize=(6, 4.5))
    if low.dim == 1:
        x = low.grid[:, 0].numpy()
        dx = x[1] - x[0]
        ax.plot(x, p / dx, color="tab:red", label="low-rank model")
        ax.hist(proj[:, 0], bins=60, density=True, alpha=0.4, label="data")
        ax.set_xlabel("m_1"); ax.set_ylabel("density"); ax.legend()
    else:
        n = int(round(np.sqrt(len(p))))
        g = low.grid.numpy().reshape(n, n, 2)
        ax.contourf(g[..., 0], g[..., 1], np.log10(p.reshape(n, n) + 1e-300).clip(-8, None), levels=20,
                    cmap="viridis")
        ax.scatter(proj[:2000, 0], proj[:2000, 1], s=2, c="white", alpha=0.5, label="data")
        ax.set_xlabel("m_1"); ax.set_ylabel("m_2"); ax.legend(loc="upper right")
    ax.set_title("low-rank model on the top principal directions (log10 p on the grid)")
    return save_figure(fig, path)


# ------------------------------------------------------------------------------------------------ pl
def pl(args: argparse.Namespace) -> int:
    from ..io import load_model
    from ..partition.pseudolikelihood import pseudo_log_likelihood
    path = Path(args.model)
    model = load_model(path / "checkpoint.pt" if path.is_dir() else path, device=args.device)
    if args.sites != "all":
        try:
            sites: str | int = int(args.sites)
        except ValueError:
            raise ConfigError(f"--sites must be 'all' or an integer; got {args.sites!r}") from None
    else:
        sites = "all"
    data = load_model_data(args.data, model, args.rows, args.binarize, args.seed)
    with torch.no_grad():
        per = pseudo_log_likelihood(model, data, sites=sites, seed=args.seed, reduction="none").double()
    result = {"model": str(args.model), "n_samples": int(per.numel()), "sites": sites,
              "pseudo_log_likelihood": float(per.mean()),
              "stderr": float(per.std() / np.sqrt(per.numel())) if per.numel() > 1 else None,
              "per_unit": float(per.mean()) / model.n_visible}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from ..partition.pseudolikelihood import conditional_log_probs, _values_index
    from ..plots import save_figure, subplots
    x = model.visible_tensor(data, "data")
    with torch.no_grad():
        own = _values_index(model.visible, x)[1].unsqueeze(2)
        per_unit = torch.cat([conditional_log_probs(model, x[i:i + 256]).gather(2, own[i:i + 256]).squeeze(2)
                              for i in range(0, x.shape[0], 256)]).double().mean(0).cpu().numpy()
    result["per_unit_conditional_log_prob"] = per_unit.tolist()
    fig, ax = subplots(figsize=(8, 3.5))
    ax.bar(np.arange(len(per_unit)), per_unit, width=0.8 if len(per_unit) <= 100 else 1.0)
    ax.set_xlabel("visible unit i"); ax.set_ylabel("mean ln p(v_i | v_-i)")
    ax.set_title(f"pseudo-log-likelihood {per_unit.sum():.3f} nats per sample ({len(x)} samples)")
    save_figure(fig, out / "pl_per_unit.png")
    result["plots"] = [str(out / "pl_per_unit.png")]
    return _finish(args, out / "pl.json", result,
                   f"pseudo-log-likelihood {result['pseudo_log_likelihood']:.4f} nats per sample; wrote {out}/pl.json")
