"""Work protocols lambda_0 -> lambda_K and the work done along them (Salazar, Phys. Rev. E 96, 022131
(2017)).

A protocol is a sequence of points lambda_i = (theta_i, beta_i).  The process (the paper's eq. 2-4): s_0 ~
p_{lambda_0}; at each point the parameters switch lambda_i -> lambda_{i+1} and the state relaxes by a kernel
at lambda_{i+1}; in reduced units u_i(s) = beta_i E(s; theta_i) the work is

    w = sum_{i=0}^{K-1} [u_{i+1}(s_i) - u_i(s_i)].

Jarzynski, <exp(-w)> = exp(-Delta f), needs invariant kernels (Jarzynski, Phys. Rev. Lett. 78, 2690 (1997));
Crooks, P_F(w) / P_R(-w) = exp(w - Delta f), needs reversible ones (Crooks, Phys. Rev. E 60, 2721 (1999)).
Protocols: :class:`BetaRamp`, :class:`Interpolation` (every parameter and centering offset of two models of
one architecture) and :class:`ModelSequence` (the checkpoints of a training run), each a
:class:`~boltzlab.sampling.path.ModelPath`; :func:`sample_work` runs it with
:func:`~boltzlab.sampling.path.anneal`, whose log weights are -w.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ..errors import CheckpointError, ConfigError, IntractableError, require
from ..random import Rng
from ..sampling.gibbs import block_gibbs
from ..sampling.kernels import Kernel, make_kernel
from ..sampling.path import ModelPath, anneal
from ..sampling.trajectory import check_rbms


def _betas(values: Any) -> np.ndarray:
    b = np.asarray(values, dtype=float).ravel()
    require(b.size >= 2, "a protocol needs at least 2 points (lambda_0 and lambda_K)")
    if not np.all(np.isfinite(b)) or np.any(b < 0):
        raise ConfigError("the inverse temperatures of a protocol must be finite and >= 0")
    return b


def _like(model, ref):
    """``model`` on the device and dtype of ``ref`` (a copy when it has to move; the caller's model is kept)."""
    if model.device == ref.device and model.dtype == ref.dtype:
        return model
    return copy.deepcopy(model).to(device=ref.device, dtype=ref.dtype)


class Protocol:
    """Points lambda_i = (theta_i, beta_i), i = 0..K: the annealing path ``path`` at positions ``ts``.

    ``point(i)`` returns ``(model, beta)``; the model may be a work copy that the next call changes in
    place: use it before asking for another point.
    """

    kind = "protocol"

    def __init__(self, path: ModelPath, ts: Sequence[float], reversed_from: "Protocol | None" = None) -> None:
        self.path, self.ts = path, np.asarray(ts, dtype=float)
        self._forward = reversed_from
        if reversed_from is not None:
            self.kind = f"reverse of {reversed_from.kind}"

    def __len__(self) -> int:
        return len(self.ts)

    def point(self, i: int) -> tuple[Any, float]:
        return self.path.point(self.ts[int(i)])

    def reversed(self) -> "Protocol":
        """The reverse protocol lambda_K -> lambda_0."""
        return self._forward if self._forward is not None else Protocol(self.path, self.ts[::-1], self)

    def describe(self) -> dict[str, Any]:
        if self._forward is not None:
            return {**self._forward.describe(), "reversed": True}
        return {"kind": self.kind, "points": len(self)}


class BetaRamp(Protocol):
    """A fixed model at inverse temperatures beta_0 .. beta_K (heating or cooling)."""

    kind = "beta-ramp"

    def __init__(self, model, betas: Sequence[float]) -> None:
        check_rbms([model], "beta ramp")
        self.model = model
        self.betas = _betas(betas)
        super().__init__(ModelPath([model] * len(self.betas), self.betas), np.arange(len(self.betas)))

    @classmethod
    def linear(cls, model, beta_from: float, beta_to: float, steps: int) -> "BetaRamp":
        """K = ``steps`` equal steps from ``beta_from`` to ``beta_to``."""
        require(int(steps) >= 1, f"a protocol needs at least 1 step; got {steps}")
        return cls(model, np.linspace(float(beta_from), float(beta_to), int(steps) + 1))

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "beta_from": float(self.betas[0]), "beta_to": float(self.betas[-1])}


class Interpolation(Protocol):
    """theta_t = (1 - t) theta_A + t theta_B (parameters and centering offsets) at inverse temperature beta."""

    kind = "interpolate"

    def __init__(self, model_a, model_b, ts: Sequence[float] | int = 11, beta: float = 1.0) -> None:
        check_rbms([model_a, model_b], "interpolation", ConfigError)
        if isinstance(ts, (int, np.integer)):
            require(int(ts) >= 2, f"an interpolation needs at least 2 points; got {ts}")
            ts = np.linspace(0.0, 1.0, int(ts))
        ts = np.asarray(ts, dtype=float).ravel()
        if ts.size < 2 or not np.all(np.isfinite(ts)):
            raise ConfigError("interpolation points must be at least 2 finite numbers")
        self.beta = float(_betas([beta, beta])[0])
        super().__init__(ModelPath([model_a, _like(model_b, model_a)], [self.beta, self.beta]), ts)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "beta": self.beta, "t": self.ts.tolist()}


class ModelSequence(Protocol):
    """A sequence of models of one architecture, e.g. the checkpoints of a training run, at inverse
    temperature ``beta``.  Paths are read once and kept."""

    kind = "checkpoints"

    def __init__(self, models: Sequence[Any], beta: float = 1.0, labels: Sequence[Any] | None = None,
                 device: Any = None) -> None:
        from ..io import load_model
        require(len(models) >= 2, f"a model sequence needs at least 2 models; got {len(models)}")
        loaded = [load_model(m, device=device) if isinstance(m, (str, Path)) else m for m in models]
        check_rbms(loaded, "model sequence", ConfigError)
        self.models = [_like(m, loaded[0]) for m in loaded]
        self.beta = float(_betas([beta, beta])[0])
        self.labels = list(labels) if labels is not None else list(range(len(loaded)))
        super().__init__(ModelPath(self.models, [self.beta] * len(self.models)), np.arange(len(self.models)))

    @classmethod
    def from_run(cls, run: str | Path, beta: float = 1.0, device: Any = None) -> "ModelSequence":
        """The kept checkpoints ``RUN/checkpoints/step_*.pt`` of a training run (``keep_checkpoints``)."""
        paths = run_checkpoints(run)
        steps = [int(re.findall(r"\d+", p.stem)[-1]) for p in paths]
        return cls(paths, beta, labels=steps, device=device)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "beta": self.beta, "labels": self.labels}


def run_checkpoints(run: str | Path) -> list[Path]:
    """The kept checkpoints of a training run directory, in step order."""
    run = Path(run)
    require(run.is_dir(), f"{run}: not a training-run directory", CheckpointError)
    paths = sorted((run / "checkpoints").glob("step_*.pt"))
    require(len(paths) >= 2, f"{run}: needs at least 2 kept checkpoints in {run}/checkpoints/step_*.pt "
                             "(train with keep_checkpoints = true / --keep-checkpoints)", CheckpointError)
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
def _initial_states(model, beta: float, n: int, kernel: Kernel, init: str, equilibrate: int, rng: Rng):
    from .exact import exact_joint_samples
    joint = kernel.space == "joint"
    if beta == 0:  # the uniform distribution over the states of discrete units
        v = model.visible.random_state(n, rng)
        return v, (model.hidden.random_state(n, rng) if joint else None)
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
    require(int(n) >= 1, f"need at least one run; got n={n}")
    require(int(sweeps) >= 0, f"sweeps per point must be >= 0; got {sweeps}")
    m0, b0 = protocol.point(0)
    betas = [protocol.point(i)[1] for i in range(len(protocol))]
    if any(b == 0 for b in betas) and not (m0.visible.discrete and m0.hidden.discrete):
        raise ConfigError("beta = 0 is the uniform distribution, which continuous units do not have")
    rng = rng if rng is not None else Rng(seed, m0.device)
    init = init or default_init(m0)
    proto = make_kernel(kernel, m0, 1.0, fraction) if not isinstance(kernel, Kernel) else kernel
    size = int(batch_size) if batch_size else (16_384 if m0.device.type == "cpu" else 262_144)

    path = protocol.path.using(proto, sweeps)
    from tqdm.auto import tqdm
    parts = []
    with tqdm(total=len(range(0, int(n), size)) * (len(protocol) - 1), disable=not progress, desc="work",
              unit="step", mininterval=0.5, leave=False) as bar:
        for start in range(0, int(n), size):
            model, beta = protocol.point(0)
            v, h = _initial_states(model, beta, min(size, int(n) - start), proto, init, equilibrate, rng)
            parts.append(-anneal(path, (v, h) if path.joint else v, protocol.ts, rng, bar=bar).cpu())
    return torch.cat(parts)
