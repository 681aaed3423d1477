"""Figures and records of `boltzlab logz` and `boltzlab evaluate`: annealing weights, ln p(v) histograms,
and honest brackets (each end with its own standard error)."""

from __future__ import annotations

import math
from typing import Any

import torch


def log_z_record(res: Any) -> dict[str, Any]:
    """log_z, stderr, method and details of an annealed result.

    A bracket reports forward AIS (a lower bound of ln Z in expectation) and reverse AIS (an upper bound in
    expectation), each with its own standard error.  Its ``log_z`` is the midpoint and its ``stderr`` adds both
    standard errors and half the gap between the ends in quadrature: never negative and never smaller than
    either end's error.  The ends bound ln Z on average over runs, not in every run; crossed ends (lower >
    upper) say that at least one estimate is off by more than its error.
    """
    from ..partition import Bracket
    if not isinstance(res, Bracket):
        d = res.to_dict()
        d.pop("log_weights")
        return d
    lo, up = res.ais, res.rais
    combined = math.sqrt(lo.stderr ** 2 + up.stderr ** 2 + (0.5 * (up.log_z - lo.log_z)) ** 2)
    return {"log_z": 0.5 * (lo.log_z + up.log_z), "stderr": combined, "method": "bracket",
            "lower": lo.log_z, "lower_stderr": lo.stderr, "upper": up.log_z, "upper_stderr": up.stderr,
            "crossed": bool(lo.log_z > up.log_z), **{k: v for k, v in res.to_dict().items() if k in ("ais", "rais")}}


def bracket_text(lower: float, lower_err: float, upper: float, upper_err: float, what: str = "ln Z") -> str:
    text = (f"  bracket: forward AIS {lower:.6f} ± {lower_err:.3g} (lower bound in expectation), reverse AIS {upper:.6f} ± "
            f"{upper_err:.3g} (upper bound in expectation): {what} lies between them on average over runs, not "
            "in every run")
    return text + ("; here the ends cross, so at least one is off by more than its error" if lower > upper else "")


def weights_figure(res: Any) -> Any:
    """Histogram of the importance log weights of each annealing direction."""
    from ..partition import Bracket
    from ..plots import subplots
    fig, ax = subplots(figsize=(6, 4))
    for r in [res.ais, res.rais] if isinstance(res, Bracket) else [res]:
        lw = r.log_weights.numpy()
        ax.hist(lw - lw.max(), bins=min(50, max(10, len(lw) // 4)), alpha=0.6,
                label=f"{r.method}: ln Z = {r.log_z:.3f} ± {r.stderr:.3f}, ESS {r.ess:.0f}/{r.n_runs}")
    ax.set_xlabel("ln w - max ln w")
    ax.set_ylabel("runs")
    ax.set_title("importance log weights (a narrow histogram means a trustworthy estimate)")
    ax.legend(fontsize=8)
    return fig


def weights_record(res: Any) -> dict[str, Any]:
    from ..partition import Bracket
    if isinstance(res, Bracket):
        return {"log_weights": {"ais": res.ais.log_weights.tolist(), "rais": res.rais.log_weights.tolist()}}
    return {"log_weights": res.log_weights.tolist()}


def log_likelihood_figure(model: Any, data: Any, log_z: float, ll: float, err: float) -> Any:
    """Histogram of ln p(v) over the data with the mean and its error."""
    from ..plots import subplots
    with torch.no_grad():
        lp = (-model.free_energy(model.visible_tensor(data, "data")).double() - log_z).cpu().numpy()
    fig, ax = subplots(figsize=(6, 4))
    ax.hist(lp, bins=50, color="tab:blue", alpha=0.8)
    ax.axvline(ll, color="k", lw=1.5, label=f"mean {ll:.3f} ± {err:.3f}")
    ax.set_xlabel("ln p(v) (nats)")
    ax.set_ylabel("samples")
    ax.set_title(f"log-likelihood of {len(lp)} samples")
    ax.legend()
    return fig


def model_info(model: Any, payload: dict[str, Any] | None, path: str) -> dict[str, Any]:
    """Structure, parameter statistics, tractability and training state of a model (`boltzlab info`)."""
    from ..models import RBM
    info: dict[str, Any] = {"path": path, "class": type(model).__name__, "visible_units": model.visible.type_name,
                            "hidden_units": model.hidden.type_name if isinstance(model, RBM) else None,
                            "n_visible": model.n_visible, "n_hidden": model.n_hidden,
                            "dtype": str(model.dtype).replace("torch.", ""),
                            "n_parameters": sum(p.numel() for p in model.parameters())}
    w = model.weights.detach()
    info.update(weight_mean=float(w.mean()), weight_std=float(w.std()), weight_max_abs=float(w.abs().max()),
                centered=bool(model.centered))
    log2 = min(layer.n_states_log2 for layer, _ in model.enumerable_marginals())
    info["exact_log_z_tractable"] = bool(log2 <= 24)
    info["enumeration_states_log2"] = None if math.isinf(log2) else log2
    if payload is not None and payload.get("kind") == "checkpoint":
        st = payload["trainer"]
        info.update(step=st["step"], epoch=st["epoch"], config=st["config"])
        if st["history"]:
            info["last_metrics"] = st["history"][-1]
    return info
