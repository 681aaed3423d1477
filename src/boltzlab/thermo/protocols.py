"""Work protocols lambda_0 -> lambda_K and the work done along them (section 3.1 of
../shared/papers/nonequilibrium-thermodynamics-of-rbms.md).

A protocol is a sequence of points lambda_i = (theta_i, beta_i): an RBM and an inverse temperature.  The
process (the paper's eq. 2-4): s_0 ~ p_{lambda_0}; at each point the parameters switch lambda_i ->
lambda_{i+1}, which costs the work u_{i+1}(s_i) - u_i(s_i), and then the state relaxes by a kernel at
lambda_{i+1}.  In reduced units (kT = 1/beta) u_i(s) = beta_i E(s; theta_i) and the total

    w = sum_{i=0}^{K-1} [u_{i+1}(s_i) - u_i(s_i)],

which is beta W of the paper at fixed beta (W = sum_i [E(s_i, lambda_{i+1}) - E(s_i, lambda_i)]) and the
AIS log weight with its sign changed on an inverse-temperature ramp.  The relaxation after the last switch
does not change w and is skipped.  Jarzynski, <exp(-w)> = Z_K / Z_0 = exp(-Delta f), needs each kernel to
leave its p_{lambda_i} invariant; Crooks, P_F(w) / P_R(-w) = exp(w - Delta f), against the reverse
protocol lambda_K -> lambda_0 started in p_{lambda_K}, needs each kernel to be reversible (the plain sweep
is not; :func:`boltzlab.thermo.exact.crooks_exact_check` shows Crooks failing for it while Jarzynski holds).

Protocols: :class:`BetaRamp` (inverse-temperature ramps), :class:`Interpolation` (theta_t = (1 - t)
theta_A + t theta_B between two models of the same architecture, every parameter and centering offset
interpolated), :class:`ModelSequence` (the parameters of a training run read from its checkpoints).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ..errors import CheckpointError, ConfigError, IntractableError
from ..random import Rng
from ..sampling.gibbs import block_gibbs
from ..sampling.kernels import Kernel, joint_energy, make_kernel


def _betas(values: Any) -> np.ndarray:
    b = np.asarray(values, dtype=float).ravel()
    if b.size < 2:
        raise ConfigError("a protocol needs at least 2 points (lambda_0 and lambda_K)")
    if not np.all(np.isfinite(b)) or np.any(b < 0):
        raise ConfigError("the inverse temperatures of a protocol must be finite and >= 0")
    return b


def _check_rbm(model, what: str = "model") -> None:
    from ..models import RBM
    if not isinstance(model, RBM):
        raise ConfigError(f"work protocols are defined for RBMs; the {what} is a {type(model).__name__}")


def _check_same_architecture(a, b, what: str) -> None:
    _check_rbm(a, what)
    _check_rbm(b, what)
    if a.config() != b.config():
        raise ConfigError(f"{what}: the models differ in architecture ({a.config()} vs {b.config()}); a protocol "
                          "changes parameters, not units")
    for (na, ta), (_, tb) in zip(a.state_dict().items(), b.state_dict().items()):
        if ta.shape != tb.shape:
            raise ConfigError(f"{what}: parameter {na} has shape {tuple(ta.shape)} vs {tuple(tb.shape)}")


def _like(model, ref):
    """``model`` on the device and dtype of ``ref`` (a copy when it has to move; the caller's model is kept)."""
    if model.device == ref.device and model.dtype == ref.dtype:
        return model
    return copy.deepcopy(model).to(device=ref.device, dtype=ref.dtype)


class Protocol:
    """Points lambda_0 .. lambda_K; ``point(i)`` returns ``(model, beta)``.

    The model returned may be a work copy that the next call changes in place: use it before asking for
    another point.
    """

    kind = "protocol"

    def __len__(self) -> int:
        raise NotImplementedError

    def point(self, i: int) -> tuple[Any, float]:
        raise NotImplementedError

    def reversed(self) -> "Protocol":
        return Reversed(self)

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "points": len(self)}


class Reversed(Protocol):
    """The reverse protocol lambda_K -> lambda_0."""

    def __init__(self, base: Protocol) -> None:
        self.base = base
        self.kind = f"reverse of {base.kind}"

    def __len__(self) -> int:
        return len(self.base)

    def point(self, i: int) -> tuple[Any, float]:
        return self.base.point(len(self.base) - 1 - int(i))

    def reversed(self) -> Protocol:
        return self.base

    def describe(self) -> dict[str, Any]:
        return {**self.base.describe(), "reversed": True}


class BetaRamp(Protocol):
    """A fixed model at inverse temperatures beta_0 .. beta_K (heating or cooling)."""

    kind = "beta-ramp"

    def __init__(self, model, betas: Sequence[float]) -> None:
        _check_rbm(model)
        self.model = model
        self.betas = _betas(betas)

    @classmethod
    def linear(cls, model, beta_from: float, beta_to: float, steps: int) -> "BetaRamp":
        """K = ``steps`` equal steps from ``beta_from`` to ``beta_to``."""
        if int(steps) < 1:
            raise ConfigError(f"a protocol needs at least 1 step; got {steps}")
        return cls(model, np.linspace(float(beta_from), float(beta_to), int(steps) + 1))

    def __len__(self) -> int:
        return len(self.betas)

    def point(self, i: int) -> tuple[Any, float]:
        return self.model, float(self.betas[int(i)])

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "beta_from": float(self.betas[0]), "beta_to": float(self.betas[-1])}


class Interpolation(Protocol):
    """theta_t = (1 - t) theta_A + t theta_B (parameters and centering offsets) at inverse temperature beta."""

    kind = "interpolate"

    def __init__(self, model_a, model_b, ts: Sequence[float] | int = 11, beta: float = 1.0) -> None:
        _check_same_architecture(model_a, model_b, "interpolation")
        if isinstance(ts, (int, np.integer)):
            if int(ts) < 2:
                raise ConfigError(f"an interpolation needs at least 2 points; got {ts}")
            ts = np.linspace(0.0, 1.0, int(ts))
        self.ts = np.asarray(ts, dtype=float).ravel()
        if self.ts.size < 2 or not np.all(np.isfinite(self.ts)):
            raise ConfigError("interpolation points must be at least 2 finite numbers")
        self.beta = float(_betas([beta, beta])[0])
        self.a = model_a
        self.b = _like(model_b, model_a)
        self.work = copy.deepcopy(model_a)
        for p in self.work.parameters():
            p.requires_grad_(False)
        self._t: float | None = None

    def __len__(self) -> int:
        return len(self.ts)

    @torch.no_grad()
    def point(self, i: int) -> tuple[Any, float]:
        t = float(self.ts[int(i)])
        if t != self._t:
            sa, sb = self.a.state_dict(), self.b.state_dict()
            for name, x in self.work.state_dict().items():
                torch.lerp(sa[name], sb[name], t, out=x)
            self._t = t
        return self.work, self.beta

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "beta": self.beta, "t": self.ts.tolist()}


class ModelSequence(Protocol):
    """A sequence of models of one architecture, e.g. the checkpoints of a training run, at inverse
    temperature ``beta``.  Paths are read once and kept."""

    kind = "checkpoints"

    def __init__(self, models: Sequence[Any], beta: float = 1.0, labels: Sequence[Any] | None = None,
                 device: Any = None) -> None:
        from ..io import load_model
        if len(models) < 2:
            raise ConfigError(f"a model sequence needs at least 2 models; got {len(models)}")
        loaded = [load_model(m, device=device) if isinstance(m, (str, Path)) else m for m in models]
        for m in loaded[1:]:
            _check_same_architecture(loaded[0], m, "model sequence")
        self.models = [_like(m, loaded[0]) for m in loaded]
        self.beta = float(_betas([beta, beta])[0])
        self.labels = list(labels) if labels is not None else list(range(len(loaded)))

    @classmethod
    def from_run(cls, run: str | Path, beta: float = 1.0, device: Any = None) -> "ModelSequence":
        """The kept checkpoints ``RUN/checkpoints/step_*.pt`` of a training run (``keep_checkpoints``)."""
        paths = run_checkpoints(run)
        steps = [int(re.findall(r"\d+", p.stem)[-1]) for p in paths]
        return cls(paths, beta, labels=steps, device=device)

    def __len__(self) -> int:
        return len(self.models)

    def point(self, i: int) -> tuple[Any, float]:
        return self.models[int(i)], self.beta

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "beta": self.beta, "labels": self.labels}


def run_checkpoints(run: str | Path) -> list[Path]:
    """The kept checkpoints of a training run directory, in step order."""
    run = Path(run)
    if not run.is_dir():
        raise CheckpointError(f"{run}: not a training-run directory")
    paths = sorted((run / "checkpoints").glob("step_*.pt"))
    if len(paths) < 2:
        raise CheckpointError(f"{run}: needs at least 2 kept checkpoints in {run}/checkpoints/step_*.pt "
                              "(train with keep_checkpoints = true / --keep-checkpoints)")
    return paths


def scaled_copy(model, beta: float):
    """A copy of ``model`` whose energy is beta E: every parameter times beta (biases, fields, precisions and
    couplings enter the energy linearly; the centering offsets, which are not parameters, stay)."""
    out = copy.deepcopy(model)
    with torch.no_grad():
        for p in out.parameters():
            p.mul_(float(beta))
    return out


# ---------------------------------------------------------------------- sampling the work
def _uniform(model, n: int, rng: Rng, joint: bool):
    """The beta = 0 equilibrium (uniform over the states of discrete units)."""
    v = model.visible.random_state(n, rng)
    return v, (model.hidden.random_state(n, rng) if joint else None)


def _initial_states(model, beta: float, n: int, kernel: Kernel, init: str, equilibrate: int, rng: Rng):
    from .exact import exact_joint_samples
    joint = kernel.space == "joint"
    if beta == 0:
        return _uniform(model, n, rng, joint)
    if init == "exact":
        v, h = exact_joint_samples(model, n, beta, rng)
        return (v, h) if joint else (v, None)
    if init == "equilibrate":
        v = model.visible.random_state(n, rng)
        if int(equilibrate) > 0:
            v, _ = block_gibbs(model, v, int(equilibrate), beta, rng)
        return kernel.at(model, beta).start(v, rng)
    raise ConfigError(f"init must be 'exact' or 'equilibrate'; got {init!r}")


def default_init(model) -> str:
    """'exact' when the smaller layer can be enumerated (2^20 states), else 'equilibrate'."""
    try:
        from ..partition.exact import _choose
        _choose(model, 20)
        return "exact"
    except IntractableError:
        return "equilibrate"


@torch.no_grad()
def sample_work(protocol: Protocol, n: int, kernel: str | Kernel = "palindromic", fraction: float = 1.0,
                sweeps: int = 1, init: str | None = None, equilibrate: int = 1000, batch_size: int | None = None,
                seed: int | None = None, rng: Rng | None = None, progress: bool = False) -> torch.Tensor:
    """Reduced works w of ``n`` independent runs of ``protocol`` (float64, CPU).

    ``kernel`` relaxes the state for ``sweeps`` steps after each switch (joint kernels with energies
    beta E(v, h); the visible chain with the free energy, as AIS does).  ``init``: "exact" (exact samples of
    p_{lambda_0}; small models) or "equilibrate" (``equilibrate`` block-Gibbs sweeps from random states);
    default exact when possible.  A point with beta = 0 (discrete units only) is the uniform distribution:
    relaxing there draws a fresh uniform state.
    """
    if int(n) < 1:
        raise ConfigError(f"need at least one run; got n={n}")
    if int(sweeps) < 0:
        raise ConfigError(f"sweeps per point must be >= 0; got {sweeps}")
    m0, b0 = protocol.point(0)
    betas = [protocol.point(i)[1] for i in range(len(protocol))]
    if any(b == 0 for b in betas) and not (m0.visible.discrete and m0.hidden.discrete):
        raise ConfigError("beta = 0 is the uniform distribution, which continuous units do not have")
    rng = rng if rng is not None else Rng(seed, m0.device)
    init = init or default_init(m0)
    proto = make_kernel(kernel, m0, 1.0, fraction) if not isinstance(kernel, Kernel) else kernel
    joint = proto.space == "joint"
    size = int(batch_size) if batch_size else (16_384 if m0.device.type == "cpu" else 262_144)

    def reduced(model, beta, v, h):
        if joint:
            return float(beta) * joint_energy(model, v, h)
        return model.visible_free_energy(v, float(beta)).double()

    from tqdm.auto import tqdm
    parts = []
    with tqdm(total=int(n) * (len(protocol) - 1), disable=not progress, desc="work", unit="run-step",
              mininterval=0.5, leave=False) as bar:
        for start in range(0, int(n), size):
            m = min(size, int(n) - start)
            model, beta = protocol.point(0)
            v, h = _initial_states(model, beta, m, proto, init, equilibrate, rng)
            u = reduced(model, beta, v, h)
            w = torch.zeros(m, dtype=torch.float64, device=v.device)
            for i in range(len(protocol) - 1):
                model, beta = protocol.point(i + 1)
                w += reduced(model, beta, v, h) - u
                if i < len(protocol) - 2:
                    if beta == 0:
                        v, h = _uniform(model, m, rng, joint)
                    else:
                        v, h = proto.at(model, beta).run(v, h, int(sweeps), rng)
                    u = reduced(model, beta, v, h)
                bar.update(m)
            parts.append(w.cpu())
    return torch.cat(parts)
