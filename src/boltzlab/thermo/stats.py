"""Estimators for the fluctuation relations from samples, with error bars.

Heat exchange (../shared/papers/nonequilibrium-thermodynamics-of-rbms.md, section 3.2-3.3).  The XFT
P(Q) / P(-Q) = exp(a Q), a = beta_1 - beta_2, is equivalent to a statement about the *sign* of Q given its
size: P(Q > 0 | |Q| = x) = P(x) / (P(x) + P(-x)) = sigmoid(a x).  :func:`fit_xft` therefore estimates the
slope by maximum likelihood of a logistic model without intercept fitted to (|Q_i|, sign Q_i), one term
per sample and no bins, with the standard error from the Fisher information sum_i x_i^2 s_i (1 - s_i).
This is the unbinned limit of the paper's procedure (histogram P(Q) and P(-Q) on shared bins and fit the
log-ratio against Q), which is reported as well (``slope_binned``: weighted least squares through the
origin of ln(n_+ / n_-) per bin, variances 1/n_+ + 1/n_-) and drawn in the plots.  The binned fit needs
both counts of a bin to be large and is biased when they are not; the logistic fit is not.  A chi-square
test of the binned counts against the prediction sum_{i in bin} sigmoid(a x_i) gives a p-value.

Work (section 3.1).  Crooks, P_F(w) / P_R(-w) = exp(w - Delta f), makes the label of a pooled sample
x in {w_F} u {-w_R} a logistic function of x: P(forward | x) = sigmoid(x - Delta f + ln(n_F / n_R)).
:func:`fit_crooks` fits slope and offset (the slope must be 1) and, with the slope fixed at 1, the maximum
likelihood Delta f, which is Bennett's acceptance ratio (Shirts et al. 2003), with its variance
1 / sum s (1 - s) - 1/n_F - 1/n_R.  :func:`jarzynski` is -ln mean exp(-w) with the delta-method error of
:func:`boltzlab.partition.ais.log_mean_exp` (AIS is this estimator: its log weights are -w).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import optimize, stats
from scipy.special import expit, log_expit

from ..partition.ais import log_mean_exp


def _as_array(x: Any) -> np.ndarray:
    a = np.asarray(x.cpu().numpy() if hasattr(x, "cpu") else x, dtype=np.float64).ravel()
    return a[np.isfinite(a)]


def _root(score, lo: float = -1.0, hi: float = 1.0) -> float:
    """Root of a decreasing function, bracketing by doubling."""
    for _ in range(200):
        if score(lo) > 0:
            break
        lo *= 2
    for _ in range(200):
        if score(hi) < 0:
            break
        hi *= 2
    return optimize.brentq(score, lo, hi, xtol=1e-14, rtol=1e-12, maxiter=500)


def _bins(x: np.ndarray, positive: np.ndarray, x_hi: float, n_bins: int, min_count: int,
          predicted: float | None) -> tuple[list[dict[str, float]], dict[str, Any]]:
    """Counts of positive and negative samples on shared bins of x = |value| in [0, x_hi]."""
    edges = np.linspace(0.0, x_hi, int(n_bins) + 1)
    which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
    inside = x <= x_hi
    rows = []
    chi2, dof = 0.0, 0
    for b in range(len(edges) - 1):
        sel = inside & (which == b)
        n_pos, n_neg = int((sel & positive).sum()), int((sel & ~positive).sum())
        if min(n_pos, n_neg) < min_count:
            continue
        xb = float(x[sel].mean())
        row = {"x": xb, "lo": float(edges[b]), "hi": float(edges[b + 1]), "n_plus": n_pos, "n_minus": n_neg,
               "log_ratio": math.log(n_pos / n_neg), "log_ratio_stderr": math.sqrt(1 / n_pos + 1 / n_neg)}
        if predicted is not None:
            s = expit(predicted * x[sel])
            e_pos, var = float(s.sum()), float((s * (1 - s)).sum())
            row["predicted_log_ratio"] = math.log(e_pos / (sel.sum() - e_pos))
            if var > 0:
                chi2 += (n_pos - e_pos) ** 2 / var
                dof += 1
        rows.append(row)
    test = {"chi2": chi2 if dof else None, "dof": dof,
            "p_value": float(stats.chi2.sf(chi2, dof)) if dof else None}
    return rows, test


def _wls_through_origin(rows: list[dict[str, float]]) -> tuple[float | None, float | None]:
    if not rows:
        return None, None
    x = np.array([r["x"] for r in rows])
    y = np.array([r["log_ratio"] for r in rows])
    w = 1.0 / np.array([r["log_ratio_stderr"] for r in rows]) ** 2
    info = float((w * x * x).sum())
    return float((w * x * y).sum() / info), float(1 / math.sqrt(info))


def fit_xft(q: Any, expected: float | None = None, n_bins: int = 25, min_count: int = 5,
            min_minority: int = 10) -> dict[str, Any]:
    """Fit ln P(Q) / P(-Q) = a Q from heat samples ``q`` (see the module docstring).

    Returns ``slope``, ``slope_stderr`` (logistic maximum likelihood), ``slope_binned``,
    ``slope_binned_stderr``, the bins, a chi-square test against ``expected`` (when given), and the sample
    counts.  Samples with Q = 0 exactly carry no information and are left out.  When fewer than
    ``min_minority`` samples have the rarer sign, the ratio cannot be estimated: the slopes are None and
    ``warning`` says why.
    """
    q = _as_array(q)
    nz = q[q != 0]
    x, pos = np.abs(nz), nz > 0
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    out: dict[str, Any] = {"n": int(q.size), "n_zero": int(q.size - nz.size), "n_positive": n_pos,
                           "n_negative": n_neg, "mean_q": float(q.mean()) if q.size else None,
                           "std_q": float(q.std()) if q.size > 1 else None,
                           "slope": None, "slope_stderr": None, "slope_binned": None, "slope_binned_stderr": None,
                           "bins": [], "chi2": None, "dof": 0, "p_value": None}
    if min(n_pos, n_neg) < min_minority:
        rare = "negative" if n_neg < n_pos else "positive"
        out["warning"] = (f"only {min(n_pos, n_neg)} of {nz.size} heat values are {rare}: P(Q) and P(-Q) do not "
                          "overlap, so their ratio cannot be estimated; make the T2 process gentler (a smaller "
                          "fraction of units per move, fewer steps, or T2 closer to T1) or use more chains")
        return out

    def score(a: float) -> float:
        return float((x * (pos - expit(a * x))).sum())

    a = _root(score)
    s = expit(a * x)
    info = float((x * x * s * (1 - s)).sum())
    out["slope"], out["slope_stderr"] = float(a), float(1 / math.sqrt(info))
    out["log_likelihood"] = float(np.where(pos, log_expit(a * x), log_expit(-a * x)).sum())
    x_hi = float(x[pos != (n_pos >= n_neg)].max())  # the largest |Q| of the rarer sign
    rows, test = _bins(x, pos, x_hi, n_bins, min_count, expected)
    out["slope_binned"], out["slope_binned_stderr"] = _wls_through_origin(rows)
    out["bins"] = rows
    out.update(test)
    if expected is not None:
        out["expected_slope"] = float(expected)
        out["z_score"] = (a - expected) / out["slope_stderr"]
    return out


def fit_crooks(w_forward: Any, w_reverse: Any, delta_f: float | None = None, n_bins: int = 25,
               min_count: int = 5) -> dict[str, Any]:
    """Crooks check from forward works w_F and reverse works w_R (reduced units).

    Returns the logistic slope of the pooled labels (1 under Crooks) with its error, Bennett's
    acceptance-ratio Delta f with its error, and the binned ln P_F(w) / P_R(-w) for plotting (with the
    line w - Delta f, using ``delta_f`` when given, else the BAR value).
    """
    wf, wr = _as_array(w_forward), _as_array(w_reverse)
    nf, nr = wf.size, wr.size
    if nf < 2 or nr < 2:
        return {"warning": "Crooks needs at least two forward and two reverse works"}
    x = np.concatenate([wf, -wr])
    y = np.concatenate([np.ones(nf), np.zeros(nr)])
    off = math.log(nf / nr)
    lo, hi = max(wf.min(), (-wr).min()), min(wf.max(), (-wr).max())
    out: dict[str, Any] = {"n_forward": nf, "n_reverse": nr, "overlap": [float(lo), float(hi)] if lo < hi else None}

    # BAR: slope fixed at 1; the score in b, sum(sigmoid(x - b + off) - y), decreases in b.
    b = _root(lambda t: float((expit(x - t + off) - y).sum()))
    s = expit(x - b + off)
    var = 1.0 / float((s * (1 - s)).sum()) - 1.0 / nf - 1.0 / nr
    out["delta_f_bar"], out["delta_f_bar_stderr"] = float(b), float(math.sqrt(max(var, 0.0)))

    def nll(p: np.ndarray) -> float:
        z = p[0] * x - p[1] + off
        return -float(np.where(y > 0, log_expit(z), log_expit(-z)).sum())

    def grad(p: np.ndarray) -> np.ndarray:
        r = y - expit(p[0] * x - p[1] + off)
        return -np.array([(r * x).sum(), -r.sum()])

    res = optimize.minimize(nll, np.array([1.0, b]), jac=grad, method="BFGS", options={"gtol": 1e-9})
    a, c = res.x
    s = expit(a * x - c + off)
    v = s * (1 - s)
    fisher = np.array([[(v * x * x).sum(), -(v * x).sum()], [-(v * x).sum(), v.sum()]])
    try:
        cov = np.linalg.inv(fisher)
        out["slope"], out["slope_stderr"] = float(a), float(math.sqrt(cov[0, 0]))
    except np.linalg.LinAlgError:
        out["slope"], out["slope_stderr"] = float(a), None
    line = float(delta_f) if delta_f is not None else float(b)
    rows = []
    if lo < hi:
        edges = np.linspace(lo, hi, int(n_bins) + 1)
        cf, _ = np.histogram(wf, edges)
        cr, _ = np.histogram(-wr, edges)
        for i in range(len(edges) - 1):
            if min(cf[i], cr[i]) >= min_count:
                mid = 0.5 * (edges[i] + edges[i + 1])
                rows.append({"w": float(mid), "log_ratio": math.log(cf[i] / cr[i]) - off,
                             "log_ratio_stderr": math.sqrt(1 / cf[i] + 1 / cr[i]), "n_forward": int(cf[i]),
                             "n_reverse": int(cr[i]), "predicted": mid - line})
    out["bins"] = rows
    if delta_f is not None:
        out["delta_f"] = float(delta_f)
        out["delta_f_bar_z"] = (out["delta_f_bar"] - float(delta_f)) / max(out["delta_f_bar_stderr"], 1e-300)
    if out.get("slope_stderr"):
        out["slope_z"] = (out["slope"] - 1.0) / out["slope_stderr"]
    return out


def jarzynski(w: Any, delta_f: float | None = None) -> dict[str, Any]:
    """-ln mean exp(-w) (the Jarzynski estimate of Delta f) with its delta-method error and the ESS.

    Also the mean work and the second-law gap <w> - Delta f (>= 0), with the error of the mean.
    """
    import torch
    a = _as_array(w)
    lme, se, ess = log_mean_exp(torch.from_numpy(-a))
    out = {"n": int(a.size), "delta_f_jarzynski": -lme, "delta_f_jarzynski_stderr": se, "ess": ess,
           "mean_work": float(a.mean()), "mean_work_stderr": float(a.std(ddof=1) / math.sqrt(a.size)),
           "std_work": float(a.std(ddof=1))}
    ref = float(delta_f) if delta_f is not None else -lme
    out["dissipated_work"] = out["mean_work"] - ref
    if delta_f is not None:
        out["delta_f"] = float(delta_f)
        out["jarzynski_z"] = (-lme - float(delta_f)) / max(se, 1e-300)
    return out
