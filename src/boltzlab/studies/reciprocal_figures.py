"""The analyses of `boltzlab reciprocal` (RBMs in reciprocal space; A. Decelle, C. Furtlehner, B. Seoane et al.,
"Exact training of Restricted Boltzmann machines on intrinsically low dimensional data" and the reciprocal-space
description of RBMs): each takes the parsed options, writes its PNG figures and JSON into ``args.out`` and returns
the numbers.  A series of models is given as files or run directories (their ``checkpoints/step_*.pt`` in
training order, else ``checkpoint.pt``).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..checkpoint import atomic_write_json
from ..errors import CheckpointError, ConfigError


def expand_models(paths: list[str]) -> list[Path]:
    """Files as given; a run directory becomes its kept checkpoints (or its checkpoint.pt)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            kept = sorted(p.glob("checkpoints/step_*.pt"))
            if kept:
                out.extend(kept)
            elif (p / "checkpoint.pt").is_file():
                out.append(p / "checkpoint.pt")
            else:
                raise CheckpointError(f"{p}: a directory without checkpoint.pt or checkpoints/step_*.pt")
        else:
            out.append(p)
    return out


def load_series(paths: list[str], device: str) -> list[dict[str, Any]]:
    """[{"path", "model", "step"}] in training order (files without a training state keep their order)."""
    from ..io import load_model_file
    items = []
    for i, p in enumerate(expand_models(paths)):
        model, payload = load_model_file(p, device=device)
        step = None
        if payload is not None and isinstance(payload.get("trainer"), dict):
            step = payload["trainer"].get("step")
        for prm in model.parameters():
            prm.requires_grad_(False)
        items.append({"path": str(p), "model": model, "step": step, "order": i})
    if all(it["step"] is not None for it in items):
        items.sort(key=lambda it: it["step"])
    return items


def _x_axis(items: list[dict[str, Any]]) -> tuple[list[float], str]:
    if all(it["step"] is not None for it in items):
        return [float(it["step"]) for it in items], "parameter updates"
    return [float(i) for i in range(len(items))], "model (order given)"


def _progress(items: Any, args: argparse.Namespace, desc: str):
    from tqdm.auto import tqdm
    return tqdm(items, desc=desc, disable=args.no_progress or len(items) < 2, dynamic_ncols=True)


def _out(args: argparse.Namespace) -> Path:
    """The output directory, created when the first figure is written (bad input leaves nothing behind)."""
    return args.out


def _save(fig: Any, path: Path, title: str = "") -> Path:
    from ..plots import save_figure
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_figure(fig, path, title)


def _finish(args: argparse.Namespace, out: Path, name: str, result: dict[str, Any]) -> dict[str, Any]:
    atomic_write_json(out / f"{name}.json", result)
    return {"json": str(out / f"{name}.json"), **result}


def _modes(requested: list[int] | None, m: int, default: list[int]) -> list[int]:
    modes = requested if requested is not None else sorted({k for k in default if 1 <= k <= m})
    bad = [k for k in modes if not 1 <= k <= m]
    if bad:
        raise ConfigError(f"mode(s) {', '.join(map(str, bad))} do not exist: the model has {m} coupled modes (1..{m})")
    return [k - 1 for k in modes]


def _transform(model: Any):
    from ..reciprocal import reciprocal_transform
    return reciprocal_transform(model)


def _data(args: argparse.Namespace, model: Any) -> torch.Tensor:
    from .train_run import model_data as load_model_data
    x = load_model_data(args.data, model, args.rows, args.binarize, args.seed)
    return torch.as_tensor(x, dtype=model.dtype, device=model.device)


def _gibbs(model: Any, n: int, steps: int, seed: int) -> tuple[torch.Tensor, torch.Tensor] | None:
    if n < 0:
        raise ConfigError(f"--gibbs must be >= 0; got {n}")
    if n == 0:
        return None
    return model.sample(n, steps=steps, seed=seed)


def _hidden_of(model: Any, v: torch.Tensor, seed: int) -> torch.Tensor:
    from ..random import Rng
    return model.sample_hidden(v, 1.0, Rng(seed, v.device))


# ---------------------------------------------------------------------------------------------- spectrum
def spectrum(args: argparse.Namespace) -> int:
    from ..plots import subplots
    from ..reciprocal import analyze
    items = load_series(args.models, args.device)
    out = _out(args)
    rows = []
    for it in _progress(items, args, "spectrum"):
        r = analyze(it["model"], sigma=args.sigma)
        it["analysis"] = r
        rows.append({"path": it["path"], "step": it["step"], **r.to_dict(), "top": r.singular_values[:args.top].tolist()})
    shown = items if len(items) <= 4 else [items[0], items[len(items) // 2], items[-1]]
    fig, axes = subplots(1, len(shown), figsize=(4.6 * len(shown), 3.8), squeeze=False)
    for ax, it in zip(axes[0], shown):
        r = it["analysis"]
        s = r.singular_values
        hi = max(s.max(), r.mp.lambda_plus) * 1.02
        ax.hist(s, bins=np.linspace(0, hi, 60), density=True, alpha=0.6, label=f"{len(s)} singular values")
        grid = np.linspace(r.mp.lambda_minus, r.mp.lambda_plus, 500)
        ax.plot(grid, r.mp.pdf(grid), "k-", lw=1.2, label=f"Marchenko-Pastur, sigma = {r.sigma:.3g}")
        ax.axvline(r.mp.mode_paper, color="tab:red", ls=":", lw=1, label="sigma sqrt|N - M| (paper's maximum)")
        if r.n_above_edge:
            ax.set_yscale("log")
        ax.set_xlabel("singular value lambda")
        ax.set_ylabel("density")
        tag = f"update {it['step']}" if it["step"] is not None else Path(it["path"]).name
        ax.set_title(f"{tag}: KS = {r.mp_ks:.4f}, {r.n_above_edge} above lambda_+", fontsize=9)
        ax.legend(fontsize=7)
    plots = [str(_save(fig, out / "spectrum.png", f"{r.shape[0]} x {r.shape[1]}: singular values vs eq. 20"))]
    if len(items) > 1:
        xs, xlabel = _x_axis(items)
        fig, (a1, a2) = subplots(1, 2, figsize=(11, 4))
        top = np.array([it["analysis"].singular_values[:args.top] for it in items])
        for k in range(top.shape[1]):
            a1.plot(xs, top[:, k], marker="o", ms=3, label=f"lambda_{k + 1}" if k < 5 else None)
        a1.plot(xs, [it["analysis"].mp.lambda_plus for it in items], "k--", label="MP edge lambda_+")
        a1.set_xlabel(xlabel)
        a1.set_ylabel("singular value")
        a1.set_title(f"the {top.shape[1]} leading singular values")
        a1.legend(fontsize=7)
        a2.plot(xs, [it["analysis"].mp_ks for it in items], marker="o")
        a2.set_xlabel(xlabel)
        a2.set_ylabel("KS distance to Marchenko-Pastur")
        for a in (a1, a2):
            a.grid(alpha=0.3)
        plots.append(str(_save(fig, out / "spectrum_track.png", "Spectrum along training")))
    return _finish(args, out, "spectrum", {"models": rows, "plots": plots})


# ---------------------------------------------------------------------------------------------- symmetry
def symmetry(args: argparse.Namespace) -> int:
    from ..plots import subplots
    from ..reciprocal import rotation_test
    if args.null_draws < 2:
        raise ConfigError("--null-draws must be >= 2")
    if args.fraction > 10:
        raise ConfigError(f"--fraction must lie in (0, 10]; got {args.fraction}")
    items = load_series(args.models, args.device)
    out = _out(args)
    rows = []
    for it in _progress(items, args, "rotation test"):
        r = rotation_test(_transform(it["model"]), args.fraction, args.method, args.seed, args.null_draws)
        it["test"] = r
        rows.append({"path": it["path"], "step": it["step"], **r.to_dict()})
    shown = items if len(items) <= 3 else [items[0], items[-1]]
    fig, axes = subplots(1, len(shown), figsize=(5 * len(shown), 3.8), squeeze=False)
    for ax, it in zip(axes[0], shown):
        r = it["test"]
        centres = 0.5 * (r.edges[1:] + r.edges[:-1])
        width = np.diff(r.edges)
        inner = slice(1, -1)  # the end bins also hold the values beyond the central 99.9% (see common_bins)
        ax.plot(centres[inner], (r.p_before / width)[inner], label="W")
        ax.plot(centres[inner], (r.p_after / width)[inner], ls="--", label=f"W after rotations ({r.method})")
        ax.set_yscale("log")
        ax.set_xlabel("weight value")
        ax.set_ylabel("density")
        tag = f"update {it['step']}" if it["step"] is not None else Path(it["path"]).name
        verdict = "broken" if r.broken else "intact"
        ax.set_title(f"{tag}: JS = {r.js:.2e} ({r.ratio:.1f} x null): {verdict}", fontsize=9)
        ax.legend(fontsize=7)
    plots = [str(_save(fig, out / "weights_pdf.png", "Weight distribution before and after random rotations"))]
    if len(items) > 1:
        xs, xlabel = _x_axis(items)
        fig, ax = subplots(figsize=(6.5, 4))
        ax.plot(xs, [it["test"].js for it in items], marker="o", label="JS(W, W rotated)")
        mean = np.array([it["test"].js_null_mean for it in items])
        sd = np.array([it["test"].js_null_std for it in items])
        ax.fill_between(xs, mean - sd, mean + sd, color="gray", alpha=0.3)
        ax.plot(xs, mean, color="gray", ls="--", label="symmetric null (same spectrum, Haar vectors)")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("Jensen-Shannon divergence (bits)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        plots.append(str(_save(fig, out / "symmetry_track.png", "Rotational symmetry along training (Fig. 4)")))
    return _finish(args, out, "symmetry", {"models": rows, "plots": plots})


# ---------------------------------------------------------------------------------------------- variables
def variables(args: argparse.Namespace) -> int:
    from scipy import stats

    from ..plots import subplots
    from ..random import Rng
    from ..reciprocal import compare_to_reference, exact_kurtosis
    items = load_series(args.models, args.device)
    out = _out(args)
    rows, plots = [], []
    for idx, it in enumerate(_progress(items, args, "variables")):
        model = it["model"]
        t = _transform(model)
        m = t.n_modes
        modes = _modes(args.modes, m, [1, 2, 3, max(1, m // 2), m])
        rng = Rng(args.seed, model.device)
        vr, hr = model.visible.random_state(args.samples, rng), model.hidden.random_state(args.samples, rng)
        sources = {"random states": (t.x(vr), t.y(hr))}
        if args.data:
            vd = _data(args, model)
            sources["data"] = (t.x(vd), t.y(_hidden_of(model, vd, args.seed)))
        g = _gibbs(model, args.gibbs, args.steps, args.seed + 1)
        if g is not None:
            sources["Gibbs samples"] = (t.x(g[0]), t.y(g[1]))
        rec: dict[str, Any] = {"path": it["path"], "step": it["step"], "modes": [k + 1 for k in modes]}
        for name, (x, y) in sources.items():
            c = compare_to_reference(t, x, y, list(range(m)))
            rec[name] = {"max_abs_z_mean_x": float(np.max(np.abs(c["x"]["z_mean"]))),
                         "max_abs_z_mean_y": float(np.max(np.abs(c["y"]["z_mean"]))),
                         "std_ratio_x_range": [float(c["x"]["std_ratio"].min()), float(c["x"]["std_ratio"].max())],
                         "std_ratio_y_range": [float(c["y"]["std_ratio"].min()), float(c["y"]["std_ratio"].max())],
                         "kurtosis_y_mean": float(np.mean(c["y"]["kurtosis"])),
                         "per_mode": {f"{k + 1}": {"x_mean": float(c["x"]["mean"][k]), "x_std": float(c["x"]["std"][k]),
                                                   "y_mean": float(c["y"]["mean"][k]), "y_std": float(c["y"]["std"][k]),
                                                   "mu_x_eq51": float(c["x"]["mu_eq51"][k]),
                                                   "mu_y_eq51": float(c["y"]["mu_eq51"][k])} for k in modes}}
        ref = t.reference_moments()
        rec["eq51_sigma"] = [float(ref["sigma_x"][0]), float(ref["sigma_y"][0])]
        rec["kurtosis_y_exact_mean"] = float(exact_kurtosis(t.V[:, :m]).mean())
        rows.append(rec)
        if idx == len(items) - 1 or idx == 0:
            fig, axes = subplots(2, len(modes), figsize=(3.2 * len(modes), 5.6), squeeze=False)
            for col, k in enumerate(modes):
                for row, (label, mu, sd) in enumerate((("x", ref["mu_x"][k], ref["sigma_x"][k]),
                                                       ("y", ref["mu_y"][k], ref["sigma_y"][k]))):
                    ax = axes[row, col]
                    for name, (x, y) in sources.items():
                        z = (x if label == "x" else y)[:, k].double().cpu().numpy()
                        ax.hist(z, bins=50, density=True, histtype="step", label=name)
                    grid = np.linspace(float(mu) - 4.5 * float(sd), float(mu) + 4.5 * float(sd), 300)
                    ax.plot(grid, stats.norm.pdf(grid, float(mu), float(sd)), "k--", lw=1, label="eq. 51 normal")
                    ax.set_title(f"{label}_{k + 1} (lambda = {float(t.singular_values[k]):.3g})", fontsize=9)
                    if col == 0 and row == 0:
                        ax.legend(fontsize=6)
            tag = f"update{it['step']}" if it["step"] is not None else f"model{idx}"
            plots.append(str(_save(fig, out / f"variables_{tag}.png",
                                         "Reciprocal variables against eq. 51 (Fig. 5)")))
    return _finish(args, out, "variables", {"models": rows, "plots": plots})


# ---------------------------------------------------------------------------------------------- kurtosis
def kurtosis(args: argparse.Namespace) -> int:
    from ..plots import subplots
    from ..reciprocal import kurtosis_vs_hidden
    out = _out(args)
    if any(h < 2 for h in args.hidden):
        raise ConfigError("--hidden sizes must be >= 2")
    res = kurtosis_vs_hidden(args.visible, args.hidden, args.sigma, args.samples, args.seed, device=args.device,
                             progress=not args.no_progress)
    ms = np.array([r["n_hidden"] for r in res["rows"]], float)
    fig, ax = subplots(figsize=(6.5, 4.2))
    mean = np.array([r["kurtosis_mc_mean"] for r in res["rows"]])
    sd = np.array([r["kurtosis_mc_std"] for r in res["rows"]])
    ax.fill_between(ms, mean - sd, mean + sd, alpha=0.25, label="std over modes")
    ax.plot(ms, mean, "o-", label=f"Monte Carlo, {res['n_samples']} random states")
    ax.plot(ms, [r["kurtosis_exact_mean"] for r in res["rows"]], "s", mfc="none", label="exact: 3 - 2 sum V^4")
    grid = np.linspace(ms.min(), ms.max() * 1.5, 200)
    ax.plot(grid, 3 - 6 / (grid + 2), "k:", label="Haar expectation 3 - 6/(M + 2)")
    ax.plot(grid, res["fit_intercept_m_infinity"] + res["fit_slope_per_inverse_m"] / grid, "C3-", lw=1,
            label=f"linear fit in 1/M -> {res['fit_intercept_m_infinity']:.4f} at M = inf")
    ax.axhline(3, color="gray", ls="--", lw=1, label="Gaussian")
    ax.set_xlabel("hidden units M")
    ax.set_ylabel("kurtosis of y_i")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    res["plots"] = [str(_save(fig, out / "kurtosis.png", f"{args.visible} visible units, sigma = {args.sigma:g} (Fig. 3e)"))]
    return _finish(args, out, "kurtosis", res)


# ---------------------------------------------------------------------------------------------- landscape
def landscape(args: argparse.Namespace) -> int:
    from ..plots import subplots
    items = load_series(args.models, args.device)
    out = _out(args)
    rows, plots = [], []
    for idx, it in enumerate(_progress(items, args, "landscape")):
        model = it["model"]
        t = _transform(model)
        m = t.n_modes
        modes = _modes(args.modes, m, [1, 2, 3, m])
        vd = _data(args, model)
        xd, yd = t.x(vd), t.y(_hidden_of(model, vd, args.seed))
        g = _gibbs(model, args.gibbs, args.steps, args.seed + 1)
        x0, y0 = t.saddle_points()
        rec: dict[str, Any] = {"path": it["path"], "step": it["step"], "modes": {}}
        n_cols = min(4, len(modes))
        n_rows = math.ceil(len(modes) / n_cols)
        fig, axes = subplots(n_rows, n_cols, figsize=(3.8 * n_cols, 3.5 * n_rows), squeeze=False)
        sel = torch.randperm(xd.shape[0], generator=torch.Generator().manual_seed(args.seed))[:args.max_points]
        sel = sel.to(xd.device)
        for ax, k in zip(axes.flat, modes):
            lam, a0, b0 = float(t.singular_values[k]), float(t.a0[k]), float(t.b0[k])
            pts = [(xd[:, k], yd[:, k])]
            if g is not None:
                pts.append((t.x(g[0])[:, k], t.y(g[1])[:, k]))
            allx = torch.cat([p[0] for p in pts] + [x0[k:k + 1]]).double().cpu().numpy()
            ally = torch.cat([p[1] for p in pts] + [y0[k:k + 1]]).double().cpu().numpy()
            px = 0.15 * (allx.max() - allx.min()) + 0.5
            py = 0.15 * (ally.max() - ally.min()) + 0.5
            gx = np.linspace(allx.min() - px, allx.max() + px, 200)
            gy = np.linspace(ally.min() - py, ally.max() + py, 200)
            xx, yy = np.meshgrid(gx, gy)
            e = -a0 * xx - b0 * yy - lam * xx * yy
            cs = ax.contourf(xx, yy, e, levels=30, cmap="viridis", alpha=0.85)
            fig.colorbar(cs, ax=ax, shrink=0.8)
            ax.scatter(xd[sel, k].cpu(), yd[sel, k].cpu(), s=4, c="white", edgecolors="none", alpha=0.6, label="data")
            if g is not None:
                ax.scatter(pts[1][0].cpu(), pts[1][1].cpu(), s=14, marker="h", c="gray", edgecolors="k", lw=0.3,
                           label="Gibbs samples")
            ax.plot(float(x0[k]), float(y0[k]), marker="*", ms=14, color="magenta", mec="k", label="saddle point")
            ax.set_xlabel(f"x_{k + 1}")
            ax.set_ylabel(f"y_{k + 1}")
            ax.set_title(f"mode {k + 1}, lambda = {lam:.3g}", fontsize=9)
            rec["modes"][str(k + 1)] = {"lambda": lam, "a0": a0, "b0": b0, "x0": float(x0[k]), "y0": float(y0[k]),
                                        "saddle_energy": float(t.saddle_energies()[k]),
                                        "data_mean": [float(xd[:, k].mean()), float(yd[:, k].mean())],
                                        "data_std": [float(xd[:, k].std()), float(yd[:, k].std())],
                                        "gibbs_mean": None if g is None else [float(pts[1][0].mean()), float(pts[1][1].mean())]}
        for ax in list(axes.flat)[len(modes):]:
            ax.axis("off")
        axes.flat[0].legend(fontsize=7, loc="upper right")
        tag = f"update{it['step']}" if it["step"] is not None else f"model{idx}"
        plots.append(str(_save(fig, out / f"landscape_{tag}.png", "Energy landscapes E_i(x_i, y_i) (eq. 16, Fig. 2)")))
        rows.append(rec)
    return _finish(args, out, "landscape", {"models": rows, "plots": plots})


# ---------------------------------------------------------------------------------------------- hierarchy
def hierarchy(args: argparse.Namespace) -> int:
    from ..plots import guess_image_shape, subplots
    from ..reciprocal import hierarchy_images
    items = load_series(args.models, args.device)
    out = _out(args)
    results, plots = [], []
    for idx, it in enumerate(_progress(items, args, "hierarchy")):
        model = it["model"]
        res = hierarchy_images(model, args.n, args.steps, args.seed, args.top, args.protect, args.rotations)
        shape = args.image_shape or guess_image_shape(model.n_visible) or (1, model.n_visible)
        if shape[0] * shape[1] != model.n_visible:
            raise ConfigError(f"--image-shape {shape[0]}x{shape[1]} does not hold {model.n_visible} visible units")
        rows = res["rows"]
        fig, axes = subplots(len(rows), args.n, figsize=(1.1 * args.n, 1.35 * len(rows) + 0.4), squeeze=False)
        for r, (label, imgs) in enumerate(rows.items()):
            for c in range(args.n):
                ax = axes[r, c]
                ax.imshow(imgs[c].reshape(shape), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
            txt = axes[r, 0].text(0.0, 1.06, label, transform=axes[r, 0].transAxes, ha="left", va="bottom",
                                  fontsize=8)
            txt.set_in_layout(False)  # a long row label must not shrink the images
        tag = f"update{it['step']}" if it["step"] is not None else f"model{idx}"
        plots.append(str(_save(fig, out / f"hierarchy_{tag}.png", "Hierarchical learning (Fig. 6)")))
        change = {label: float(np.abs(imgs - rows["p(v|h), original U"]).mean()) for label, imgs in rows.items()
                  if label.startswith("p(v|h), U")}
        results.append({"path": it["path"], "step": it["step"], "planes_top": res["planes_top"],
                        "planes_outside": res["planes_outside"], "mean_abs_change": change})
    return _finish(args, out, "hierarchy", {"models": results, "plots": plots})


# ---------------------------------------------------------------------------------------------- landau
def landau(args: argparse.Namespace) -> int:
    from ..plots import subplots
    from ..random import Rng
    from ..reciprocal import mode_free_energy, project_mode
    items = load_series(args.models, args.device)
    out = _out(args)
    variables = ["u", "w"] if args.variable == "both" else [args.variable]
    k = args.mode - 1
    rows = []
    for it in _progress(items, args, "landau"):
        model = it["model"]
        t = _transform(model)
        _modes([args.mode], t.n_modes, [])
        vd = _data(args, model)
        hd = _hidden_of(model, vd, args.seed)
        g = _gibbs(model, args.gibbs, args.steps, args.seed + 1)
        rng = Rng(args.seed + 2, model.device)
        vr, hr = model.visible.random_state(5000, rng), model.hidden.random_state(5000, rng)
        rec: dict[str, Any] = {"path": it["path"], "step": it["step"]}
        for var in variables:
            f = mode_free_energy(t, k, var, args.beta)
            d = f.to_dict()
            zd = project_mode(t, vd, hd, k, var)
            d.update(data_mean=float(zd.mean()), data_std=float(zd.std()),
                     random_mean=float(project_mode(t, vr, hr, k, var).mean()))
            if g is not None:
                zg = project_mode(t, g[0], g[1], k, var)
                d.update(gibbs_mean=float(zg.mean()), gibbs_std=float(zg.std()))
            rec[var] = d
            it.setdefault("free", {})[var] = f
            it.setdefault("proj", {})[var] = (zd, None if g is None else zg)
        rows.append(rec)
    xs, xlabel = _x_axis(items)
    plots = []
    fig, axes = subplots(1, len(variables), figsize=(6 * len(variables), 4.2), squeeze=False)
    for ax, var in zip(axes[0], variables):
        recs = [r[var] for r in rows]
        ax.axhline(0.0, color="k", ls="--", lw=1, label="saddle point (z = 0)")
        ax.plot(xs, [r["mu"] for r in recs], "o", color="tab:orange", label="constraint minimum mu")
        dm, ds = np.array([r["data_mean"] for r in recs]), np.array([r["data_std"] for r in recs])
        ax.plot(xs, dm, "-", color="tab:green", label="test data mean +- std")
        ax.fill_between(xs, dm - ds, dm + ds, color="tab:green", alpha=0.2)
        if "gibbs_mean" in recs[0]:
            gm, gs = np.array([r["gibbs_mean"] for r in recs]), np.array([r["gibbs_std"] for r in recs])
            ax.plot(xs, gm, "-", color="tab:purple", label="Gibbs samples mean +- std")
            ax.fill_between(xs, gm - gs, gm + gs, color="tab:purple", alpha=0.2)
        for i, r in enumerate(recs):
            ax.plot([xs[i]] * len(r["mean_field_minima"]), r["mean_field_minima"], "x", color="tab:red",
                    label="mean-field minima (untruncated)" if i == 0 else None)
            qm = [z for z, ok in zip(r["quartic_minima"], r["quartic_minima_in_support"]) if ok]
            ax.plot([xs[i]] * len(qm), qm, "+", color="tab:blue", ms=9, label="eq. 55 quartic minima" if i == 0 else None)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"{var}_{args.mode}")
        ax.set_title(f"{var}_{args.mode}: positions along training (Fig. 7)", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    plots.append(str(_save(fig, out / "landau_positions.png", f"Mode {args.mode}: minimum vs saddle point and data")))
    shown = items if len(items) <= 3 else [items[0], items[len(items) // 2], items[-1]]
    fig, axes = subplots(len(variables), len(shown), figsize=(4.6 * len(shown), 3.6 * len(variables)), squeeze=False)
    for row, var in enumerate(variables):
        for col, it in enumerate(shown):
            ax = axes[row, col]
            f = it["free"][var]
            r = f.half_width
            zs = f.mu + np.linspace(-0.995 * r, 0.995 * r, 600)
            mf = f.mean_field(zs)
            base = np.nanmin(mf)
            ax.plot(zs, mf - base, "C3-", label="mean field (untruncated)")
            ax.plot(zs, f.quartic(zs) - base, "C0--", label="eq. 55 quartic")
            ax.plot(zs, f.gaussian(zs) - base, "C2:", label="eq. 55, Gaussian kappa (eq. 46)")
            zd, zg = it["proj"][var]
            ax.axvline(zd.mean(), color="tab:green", lw=1, label="test data mean")
            if zg is not None:
                ax.axvline(zg.mean(), color="tab:purple", lw=1, label="Gibbs mean")
            ax.axvline(0, color="k", ls="--", lw=0.8)
            top = np.nanpercentile(mf - base, 95) if np.isfinite(mf).any() else 1.0
            ax.set_ylim(-0.1 * top - 1, top * 1.1 + 1)
            tag = f"update {it['step']}" if it["step"] is not None else Path(it["path"]).name
            ax.set_title(f"{var}_{args.mode}, {tag}, lambda = {f.singular_value:.3g}", fontsize=9)
            ax.set_xlabel(f"{var}_{args.mode}")
            if row == 0 and col == 0:
                ax.legend(fontsize=6)
    plots.append(str(_save(fig, out / "landau_free_energy.png", f"Mean-field free energy of mode {args.mode} (eq. 55)")))
    return _finish(args, out, "landau", {"mode": args.mode, "beta": args.beta, "models": rows, "plots": plots})
