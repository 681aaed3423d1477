"""Annealing paths and the one annealing loop.

A path is a family p_t(x) = f_t(x) / Z_t with a kernel T_t that leaves each p_t invariant: ``stats(x)``,
``log_f(s, t)`` (ln f_t in float64) and ``transition(s, t, rng)``.  :func:`anneal` runs states along a
schedule t_0, ..., t_K and returns the log weights sum_k ln f_{t_k}(x_{k-1}) - ln f_{t_{k-1}}(x_{k-1}): those
of annealed importance sampling (Neal, Stat. Comput. 11, 125 (2001)), of its reverse (Burda, Grosse &
Salakhutdinov, AISTATS 2015) when the schedule runs backwards, and minus the work of a nonequilibrium
protocol (Jarzynski, Phys. Rev. Lett. 78, 2690 (1997); Crooks, Phys. Rev. E 60, 2721 (1999)).

:class:`RBMPath`: theta_t = (1 - t) theta_A + t theta_B from an independent base model A to an RBM B, the
geometric average of Neal (2001) and Salakhutdinov & Murray (ICML 2008, eq. 13).  The base has no
couplings, so the visible marginal stays in closed form,

    ln f_t(v) = -E_vis(v; theta_t) - t (phi(v) - v_hat)^T W h_hat + ln Z_hid(t I(v); theta_hid,t),
    I(v) = W^T (phi(v) - v_hat),

and one block-Gibbs sweep at theta_t is reversible on v, as reverse AIS needs.  Bases (``base=``):
``"samples"`` (base rates of short chains of the target), ``"model"`` (the target's visible parameters),
``"data"`` (base rates of data, Salakhutdinov & Murray 2008, sec. 4.2), ``"uniform"`` (p_t ∝ exp(-t E_B));
the hidden part is uniform for discrete hidden units and the target's own for continuous ones.

:class:`ModelPath`: p_t ∝ exp(-beta_t E(x; theta_t)), (theta_t, beta_t) piecewise linear through knots
(model_i, beta_i), relaxed by a kernel of :mod:`.kernels`.  Weight increments are accumulated in float64
from float64 copies, so they are accurate when the model runs in float32.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np
import torch

from .._tensor import as_tensor
from ..errors import ConfigError, IntractableError, require
from ..random import Rng
from ..units import Layer
from .gibbs import _product, _shift
from .kernels import Kernel, joint_energy, make_kernel

BASES = ("samples", "model", "data", "uniform")


@torch.no_grad()
def anneal(path: Any, x: Any, schedule: Sequence[float], rng: Rng, *, bar: Any = None,
           record: Callable[[int, torch.Tensor, Any, Any], None] | None = None) -> torch.Tensor:
    """Run the states ``x`` along ``schedule`` (increasing for AIS, decreasing for reverse AIS).

    Returns the float64 log weights sum_{k=1..K} ln f_{t_k}(x_{k-1}) - ln f_{t_{k-1}}(x_{k-1}), where
    x_k ~ T_{t_k}(x_{k-1}, .); the transition after the last increment would not change them and is skipped.
    ``record(k, log_w, x, s)`` is called after each increment with the states x_{k-1} and their stats;
    ``bar`` (a progress bar) advances by one per step.
    """
    log_w = None
    last = len(schedule) - 1
    for k in range(1, last + 1):
        s = path.stats(x)
        inc = path.log_f(s, schedule[k]) - path.log_f(s, schedule[k - 1])
        log_w = inc if log_w is None else log_w + inc
        if record is not None:
            record(k, log_w, x, s)
        if k < last:
            x = path.transition(s, schedule[k], rng)
        if bar is not None:
            bar.update(1)
    return log_w


class PathStats(NamedTuple):
    """Everything ln f_t(v) needs at any t, computed once per visible state (one matrix product)."""

    inputs: torch.Tensor      # I(v) = W^T (phi(v) - v_hat), model dtype, (n, n_hidden features)
    inputs64: torch.Tensor    # the same in float64
    energy_base: torch.Tensor     # E_vis(v; theta_A), float64 (n,)
    energy_target: torch.Tensor   # E_vis(v; theta_B), float64 (n,)
    offset_term: torch.Tensor | None  # (phi(v) - v_hat)^T W h_hat, float64 (n,), None without centering


def _copy_layer(layer: Layer, dtype: torch.dtype) -> Layer:
    out = copy.deepcopy(layer).to(dtype)
    for p in out.parameters():
        p.requires_grad_(False)
    return out


def _zeroed(layer: Layer) -> Layer:
    out = copy.deepcopy(layer)
    with torch.no_grad():
        for p in out.parameters():
            p.zero_()
    return out


@torch.no_grad()
def uncoupled_log_z(visible: Layer, hidden: Layer) -> float:
    """ln Z of two uncoupled layers, in float64: ln Z_vis(I=0) + ln Z_hid(I=0)."""
    zeros = lambda layer: torch.zeros(1, layer.n_features, dtype=torch.float64, device=layer.device)
    return float(sum(_copy_layer(layer, torch.float64).log_partition(zeros(layer)) for layer in (visible, hidden)))


def base_rate_visible(layer: Layer, data: Any, pseudocount: float | None = None) -> Layer:
    """A copy of ``layer`` whose independent units reproduce the data means (the base-rate model).

    With ``pseudocount=None`` the layer's own :meth:`~boltzlab.units.Layer.init_from_data` is used.  With
    a number ``c`` (binary units only), the protocol of Salakhutdinov & Murray (2008): bias
    ln p - ln(1 - p) with p = (count + c) / (N + c).  As printed, that smoothing only pulls towards 1: a
    unit that is on in every example gets p = 1 and an infinite bias.  We therefore cap p at N / (N + c),
    the mirror image of the floor c / (N + c) it gives a unit that is never on; no other unit changes.
    """
    base = _copy_layer(layer, layer.dtype)
    x = as_tensor(data, dtype=layer.dtype, device=layer.device, name="data")
    if x.dim() == 1:
        x = x.unsqueeze(0)
    layer.validate(x, "data")
    if pseudocount is None:
        base.init_from_data(x)
        return base
    require(layer.type_name == "binary", "the Salakhutdinov-Murray base rate is defined for binary visible units; "
                                         f"this model has {layer.type_name} units (use base='data')")
    n, c = float(x.shape[0]), float(pseudocount)
    p = ((x.double().sum(0) + c) / (n + c)).clamp(max=n / (n + c))
    with torch.no_grad():
        base.bias.copy_((torch.log(p) - torch.log1p(-p)).to(base.bias))
    return base


class _Interpolated:
    """A work copy of a layer held at theta_t = (1 - t) theta_a + t theta_b, re-interpolated only when t changes."""

    def __init__(self, a: Layer, b: Layer, dtype: torch.dtype) -> None:
        self.a, self.b = _copy_layer(a, dtype), _copy_layer(b, dtype)
        self.layer = _copy_layer(b, dtype)
        self.t: float | None = None

    def at(self, t: float) -> Layer:
        if t != self.t:
            self.layer.interpolate_(self.a, self.b, t)
            self.t = t
        return self.layer


class RBMPath:
    """The path theta_t = (1 - t) theta_A + t theta_B from an independent base A to an RBM B.

    Parameters
    ----------
    model : RBM
        The target (any unit types).
    base : {"samples", "model", "data", "uniform"}
        The base model's visible layer (see the module docstring).
    data : array, optional
        Data for ``base="data"``.
    rng, n_base_samples, base_sweeps : the random stream and size of the sampling for ``base="samples"``.
    pseudocount : float, optional
        Salakhutdinov-Murray smoothing of the base rate (binary units), see :func:`base_rate_visible`.
    """

    def __init__(self, model, base: str = "model", data: Any = None, pseudocount: float | None = None, *,
                 rng: Rng | None = None, n_base_samples: int = 1000, base_sweeps: int = 200) -> None:
        require(base in BASES, f"unknown AIS base {base!r}; expected one of {', '.join(BASES)}")
        from ..models import RBM
        require(isinstance(model, RBM), f"annealing paths are defined for RBMs; got {type(model).__name__}")
        self.model = model
        self.base = base
        vis, hid = model.visible, model.hidden
        if base == "data":
            require(data is not None, "base='data' needs data to fit the base-rate model")
            vis_a = base_rate_visible(vis, data, pseudocount)
        elif base == "samples":
            rng = rng if rng is not None else Rng(0, model.device)
            x = model.sample_chains(vis.random_state(int(n_base_samples), rng), int(base_sweeps), 1.0, rng)
            vis_a = base_rate_visible(vis, x)
        elif base == "uniform":
            vis_a = _zeroed(vis)
        else:
            vis_a = vis
        hid_a = _zeroed(hid) if (hid.discrete or base == "uniform") else hid
        dt = model.dtype
        self.dtype = dt
        self.device = model.device
        self._w = model.weights.detach()
        v_hat, h_hat = model.visible_offset, model.hidden_offset
        # Centering folded into shifts once, as in block_gibbs, so that the per-step code makes no
        # host-device synchronisation and allocates no centred copy of v.
        self._shift_h = _shift(v_hat, self._w)
        self._shift_v = _shift(h_hat, self._w.t())
        self._w_hhat = None if self._shift_v is None else self._w @ h_hat
        self._vhat_w_hhat = None if self._shift_v is None else float(v_hat.double() @ (self._w.double() @ h_hat.double()))
        # Sampling copies in the model dtype, hidden accounting copies in float64 (ln Z_hid is not linear in
        # t).  Forward AIS evaluates ln f at t_{k-1} and t_k for every state, so two float64 hidden copies
        # alternate and each step re-interpolates only one of them.
        self._vis = _Interpolated(vis_a, vis, dt)
        self._hid = _Interpolated(hid_a, hid, dt)
        self._hid64 = [_Interpolated(hid_a, hid, torch.float64) for _ in range(2)]
        self.n_visible_features = vis.n_features
        self.n_hidden_features = hid.n_features
        self._log_z_base: float | None = None

    # ----------------------------------------------------------------- base model
    @property
    def log_z_base(self) -> float:
        """ln Z_A = ln Z_vis,A(0) + ln Z_hid,A(0): the base has no couplings."""
        if self._log_z_base is None:
            self._log_z_base = self._base_log_z()
        return self._log_z_base

    def _base_log_z(self) -> float:
        value = uncoupled_log_z(self._vis.a, self._hid.a)
        if not np.isfinite(value):
            raise IntractableError(
                f"the {self.base!r} base of this {self.model.visible.type_name} x {self.model.hidden.type_name} "
                "RBM is not normalisable (continuous units with zero precision); use base='model' or 'data'")
        return value

    @torch.no_grad()
    def sample_base(self, n: int, rng: Rng) -> torch.Tensor:
        """n exact samples of the base visible marginal p_0(v)."""
        self.log_z_base  # noqa: B018  (raises if the base does not exist)
        vis_a = self._vis.a
        return vis_a.sample_(torch.zeros(n, vis_a.n_features, dtype=self.dtype, device=self.device), 1.0, rng)

    # ----------------------------------------------------------------- ln f_t
    @torch.no_grad()
    def stats(self, v: torch.Tensor) -> PathStats:
        """The t-independent quantities of ln f_t(v)."""
        fv = self._vis.b.features(v)
        out = torch.empty(fv.shape[0], self.n_hidden_features, dtype=self.dtype, device=self.device)
        _product(fv, self._w, self._shift_h, out)
        # The visible energies and the offset term enter ln f_t linearly in t, so their rounding in the
        # model dtype is the same at every t and cancels from the increments ln f_t' - ln f_t up to
        # (t' - t) times it; computing them in float64 would only cost a copy of v per step.
        e_a = self._vis.a.energy(v).double()
        e_b = self._vis.b.energy(v).double()
        offset = None if self._w_hhat is None else (fv @ self._w_hhat).double() - self._vhat_w_hhat
        return PathStats(out, out.double(), e_a, e_b, offset)

    @torch.no_grad()
    def log_f(self, s: PathStats, t: float) -> torch.Tensor:
        """ln f_t(v) in float64 (unnormalised visible marginal of p_t)."""
        t = float(t)
        out = -((1.0 - t) * s.energy_base + t * s.energy_target)
        if s.offset_term is not None:
            out = out - t * s.offset_term
        return out + self._hidden64(t).log_partition(s.inputs64 * t)

    def _hidden64(self, t: float) -> Layer:
        """The float64 hidden layer at t: a copy that already holds t, else the least recently used one."""
        copies = self._hid64
        hit = next((c for c in copies if c.t == t), copies[0])
        copies.remove(hit)
        copies.append(hit)
        return hit.at(t)

    # ----------------------------------------------------------------- transitions
    @torch.no_grad()
    def transition(self, s: PathStats, t: float, rng: Rng) -> torch.Tensor:
        """One block-Gibbs sweep at theta_t from the state ``s`` was computed for: h ~ p_t(h|v), v ~ p_t(v|h).

        Consumes ``s.inputs`` (the hidden draw is made in place).
        """
        t = float(t)
        hid = self._hid.at(t)
        vis = self._vis.at(t)
        h = hid.sample_(s.inputs.mul_(t), 1.0, rng)
        fh = hid.features(h)
        out = torch.empty(h.shape[0], vis.n_features, dtype=self.dtype, device=self.device)
        _product(fh, self._w.t(), self._shift_v, out)
        return vis.sample_(out.mul_(t), 1.0, rng)


@torch.no_grad()
def interpolate_models(a, b, s: float, out=None):
    """The model whose floating-point parameters and buffers are (1 - s) theta_a + s theta_b.

    Writes into ``out`` (a model of the same structure) when given.  Any such model is a valid
    distribution, so interpolations may serve as extra rungs of a ladder or steps of an annealing path.
    """
    out = copy.deepcopy(b) if out is None else out
    sa, sb = a.state_dict(), b.state_dict()
    for name, t in out.state_dict().items():
        if t.is_floating_point():
            torch.lerp(sa[name].to(t), sb[name].to(t), float(s), out=t)
    return out


def _frozen(model, dtype: torch.dtype, new: bool = False):
    """``model`` in ``dtype`` (the model itself when it already is, unless ``new``); copies need no gradients."""
    if model.dtype == dtype and not new:
        return model
    m = copy.deepcopy(model).to(dtype=dtype)
    for p in m.parameters():
        p.requires_grad_(False)
    return m


class ModelPath:
    """p_t ∝ exp(-beta_t E(x; theta_t)), (theta_t, beta_t) piecewise linear through the knots
    (``models[i]``, ``betas[i]``) at t = i (see the module docstring).

    ``kernel`` (a name of :func:`~boltzlab.sampling.kernels.make_kernel` or a kernel) relaxes the state for
    ``sweeps`` steps per transition; its space sets the state: v for the visible chain, (v, h) otherwise.
    At beta = 0 (discrete units only) p_t is uniform and the transition draws a uniform state.
    """

    def __init__(self, models: Sequence[Any], betas: Sequence[float], kernel: str | Kernel = "visible",
                 sweeps: int = 1, fraction: float | None = None) -> None:
        self.models, self.betas = list(models), [float(b) for b in betas]
        if len(self.models) != len(self.betas) or not self.models:
            raise ConfigError(f"{len(self.models)} models for {len(self.betas)} inverse temperatures")
        self.kernel = make_kernel(kernel, self.models[0], 1.0, fraction)
        self.sweeps = int(sweeps)
        self._copies: dict[torch.dtype, list] = {}   # dtype -> [knots, work model, its t]

    def using(self, kernel: str | Kernel, sweeps: int = 1, fraction: float | None = None) -> "ModelPath":
        """The same path (sharing its work copies) relaxed by another kernel."""
        out = copy.copy(self)
        out.kernel, out.sweeps = make_kernel(kernel, self.models[0], 1.0, fraction), int(sweeps)
        return out

    @property
    def joint(self) -> bool:
        return self.kernel.space == "joint"

    def point(self, t: float, dtype: torch.dtype | None = None) -> tuple[Any, float]:
        """(model at theta_t, beta_t); the model may be a work copy that the next call changes in place.

        ``dtype=None`` gives the models as they are (interpolations in the first model's dtype).
        """
        t = float(t)
        i = min(max(int(np.floor(t)), 0), max(len(self.models) - 2, 0))
        s = t - i
        beta = self.betas[i] if s == 0 else (1 - s) * self.betas[i] + s * self.betas[i + 1]
        if dtype is None:
            dtype = self.models[0].dtype
        if dtype not in self._copies:
            frozen: dict[int, Any] = {}
            knots = [frozen.setdefault(id(m), _frozen(m, dtype)) for m in self.models]
            self._copies[dtype] = [knots, _frozen(knots[0], dtype, new=True), None]
        knots, work, at = self._copies[dtype]
        if s == 0 or knots[i] is knots[i + 1]:
            return knots[i], beta
        if at != t:
            interpolate_models(knots[i], knots[i + 1], s, out=work)
            self._copies[dtype][2] = t
        return work, beta

    def stats(self, x: Any) -> Any:
        return x

    @torch.no_grad()
    def log_f(self, x: Any, t: float) -> torch.Tensor:
        """-beta_t E(v, h; theta_t) on the joint state, -F_t(v) on v; float64."""
        m, beta = self.point(t, torch.float64)
        if self.joint:
            v, h = x
            return -beta * joint_energy(m, v.to(m.dtype), h.to(m.dtype))
        return -m.visible_free_energy(x.to(m.dtype), beta)

    @torch.no_grad()
    def transition(self, x: Any, t: float, rng: Rng) -> Any:
        m, beta = self.point(t)
        v, h = x if self.joint else (x, None)
        if beta == 0:
            v = m.visible.random_state(v.shape[0], rng)
            h = m.hidden.random_state(v.shape[0], rng) if self.joint else None
        else:
            v, h = self.kernel.at(m, beta).run(v, h, self.sweeps, rng)
        return (v, h) if self.joint else v
