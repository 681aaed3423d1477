"""VMC for quantum dots with RBM wave functions (Hjorth-Jensen, "Machine learning approaches for quantum
mechanical problems", lecture notes; Carleo and Troyer, Science 355, 602 (2017)); anchors: Taut 1993 (exact E = 3 for two electrons, D = 2, omega = 1), Nordhagen
2019 (plain RBM 3.0803(2), RBM + Pade-Jastrow 2.999587(5), N = 6 RBM + PJ 20.1832(2)), Hogberget 2013
(DMC for N = 2, 6, 12, 20 at omega = 0.1, 0.28, 0.5, 1: ``quantum.qdot.DMC_REFERENCE``).  See docs/vmc.md.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .registry import Study, entry

_KEYS = ("energy", "stderr", "variance", "block_size", "n_samples", "acceptance", "exact", "below_exact_flag",
         "error_vs_exact", "reference", "iterations_run", "seconds", "ansatz", "n_params", "blocking_converged")


def _variational(study: Study, label: str, r: dict[str, Any], bound: float, source: str) -> None:
    """The variational principle: an energy more than 4 standard errors below the ground state is a defect."""
    study.figure(f"{label}: E >= ground state (4 stderr)", r["energy"], bound, 4 * max(r["stderr"], 1e-12), "lower",
                 f"variational principle; ground state {source}")


def _run(cfg, out: Path, name: str) -> dict[str, Any]:
    from ..quantum.qdot import run_qdot
    res = run_qdot(cfg, out=out / name, progress=False)
    keep = {k: res[k] for k in _KEYS if k in res}
    keep["plots"] = res.get("plots", [])
    keep["config"] = res["config"]
    return keep


@entry("vmc-qdot-free", "free particles in a trap: E = D/2 (N = 1) and E = 2 with zero variance (N = 2, D = 2)")
def vmc_qdot_free(study: Study) -> dict[str, Any]:
    """From random RBM parameters, SR drives one particle in D = 1, 2, 3 to E = D/2 and two free particles
    in 2D to E = 2; the energy variance falls towards zero (zero-variance principle).  At the optimum
    (a = 0, W = 0) the local energy is constant: E = 2 and variance 0 exactly."""
    out = study.out
    import torch
    from ..quantum.qdot import QDotConfig
    base = QDotConfig(interaction=False, ansatz="rbm", hidden=2, init_scale=0.5, optimizer="sr", lr=0.3,
                      iterations=study.size(80, 400), walkers=128, steps=10, eval_steps=study.size(200, 2000))
    result: dict[str, Any] = {"runs": {}}
    for n, d in ((1, 1), (1, 2), (1, 3), (2, 2)):
        r = _run(replace(base, particles=n, dim=d), out, f"N{n}_D{d}")
        result["runs"][f"N{n}_D{d}"] = r
        study.figure(f"N = {n}, D = {d}: E vs N D / 2", r["energy"], n * d / 2, study.size(1e-2, 1e-5), "relative",
                     "harmonic oscillator ground state (exact)")
    from ..quantum.qdot import build_vmc
    vmc = build_vmc(replace(base, particles=2, dim=2, init_scale=0.0, burn_in=100))
    with torch.no_grad():
        for p in vmc.params:
            p.zero_()
    ex = vmc.estimate(500).to_dict()
    result["optimum_N2_D2"] = {k: ex[k] for k in ("energy", "stderr", "variance")}
    study.figure("N = 2, D = 2 at the optimum a = W = 0: E", ex["energy"], 2.0, 1e-10, "exact",
                 "zero-variance principle: the local energy is constant for the exact ground state")
    study.figure("N = 2, D = 2 at the optimum: variance of E_L", ex["variance"], 0.0, 1e-15, "exact",
                 "zero-variance principle")
    return result


@entry("vmc-qdot-two", "two electrons in 2D (exact E = 3): plain RBM and RBM + Pade-Jastrow, flagged below exact")
def vmc_qdot_two(study: Study) -> dict[str, Any]:
    """Two interacting electrons, D = 2, omega = 1.  Published: plain RBM 3.0803(2), RBM + PJ 2.999587(5)
    (~80 error bars below the exact 3, flagged by below_exact)."""
    out = study.out
    from ..quantum.qdot import PUBLISHED, QDotConfig
    from ..stats import below_exact
    rbm = QDotConfig(particles=2, dim=2, ansatz="rbm", hidden=8, train_sigma=True, optimizer="sr", lr=0.05,
                     iterations=study.size(60, 600), walkers=256, steps=10,
                     eval_steps=study.size(300, 20000), eval_burn_in=200)
    pj = replace(rbm, ansatz="rbm-jastrow", hidden=4, train_sigma=True, iterations=study.size(60, 500),
                 lr=0.05, eval_steps=study.size(300, 20000))
    result: dict[str, Any] = {"exact": 3.0, "rbm": _run(rbm, out, "rbm"), "rbm_jastrow": _run(pj, out, "rbm_jastrow")}
    pub = {k: {"energy": e, "stderr": s, "flag_below_exact": below_exact(e, s, 3.0)}
           for k, (e, s) in PUBLISHED.items() if k.startswith("2_")}
    result["published"] = pub
    taut = "Taut, PRA 48, 3561 (1993): E = 3 exactly"
    for key, label in (("rbm", "plain RBM"), ("rbm_jastrow", "RBM x Pade-Jastrow")):
        _variational(study, label, result[key], 3.0, taut)
    study.figure("RBM x Pade-Jastrow: E - 3", result["rbm_jastrow"]["energy"] - 3.0, 0.0, study.size(0.05, 2e-4),
                 "upper", taut)
    study.figure("plain RBM: E (published 3.0803(2))", result["rbm"]["energy"], PUBLISHED["2_rbm"][0],
                 study.size(0.3, 0.0), "upper", "Nordhagen, MSc thesis, Univ. Oslo (2019): plain RBM 3.0803(2)")
    e, se = PUBLISHED["2_rbm_jastrow"]
    study.figure("published RBM x PJ 2.999587(5): standard errors below the exact 3 (the claim fails)",
                 (3.0 - e) / se, 10.0, 0.0, "lower",
                 "Nordhagen (2019) prints 2.999587(5), 83 standard errors below Taut's exact 3: impossible for a "
                 "variational energy; the corrected statement (E >= 3) is checked above")
    return result


def _check_dmc(study: Study, label: str, r: dict[str, Any], dmc: float, full_tol: float) -> None:
    source = "Hogberget, MSc thesis, Univ. Oslo (2013): DMC"
    _variational(study, label, r, dmc, f"{source} {dmc}")
    study.figure(f"{label}: (E - DMC) / DMC", (r["energy"] - dmc) / dmc, 0.0, study.size(0.15, full_tol), "upper",
                 f"{source} {dmc} (a lower reference: DMC has no basis error)")


def _check_normalisation(study: Study, n: int, omega: float, radial: dict[str, Any], tolerance: float) -> None:
    """Declare that the radial one-body density of the 2D dot, sum rho(r) 2 pi r dr, integrates to N."""
    dr = radial["r"][1] - radial["r"][0]
    study.figure(f"N = {n}, omega = {omega:g}: one-body density integrates to N",
                 float((radial["rho"] * 2 * math.pi * radial["r"] * dr).sum()), n, tolerance, "relative",
                 "normalisation of the radial one-body density (histogram range 3.2 oscillator lengths x N^(1/4))")


def _fermions(n: int, quick: bool, iterations: int, eval_steps: int, hidden: int = 4):
    from ..quantum.qdot import QDotConfig
    return QDotConfig(particles=n, dim=2, ansatz="slater-rbm-jastrow", hidden=hidden, train_sigma=True,
                      optimizer="sr", lr=0.05, lr_decay=0.002, iterations=20 if quick else iterations,
                      walkers=128 if quick else 256, steps=10, burn_in=100, eval_steps=100 if quick else eval_steps,
                      eval_burn_in=100)


@entry("vmc-qdot-six", "six electrons in 2D: Slater x RBM x Pade-Jastrow vs published RBM 20.1832(2) and DMC")
def vmc_qdot_six(study: Study) -> dict[str, Any]:
    r = _run(_fermions(6, study.quick, 500, 6000), study.out, "N6")
    _check_dmc(study, "N = 6", r, 20.15932, 2e-3)
    study.figure("N = 6: E below the published RBM x PJ 20.1832(2)", r["energy"], 20.1832, study.size(3.0, 0.0),
                 "upper", "Nordhagen, MSc thesis, Univ. Oslo (2019): RBM x Pade-Jastrow 20.1832(2)")
    r.update({"published_rbm_jastrow": 20.1832, "dmc": 20.15932,
              "below_published": r["energy"] + 2 * r["stderr"] < 20.1832,
              "above_dmc": r["energy"] - 3 * r["stderr"] > 20.15932})
    return r


@entry("vmc-qdot-large", "12 and 20 electrons in 2D against DMC 65.7001(1) and 155.8822(1) (long)")
def vmc_qdot_large(study: Study) -> dict[str, Any]:
    from ..quantum.qdot import DMC_REFERENCE
    res: dict[str, Any] = {}
    for n, its, ev in study.size(((12, 150, 1500),), ((12, 150, 1500), (20, 100, 800))):
        r = _run(_fermions(n, study.quick, its, ev), study.out, f"N{n}")
        r["dmc"] = DMC_REFERENCE[(n, 1.0)]
        r["relative_error_vs_dmc"] = (r["energy"] - r["dmc"]) / r["dmc"]
        res[f"N{n}"] = r
        _check_dmc(study, f"N = {n}", r, r["dmc"], 2e-3)
    return res


def _large_scan(study: Study, n: int, iterations: int, eval_steps: int) -> dict[str, Any]:
    """N electrons (12 or 20) at omega = 0.1, 0.28, 0.5, 1 with the Slater x RBM x Pade-Jastrow recipe of
    ``vmc-qdot-large`` run for ``iterations`` SR steps (at omega = 0.1 the 150 steps of ``vmc-qdot-large`` leave
    N = 12 1.7% above DMC, still falling; 600 steps bring it within 0.2%), against the DMC table (Pedersen Lohne
    et al., Phys. Rev. B 84, 115302 (2011); Hogberget, MSc thesis, Univ. Oslo (2013)).  No issue sets a target here; the tolerances, 0.3% at omega >= 0.28 and 1% at
    omega = 0.1, are the accuracy this single-determinant class is expected to reach, and the energies must rise
    with omega (Hellmann-Feynman).  ``quick``: omega = 0.5 only, a few steps, tolerance 15%."""
    from ..plots import subplots
    from ..quantum.qdot import DMC_REFERENCE
    omegas = study.size([0.5], [0.1, 0.28, 0.5, 1.0])
    rows = []
    for w in omegas:
        cfg = replace(_fermions(n, study.quick, iterations, eval_steps), omega=w)
        if study.quick:
            cfg = replace(cfg, iterations=5, walkers=32, eval_steps=20, burn_in=20, eval_burn_in=20)
        r = _run(cfg, study.out, f"N{n}_omega{w:g}")
        dmc = DMC_REFERENCE[(n, w)]
        _check_dmc(study, f"N = {n}, omega = {w:g}", r, dmc, 1e-2 if w < 0.2 else 3e-3)
        rows.append({"omega": w, "energy": r["energy"], "stderr": r["stderr"], "variance": r["variance"], "dmc": dmc,
                     "relative_error": (r["energy"] - dmc) / dmc, "seconds": r["seconds"]})
    if len(rows) > 1:
        study.figure(f"N = {n}: E rises with omega (min successive difference)",
                     min(np.diff([r["energy"] for r in rows])), 0.0, 0.0, "lower",
                     "Hellmann-Feynman: dE/d omega = <sum_i omega r_i^2> > 0")
    fig, ax = subplots(1, 1, figsize=(6, 4))
    ax.errorbar([r["omega"] for r in rows], [r["relative_error"] for r in rows],
                [r["stderr"] / r["dmc"] for r in rows], fmt="o-", label=f"N = {n}, Slater x RBM x Pade-Jastrow")
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_xlabel("omega"); ax.set_ylabel("(E_VMC - E_DMC) / E_DMC"); ax.legend(); ax.grid(alpha=0.3)
    study.save(fig, "omega_scan.png", f"N = {n}: VMC against DMC across omega")
    return {"rows": rows}


@entry("vmc-qdot-omega-scan-12", "12 electrons in 2D at omega = 0.1, 0.28, 0.5, 1 against the DMC table of Pedersen "
                                 "Lohne et al. (PRB 84, 115302 (2011)); Slater x RBM x Pade-Jastrow (issue 24, long)")
def vmc_qdot_omega_scan_12(study: Study) -> dict[str, Any]:
    return _large_scan(study, 12, 600, 1500)


@entry("vmc-qdot-omega-scan-20", "20 electrons in 2D at omega = 0.1, 0.28, 0.5, 1 against the DMC table of Pedersen "
                                 "Lohne et al. (PRB 84, 115302 (2011)); Slater x RBM x Pade-Jastrow (issue 24, long)")
def vmc_qdot_omega_scan_20(study: Study) -> dict[str, Any]:
    return _large_scan(study, 20, 600, 800)


@entry("vmc-qdot-thirty", "30 electrons in 2D at omega = 1: radial and 2D one-body densities, four filled shells "
                          "(the talk's N = 30 densities; Slater x RBM x Pade-Jastrow, issue 24)")
def vmc_qdot_thirty(study: Study) -> dict[str, Any]:
    """The one-body density of the closed-shell 30-electron dot (four filled oscillator shells) from the
    Slater x RBM x Pade-Jastrow recipe of ``vmc-qdot-large``, 300 SR steps and 400 x 256 samples; checked: it
    integrates to N.  The radial density and the 2D map are the PNGs of the run (``N30/observables.png``).
    ``quick``: a few steps and samples."""
    cfg = _fermions(30, study.quick, 300, 400)
    if study.quick:
        cfg = replace(cfg, iterations=3, walkers=16, eval_steps=10, burn_in=10, eval_burn_in=10)
    from ..quantum.qdot import run_qdot
    res = run_qdot(cfg, out=study.out / "N30", progress=False)
    rad = res["densities"]["_radial"]
    _check_normalisation(study, 30, 1.0, rad, study.size(0.05, 0.02))
    study.plots.extend(res.get("plots", []))
    return {"energy": res["energy"], "stderr": res["stderr"], "variance": res["variance"], "seconds": res["seconds"],
            "radial_density": {"r": rad["r"].tolist(), "rho": rad["rho"].tolist()}}


@entry("vmc-qdot-omega", "two electrons in 2D: energy against the trap frequency (RBM + Pade-Jastrow)")
def vmc_qdot_omega(study: Study) -> dict[str, Any]:
    out = study.out
    from ..quantum.qdot import QDotConfig
    from ..quantum.qdot.plots import plot_energy_vs_omega
    omegas = study.size([1.0], [0.1, 0.25, 0.5, 1.0, 2.0])
    rows = []
    for w in omegas:
        cfg = QDotConfig(particles=2, dim=2, omega=w, ansatz="rbm-jastrow", hidden=2, train_sigma=True,
                         optimizer="sr", lr=0.05, iterations=study.size(60, 150), walkers=256, steps=10,
                         eval_steps=study.size(300, 1500))
        r = _run(cfg, out, f"omega_{w:g}")
        rows.append({"omega": w, **{k: r[k] for k in ("energy", "stderr", "variance")}})
    path = plot_energy_vs_omega([r["omega"] for r in rows], [r["energy"] for r in rows],
                                [r["stderr"] for r in rows], out / "energy_vs_omega.png",
                                "VMC RBM + Pade-Jastrow")
    study.plots.append(str(path))
    at1 = next(r for r in rows if r["omega"] == 1.0)
    study.figure("omega = 1: E - 3", at1["energy"] - 3.0, 0.0, study.size(0.02, 2e-4), "upper",
                 "Taut, PRA 48, 3561 (1993): E = 3 exactly at omega = 1")
    _variational(study, "omega = 1", at1, 3.0, "Taut (1993): 3")
    energies = [r["energy"] for r in rows]
    study.figure("E rises with omega (min successive difference)", min(np.diff(energies), default=1.0), 0.0, 0.0,
                 "lower", "Hellmann-Feynman: dE/d omega = <m omega r^2> > 0")
    return {"rows": rows, "exact_at_omega_1": 3.0}


@entry("vmc-blocking-honesty", "blocking error bars on AR(1) chains: coverage over many seeds vs the naive error")
def vmc_blocking_honesty(study: Study) -> dict[str, Any]:
    from ..plots import subplots
    from ..stats import ar1_chain, ar1_mean_sd, blocking
    seeds = study.size(200, 1000)
    rows = []
    for phi, n in ((0.5, 2 ** 12), (0.9, 2 ** 13), (0.9, 2 ** 16), (0.99, 2 ** 16)):
        rng = np.random.default_rng(1)
        true_sd = ar1_mean_sd(phi, n)
        z, zn, se = [], [], []
        for _ in range(seeds):
            r = blocking(ar1_chain(phi, n, rng))
            z.append(r.mean / r.stderr); zn.append(r.mean / r.naive_stderr); se.append(r.stderr)
        rows.append({"phi": phi, "n": n, "seeds": seeds, "coverage_1.96": float(np.mean(np.abs(z) < 1.96)),
                     "coverage_naive": float(np.mean(np.abs(zn) < 1.96)),
                     "mean_stderr_over_true": float(np.mean(se) / true_sd)})
    fig, ax = subplots(figsize=(6, 4))
    lab = [f"phi={r['phi']}, n=2^{int(math.log2(r['n']))}" for r in rows]
    ax.bar(np.arange(len(rows)) - 0.2, [r["coverage_1.96"] for r in rows], 0.4, label="blocking")
    ax.bar(np.arange(len(rows)) + 0.2, [r["coverage_naive"] for r in rows], 0.4, label="naive std/sqrt(n)")
    ax.axhline(0.95, color="k", ls="--", lw=1, label="nominal 0.95")
    ax.set_xticks(range(len(rows))); ax.set_xticklabels(lab, rotation=15, fontsize=8)
    ax.set_ylabel("coverage of the 1.96-sigma interval"); ax.legend()
    study.save(fig, "blocking_coverage.png", f"AR(1) chains, {seeds} seeds each")
    band = 3 * math.sqrt(0.05 * 0.95 / seeds)
    for r in rows:
        label = f"phi = {r['phi']}, n = 2^{int(math.log2(r['n']))}"
        study.figure(f"{label}: coverage of the 1.96-sigma interval", r["coverage_1.96"], 0.95, band, "exact",
                     f"nominal 95% (tolerance 3 binomial sd over {seeds} seeds); exact AR(1) variance of the mean")
        study.figure(f"{label}: mean stderr / true sd of the mean", r["mean_stderr_over_true"], 1.0, 0.05,
                     "relative", "exact AR(1) variance of the mean (Flyvbjerg, Petersen, JCP 91, 461 (1989))")
    return {"rows": rows}


RBM_JASTROW_SIX = 20.18031  # N = 6, omega = 1: Slater x RBM x Pade-Jastrow of `reproduce vmc-qdot-six`


def scan_config(n: int, omega: float, quick: bool):
    """The run of the scan at (N, omega): the defaults of ``boltzlab vmc qdot --particles N --omega OMEGA`` (RBM x
    Pade-Jastrow, 300 SR steps for N = 2; the backflow network with its many-body Jastrow, 600 SR steps for N > 2);
    ``quick`` shortens it."""
    from ..quantum.qdot import QDotConfig
    from ..quantum.qdot.vmc import NETWORK_MANY_BODY
    ansatz, hidden, many_body = ("rbm-jastrow", 2, 0) if n == 2 else ("backflow-jastrow", 16, NETWORK_MANY_BODY)
    return QDotConfig(particles=n, dim=2, omega=omega, ansatz=ansatz, hidden=hidden, many_body=many_body,
                      optimizer="sr", lr=0.05,
                      iterations=20 if quick else (300 if n == 2 else 600), walkers=64 if quick else 256, steps=5 if quick else 10,
                      eval_steps=100 if quick else 2000, eval_burn_in=200)


@entry("vmc-qdot-omega-scan", "closed-shell dots N = 2 and 6 at omega = 0.1, 0.28, 0.5, 1 against the DMC table of "
                              "Hogberget (2013) / Pedersen Lohne et al. (PRB 84, 115302 (2011)): within 0.1% at "
                              "omega >= 0.28 and 0.5% at omega = 0.1; one-body density at omega = 0.1 (issue 24)")
def vmc_qdot_omega_scan(study: Study) -> dict[str, Any]:
    """RBM x Pade-Jastrow (N = 2) and the backflow network with its many-body Jastrow (N = 6), SR, the
    ``vmc qdot`` defaults (:func:`scan_config`).  The references are the DMC energies of Pedersen Lohne, Hagen, Hjorth-Jensen, Kvaal and
    Pederiva, Phys. Rev. B 84, 115302 (2011), as tabulated by Hogberget (MSc thesis, Univ. Oslo 2013).
    ``quick``: N = 2 at omega = 0.5 and N = 6 at omega = 1, short runs, tolerance 5%."""
    from ..plots import subplots
    from ..quantum.qdot import DMC_REFERENCE, run_qdot
    cases = study.size([(2, 0.5), (6, 1.0)], [(n, w) for (n, w) in sorted(DMC_REFERENCE) if n <= 6])
    source = "DMC: Pedersen Lohne et al., PRB 84, 115302 (2011); Hogberget, MSc thesis, Univ. Oslo (2013)"
    rows, densities = [], {}
    for n, w in cases:
        res = run_qdot(scan_config(n, w, study.quick), out=study.out / f"N{n}_omega{w:g}", progress=False)
        dmc = DMC_REFERENCE[(n, w)]
        tol = study.size(0.05, 5e-3 if w < 0.2 else 1e-3)
        label = f"N = {n}, omega = {w:g}"
        study.figure(f"{label}: (E - DMC) / DMC", (res["energy"] - dmc) / dmc, 0.0, tol, "upper", f"{source}: {dmc}")
        study.figure(f"{label}: not below DMC by 3 stderr", res["energy"], dmc, 3 * max(res["stderr"], 1e-12),
                     "lower", f"{source}: {dmc} (fixed-node DMC lies below the variational energy)")
        if (n, w) == (6, 1.0) and not study.quick:
            study.figure("N = 6, omega = 1: below RBM x Pade-Jastrow", res["energy"], RBM_JASTROW_SIX, 0.0, "upper",
                         "vmc-qdot-six: Slater x RBM x Pade-Jastrow 20.18031(33), the wave function the network must "
                         "beat (issue 24)")
        rows.append({"particles": n, "omega": w, "energy": res["energy"], "stderr": res["stderr"], "dmc": dmc,
                     "relative_error": (res["energy"] - dmc) / dmc, "seconds": res["seconds"]})
        densities[(n, w)] = res["densities"]["_radial"]
    shown = study.size((6, 1.0), (6, 0.1))
    _check_normalisation(study, *shown, densities[shown], 0.02)
    fig, axes = subplots(1, 2, figsize=(11, 4))
    for n in sorted({r["particles"] for r in rows}):
        sel = [r for r in rows if r["particles"] == n]
        axes[0].plot([r["omega"] for r in sel], [r["relative_error"] for r in sel], "o-", label=f"N = {n}")
    axes[0].set_xlabel("omega"); axes[0].set_ylabel("(E_VMC - E_DMC) / E_DMC"); axes[0].legend()
    axes[0].grid(alpha=0.3)
    for (n, w), r in densities.items():
        if w == shown[1]:
            axes[1].plot(r["r"], r["rho"], label=f"N = {n}, omega = {w:g}")
    axes[1].set_xlabel("r"); axes[1].set_ylabel("one-body density rho(r)"); axes[1].legend(); axes[1].grid(alpha=0.3)
    study.save(fig, "omega_scan.png", "VMC against DMC across omega; radial one-body densities")
    return {"rows": rows}
