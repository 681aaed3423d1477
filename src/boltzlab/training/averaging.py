"""Parameter averaging along training: Polyak-Ruppert or an exponential moving average of the iterates.

Stochastic-gradient iterates jitter around the optimum with an amplitude set by the step size; their
average sits closer to it (Polyak & Juditsky, SIAM J. Control Optim. 30, 838 (1992)).  For RBMs averaging
the iterates gives a markedly better model at no sampling cost (Swersky, Chen, Marlin & de Freitas, ITA
2010, section 4.3).

The average is kept here rather than by ``torch.optim.swa_utils.AveragedModel`` because centered models
re-express their biases whenever the centering offsets move: averaging raw parameters taken at different
offsets would average numbers in different coordinates.  Before each averaging step the average is
therefore moved to the current offsets (``set_offsets`` leaves its distribution unchanged), so every
parameter is averaged in one coordinate system and the average is exactly that of the models.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from ..models import RBM

_OFFSETS = ("visible_offset", "hidden_offset")


class ParameterAverage:
    """The running average of a model's parameters and buffers.

    ``kind="ema"``: theta_avg <- theta_avg + (1 - decay) (theta - theta_avg) at every update.
    ``kind="polyak"``: the uniform mean of the iterates from update ``start`` on.
    """

    def __init__(self, model, kind: str = "ema", decay: float = 0.99, start: int = 0) -> None:
        self.kind = kind
        self.decay = float(decay)
        self.start = int(start)
        self.count = 0
        self.model = copy.deepcopy(model)
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model, step: int) -> None:
        """Fold the model's current state into the average (``step``: the update just made)."""
        if self.kind == "polyak" and step < self.start:
            self.model.load_state_dict(model.state_dict())
            return
        self.count += 1
        weight = 1.0 / self.count if self.kind == "polyak" else max(1.0 - self.decay, 1.0 / self.count)
        avg = self.model
        moved = isinstance(model, RBM)
        if moved:
            avg.set_offsets(model.visible_offset, model.hidden_offset)
        current = model.state_dict()
        for name, t in avg.state_dict().items():
            if t.is_floating_point() and not (moved and name in _OFFSETS):
                t.lerp_(current[name].to(t), weight)

    def state_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "decay": self.decay, "start": self.start, "count": self.count,
                "model": {k: v.cpu() for k, v in self.model.state_dict().items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.count = int(state["count"])
        self.model.load_state_dict(state["model"])
