"""Exact stochastic thermodynamics of small RBMs by enumerating the joint states s = (v, h), in float64.

The identities of Salazar, Phys. Rev. E 96, 022131 (2017), checked to rounding error: the K-step
transition matrix of every kernel and detailed balance (section 2; it fails for the plain sweep, whose
reversal is A_v A_h); the heat-exchange fluctuation theorem from the exact P(Q) (section 3.2; a
non-reversible kernel pairs with its :func:`time_reversal`); Jarzynski and Crooks through the exact
generating functions G(lambda) = <exp(-lambda w)>, Crooks being G_F(lambda) = exp(-Delta f) G_R(1 - lambda)
(section 3.1, :func:`work_generating_function`); contrastive divergence (section 4.2, :mod:`.cd`).
Reduced units: w is beta W, Delta f = beta Delta F = ln Z_0 - ln Z_K.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Sequence

import numpy as np
import torch

from ..errors import ConfigError, IntractableError, require
from ..partition.exact import _float64_copy
from ..random import Rng
from ..sampling.kernels import Kernel, hidden_draw, make_kernel, visible_draw

#: Ceiling on log2 of the number of joint states for transition matrices (N x N, float64).
MAX_MATRIX_LOG2 = 12
#: Ceiling on log2 of the number of joint states for distribution tables (CD, exact samples).
MAX_TABLE_LOG2 = 22


class JointSpace:
    """All joint states (v, h) of a small discrete RBM and their energies E(v, h), float64.

    The joint index of (v_i, h_j) is ``i * n_hidden_states + j``, states of each layer in the mixed-radix
    order of :meth:`boltzlab.units.Layer.enumerate_states`.
    """

    def __init__(self, model, max_log2: float = MAX_TABLE_LOG2) -> None:
        from ..models import RBM
        require(isinstance(model, RBM), f"exact joint enumeration is defined for RBMs; got {type(model).__name__}")
        for name, layer in (("visible", model.visible), ("hidden", model.hidden)):
            require(layer.discrete, f"the {name} units are continuous; their joint states cannot be "
                                    "enumerated (use the sampled experiments)", IntractableError)
        log2 = model.visible.n_states_log2 + model.hidden.n_states_log2
        if log2 > max_log2 + 1e-9:
            raise IntractableError(f"exact enumeration of the joint state (v, h) needs 2^{log2:.0f} states, "
                                   f"above the limit 2^{max_log2:.0f}; use the sampled experiments")
        self.model = m = _float64_copy(model, "cpu")
        nv = int(round(2 ** m.visible.n_states_log2))
        nh = int(round(2 ** m.hidden.n_states_log2))
        self.n_visible_states, self.n_hidden_states = nv, nh
        self.visible_states = m.visible.enumerate_states(0, nv)
        self.hidden_states = m.hidden.enumerate_states(0, nh)
        with torch.no_grad():
            fv = m.visible.features(self.visible_states) - m.visible_offset
            fh = m.hidden.features(self.hidden_states) - m.hidden_offset
            self.energy = (m.visible.energy(self.visible_states)[:, None] + m.hidden.energy(self.hidden_states)[None, :]
                           - fv @ m.weights.detach() @ fh.t())

    @property
    def n_states(self) -> int:
        return self.n_visible_states * self.n_hidden_states

    def log_prob(self, beta: float = 1.0) -> torch.Tensor:
        """ln p_beta(v, h), shape (n_visible_states, n_hidden_states)."""
        a = -float(beta) * self.energy
        return a - torch.logsumexp(a.reshape(-1), 0)

    def log_z(self, beta: float = 1.0) -> float:
        return float(torch.logsumexp(-float(beta) * self.energy.reshape(-1), 0))

    def hidden_given_visible(self, beta: float = 1.0) -> torch.Tensor:
        """p(h | v), shape (n_visible_states, n_hidden_states)."""
        return torch.softmax(-float(beta) * self.energy, 1)

    def visible_given_hidden(self, beta: float = 1.0) -> torch.Tensor:
        """p(v | h), shape (n_hidden_states, n_visible_states)."""
        return torch.softmax(-float(beta) * self.energy, 0).t().contiguous()

    def visible_index(self, v: Any) -> torch.Tensor:
        """Enumeration index of each row of visible states ``v``."""
        layer = self.model.visible
        x = torch.as_tensor(v, dtype=torch.float64).reshape(-1, layer.n_units)
        layer.validate(x, "data")
        values = layer.unit_values.to(torch.float64)
        digits = (x.unsqueeze(-1) == values).double().argmax(-1)
        radix = float(len(values)) ** torch.arange(layer.n_units, dtype=torch.float64)
        return (digits.double() @ radix).long()

    # ------------------------------------------------------------------ half moves
    def _unit_moves(self, cond: torch.Tensor, states: torch.Tensor, values: torch.Tensor,
                    fraction: float) -> torch.Tensor:
        """M[c, x, x'] = prod_j [(1 - f) 1(x_j = x'_j) + f p_j(x'_j | c)] for a layer with conditional ``cond``.

        ``cond`` is p(x | c) (rows: conditioning states c); the units are conditionally independent, so
        p_j(x'_j | c) is a marginal of it.
        """
        if fraction >= 1:
            return cond[:, None, :].expand(cond.shape[0], cond.shape[1], cond.shape[1])
        digits = (states.unsqueeze(-1) == values.to(states)).long().argmax(-1)  # (n_states, n_units)
        out = torch.ones(cond.shape[0], cond.shape[1], cond.shape[1], dtype=torch.float64)
        for j in range(states.shape[1]):
            onehot = torch.nn.functional.one_hot(digits[:, j], len(values)).double()   # (n_states, k)
            p_j = (cond @ onehot)[:, digits[:, j]]                                       # (n_cond, n_states)
            same = (digits[:, j][:, None] == digits[:, j][None, :]).double()             # (n_states, n_states)
            out *= (1 - fraction) * same[None] + fraction * p_j[:, None, :]
        return out

    def hidden_moves(self, beta: float = 1.0, fraction: float = 1.0) -> torch.Tensor:
        """M_h[v, h, h'] of A_h^f (redraw each hidden unit with probability f given v)."""
        return self._unit_moves(self.hidden_given_visible(beta), self.hidden_states,
                                self.model.hidden.unit_values, fraction)

    def visible_moves(self, beta: float = 1.0, fraction: float = 1.0) -> torch.Tensor:
        """M_v[h, v, v'] of A_v^f (redraw each visible unit with probability f given h)."""
        return self._unit_moves(self.visible_given_hidden(beta), self.visible_states,
                                self.model.visible.unit_values, fraction)

    def half_matrices(self, beta: float = 1.0, fraction: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        """The N x N matrices of A_h^f and A_v^f on the joint state."""
        self._check_matrix_size()
        nv, nh = self.n_visible_states, self.n_hidden_states
        a_h = torch.zeros(nv, nh, nv, nh, dtype=torch.float64)
        a_v = torch.zeros(nv, nh, nv, nh, dtype=torch.float64)
        iv, ih = torch.arange(nv), torch.arange(nh)
        a_h[iv, :, iv, :] = self.hidden_moves(beta, fraction)
        a_v[:, ih, :, ih] = self.visible_moves(beta, fraction)
        return a_h.reshape(self.n_states, self.n_states), a_v.reshape(self.n_states, self.n_states)

    def _check_matrix_size(self) -> None:
        log2 = math.log2(self.n_states)
        require(log2 <= MAX_MATRIX_LOG2 + 1e-9, f"a transition matrix over 2^{log2:.0f} joint states is too large "
                                                f"(limit 2^{MAX_MATRIX_LOG2}); use a smaller model", IntractableError)

    # ------------------------------------------------------------------ propagating distributions
    def apply(self, p: torch.Tensor, kernel: Kernel, steps: int = 1) -> torch.Tensor:
        """p T^steps for a distribution table p (n_visible_states, n_hidden_states) without N x N matrices.

        For the visible chain, ``p`` is a vector over visible states.  Cost O(|V| |H|) per move (O(|V| |H|^2)
        with a fraction < 1).
        """
        beta, f = kernel.beta, kernel.fraction
        ph, pv = self.hidden_given_visible(beta), self.visible_given_hidden(beta)
        if kernel.space == "visible":
            for _ in range(int(steps)):
                p = (p @ ph) @ pv
            return p
        if f >= 1:
            def a_h(q: torch.Tensor) -> torch.Tensor:
                return q.sum(1, keepdim=True) * ph

            def a_v(q: torch.Tensor) -> torch.Tensor:
                return (q.sum(0)[:, None] * pv).t()
        else:
            mh, mv = self.hidden_moves(beta, f), self.visible_moves(beta, f)

            def a_h(q: torch.Tensor) -> torch.Tensor:
                return torch.einsum("vh,vhk->vk", q, mh)

            def a_v(q: torch.Tensor) -> torch.Tensor:
                return torch.einsum("vh,hvk->kh", q, mv)

        for _ in range(int(steps)):
            if kernel.name == "plain":
                p = a_v(a_h(p))
            elif kernel.name == "palindromic":
                p = a_h(a_v(a_h(p)))
            elif kernel.name == "random-scan":
                p = 0.5 * (a_h(p) + a_v(p))
            else:
                raise ConfigError(f"no exact form for kernel {kernel.name!r}")
        return p


def _kernel(kernel: str | Kernel, model, beta: float, fraction: float) -> Kernel:
    return kernel.at(model, beta) if isinstance(kernel, Kernel) else make_kernel(kernel, model, beta, fraction)


def transition_matrix(model, kernel: str | Kernel = "palindromic", beta: float = 1.0, steps: int = 1,
                      fraction: float = 1.0, space: JointSpace | None = None,
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """(T^steps, p_beta): the exact K-step transition matrix of a kernel and its stationary distribution.

    Joint kernels act on the n = |V| |H| joint states (index ``i_v * |H| + i_h``); the visible chain on the
    |V| visible states.  ``kernel`` is a name or a :class:`~boltzlab.sampling.kernels.Kernel` (whose
    ``beta`` and ``fraction`` are then used).
    """
    js = space if space is not None else JointSpace(model, MAX_MATRIX_LOG2)
    if isinstance(kernel, Kernel):
        beta, fraction = kernel.beta, kernel.fraction
    k = _kernel(kernel, js.model, beta, fraction)
    if k.space == "visible":
        t = js.hidden_given_visible(beta) @ js.visible_given_hidden(beta)
        p = js.log_prob(beta).exp().sum(1)
    else:
        a_h, a_v = js.half_matrices(beta, k.fraction)
        if k.name == "plain":
            t = a_h @ a_v
        elif k.name == "palindromic":
            t = a_h @ a_v @ a_h
        elif k.name == "random-scan":
            t = 0.5 * (a_h + a_v)
        else:
            raise ConfigError(f"no exact form for kernel {k.name!r}")
        p = js.log_prob(beta).exp().reshape(-1)
    return torch.linalg.matrix_power(t, int(steps)), p


def time_reversal(t: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """T^dagger(s -> s') = p(s') T(s' -> s) / p(s): the reversal of T with respect to p."""
    return (p[None, :] * t.t()) / p[:, None]


def detailed_balance(t: torch.Tensor, p: torch.Tensor) -> dict[str, float]:
    """How far T is from detailed balance with respect to p.

    ``max_log_ratio`` is max |ln [p(s) T(s -> s')] - ln [p(s') T(s' -> s)]| over pairs with positive flux
    both ways (infinite if only one way is possible); ``max_flux_difference`` the largest
    |p(s) T(s -> s') - p(s') T(s' -> s)|; ``stationarity`` max |p T - p|; ``row_sums`` max |T 1 - 1|.
    """
    flux = p[:, None] * t
    back = flux.t()
    both = (flux > 0) & (back > 0)
    one_way = bool(((flux > 0) ^ (back > 0)).any())
    lr = (flux[both].log() - back[both].log()).abs()
    return {"max_log_ratio": float("inf") if one_way else float(lr.max()) if lr.numel() else 0.0,
            "max_flux_difference": float((flux - back).abs().max()),
            "stationarity": float((p @ t - p).abs().max()),
            "row_sums": float((t.sum(1) - 1).abs().max())}


def _cluster(values: np.ndarray, weights: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Merge values closer than ``tol`` (sorted); returns (weighted centres, summed weights)."""
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    starts = np.concatenate([[0], np.nonzero(np.diff(v) > tol)[0] + 1])
    sums = np.add.reduceat(w, starts)
    centres = np.add.reduceat(v * np.maximum(w, 1e-300), starts) / np.add.reduceat(np.maximum(w, 1e-300), starts)
    return centres, sums


def heat_distribution(model, beta1: float, beta2: float, kernel: str | Kernel = "palindromic", steps: int = 1,
                      fraction: float = 1.0, reversed_kernel: bool = False, tol: float = 1e-9,
                      ) -> tuple[np.ndarray, np.ndarray]:
    """The exact distribution of the heat Q = E(s') - E(s) of section 3.2: s ~ p_{beta1}, s' ~ T_{beta2}^K(s, .).

    Returns the distinct values of Q (merged within ``tol``) and their probabilities.  With
    ``reversed_kernel`` the process uses the time reversal T^dagger of the T2 kernel instead.  A kernel
    object may run at a temperature other than ``beta2`` (to show what a wrong sampler does).
    """
    js = JointSpace(model, MAX_MATRIX_LOG2)
    k = _kernel(kernel, js.model, beta2, fraction) if not isinstance(kernel, Kernel) else kernel.at(js.model)
    require(k.space == "joint", "the heat-exchange relation needs one energy at both temperatures: use a kernel on "
                                "the joint state (palindromic, random-scan or plain), not the visible chain")
    t1, p2 = transition_matrix(model, k, space=js)
    if reversed_kernel:
        t1 = time_reversal(t1, p2)
    t = torch.linalg.matrix_power(t1, int(steps))
    p1 = js.log_prob(beta1).exp().reshape(-1)
    e = js.energy.reshape(-1)
    q = (e[None, :] - e[:, None]).numpy().ravel()
    joint = (p1[:, None] * t).numpy().ravel()
    scale = max(1.0, float(np.abs(q).max()))
    return _cluster(q, joint, tol * scale)


def xft_deviation(q: np.ndarray, prob: np.ndarray, dbeta: float, mirror: tuple[np.ndarray, np.ndarray] | None = None,
                  floor: float = 1e-300) -> dict[str, Any]:
    """Compare ln P(q) - ln P'(-q) with dbeta * q at every q > 0 whose mirror -q is a value of Q'.

    P' is P itself by default (the XFT), or ``mirror = (q', P')``, e.g. the heat distribution of the
    reversed kernel (the corrected relation for a non-reversible kernel).  Returns ``max_abs_deviation``
    and the arrays (``q``, ``log_ratio``) for plotting.
    """
    order = np.argsort(q)
    q, prob = q[order], prob[order]
    q2, p2 = (q, prob) if mirror is None else (np.asarray(mirror[0])[np.argsort(mirror[0])],
                                                 np.asarray(mirror[1])[np.argsort(mirror[0])])
    tol = 1e-7 * max(1.0, float(np.abs(q).max()))
    j = np.clip(np.searchsorted(q2, -q), 0, len(q2) - 1)
    left = np.clip(j - 1, 0, len(q2) - 1)
    j = np.where(np.abs(q2[left] + q) < np.abs(q2[j] + q), left, j)
    ok = (np.abs(q2[j] + q) <= tol) & (prob > floor) & (p2[j] > floor) & (q > tol)
    ratio = np.log(prob[ok]) - np.log(p2[j][ok])
    dev = ratio - dbeta * q[ok]
    return {"max_abs_deviation": float(np.abs(dev).max()) if dev.size else float("nan"),
            "n_values": int(ok.sum()), "q": q[ok], "log_ratio": ratio}


# ---------------------------------------------------------------------- work protocols
def _protocol_tables(protocol, kernel: str | Kernel, fraction: float, reverse: bool):
    """Reduced energies at every point of ``protocol`` (in the order it is run), and the state spaces and
    kernels that relax there (None at beta = 0, where relaxing draws a uniform state)."""
    points = []
    for i in range(len(protocol)):
        m, b = protocol.point(i)  # the protocol may hand out one work model, changed in place
        points.append((copy.deepcopy(m).to(device="cpu", dtype=torch.float64), float(b)))
    if reverse:
        points = points[::-1]
    spaces = [JointSpace(m, MAX_TABLE_LOG2) for m, _ in points]
    k0 = _kernel(kernel, points[0][0], 1.0, fraction)
    joint = k0.space == "joint"
    u = [(b * js.energy).reshape(-1) if joint else -torch.logsumexp(-b * js.energy, 1)
         for js, (_, b) in zip(spaces, points)]
    relax = [None if b == 0 else (js, k0.at(js.model, b)) for js, (_, b) in zip(spaces, points)]
    return u, relax, joint


def work_generating_function(protocol, lambdas: Sequence[float], kernel: str | Kernel = "palindromic",
                             fraction: float = 1.0, reverse: bool = False, sweeps: int = 1) -> np.ndarray:
    """ln G(lambda) = ln <exp(-lambda w)> exactly, for the forward (or reverse) protocol.

    The process: s_0 ~ p_{lambda_0}; for i = 0..K-1 the parameters switch lambda_i -> lambda_{i+1}, adding
    u_{i+1}(s_i) - u_i(s_i) to w, then (for i < K-1) s_{i+1} ~ T_{lambda_{i+1}}(s_i, .).  The last
    transition would not change w and is omitted; each relaxation is ``sweeps`` kernel steps.  Exact by
    dynamic programming over the states (distribution tables, no N x N matrices).
    """
    u, relax, joint = _protocol_tables(protocol, kernel, fraction, reverse)
    p0 = torch.softmax(-u[0], 0)
    out = []
    for lam in lambdas:
        a = p0.clone()
        log_scale = 0.0
        for i in range(len(u) - 1):
            a = a * torch.exp(-float(lam) * (u[i + 1] - u[i]))
            if i < len(u) - 2:
                step = relax[i + 1]
                if step is None:
                    a = torch.full_like(a, float(a.sum()) / a.numel())
                else:
                    js, k = step
                    shape = (js.n_visible_states, js.n_hidden_states) if joint else (js.n_visible_states,)
                    a = js.apply(a.reshape(shape), k, int(sweeps)).reshape(-1)
            s = float(a.sum())
            log_scale += math.log(s)
            a = a / s
        out.append(log_scale)
    return np.array(out)


def exact_delta_f(protocol) -> float:
    """Delta f = ln Z_0 - ln Z_K (reduced free-energy difference of the protocol's end points), exact."""
    from ..partition import exact_log_z
    m0, b0 = protocol.point(0)
    z0 = exact_log_z(m0, b0)
    mk, bk = protocol.point(len(protocol) - 1)
    return z0 - exact_log_z(mk, bk)


def crooks_exact_check(protocol, kernel: str | Kernel = "palindromic", fraction: float = 1.0,
                       lambdas: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5), sweeps: int = 1,
                       ) -> dict[str, Any]:
    """Exact Jarzynski and Crooks residuals of a protocol run with a kernel.

    Jarzynski: ln G_F(1) + Delta f (zero for every kernel that leaves each p_{lambda_i} invariant).
    Crooks: ln G_F(lambda) + Delta f - ln G_R(1 - lambda) for every lambda (zero for reversible kernels).
    """
    df = exact_delta_f(protocol)
    lams = [float(x) for x in lambdas]
    eps = 1e-5
    gf = work_generating_function(protocol, lams + [1.0, eps, -eps], kernel, fraction, sweeps=sweeps)
    gr = work_generating_function(protocol, [1 - lam for lam in lams] + [eps, -eps], kernel, fraction,
                                  reverse=True, sweeps=sweeps)
    crooks = gf[:len(lams)] + df - gr[:len(lams)]
    return {"delta_f": df, "lambdas": lams, "crooks_residuals": crooks.tolist(),
            "max_crooks_residual": float(np.abs(crooks).max()), "jarzynski_residual": float(gf[len(lams)] + df),
            "mean_work": float(-(gf[-2] - gf[-1]) / (2 * eps)),
            "mean_work_reverse": float(-(gr[-2] - gr[-1]) / (2 * eps))}


# ---------------------------------------------------------------------- exact samples
@torch.no_grad()
def exact_joint_samples(model, n: int, beta: float = 1.0, rng: Rng | None = None,
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` exact samples (v, h) of p_beta, in the model's dtype and device.

    The smaller discrete layer is drawn from its exact marginal (enumeration of its states with the
    closed-form free energy), the other layer from its conditional.
    """
    from ..partition.exact import _choose
    rng = rng if rng is not None else Rng(None, model.device)
    index = _choose(model, 20)
    m64 = _float64_copy(model, "cpu")
    layer, fe = m64.enumerable_marginals()[index]
    total = int(round(2 ** layer.n_states_log2))
    states = layer.enumerate_states(0, total)
    p = torch.softmax(-fe(states, float(beta)), 0)
    g = torch.Generator().manual_seed(int(rng.integers(2 ** 62, (1,)).item()))
    idx = torch.multinomial(p, int(n), replacement=True, generator=g)
    x = states[idx].to(dtype=model.dtype, device=model.device)
    if index == 0:
        return x, hidden_draw(model, x, float(beta), rng)
    return visible_draw(model, x, float(beta), rng), x
