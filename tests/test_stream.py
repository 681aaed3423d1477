"""Data larger than memory: memory maps of .npy and IDX files, datasets read batch by batch, streamed training."""

import gzip

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, IterableDataset, TensorDataset

import boltzlab as bl
from boltzlab.data import ArrayDataset, minibatches, open_array, open_dataset, open_idx, read_idx
from boltzlab.errors import ConfigError, DataError
from boltzlab.training import TrainConfig, Trainer


def _idx_bytes(arr):
    header = bytes([0, 0, 0x08, arr.ndim]) + np.array(arr.shape, dtype=">u4").tobytes()
    return header + arr.astype(np.uint8).tobytes()


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, size=(50, 4, 5), dtype=np.uint8)
    raw = tmp_path / "train-images-idx3-ubyte"
    raw.write_bytes(_idx_bytes(arr))
    gz = tmp_path / "g" / "train-images-idx3-ubyte.gz"
    gz.parent.mkdir()
    gz.write_bytes(gzip.compress(_idx_bytes(arr)))
    return arr, raw, gz


def test_idx_memory_maps_equal_the_reader(images, tmp_path):
    arr, raw, gz = images
    for path in (raw, gz):
        m = open_idx(path, cache_dir=tmp_path / "cache")
        assert isinstance(m, np.memmap) and not m.flags.writeable
        np.testing.assert_array_equal(m, arr)
        np.testing.assert_array_equal(m, read_idx(path))
    # the decompressed copy is made once and reused
    assert len(list((tmp_path / "cache").iterdir())) == 1
    np.testing.assert_array_equal(open_array(gz.parent, cache_dir=tmp_path / "cache"), arr)
    raw.write_bytes(_idx_bytes(arr)[:-3])
    with pytest.raises(DataError, match="truncated"):
        open_idx(raw)


def test_npy_memory_map_and_dataset(tmp_path, images):
    arr, _, gz = images
    path = tmp_path / "x.npy"
    np.save(path, arr)
    m = open_array(path)
    assert isinstance(m, np.memmap)
    ds = open_dataset(gz, cache_dir=tmp_path / "c", binarize=0.5)
    assert len(ds) == 50 and ds.scale == pytest.approx(1 / 255)
    expect = (arr.reshape(50, 20) / 255.0 > 0.5).astype(np.float32)
    np.testing.assert_array_equal(ds.read_rows([7, 3, 40]).numpy(), expect[[7, 3, 40]])
    np.testing.assert_array_equal(ds[-1].numpy(), expect[-1])
    batch = next(iter(DataLoader(ds, batch_size=8)))
    np.testing.assert_array_equal(batch.numpy(), expect[:8])


def test_minibatches_cover_every_row_once():
    x = np.arange(103 * 2, dtype=np.float32).reshape(103, 2)
    batches = list(minibatches(x, 10, seed=3))
    assert [len(b) for b in batches] == [10] * 10 + [3]
    seen = torch.cat(batches)[:, 0].numpy() / 2
    np.testing.assert_array_equal(np.sort(seen), np.arange(103))
    assert not np.array_equal(seen, np.arange(103))  # shuffled
    assert [len(b) for b in minibatches(ArrayDataset(x), 10, shuffle=False, drop_last=True)] == [10] * 10


def _data(n=120, d=8):
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(n, d, generator=g) < 0.3).float()
    x[: n // 2, : d // 2] = 1.0
    return x


@pytest.mark.parametrize("kind", ["dataset", "loader", "memmap"])
def test_streamed_training_equals_in_memory_training(kind, tmp_path):
    x = _data()
    cfg = TrainConfig(n_hidden=4, epochs=3, batch_size=16, lr=0.05, seed=1, monitor_samples=50)
    if kind == "memmap":
        np.save(tmp_path / "x.npy", x.numpy())
        source = open_array(tmp_path / "x.npy")
    else:
        source = TensorDataset(x)
        source = DataLoader(source, batch_size=7) if kind == "loader" else source
    ref = Trainer.create(x, cfg, progress=False)
    got = Trainer.create(source, cfg, progress=False)
    assert got.fingerprint == ref.fingerprint
    ref.fit()
    got.fit()
    for a, b in zip(ref.model.parameters(), got.model.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert [r["pseudo_log_likelihood"] for r in ref.history] == [r["pseudo_log_likelihood"] for r in got.history]
    assert ref.history[-1]["train_log_likelihood"] == got.history[-1]["train_log_likelihood"]


def test_streamed_data_checked_and_iterable_refused():
    bad = TensorDataset(torch.full((10, 3), 0.5))
    with pytest.raises(bl.BoltzlabError):
        Trainer.create(bad, TrainConfig(n_hidden=2), progress=False).fit()

    class Stream(IterableDataset):
        def __iter__(self):
            yield torch.zeros(3)

    with pytest.raises(ConfigError, match="IterableDataset"):
        Trainer.create(DataLoader(Stream()), TrainConfig(n_hidden=2), progress=False)


def test_log_likelihood_of_streamed_data_equals_in_memory(tmp_path):
    x = _data(300, 8).numpy()
    np.save(tmp_path / "x.npy", x)
    g = torch.Generator().manual_seed(3)
    rbm = bl.BinaryRBM(torch.randn(8, 3, generator=g, dtype=torch.float64), dtype=torch.float64)
    log_z = bl.exact_log_z(rbm)
    ref = bl.log_likelihood(rbm, x, log_z)
    assert ref[0] == pytest.approx(bl.exact_log_likelihood(rbm, x), abs=1e-12)
    for source in (open_array(tmp_path / "x.npy"), TensorDataset(torch.as_tensor(x)),
                   DataLoader(ArrayDataset(x), batch_size=32)):
        got = bl.log_likelihood(rbm, source, log_z)
        assert got[0] == pytest.approx(ref[0], abs=1e-12) and got[1] == pytest.approx(ref[1], rel=1e-9)


def test_streamed_bm_training_equals_in_memory():
    x = _data(60, 6)
    cfg = TrainConfig(model="bm", epochs=2, batch_size=20, lr=0.05, seed=2)
    ref = Trainer.create(x, cfg, progress=False)
    got = Trainer.create(TensorDataset(x), cfg, progress=False)
    ref.fit()
    got.fit()
    for a, b in zip(ref.model.parameters(), got.model.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
