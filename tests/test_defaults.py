"""The recommended training settings on ordered-phase 2D Ising data (two magnetised modes of equal weight):
they recover the mode weights and most of the log-likelihood gap; plain PCD with the same sweeps does not."""

import numpy as np
import pytest
import torch

from boltzlab.data.ising import ising2d, ising2d_exact_stats
from boltzlab.models import BinaryRBM
from boltzlab.partition.exact import exact_log_likelihood, exact_log_prob, exact_log_z
from boltzlab.training import TrainConfig, Trainer

L, BETA, N_TRAIN, N_TEST = 4, 0.8, 1000, 1000


def _ising_bits(seed):
    s = ising2d(L, BETA, N_TRAIN + N_TEST, seed=seed).reshape(-1, L * L).astype(np.float32)
    x = (s + 1) / 2
    return x[:N_TRAIN], x[N_TRAIN:], s[N_TRAIN:]


def _judge(model, train, test, spins):
    """(weight of the positive-magnetisation mode, fraction of the held-out log-likelihood gap closed)."""
    n = L * L
    states = ((torch.arange(1 << n)[:, None] >> torch.arange(n)) & 1).double()
    p = exact_log_prob(model, states, log_z=exact_log_z(model)).exp()
    excess = states.sum(1) - n / 2
    w_plus = float(p[excess > 0].sum() + 0.5 * p[excess == 0].sum())
    grid = spins.reshape(-1, L, L)
    bonds = (grid * np.roll(grid, 1, 1)).sum((1, 2)) + (grid * np.roll(grid, 1, 2)).sum((1, 2))
    truth = float((BETA * bonds).mean() - ising2d_exact_stats(L, BETA)["log_z"])
    indep = BinaryRBM(torch.zeros(n, 1), dtype=torch.float64)
    indep.visible.init_from_data(torch.as_tensor(train, dtype=torch.float64), eps=1e-6)
    low = exact_log_likelihood(indep, test)
    return w_plus, (exact_log_likelihood(model, test) - low) / (truth - low)


def _train(train, test, **options):
    cfg = TrainConfig.recommended(len(train), n_hidden=8, seed=0, monitor_samples=0, **options)
    tr = Trainer.create(torch.as_tensor(train), cfg, test=torch.as_tensor(test), progress=False)
    tr.fit()
    return tr.model, cfg


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::boltzlab.training.monitor.TrainingWarning")  # PCD diverges, as it should
def test_recommended_settings_recover_the_modes_where_pcd_with_the_same_sweeps_fails():
    train, test, spins = _ising_bits(seed=1)
    model, cfg = _train(train, test)
    assert cfg.method == "pt" and cfg.centered
    w_plus, gap = _judge(model, train, test, spins)
    assert abs(w_plus - 0.5) < 0.05 and gap >= 0.85, (w_plus, gap)
    sweeps = cfg.k * cfg.n_replicas  # the tempering ladder sweeps every rung once per step
    pcd, _ = _train(train, test, method="pcd", k=sweeps)
    w_pcd, gap_pcd = _judge(pcd, train, test, spins)
    assert abs(w_pcd - 0.5) > 0.1 or gap_pcd < 0.85, (w_pcd, gap_pcd)
