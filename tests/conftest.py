import itertools
import os

import pytest
import torch

# pytest -n 2 on the 2 cores of CI: one torch thread per worker.  Two threads per worker oversubscribe the
# cores and make small linear-algebra calls up to 100x slower.
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)

import boltzlab as bl


def all_states(n: int, values=(0.0, 1.0)) -> torch.Tensor:
    return torch.tensor(list(itertools.product(values, repeat=n)), dtype=torch.float64)


def brute_force_log_z(model, beta: float = 1.0) -> float:
    """Independent reference: ln sum over every joint state (v, h) of exp(-beta E), via model.energy."""
    vv = all_states(model.n_visible, tuple(model.visible.unit_values.tolist()))
    hh = all_states(model.n_hidden, tuple(model.hidden.unit_values.tolist()))
    v = vv.repeat_interleave(len(hh), 0)
    h = hh.repeat(len(vv), 1)
    with torch.no_grad():
        e = model.energy(v, h).double()
    return float(torch.logsumexp(-beta * e, 0))


def random_rbm(nv: int, nh: int, scale: float = 1.0, seed: int = 0, cls=bl.BinaryRBM, offsets: bool = False):
    g = torch.Generator().manual_seed(seed)
    kw = {}
    if offsets:
        kw = dict(visible_offset=torch.rand(nv, generator=g, dtype=torch.float64),
                  hidden_offset=torch.rand(nh, generator=g, dtype=torch.float64))
    return cls(torch.randn(nv, nh, generator=g, dtype=torch.float64) * scale,
               torch.randn(nv, generator=g, dtype=torch.float64) * 0.5,
               torch.randn(nh, generator=g, dtype=torch.float64) * 0.5, dtype=torch.float64, **kw)


@pytest.fixture
def small_rbm():
    return random_rbm(6, 4, scale=1.0, seed=1)


@pytest.fixture
def one_thread():
    """Small linear algebra on shared cores: one torch thread for the test (modules opt in with
    ``pytestmark = pytest.mark.usefixtures("one_thread")``)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
