"""Perturbation theory of the fully visible Boltzmann machine in the couplings W.

the lecture notes on energy-based models (unpublished), section 4.1.  With sigma_a := sigmoid(b_a):

* Lemma 17 (eq. 24-25): at W = 0 the model is the independent p_0(x) = prod_a p_a(x_a).
* Lemmas 19-22 (eq. 27-31): the moments V^{a...} of p_0 about sigma (:func:`moment_tensor`).
* Theorem 24 (eq. 33): the first-order term p_1 / p_0 (:func:`first_order_log_ratio`).
* Lemmas 25-26 (eq. 34-35): first-order means and covariances (:func:`first_order_mean`,
  :func:`first_order_covariance`).
* Theorem 27, Corollaries 28 and 30 (eq. 36-44): b and W from the data means and covariances
  (:func:`first_order_solution`, :func:`mean_field_bm`); Lemma 29 (:func:`scaled_covariance`).
* Remarks 34-35 (eq. 52-55): validity diagnostics (:func:`validity`).

Departures from the printed forms: eq. 33-35 take the centres x_hat as given (the paper's forms at
``centers = sigma``); the diagonal of eq. 39 only shifts the bias, so Corollaries 28 and 30 define the same
distribution; the default ``bias_rule="exact"`` uses eq. 39 as it stands, ``"linearized"`` the paper's
eq. 44, sigma(b) = x_hat - W_mumu x_hat (1 - x_hat) (1/2 - x_hat).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from scipy import stats

from .._tensor import as_tensor
from ..errors import ConfigError, DomainError, ShapeError, require
from ..models.bm import BoltzmannMachine
from .moments import Moments, check_interior, data_moments, exact_moments

__all__ = ["zeroth_order_log_prob", "moment_tensor", "connected_fourth_moment", "first_order_log_ratio",
           "first_order_mean", "first_order_covariance", "first_order_solution", "mean_field_bm",
           "perturbative_bm", "scaled_covariance", "validity", "coupling_scan", "scan_slopes", "loglog_slope"]


def _vec(x: Any, name: str) -> torch.Tensor:
    return as_tensor(x, dtype=torch.float64, name=name).reshape(-1)


def _mat(x: Any, n: int, name: str) -> torch.Tensor:
    w = as_tensor(x, dtype=torch.float64, name=name)
    require(tuple(w.shape) == (n, n), f"{name} has shape {tuple(w.shape)}; expected ({n}, {n})", ShapeError)
    return w


# ---------------------------------------------------------------------------------------- 0th order
def zeroth_order_log_prob(bias: Any, x: Any) -> torch.Tensor:
    """ln p_0(x) = sum_a [b_a x_a - ln(1 + e^{b_a})] (Lemma 17, eq. 24-25), per row of ``x``.

    Differentiable in ``bias`` when it is a tensor (Lemma 18, eq. 26: dp_a/db_a = p_a (x - sigma_a)).
    """
    b = bias.to(torch.float64).reshape(-1) if isinstance(bias, torch.Tensor) else _vec(bias, "bias")
    x = as_tensor(x, dtype=torch.float64, name="x")
    return x @ b - torch.nn.functional.softplus(b).sum()


def moment_tensor(sigma: Any, order: int) -> torch.Tensor:
    """V^{a_1 ... a_k} of p_0 (Lemmas 19-22): sum_x p_0(x) prod_i (x^{a_i} - sigma^{a_i}), except order 1,
    which is the raw mean V^a = sigma^a (eq. 27).

    Order 2: delta^{ab} sigma (1 - sigma) (eq. 28); order 3: delta^{abc} sigma (1 - sigma)(1 - 2 sigma)
    (eq. 29); order 4: the connected part (eq. 31) plus the three pairings V^{ab} V^{cd} (eq. 30).
    """
    s = _vec(sigma, "sigma")
    n = s.numel()
    v2 = s * (1 - s)
    if order == 1:
        return s.clone()
    if order == 2:
        return torch.diag(v2)
    if order == 3:
        t = torch.zeros(n, n, n, dtype=torch.float64)
        i = torch.arange(n)
        t[i, i, i] = v2 * (1 - 2 * s)
        return t
    if order == 4:
        d = torch.diag(v2)
        pairs = (torch.einsum("ab,cd->abcd", d, d) + torch.einsum("ac,bd->abcd", d, d)
                 + torch.einsum("ad,bc->abcd", d, d))
        return connected_fourth_moment(s) + pairs
    raise ConfigError(f"moments of order {order} are not part of Lemmas 19-22 (orders 1 to 4)")


def connected_fourth_moment(sigma: Any) -> torch.Tensor:
    """V_c^{abcd} = delta^{abcd} sigma (1 - sigma)(1 - 6 sigma + 6 sigma^2) (eq. 31): the fourth cumulant."""
    s = _vec(sigma, "sigma")
    n = s.numel()
    t = torch.zeros(n, n, n, n, dtype=torch.float64)
    i = torch.arange(n)
    t[i, i, i, i] = s * (1 - s) * (1 - 6 * s + 6 * s ** 2)
    return t


# ---------------------------------------------------------------------------------------- 1st order
def _setup(weights: Any, bias: Any, centers: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    b = _vec(bias, "bias")
    w = _mat(weights, b.numel(), "weights")
    s = torch.sigmoid(b)
    c = s.clone() if centers is None else _vec(centers, "centers")
    if c.numel() != b.numel():
        raise ShapeError(f"centers have {c.numel()} entries; expected {b.numel()}")
    return w, b, s, c


def first_order_log_ratio(weights: Any, bias: Any, x: Any, centers: Any = None) -> torch.Tensor:
    """p_1(x) / p_0(x), the term of p_E linear in W at fixed b and centres (Theorem 24, eq. 33).

    p_1 / p_0 = Q(x) - E_0[Q] with Q = 1/2 sum_ab W_ab (x_a - x_hat_a)(x_b - x_hat_b), and
    E_0[Q] = 1/2 [sum_a W_aa V^{aa} + d^T W d], d = sigma - x_hat.  With ``centers=None`` (x_hat = sigma)
    this is eq. 33 as printed.
    """
    w, b, s, c = _setup(weights, bias, centers)
    x = as_tensor(x, dtype=torch.float64, name="x")
    y = x - c
    d = s - c
    q = 0.5 * ((y @ w) * y).sum(-1)
    return q - 0.5 * (torch.diagonal(w) @ (s * (1 - s)) + d @ w @ d)


def first_order_mean(weights: Any, bias: Any, centers: Any = None) -> torch.Tensor:
    """E[x^g] to first order in W (Lemma 25, eq. 34).

    sigma_g + 1/2 W_gg V^{ggg} + V^{gg} sum_a W_(ga) (sigma_a - x_hat_a); the last term vanishes for
    x_hat = sigma (the default), which gives eq. 34: V^g + 1/2 W_ab V^{abg}.
    """
    w, b, s, c = _setup(weights, bias, centers)
    v2 = s * (1 - s)
    ws = 0.5 * (w + w.t())
    return s + 0.5 * torch.diagonal(w) * v2 * (1 - 2 * s) + v2 * (ws @ (s - c))


def first_order_covariance(weights: Any, bias: Any, centers: Any = None) -> torch.Tensor:
    """Cov[x^mu, x^nu] to first order in W (Lemma 26, eq. 35).

    V^{mu nu} + W_(mu nu) V^{mu mu} V^{nu nu} + delta^{mu nu} [1/2 W_mumu V_c^{mumumumu}
    + V^{mumumu} sum_a W_(mu a)(sigma_a - x_hat_a)].  For x_hat = sigma this is eq. 35, which the paper
    writes as the second moment about x_hat; at a solution x_hat is the model mean, so both agree.
    """
    w, b, s, c = _setup(weights, bias, centers)
    v2 = s * (1 - s)
    ws = 0.5 * (w + w.t())
    diag = 0.5 * torch.diagonal(w) * v2 * (1 - 6 * s + 6 * s ** 2) + v2 * (1 - 2 * s) * (ws @ (s - c))
    return torch.diag(v2) + ws * torch.outer(v2, v2) + torch.diag(diag)


# ---------------------------------------------------------------------------------------- solutions
def first_order_solution(mean: Any, cov: Any, self_interaction: bool = False, *, diagonal: Any = None,
                         bias_rule: str = "exact") -> tuple[torch.Tensor, torch.Tensor]:
    """(b, W) solving the learning equations (36)-(37) to first order (Theorem 27).

    W_mu nu = C_hat^{mu nu} / (x_hat^mu (1 - x_hat^mu) x_hat^nu (1 - x_hat^nu)) off the diagonal (eq. 40);
    the diagonal is 0 (Corollary 28, ``self_interaction=False``), 1 / (x_hat (1 - x_hat)) (Corollary 30,
    eq. 43, ``self_interaction=True``), or ``diagonal`` (Theorem 27 with any W_mumu).  The bias:

    * ``bias_rule="exact"``: b = logit(x_hat) - W_mumu (1/2 - x_hat) (eq. 39, exact in the diagonal);
    * ``bias_rule="linearized"``: sigma(b) = x_hat - W_mumu x_hat (1 - x_hat)(1/2 - x_hat), the paper's
      intermediate step, which is eq. 44, sigma(b) = 2 x_hat - 1/2, for the diagonal of Corollary 30.
      DomainError when that leaves (0, 1).

    The model is ``BoltzmannMachine(weights=W, bias=b, centers=mean)``.
    """
    m = _vec(mean, "mean")
    n = m.numel()
    c = _mat(cov, n, "cov")
    check_interior(m)
    v = m * (1 - m)
    w = c / torch.outer(v, v)
    if diagonal is not None:
        d = _vec(diagonal, "diagonal")
        if d.numel() != n:
            raise ShapeError(f"diagonal has {d.numel()} entries; expected {n}")
    elif self_interaction:
        d = 1.0 / v
    else:
        d = torch.zeros(n, dtype=torch.float64)
    w.fill_diagonal_(0)
    w = w + torch.diag(d)
    if bias_rule == "exact":
        b = torch.logit(m) - d * (0.5 - m)
    elif bias_rule == "linearized":
        s = m - d * v * (0.5 - m)
        bad = torch.nonzero((s <= 0) | (s >= 1)).flatten().tolist()
        if bad:
            raise DomainError(f"the linearised bias rule (eq. 44) gives sigma(b) outside (0, 1) for unit(s) "
                              f"{', '.join(map(str, bad[:10]))} (means too far from 1/2, Remark 35); use "
                              "bias_rule='exact'")
        b = torch.logit(s)
    else:
        raise ConfigError(f"bias_rule must be 'exact' or 'linearized'; got {bias_rule!r}")
    return b, w


def mean_field_bm(data: Any, self_interaction: bool = False, *, diagonal: Any = None, bias_rule: str = "exact",
                  weights: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
    """First-order solution (b, W) of the Boltzmann machine from binary data (Corollary 28 by default).

    ``self_interaction=True`` gives Corollary 30 (W_aa = 1 / (x_hat (1 - x_hat))); ``diagonal=`` any other
    W_aa (Theorem 27).  ``weights`` weights the rows (e.g. probabilities of enumerated states).  The
    centres of the model are the data means: ``BoltzmannMachine(weights=W, bias=b, centers=data.mean(0))``.
    """
    mom = data_moments(data, weights)
    return first_order_solution(mom.mean, mom.cov, self_interaction, diagonal=diagonal, bias_rule=bias_rule)


def perturbative_bm(moments: Moments, self_interaction: bool = False, **kw: Any) -> BoltzmannMachine:
    """The first-order solution as a float64 :class:`BoltzmannMachine` centred at the data means."""
    b, w = first_order_solution(moments.mean, moments.cov, self_interaction, **kw)
    return BoltzmannMachine(w, b, moments.mean, self_interaction=self_interaction or kw.get("diagonal") is not None,
                            dtype=torch.float64)


def scaled_covariance(cov: Any) -> torch.Tensor:
    """Cov(X^mu, X^nu) / (Var X^mu Var X^nu), positive semi-definite by Lemma 29; with the diagonal of
    Corollary 30 it is the whole first-order W (eq. 43)."""
    c = as_tensor(cov, dtype=torch.float64, name="cov")
    v = torch.diagonal(c)
    return c / torch.outer(v, v)


def validity(moments: Moments) -> dict[str, Any]:
    """Diagnostics of Remarks 34-35: Pearson coefficients (eq. 53) and the distance of the means from 1/2.

    ``max_abs_pearson`` is Remark 34's W_mu nu sqrt(Var Var) (eq. 52); the first-order errors of means and
    covariances scale as its square (see :func:`coupling_scan`).  Remark 34's condition is necessary but not
    sufficient: couplings add up along indirect paths, and the relative error of the first-order covariances
    tracks ``pearson_spectral_radius``, the largest |eigenvalue| of the off-diagonal Pearson matrix, which
    grows with the number of coherently coupled units.  ``max_mean_offset`` = max |x_hat - 1/2|
    (eq. 54, Remark 35), and ``eq44_sigma_range`` the range of 2 x_hat - 1/2, which must lie in (0, 1) for
    eq. 44.  With the exact bias rule (eq. 39) Corollary 30 needs no condition on the means.
    """
    m = moments.mean
    r = moments.pearson()
    n = m.numel()
    off = r[~torch.eye(n, dtype=torch.bool)] if n > 1 else torch.zeros(1, dtype=torch.float64)
    s44 = 2 * m - 0.5
    radius = float(torch.linalg.eigvalsh(r - torch.diag(torch.diagonal(r))).abs().max())
    return {"n_units": n, "max_abs_pearson": float(off.abs().max()), "mean_abs_pearson": float(off.abs().mean()),
            "pearson_spectral_radius": radius,
            "max_mean_offset": float((m - 0.5).abs().max()),
            "max_relative_mean_offset": float(((m - 0.5).abs() / m).max()),
            "eq44_sigma_range": [float(s44.min()), float(s44.max())],
            "eq44_valid": bool(((s44 > 0) & (s44 < 1)).all())}


# ---------------------------------------------------------------------------------------- scaling
def loglog_slope(x: Any, y: Any) -> float:
    """Least-squares slope of ln y against ln x (scipy.stats.linregress)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = (x > 0) & (y > 0)
    return float(stats.linregress(np.log(x[keep]), np.log(y[keep])).slope)


def first_order_errors(moments: Moments, self_interaction: bool = False) -> dict[str, float]:
    """Exact means and covariances of the first-order BM against the target moments (enumeration)."""
    bm = perturbative_bm(moments, self_interaction)
    got = exact_moments(bm)
    n = moments.mean.numel()
    off = ~torch.eye(n, dtype=torch.bool)
    w = bm.weights.detach()
    return {"mean_error": float((got.mean - moments.mean).abs().max()),
            "cov_error": float((got.cov - moments.cov)[off].abs().max()) if n > 1 else 0.0,
            "max_abs_coupling": float(w[off].abs().max()) if n > 1 else 0.0,
            "max_abs_pearson": validity(moments)["max_abs_pearson"]}


def coupling_scan(moments: Moments, factors: Any, self_interaction: bool = False, progress: Any = None,
                  ) -> dict[str, Any]:
    """Errors of the first-order solution as the correlations are scaled by ``factors``.

    For each t the target is x_hat unchanged and C_off -> t C_off, the moments of the mixture
    t p_D + (1 - t) prod_a p_D(x_a) (a real distribution for 0 <= t <= 1).  The first-order BM is built
    from them and its exact moments compared with the target; the errors shrink as the square of the
    coupling (``slope_mean``, ``slope_cov``: log-log slopes against max |W_mu nu|, see :func:`scan_slopes`).
    """
    n = moments.mean.numel()
    off = ~torch.eye(n, dtype=torch.bool)
    rows = []
    for t in factors:
        cov = moments.cov.clone()
        cov[off] *= float(t)
        rows.append({"factor": float(t), **first_order_errors(Moments(moments.mean, cov), self_interaction)})
        if progress is not None:
            progress.update(1)
    return {"rows": rows, **scan_slopes(rows)}


def scan_slopes(rows: list[dict[str, Any]], max_pearson: float = 0.05) -> dict[str, Any]:
    """Log-log slopes of the mean and covariance errors against max |W_ab| in the perturbative regime:
    over the rows with max |Pearson| <= ``max_pearson`` when there are at least 3, else the 3 rows with
    the weakest coupling (the next-order scaling is a small-coupling statement)."""
    order = sorted(range(len(rows)), key=lambda i: rows[i]["max_abs_coupling"])
    use = [i for i in order if rows[i]["max_abs_pearson"] <= max_pearson]
    if len(use) < 3:
        use = order[:3]
    x = [rows[i]["max_abs_coupling"] for i in use]
    return {"slope_mean": loglog_slope(x, [rows[i]["mean_error"] for i in use]),
            "slope_cov": loglog_slope(x, [rows[i]["cov_error"] for i in use]), "slope_points": len(use),
            "slope_max_pearson": max(rows[i]["max_abs_pearson"] for i in use)}
