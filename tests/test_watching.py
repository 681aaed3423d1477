"""Training that watches itself: oscillation/divergence diagnosis, chain-mixing diagnostics, parameter averaging."""

import copy

import pytest
import torch

import boltzlab as bl
from boltzlab.training import TrainConfig, Trainer
from boltzlab.training.averaging import ParameterAverage
from boltzlab.training.monitor import MixingTracker, TrainingMonitor, TrainingWarning
from conftest import random_rbm


def _history(values, norms=None):
    norms = norms or [1.0 + 0.1 * i for i in range(len(values))]
    return [{"test_log_likelihood": v, "weight_norm": n} for v, n in zip(values, norms)]


def test_a_zigzag_is_diagnosed_as_oscillation_and_halves_the_step():
    zigzag = [-30.0, -28.0, -33.0, -27.5, -34.0, -28.0, -32.0]
    mon = TrainingMonitor()
    with pytest.warns(TrainingWarning, match="oscillation"):
        diagnosis, factor = mon(_history(zigzag))
    assert diagnosis == "oscillation" and factor == 0.5
    with pytest.warns(TrainingWarning):  # still oscillating next epoch: warned, not halved again at once
        assert mon(_history(zigzag + [-27.0])) == ("oscillation", 1.0)
    assert TrainingMonitor(adapt=False).diagnose(_history(zigzag)) == "oscillation"


@pytest.mark.parametrize("curve", [
    [-40.0, -35.0, -32.0, -30.5, -29.8, -29.5, -29.3],           # steady progress
    [-30.0, -29.99, -30.01, -29.98, -30.0, -29.99, -30.0],      # converged: jitter below the tolerance
    [-40.0, -33.0, -34.0, -31.0, -31.5, -30.0, -30.2],          # noisy progress: advance beats the wiggles
])
def test_steady_or_converged_curves_are_left_alone(curve):
    assert TrainingMonitor().diagnose(_history(curve)) is None


def test_a_fall_from_the_best_with_growing_weights_is_divergence():
    falling = [-40.0, -30.0, -29.0, -29.5, -30.5, -32.0, -33.5, -35.0, -37.0]
    assert TrainingMonitor().diagnose(_history(falling)) == "divergence"
    shrinking = [3.0 - 0.1 * i for i in range(len(falling))]  # weights decaying (e.g. a penalty): not divergence
    assert TrainingMonitor().diagnose(_history(falling, shrinking)) is None


def test_the_monitor_falls_back_to_pseudo_likelihood():
    hist = [{"pseudo_log_likelihood": v, "weight_norm": 1.0}
            for v in (-9.0, -8.0, -10.0, -7.5, -10.5, -7.8, -10.2)]
    assert TrainingMonitor.quality(hist)[0] == "pseudo_log_likelihood"
    assert TrainingMonitor().diagnose(hist) == "oscillation"


def test_swings_within_the_noise_of_a_sampled_quality_are_not_oscillation():
    values = (-9.0, -8.0, -10.0, -7.5, -10.5, -7.8, -10.2)
    noisy = [{"pseudo_log_likelihood": v, "pseudo_log_likelihood_stderr": 1.5, "weight_norm": 1.0} for v in values]
    assert TrainingMonitor().diagnose(noisy) is None
    precise = [dict(r, pseudo_log_likelihood_stderr=0.1) for r in noisy]  # the same swings, now far above the noise
    assert TrainingMonitor().diagnose(precise) == "oscillation"


def test_the_recorded_pseudo_likelihood_error_matches_its_spread_over_seeds():
    from boltzlab.training.metrics import epoch_metrics
    model = random_rbm(20, 6, seed=1, scale=0.5)
    x = torch.bernoulli(torch.full((400, 20), 0.4), generator=torch.Generator().manual_seed(0))
    recs = [epoch_metrics(model, x, None, max_log2=0, n_monitor=400, seed=s) for s in range(40)]
    values = torch.tensor([r["pseudo_log_likelihood"] for r in recs])
    reported = float(torch.tensor([r["pseudo_log_likelihood_stderr"] for r in recs]).mean())
    # the spread over seeds is the site-choice part of the error only (the rows are fixed), so it is at most
    # the reported error and a sizeable part of it
    assert 0.3 * reported < float(values.std()) < 1.3 * reported


def _track(series):
    tr = MixingTracker()
    for x in series:
        tr.observe(x)
    return tr.summary()


def test_stuck_chains_show_long_autocorrelation_and_mixing_chains_none():
    g = torch.Generator().manual_seed(0)
    modes = (torch.arange(200) % 2).double().reshape(-1, 1).expand(200, 10)  # half the chains in each mode
    stuck = [modes + 0.05 * torch.randn(200, 10, generator=g, dtype=torch.float64) for _ in range(40)]
    fresh = [(torch.rand(200, 10, generator=g) < 0.5).double() for _ in range(40)]
    s, f = _track(stuck), _track(fresh)
    assert s["chain_autocorrelation"] > 0.9 and s["chain_autocorrelation_time"] > 20
    assert abs(f["chain_autocorrelation"]) < 0.1 and f["chain_autocorrelation_time"] < 1.5


def test_free_energy_gap_of_chains_and_data():
    rbm = random_rbm(5, 3, seed=4)
    g = torch.Generator().manual_seed(1)
    data = (torch.rand(30, 5, generator=g) < 0.5).double()
    chains = (torch.rand(20, 5, generator=g) < 0.5).double()
    gap = MixingTracker().summary(rbm, data, chains)["sample_minus_data_log_prob"]
    want = -rbm.visible_free_energy(chains).mean() + rbm.visible_free_energy(data).mean()
    assert gap == pytest.approx(float(want.detach()))


def test_polyak_average_is_the_mean_of_the_iterates():
    models = [random_rbm(5, 3, seed=s) for s in range(4)]
    avg = ParameterAverage(models[0], "polyak", start=2)
    for step, m in enumerate(models, start=1):
        avg.update(m, step)
    for name, t in avg.model.state_dict().items():
        assert torch.allclose(t, (models[1].state_dict()[name] + models[2].state_dict()[name]
                                  + models[3].state_dict()[name]) / 3, atol=1e-12), name


def test_average_of_centered_models_is_the_average_of_their_distributions_parameters():
    """Two centered RBMs at different offsets average to the model whose uncentered parameters are the mean
    of theirs (the average is kept in one coordinate system)."""
    a = random_rbm(5, 3, seed=1, offsets=True)
    b = random_rbm(5, 3, seed=2, offsets=True)
    avg = ParameterAverage(a, "ema", decay=0.5)
    avg.update(a, 1)
    avg.update(b, 2)  # weight max(1 - 0.5, 1/2): the plain mean of a and b
    plain = []
    for m in (a, b):
        u = copy.deepcopy(m)
        u.set_offsets(torch.zeros(5, dtype=u.dtype), torch.zeros(3, dtype=u.dtype))
        plain.append(u)
    ref = copy.deepcopy(plain[0])
    for name, t in ref.state_dict().items():
        t.copy_((plain[0].state_dict()[name] + plain[1].state_dict()[name]) / 2)
    v = torch.tensor([[int(c) for c in f"{i:05b}"] for i in range(32)], dtype=a.dtype)
    got = avg.model.visible_free_energy(v)
    want = ref.visible_free_energy(v)
    assert torch.allclose(got - got[0], want - want[0], atol=1e-10)  # equal distributions
    naive = copy.deepcopy(a)  # averaging raw numbers taken at different offsets gives another model
    for name, t in naive.state_dict().items():
        t.copy_((a.state_dict()[name] + b.state_dict()[name]) / 2)
    off = naive.visible_free_energy(v)
    assert not torch.allclose(off - off[0], want - want[0], atol=1e-3)


def test_trainer_saves_the_average_beside_the_model_and_resumes_it(tmp_path):
    data = (torch.rand(120, 6, generator=torch.Generator().manual_seed(0)) < 0.4).double()
    cfg = TrainConfig(n_hidden=3, epochs=4, batch_size=20, seed=0, dtype="float64", average="ema",
                         average_decay=0.9)
    whole = Trainer.create(data, cfg, test=data[:40], out_dir=tmp_path / "a", progress=False)
    whole.fit()
    half = Trainer.create(data, TrainConfig(**{**cfg.to_dict(), "epochs": 2}), test=data[:40],
                             out_dir=tmp_path / "b", progress=False)
    half.fit()
    resumed = Trainer.resume(tmp_path / "b" / "checkpoint.pt", data, test=data[:40], epochs=4, progress=False)
    resumed.fit()
    saved = bl.load_model(tmp_path / "a" / "averaged.pt")
    for name, t in whole.average.model.state_dict().items():
        assert torch.equal(saved.state_dict()[name], t)
        assert torch.equal(resumed.average.model.state_dict()[name], t), name
    assert whole.history[-1]["test_log_likelihood_averaged"] is not None
    assert not torch.equal(saved.weights, whole.model.weights)
