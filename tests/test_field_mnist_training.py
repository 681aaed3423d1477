"""Scalar-field RBMs trained on MNIST (Figs. 14-17 of the scalar-field paper): training follows the mode flow
eq. (81), the N_h scan of trained models against the fixed point of training (eq. 84)."""

import numpy as np
import pytest
import torch

from boltzlab.data import load_dataset, mnist_dir
from boltzlab.errors import ConfigError, DataError
from boltzlab.studies.pipelines.field_mnist import (hidden_scan, kl_figure, pool_images, regenerated_figure,
                                                    spectrum_figure, train_on_data)

@pytest.fixture(scope="module")
def images():
    try:
        path = mnist_dir()
    except DataError:
        pytest.skip("no MNIST test images ($BOLTZLAB_MNIST or ../shared/data/mnist)")
    return pool_images(load_dataset(str(path))[:500], 4)


pytestmark = pytest.mark.usefixtures("one_thread")


def test_pool_images_averages_blocks():
    x = np.arange(2 * 16, dtype=float).reshape(2, 16)
    p = pool_images(x, 2, side=4)
    assert p.shape == (2, 4) and p[0, 0] == pytest.approx((0 + 1 + 4 + 5) / 4)
    assert np.array_equal(pool_images(x, 1, side=4), x)
    with pytest.raises(ConfigError):
        pool_images(x, 3, side=4)


def test_training_follows_the_mode_flow(images):
    """The trained spectrum equals eq. (81) integrated per data mode to the same t; a wrong t would not."""
    run = train_on_data(images, 49, 100.0, 1500, record_every=300)
    assert run["flow_max_relative_deviation"] < 5e-3
    assert abs(run["modes_converged_trained"] - run["modes_converged_by_flow"]) <= 1
    lam = np.sort(run["history"].eigenvalues[-1])
    assert lam[0] == pytest.approx(run["kappa"][0], rel=0.02)
    early = np.sort(run["flow_eigenvalues"][1])[:5]
    assert np.abs(np.sort(lam)[:5] - early).max() > 10 * run["flow_max_relative_deviation"] * early.max()
    import matplotlib.figure
    assert isinstance(spectrum_figure(run), matplotlib.figure.Figure)


def test_hidden_scan_of_trained_models(images):
    scan = hidden_scan(images, [4, 49], 100.0, 300)
    r4, r49 = scan["rows"]
    assert r4["kl_trained_minus_best"] > r49["kl_trained_minus_best"]
    for r in scan["rows"]:
        assert r["kl_trained_minus_best"] >= r["kl_fixed_point_minus_best"] - 1e-9
    assert r49["kl_fixed_point_minus_best"] == pytest.approx(0.0, abs=1e-9)
    import matplotlib.figure
    assert isinstance(kl_figure(scan), matplotlib.figure.Figure)
    assert isinstance(regenerated_figure(scan, 7), matplotlib.figure.Figure)
