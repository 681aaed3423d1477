"""Statistics of Monte Carlo estimates: log-mean-exp of importance weights, blocking errors of correlated
chains, and the fluctuation-theorem fits (Jarzynski, Crooks / Bennett's acceptance ratio, exchange
fluctuation theorem), each with its standard error.

Importance weights (Neal, Stat. Comput. 11, 125 (2001); Jarzynski, Phys. Rev. Lett. 78, 2690 (1997)):
:func:`log_mean_exp` is ln mean w without overflow, with the delta-method error std(w) / (mean(w) sqrt(n));
:func:`jarzynski` is -ln mean exp(-w).

Blocking (Flyvbjerg & Petersen, J. Chem. Phys. 91, 461 (1989)): :func:`blocking` averages neighbouring
pairs repeatedly and picks the first level whose statistic M_k = sum_{j >= k} n_j (gamma_j / s_j^2)^2 lies
below the 99% chi-square quantile (Jonsson, Phys. Rev. E 98, 043304 (2018)); the error carries the factor
(1 + 2 rho_1) of the lag-1 correlation left at that level.  :func:`below_exact` flags a variational energy
many error bars below a known exact value.

Heat exchange (Jarzynski & Wojcik, Phys. Rev. Lett. 92, 230602 (2004)): P(Q) / P(-Q) = exp(a Q) means
P(Q > 0 | |Q| = x) = sigmoid(a x); :func:`fit_xft` fits a by maximum likelihood of that logistic model (error
from the Fisher information sum_i x_i^2 s_i (1 - s_i)), beside the binned least-squares slope and a
chi-square test of the binned counts.

Work (Crooks, Phys. Rev. E 60, 2721 (1999)): P(forward | x) = sigmoid(x - Delta f + ln(n_F / n_R)) for the
pooled sample {w_F} u {-w_R}; :func:`fit_crooks` fits slope and offset and, with the slope fixed at 1, the
maximum-likelihood Delta f, Bennett's acceptance ratio (Bennett, J. Comput. Phys. 22, 245 (1976); Shirts,
Bair, Hooker & Pande, Phys. Rev. Lett. 91, 140601 (2003)), with variance 1 / sum s (1 - s) - 1/n_F - 1/n_R.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from scipy import optimize, stats
from scipy.special import expit, log_expit

__all__ = ["log_mean_exp", "BlockingResult", "blocking", "below_exact", "ar1_chain", "ar1_mean_sd", "fit_xft",
           "fit_crooks", "jarzynski"]


def log_mean_exp(log_w: torch.Tensor) -> tuple[float, float, float]:
    """(ln mean w, standard error of ln mean w, ESS) from log weights, without overflow."""
    lw = torch.as_tensor(log_w).double()
    n = lw.numel()
    m = float(lw.max())
    w = torch.exp(lw - m)
    mean = float(w.mean())
    ess = float(w.sum() ** 2 / (w * w).sum())
    se = float(w.std(unbiased=True)) / (mean * math.sqrt(n)) if n > 1 else float("inf")
    return m + math.log(mean), se, ess



def _as_numpy(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().to("cpu", torch.float64).numpy()
    return np.asarray(x, dtype=np.float64)


def _as_array(x: Any) -> np.ndarray:
    a = _as_numpy(x).ravel()
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

@dataclass
class BlockingResult:
    """Mean of a chain with its blocking standard error.

    mean : sample mean of all samples.
    stderr : standard error of the mean from the blocking method (automatic block level), including the
        lag-1 correction (1 + 2 rho_1) described in the module docstring.
    variance : variance of the raw samples (all walkers and steps pooled; ddof = 0), e.g. the energy
        variance <E_L^2> - <E_L>^2 of VMC, which is zero for an exact eigenstate.
    block_size : number of consecutive steps per block at the chosen level (1 = no correlation found).
    n_samples : number of raw samples (steps x walkers).
    converged : False when no block level passed Jonsson's test (the chain is too short for its
        correlation time; the stderr of the coarsest level is returned and is likely too small).
    naive_stderr : sqrt(variance of the per-step means / n_steps), the error bar without blocking.
    """

    mean: float
    stderr: float
    variance: float
    block_size: int
    n_samples: int
    converged: bool = True
    naive_stderr: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def blocking(x: Any) -> BlockingResult:
    """Mean, blocking standard error and variance of a correlated chain.

    ``x`` has shape (n_steps,) or (n_steps, n_walkers).  With walkers, the per-step average over the
    (independent) walkers forms the chain that is blocked; ``variance`` is that of all raw samples.
    The chain is blocked down to two blocks; levels with a trailing odd sample drop it.
    """
    a = _as_numpy(x)
    if a.ndim == 2:
        raw_var = float(a.var()) if a.size else float("nan")
        n_samples = int(a.size)
        chain = a.mean(axis=1)
    elif a.ndim == 1:
        raw_var = float(a.var()) if a.size else float("nan")
        n_samples = int(a.size)
        chain = a
    else:
        raise ValueError(f"blocking expects shape (n_steps,) or (n_steps, n_walkers), got {a.shape}")
    n = chain.shape[0]
    if n < 2 or not np.all(np.isfinite(chain)):
        mean = float(chain.mean()) if n else float("nan")
        return BlockingResult(mean, float("nan"), raw_var, 1, n_samples, False, float("nan"))
    mean = float(chain.mean())
    s0 = float(chain.var())
    naive = math.sqrt(s0 / n)
    if s0 <= 1e-300 * max(1.0, mean * mean):  # constant chain (an exact eigenstate): no error at all
        return BlockingResult(mean, 0.0, raw_var, 1, n_samples, True, 0.0)
    gammas, variances, counts = [], [], []
    y = chain
    while y.shape[0] >= 2:
        m = y.shape[0]
        mu = y.mean()
        d = y - mu
        variances.append(float((d * d).mean()))
        gammas.append(float((d[:-1] * d[1:]).sum() / m))
        counts.append(m)
        y = y[: m - (m % 2)]
        y = 0.5 * (y[0::2] + y[1::2])
    levels = len(counts)
    g, s, c = np.array(gammas), np.array(variances), np.array(counts, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(s > 0, c * (g / np.where(s > 0, s, 1.0)) ** 2, 0.0)
    big_m = np.cumsum(terms[::-1])[::-1]  # M_k = sum_{j >= k} terms_j
    q = stats.chi2.ppf(0.99, np.arange(levels, 0, -1))  # d - k degrees of freedom
    k = next((i for i in range(levels) if big_m[i] < q[i]), None)
    converged = k is not None and k < levels - 1
    if k is None:
        k = levels - 1
    rho1 = max(g[k] / s[k], 0.0) if s[k] > 0 else 0.0
    stderr = math.sqrt(max(s[k], 0.0) / max(c[k] - 1.0, 1.0) * (1.0 + 2.0 * rho1))
    return BlockingResult(mean, stderr, raw_var, 2 ** k, n_samples, converged, naive)


def below_exact(mean: float, stderr: float, exact: float, n_sigma: float = 3.0) -> bool:
    """True when a variational energy lies more than ``n_sigma`` standard errors below a known exact value.

    A variational energy cannot be below the ground-state energy, so this flags a biased estimator or an
    underestimated error bar.  A relative round-off allowance of 1e-12 keeps exact zero-variance results
    (stderr = 0, e.g. E = 2 of two free electrons) from being flagged for the last bit.
    """
    slack = n_sigma * float(stderr) + 1e-12 * max(1.0, abs(float(exact)))
    return bool(float(mean) < float(exact) - slack)


def ar1_chain(phi: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """A stationary AR(1) chain x_t = phi x_{t-1} + N(0, 1) of length n (x_0 from the stationary law).

    Its mean has the exact standard deviation :func:`ar1_mean_sd` (up to O(1/n^2)), which makes it the test
    case for honest error bars of correlated chains."""
    from scipy.signal import lfilter
    e = rng.normal(size=n)
    x0 = e[0] / math.sqrt(1 - phi ** 2)
    return np.concatenate([[x0], lfilter([1.0], [1.0, -phi], e[1:], zi=[phi * x0])[0]])


def ar1_mean_sd(phi: float, n: int) -> float:
    """Asymptotic standard deviation of the mean of n samples of the AR(1) chain of :func:`ar1_chain`:
    sqrt(var / n * (1 + phi) / (1 - phi)) with var = 1 / (1 - phi^2)."""
    return math.sqrt((1 + phi) / (1 - phi) / (1 - phi ** 2) / n)
