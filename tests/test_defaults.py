"""The recommended training settings on ordered-phase 2D Ising data (two magnetised modes of equal weight):
they recover the mode weights and most of the log-likelihood gap; plain PCD with the same sweeps does not."""

import numpy as np
import pytest
import torch

from boltzlab.data.ising import ising2d, ising2d_exact_stats
from boltzlab.models import BinaryRBM
from boltzlab.partition.exact import count_distribution, exact_log_likelihood
from boltzlab.training import TrainConfig, Trainer

N_TRAIN, N_TEST = 1000, 1000


def _ising_bits(L, beta, seed):
    s = ising2d(L, beta, N_TRAIN + N_TEST, seed=seed).reshape(-1, L * L).astype(np.float32)
    x = (s + 1) / 2
    return x[:N_TRAIN], x[N_TRAIN:], s[N_TRAIN:]


def _judge(model, L, beta, train, spins):
    """(weight of the positive-magnetisation mode, fraction of the held-out log-likelihood gap closed)."""
    n = L * L
    pmf = count_distribution(model).numpy()  # exact P(number of up spins), 2^n_hidden terms
    up = np.arange(n + 1)
    w_plus = float(pmf[2 * up > n].sum() + 0.5 * pmf[2 * up == n].sum())
    grid = spins.reshape(-1, L, L)
    bonds = (grid * np.roll(grid, 1, 1)).sum((1, 2)) + (grid * np.roll(grid, 1, 2)).sum((1, 2))
    truth = float((beta * bonds).mean() - ising2d_exact_stats(L, beta)["log_z"])
    indep = BinaryRBM(torch.zeros(n, 1), dtype=torch.float64)
    indep.visible.init_from_data(torch.as_tensor(train, dtype=torch.float64), eps=1e-6)
    test = (spins + 1) / 2
    low = exact_log_likelihood(indep, test)
    return w_plus, (exact_log_likelihood(model, test) - low) / (truth - low)


def _train(train, test, **options):
    cfg = TrainConfig.recommended(len(train), n_hidden=8, seed=0, monitor_samples=0, **options)
    tr = Trainer.create(torch.as_tensor(train), cfg, test=torch.as_tensor(test), progress=False)
    tr.fit()
    return tr.model, cfg


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::boltzlab.training.monitor.TrainingWarning")  # PCD diverges, as it should
@pytest.mark.parametrize("L, beta, seed", [(4, 0.8, 1), (5, 0.6, 1)])
def test_recommended_settings_recover_the_modes_where_pcd_with_the_same_sweeps_fails(L, beta, seed):
    train, test, spins = _ising_bits(L, beta, seed)
    model, cfg = _train(train, test)
    assert cfg.method == "pt" and cfg.centered
    w_plus, gap = _judge(model, L, beta, train, spins)
    assert abs(w_plus - 0.5) < 0.05 and gap >= 0.85, (w_plus, gap)
    sweeps = cfg.k * cfg.n_replicas  # the tempering ladder sweeps every rung once per step
    pcd, _ = _train(train, test, method="pcd", k=sweeps)
    w_pcd, gap_pcd = _judge(pcd, L, beta, train, spins)
    assert abs(w_pcd - 0.5) > 0.1 or gap_pcd < 0.85, (w_pcd, gap_pcd)
