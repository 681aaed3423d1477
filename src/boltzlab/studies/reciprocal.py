"""Reproduction entries for the RBM in reciprocal space (the reciprocal-space paper's Figs. 1-7) at CPU scale.

* ``reciprocal-mp``: Fig. 3a-d and the untrained curve of Fig. 4 (fresh 784 x M RBMs, sigma = 0.01).
* ``reciprocal-kurtosis``: Fig. 3e.
* ``reciprocal-training``: a 784 x 500 RBM trained on 8,000 MNIST images with kept checkpoints, then
  Figs. 2, 3f, 4, 5, 6 and 7 on its checkpoints (through the ``boltzlab reciprocal`` commands).
* ``reciprocal-replicas``: Fig. 1 from the CPU-scale study of examples/replica-study.toml.
"""

from __future__ import annotations

import json
import shutil
from typing import Any

import numpy as np

from .registry import Study, entry


def _run(argv: list[str]) -> None:
    """Run a boltzlab command in-process (its JSON lands in its --out directory)."""
    from ..cli.main import main
    code = main(argv)
    if code != 0:
        raise RuntimeError(f"boltzlab {' '.join(argv)} failed with exit code {code}")


@entry("reciprocal-mp", "fresh RBMs 784 x {500,784,1200,3000}: singular values vs Marchenko-Pastur (KS), "
                        "the density maximum, rotation test (Figs. 3a-d, 4)")
def reciprocal_mp(study: Study) -> dict[str, Any]:
    """Singular values of fresh 784 x M RBMs (W ~ N(0, 0.01^2)) against eq. 20 with the KS distance; the
    maximum of the density (the paper's sigma sqrt|N - M| against a numerical maximisation and the
    histogram's fullest bin) and the edges lambda_pm against the extreme singular values; the rotation test
    (Jensen-Shannon divergence against the symmetric null), which must find no symmetry breaking.  The
    sample's own maximum (a Gaussian KDE of the singular values) is noisy where the density is flat."""
    from scipy import stats

    from ..models import make_rbm
    from ..plots import subplots
    from ..reciprocal import analyze
    sizes = study.size([200, 500], [500, 784, 1200, 3000])
    rows = []
    fig, axes = subplots(1, len(sizes), figsize=(4.3 * len(sizes), 3.6), squeeze=False)
    for ax, m in zip(axes[0], sizes):
        model = make_rbm(784, m, weight_std=0.01, seed=0)
        r = analyze(model, sigma=0.01, rotation=True, seed=0, null_draws=3)
        s = r.singular_values
        edges = np.histogram_bin_edges(s, bins=40)
        grid = np.linspace(r.mp.lambda_minus, r.mp.lambda_plus, 2001)
        peak = float(grid[np.argmax(stats.gaussian_kde(s)(grid))])
        rows.append({"n_hidden": m, "mp_ks": r.mp_ks, "mp_ks_pvalue": r.mp_pvalue, "sigma": r.sigma,
                     "lambda_minus": r.mp.lambda_minus, "smallest": float(s[-1]),
                     "lambda_plus": r.mp.lambda_plus, "largest": float(s[0]),
                     "mode_paper": r.mp.mode_paper, "mode_numeric": r.mp.mode_numeric(), "kde_mode_of_sample": peak, **{"rotation": r.rotation.to_dict()}})
        ax.hist(s, bins=edges, density=True, alpha=0.6, label="singular values")
        grid = np.linspace(r.mp.lambda_minus, r.mp.lambda_plus, 500)
        ax.plot(grid, r.mp.pdf(grid), "k-", lw=1.2, label="eq. 20")
        ax.axvline(r.mp.mode_paper, color="tab:red", ls=":", label="sigma sqrt|N-M|")
        ax.set_title(f"784 x {m}: KS = {r.mp_ks:.4f}, JS/null = {r.rotation.ratio:.2f}", fontsize=9)
        ax.set_xlabel("lambda")
        ax.legend(fontsize=7)
    study.save(fig, "marchenko_pastur.png", "Fresh RBMs, sigma = 0.01: singular values vs Marchenko-Pastur")
    for r in rows:
        m = r["n_hidden"]
        study.figure(f"784 x {m}: KS distance to Marchenko-Pastur (eq. 20)", r["mp_ks"], 0.0, study.size(0.03, 0.01),
                     "upper", "Marchenko and Pastur, Math. USSR Sb. 1, 457 (1967), the paper's eq. 20 (a wrong "
                              "sigma, 1.3x, gives 0.21)")
        study.figure(f"784 x {m}: largest singular value vs lambda_+", r["largest"], r["lambda_plus"], 0.03,
                     "relative", "the MP edge sigma (sqrt(max(N, M)) + sqrt(min(N, M))) (finite-size fluctuation)")
        study.figure(f"784 x {m}: rotation test JS / symmetric null", r["rotation"]["ratio_to_null"], 2.0, 0.0,
                     "upper", "the paper's eq. 49-50: a fresh RBM is rotation invariant (ratio ~1)")
    return {"sizes": rows, "max_ks": max(r["mp_ks"] for r in rows),
            "any_symmetry_broken": any(r["rotation"]["symmetry_broken"] for r in rows)}


@entry("reciprocal-kurtosis", "kurtosis of hidden reciprocal variables of fresh RBMs vs hidden size (Fig. 3e)")
def reciprocal_kurtosis(study: Study) -> dict[str, Any]:
    """Monte Carlo kurtosis of y_i over random hidden states for 784 x M RBMs against the exact
    3 - 2 sum_j V_ji^4 and the Haar expectation 3 - 6/(M + 2); the 1/M fit extrapolates to 3."""
    out = study.out
    hidden = study.size("200,500", "500,700,784,1200,2000")
    samples = study.size(5000, 20000)
    _run(["reciprocal", "kurtosis", "--hidden", hidden, "--samples", str(samples), "--out", str(out),
          "--no-progress"])
    res = json.loads((out / "kurtosis.json").read_text())
    study.plots += res.get("plots", [])
    se = float(np.sqrt(24.0 / samples))  # standard error of one kurtosis estimate
    for r in res["rows"]:
        study.figure(f"M = {r['n_hidden']}: mean Monte Carlo kurtosis vs exact 3 - 2 sum V^4", r["kurtosis_mc_mean"],
                     r["kurtosis_exact_mean"], 4, "stderr", "exact kurtosis of y = V^T h for the drawn V",
                     stderr=se / np.sqrt(r["modes"]))
        study.figure(f"M = {r['n_hidden']}: exact kurtosis vs Haar 3 - 6/(M + 2)", r["kurtosis_exact_mean"],
                     r["kurtosis_haar"], 1e-3, "exact", "Haar unit vectors: E sum V^4 = 3/(M + 2) (Fig. 3e)")
    return res


@entry("reciprocal-training", "an MNIST RBM along training: spectrum, symmetry breaking, modes, Landau free energy, "
                              "hierarchical learning (Figs. 2-7)")
def reciprocal_training(study: Study) -> dict[str, Any]:
    """Train a 784 x 500 binary RBM (PCD-1, 8,000 MNIST images, checkpoints kept every epoch, and one of the
    initial model at update 0), then run ``boltzlab reciprocal spectrum | symmetry | landau | hierarchy |
    landscape | variables`` on the checkpoints; the numbers of each are collected here."""
    out = study.out
    import torch

    from ..training import TrainConfig, Trainer
    from .train_run import load_data
    data = str(study.mnist())
    run = out / "run"
    hidden, epochs, limit = study.size((50, 2, 2000), (500, 6, 10000))
    cfg = TrainConfig(n_hidden=hidden, method="pcd", k=1, epochs=epochs, lr=0.05, momentum=0.5, monitor_samples=500,
                      keep_checkpoints=True, checkpoint_every=1, seed=0,
                      **study.size({"batch_size": 20}, {}))
    train, test = load_data({"data": data, "limit": limit, "test_fraction": 0.2}, "binary")
    if run.exists():  # a previous run of this entry: start afresh so that no stale checkpoint joins the series
        shutil.rmtree(run)
    trainer = Trainer.create(torch.as_tensor(train), cfg, test=torch.as_tensor(test), out_dir=run, progress=False)
    trainer.save(run / "checkpoints" / "step_00000000.pt")
    trainer.fit()
    series = [str(p) for p in sorted((run / "checkpoints").glob("step_*.pt"))]
    init, last = series[0], series[-1]
    gibbs = study.size("20", "200")
    _run(["reciprocal", "spectrum", *series, "--out", str(out / "spectrum"), "--no-progress"])
    _run(["reciprocal", "symmetry", *series, "--out", str(out / "symmetry"), "--no-progress",
          "--null-draws", "3"])
    _run(["reciprocal", "landau", *series, "--data", data, "--rows", "8000:", "--out", str(out / "landau"),
          "--gibbs", gibbs, "--no-progress"])
    _run(["reciprocal", "hierarchy", last, "--out", str(out / "hierarchy"), "--steps", "500"])
    _run(["reciprocal", "landscape", init, last, "--data", data, "--rows", "8000:", "--modes", study.size("1,2,3,48", "1,2,3,498"),
          "--gibbs", gibbs, "--out", str(out / "landscape"), "--no-progress"])
    _run(["reciprocal", "variables", init, last, "--data", data, "--rows", "8000:", "--gibbs", gibbs,
          "--out", str(out / "variables"), "--no-progress"])
    result: dict[str, Any] = {"run": str(run), "checkpoints": series, "train_config": cfg.to_dict()}
    for name in ("spectrum", "symmetry", "landau", "hierarchy", "landscape", "variables"):
        result[name] = json.loads((out / name / f"{name}.json").read_text())
    result["plots"] = [p for name in ("spectrum", "symmetry", "landau", "hierarchy", "landscape", "variables")
                       for p in result[name]["plots"]]
    _declare_training_figures(study, result)
    return result


def _declare_training_figures(study: Study, result: dict[str, Any]) -> None:
    """Fig. 4: the rotation symmetry of the fresh model and its breaking by training."""
    sym = result["symmetry"]
    first, last = sym["models"][0], sym["models"][-1]
    study.figure("update 0: rotation test JS / null", first["ratio_to_null"], 2.0, 0.0, "upper",
                 "the paper's Fig. 4: a fresh RBM is rotation invariant")
    study.figure("after training: rotation test JS / null", last["ratio_to_null"], study.size(3.0, 10.0), 0.0, "lower",
                 "the paper's Fig. 4: training breaks the rotation symmetry (62x the null after one epoch of the "
                 "784x500 model; quick: a 784x50 model after 160 updates)")


@entry("reciprocal-replicas", "replica study: AIS / reverse-AIS log-likelihood vs updates, 3 replicas x 2 sizes (Fig. 1)")
def reciprocal_replicas(study: Study) -> dict[str, Any]:
    """The CPU-scale study of examples/replica-study.toml (``--quick``: 2 replicas of one small size)."""
    out, quick = study.out, study.quick
    from .pipelines.replica import run_study
    from .pipelines.replica import CPU_STUDY, study_from_dict
    raw = json.loads(json.dumps(CPU_STUDY))
    raw["data"]["path"] = str(study.mnist())
    if quick:
        raw["study"].update(hidden=[50], replicas=2)
        raw["train"].update(epochs=2)
        raw["evaluate"].update(ais_runs=32, ais_betas=300, rais_runs=32, every_epochs=1)
    res = run_study(study_from_dict(raw), out, progress=False)
    for size, e in res["summary"].items():
        study.figure(f"M = {size}: test LL gain from update 0 to the end (AIS, mean over replicas)",
                     e["ll_ais_mean"][-1] - e["ll_ais_mean"][0], 0.0, 0.0, "lower",
                     "the paper's Fig. 1: the log-likelihood rises along training")
        gap = np.max(np.abs(np.subtract(e["ll_ais_mean"], e["ll_rais_mean"])))
        study.figure(f"M = {size}: max |AIS - reverse-AIS| test LL (nats)", gap, 0.0, study.size(5.0, 10.0), "upper",
                     "AIS and reverse AIS bracket the log-likelihood (Burda, Grosse, Salakhutdinov, AISTATS 2015)")
    return res
