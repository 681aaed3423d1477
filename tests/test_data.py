"""Tests of boltzlab.data: IDX/MNIST reading, array files, transforms, the exact Ising sampler."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from boltzlab.data import (BETA_C, binarize, default_dataset, flatten_images, ising2d, ising2d_exact_stats,
                           load_dataset, load_mnist, read_array, read_idx, scale_to_unit, to_spins,
                           train_test_split)
from boltzlab.errors import ConfigError, DataError, DomainError, ShapeError

MNIST_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"  # ../shared beside the repo

# ----------------------------------------------------------------------------- helpers

_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def idx_bytes(arr: np.ndarray, code: int) -> bytes:
    """A minimal IDX writer, independent of the reader under test."""
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    return header + np.ascontiguousarray(arr).astype(_IDX_DTYPES[code]).tobytes()


def write(path: Path, data: bytes, gz: bool = False) -> Path:
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def one_line_error(excinfo, *fragments: str) -> None:
    msg = str(excinfo.value)
    assert "\n" not in msg and msg.strip() == msg and msg
    for f in fragments:
        assert f in msg, (f, msg)


def sample_array(code: int, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    dt = np.dtype(_IDX_DTYPES[code]).newbyteorder("=")
    if dt.kind == "f":
        return rng.standard_normal(shape).astype(dt)
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dt)


# ----------------------------------------------------------------------------- IDX


@pytest.mark.parametrize("code", sorted(_IDX_DTYPES))
@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip(tmp_path, code, gz):
    rng = np.random.default_rng(code)
    for shape in [(7,), (3, 4, 5), (2, 1, 3, 2)]:
        arr = sample_array(code, shape, rng)
        p = write(tmp_path / f"a{len(shape)}.idx", idx_bytes(arr, code), gz)   # name says nothing of gzip
        out = read_idx(p)
        assert out.shape == shape
        assert out.dtype == arr.dtype and out.dtype.isnative
        np.testing.assert_array_equal(out, arr)
        out[...] = 0                                                        # writable


def test_idx_plain_file_named_gz(tmp_path):
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
    p = write(tmp_path / "plain.gz", idx_bytes(arr, 0x08))
    np.testing.assert_array_equal(read_idx(p), arr)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_truncated_payload(tmp_path, gz):
    data = idx_bytes(np.arange(60, dtype=np.int16).reshape(3, 20), 0x0B)
    p = write(tmp_path / "t.idx", data[:-1], gz)
    with pytest.raises(DataError) as ei:
        read_idx(p)
    one_line_error(ei, "t.idx", "truncated", "120 bytes", "found 119")


def test_idx_trailing_bytes(tmp_path):
    p = write(tmp_path / "t.idx", idx_bytes(np.zeros(4, np.uint8), 0x08) + b"\x00")
    with pytest.raises(DataError) as ei:
        read_idx(p)
    one_line_error(ei, "trailing")


@pytest.mark.parametrize("content", [b"", b"\x00\x00", b"\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00"])
def test_idx_truncated_header(tmp_path, content):
    with pytest.raises(DataError) as ei:
        read_idx(write(tmp_path / "h.idx", content))
    one_line_error(ei, "h.idx")


@pytest.mark.parametrize("magic", [b"\x01\x00\x08\x01", b"\x00\x01\x08\x01", b"\x00\x00\x0a\x01",
                                   b"\x00\x00\x08\x00", b"PK\x03\x04"])
def test_idx_bad_magic(tmp_path, magic):
    p = write(tmp_path / "bad.idx", magic + b"\x00\x00\x00\x01" + b"\x05")
    with pytest.raises(DataError) as ei:
        read_idx(p)
    one_line_error(ei, "bad.idx", "not an IDX file")


def test_idx_truncated_and_corrupt_gzip(tmp_path):
    rng = np.random.default_rng(0)
    gz = gzip.compress(idx_bytes(rng.integers(0, 256, (50, 28, 28)).astype(np.uint8), 0x08))
    for name, content in {"cut_end": gz[:-5], "cut_half": gz[: len(gz) // 2], "cut_header": gz[:6]}.items():
        with pytest.raises(DataError) as ei:
            read_idx(write(tmp_path / name, content))
        one_line_error(ei, name, "gzip")
    corrupt = bytearray(gz)
    corrupt[len(gz) // 2] ^= 0xFF
    corrupt[len(gz) // 2 + 1] ^= 0x55
    with pytest.raises(DataError) as ei:
        read_idx(write(tmp_path / "corrupt", bytes(corrupt)))
    one_line_error(ei, "corrupt")
    bad_crc = bytearray(gz)
    bad_crc[-6] ^= 0x01                                                     # CRC32 of the payload
    with pytest.raises(DataError):
        read_idx(write(tmp_path / "crc", bytes(bad_crc)))


def test_idx_missing_file_and_directory(tmp_path):
    with pytest.raises(DataError) as ei:
        read_idx(tmp_path / "nope")
    one_line_error(ei, "nope", "no such file")
    with pytest.raises(DataError):
        read_idx(tmp_path)


# ----------------------------------------------------------------------------- MNIST


def _fake_mnist(directory: Path, n: int, *, split="t10k", sep="-", gz=False, labels=True) -> np.ndarray:
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8)
    suffix = ".gz" if gz else ""
    write(directory / f"{split}-images{sep}idx3-ubyte{suffix}", idx_bytes(images, 0x08), gz)
    if labels:
        write(directory / f"{split}-labels{sep}idx1-ubyte{suffix}",
              idx_bytes(rng.integers(0, 10, n).astype(np.uint8), 0x08), gz)
    return images


@pytest.mark.parametrize("sep,gz", [("-", False), ("-", True), (".", False), (".", True)])
def test_load_mnist_spellings(tmp_path, sep, gz):
    images = _fake_mnist(tmp_path, 5, sep=sep, gz=gz)
    x, y = load_mnist(tmp_path, "test")
    np.testing.assert_array_equal(x, images)
    assert y.shape == (5,) and y.dtype == np.uint8


def test_load_mnist_labels_optional_and_errors(tmp_path):
    images = _fake_mnist(tmp_path, 4, split="train", labels=False)
    x, y = load_mnist(tmp_path, split="train")
    np.testing.assert_array_equal(x, images)
    assert y is None
    with pytest.raises(DataError) as ei:
        load_mnist(tmp_path, split="test")
    one_line_error(ei, "no MNIST test images", "t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz",
                   "t10k-images.idx3-ubyte")
    with pytest.raises(ConfigError):
        load_mnist(tmp_path, split="validation")
    with pytest.raises(DataError):
        load_mnist(tmp_path / "missing")
    # labels inconsistent with images
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.zeros(3, np.uint8), 0x08))
    with pytest.raises(DataError) as ei:
        load_mnist(tmp_path, split="train")
    one_line_error(ei, "3 labels for 4 images")


@pytest.mark.skipif(not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists(), reason="MNIST test set absent")
def test_real_mnist_test_set():
    images, labels = load_mnist(MNIST_DIR, "test")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert set(np.unique(labels)) == set(range(10))
    assert images.max() == 255 and images.min() == 0
    assert 0.10 < images.mean() / 255 < 0.15                                # MNIST mean intensity 0.13
    with pytest.raises(DataError, match="no MNIST train images"):           # only labels of train here
        load_mnist(MNIST_DIR, "train")
    x = load_dataset(str(MNIST_DIR))
    assert x.shape == (10000, 784) and x.dtype == np.float32
    np.testing.assert_allclose(x[17], images[17].reshape(-1) / 255, rtol=1e-6)
    xb = load_dataset(MNIST_DIR, binarize="stochastic", seed=3)
    assert set(np.unique(xb)) == {0.0, 1.0}
    assert abs(xb.mean() - x.mean()) < 0.002


# ----------------------------------------------------------------------------- read_array


def test_read_array_npy_npz(tmp_path):
    a = np.arange(12.0).reshape(3, 4)
    np.save(tmp_path / "a.npy", a)
    np.testing.assert_array_equal(read_array(tmp_path / "a.npy"), a)
    np.savez(tmp_path / "one.npz", x=a)
    np.testing.assert_array_equal(read_array(tmp_path / "one.npz"), a)
    np.savez(tmp_path / "data.npz", labels=np.arange(3), data=a)
    np.testing.assert_array_equal(read_array(tmp_path / "data.npz"), a)
    np.testing.assert_array_equal(read_array(tmp_path / "data.npz", key="labels"), np.arange(3))
    np.savez(tmp_path / "many.npz", train=a, test=a[:1])
    with pytest.raises(DataError) as ei:
        read_array(tmp_path / "many.npz")
    one_line_error(ei, "many.npz", "train", "test")
    with pytest.raises(DataError) as ei:
        read_array(tmp_path / "many.npz", key="valid")
    one_line_error(ei, "'valid'", "train, test")
    np.testing.assert_array_equal(read_array(tmp_path / "many.npz", key="test"), a[:1])


def test_read_array_rejects_bad_content(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    np.save(tmp_path / "empty.npy", np.zeros((0, 3)))
    np.save(tmp_path / "str.npy", np.array(["a", "b"]))
    np.save(tmp_path / "nan.npy", np.array([1.0, np.nan]))
    np.savez(tmp_path / "objz.npz", data=np.array([None], dtype=object))
    (tmp_path / "junk.npy").write_bytes(b"not numpy at all")
    (tmp_path / "trunc.npy").write_bytes((tmp_path / "nan.npy").read_bytes()[:-4])
    (tmp_path / "bin.dat").write_bytes(b"\x01\x02\x00\x00\xff" * 10)
    (tmp_path / "words.csv").write_text("a,b\nc,d\n")
    (tmp_path / "empty.csv").write_text("x,y\n")
    (tmp_path / "ragged.txt").write_text("1 2 3\n4 5\n")
    for name in ["obj.npy", "empty.npy", "str.npy", "nan.npy", "objz.npz", "junk.npy", "trunc.npy", "bin.dat",
                 "words.csv", "empty.csv", "ragged.txt", "missing.npy"]:
        with pytest.raises(DataError) as ei:
            read_array(tmp_path / name)
        one_line_error(ei, name)


def test_read_array_text(tmp_path):
    (tmp_path / "h.csv").write_text("a, b, c\n1, 2, 3\n4, 5.5, 6\n")
    np.testing.assert_array_equal(read_array(tmp_path / "h.csv"), [[1, 2, 3], [4, 5.5, 6]])
    (tmp_path / "w.txt").write_text("# comment\n1 2\t3\n\n4 5 6\n")
    np.testing.assert_array_equal(read_array(tmp_path / "w.txt"), [[1, 2, 3], [4, 5, 6]])
    (tmp_path / "col.csv").write_text("0\n1\n1\n")
    assert read_array(tmp_path / "col.csv").shape == (3, 1)
    write(tmp_path / "g.csv.gz", b"x,y\n0,1\n1,0\n", gz=True)
    np.testing.assert_array_equal(read_array(tmp_path / "g.csv.gz"), [[0, 1], [1, 0]])
    (tmp_path / "twoheaders.csv").write_text("a,b\nc,d\n1,2\n")
    with pytest.raises(DataError) as ei:
        read_array(tmp_path / "twoheaders.csv")
    one_line_error(ei, "twoheaders.csv", "line 2", "'c' is not a number")
    (tmp_path / "ragged.csv").write_text("1,2,3\n\n4,5\n")
    with pytest.raises(DataError) as ei:
        read_array(tmp_path / "ragged.csv")
    one_line_error(ei, "line 3 has 2 values")


def test_read_array_idx_and_mnist_dir(tmp_path):
    arr = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    write(tmp_path / "x.idx", idx_bytes(arr, 0x0C), gz=True)
    np.testing.assert_array_equal(read_array(tmp_path / "x.idx"), arr)
    d = tmp_path / "mnist"
    d.mkdir()
    with pytest.raises(DataError) as ei:
        read_array(d)
    one_line_error(ei, "without MNIST images")
    test = _fake_mnist(d, 3, gz=True)
    np.testing.assert_array_equal(read_array(d), test)
    train = _fake_mnist(d, 6, split="train")
    assert read_array(d).shape == (6, 28, 28)                              # train preferred
    np.testing.assert_array_equal(read_array(d, key="test"), test)
    np.testing.assert_array_equal(read_array(d, key="train"), train)
    with pytest.raises(ConfigError):
        read_array(d, key="valid")


# ----------------------------------------------------------------------------- transforms


def test_flatten_and_scale():
    x = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    f = flatten_images(x)
    assert f.shape == (2, 12) and f.dtype == np.float32
    np.testing.assert_array_equal(f[1], np.arange(12, 24))
    assert flatten_images(np.zeros((5, 7))).shape == (5, 7)
    with pytest.raises(ShapeError):
        flatten_images(np.zeros(5))
    s = scale_to_unit(np.array([0, 51, 255], dtype=np.uint8))
    assert s.dtype == np.float32
    np.testing.assert_allclose(s, [0, 0.2, 1])
    u = np.array([0.0, 0.25, 1.0])
    assert scale_to_unit(u) is u
    np.testing.assert_allclose(scale_to_unit(flatten_images(x)), flatten_images(x) / 255)
    for bad in (np.array([-1.0, 0.5]), np.array([0.5, 2.5]), np.array([300]), np.array([np.nan])):
        with pytest.raises(DomainError):
            scale_to_unit(bad)


def test_binarize_threshold():
    x = np.array([[0.0, 0.5, 0.51, 1.0]], dtype=np.float32)
    np.testing.assert_array_equal(binarize(x), [[0, 0, 1, 1]])
    np.testing.assert_array_equal(binarize(x, threshold=0.2), [[0, 1, 1, 1]])
    assert binarize(x).dtype == np.float32 and binarize(x.astype(np.float64)).dtype == np.float64
    with pytest.raises(DomainError) as ei:
        binarize(np.array([0, 128, 255], dtype=np.uint8))
    one_line_error(ei, "outside [0, 1]", "scale_to_unit")
    with pytest.raises(DomainError):
        binarize(np.array([0.5, np.nan]))
    with pytest.raises(ConfigError):
        binarize(x, method="otsu")
    with pytest.raises(ConfigError):
        binarize(x, threshold=1.5)


def test_binarize_stochastic():
    p = np.repeat(np.array([0.0, 0.1, 0.5, 0.9, 1.0]), 40_000).reshape(5, -1)
    b = binarize(p, method="stochastic", seed=11)
    assert set(np.unique(b)) == {0.0, 1.0}
    np.testing.assert_array_equal(b, binarize(p, method="stochastic", seed=11))
    assert not np.array_equal(b, binarize(p, method="stochastic", seed=12))
    means = b.mean(axis=1)
    assert means[0] == 0 and means[-1] == 1
    se = np.sqrt(p[:, 0] * (1 - p[:, 0]) / p.shape[1])
    assert np.all(np.abs(means[1:4] - p[1:4, 0]) < 5 * se[1:4])
    with pytest.raises(DomainError):
        binarize(p + 0.5, method="stochastic", seed=0)


def test_train_test_split():
    x = np.arange(100).reshape(50, 2)
    y = np.arange(50)
    tr, te = train_test_split(x, seed=3)
    assert te.shape == (10, 2) and tr.shape == (40, 2)
    tr2, te2 = train_test_split(x, seed=3)
    np.testing.assert_array_equal(tr, tr2)
    np.testing.assert_array_equal(te, te2)
    assert not np.array_equal(te, train_test_split(x, seed=4)[1])
    assert set(tr[:, 0]).isdisjoint(te[:, 0])
    assert sorted(np.concatenate([tr[:, 0], te[:, 0]])) == list(range(0, 100, 2))
    xtr, xte, ytr, yte = train_test_split(x, y, n_test=7, seed=0)
    assert len(xte) == len(yte) == 7 and len(xtr) == len(ytr) == 43
    np.testing.assert_array_equal(xte[:, 0] // 2, yte)                     # rows and labels stay paired
    np.testing.assert_array_equal(xtr[:, 0] // 2, ytr)
    assert len(train_test_split(x, test_fraction=0.5)[1]) == 25
    for kwargs in ({"test_fraction": 0.0}, {"test_fraction": 1.0}, {"n_test": 0}, {"n_test": 50},
                   {"n_test": 3, "test_fraction": 0.1}):
        with pytest.raises(ConfigError):
            train_test_split(x, **kwargs)
    with pytest.raises(ShapeError):
        train_test_split(x, y[:-1])


def test_train_test_split_torch():
    torch = pytest.importorskip("torch")
    x = torch.arange(20.0).reshape(10, 2)
    tr, te = train_test_split(x, n_test=3, seed=1)
    assert isinstance(tr, torch.Tensor) and te.shape == (3, 2)


def test_to_spins():
    np.testing.assert_array_equal(to_spins(np.array([0, 1, 1], dtype=np.uint8)), [-1, 1, 1])
    assert to_spins(np.array([0.5]))[0] == 0.0
    with pytest.raises(DomainError):
        to_spins(np.array([-1.0, 1.0]))


# ----------------------------------------------------------------------------- Ising: exact values


def enumerate_states(L: int) -> np.ndarray:
    N = L * L
    idx = np.arange(2 ** N)
    return (2 * ((idx[:, None] >> np.arange(N)) & 1) - 1).astype(np.int8).reshape(-1, L, L)


def energies(s: np.ndarray, J: float = 1.0) -> np.ndarray:
    """H = -J sum over the right and the lower neighbour of every site, periodic."""
    s = s.astype(np.int64)
    return -J * ((s * np.roll(s, -1, axis=-1)).sum((-2, -1)) + (s * np.roll(s, -1, axis=-2)).sum((-2, -1)))


def boltzmann(L: int, beta: float, J: float = 1.0):
    s = enumerate_states(L)
    E = energies(s, J)
    logw = -beta * E
    w = np.exp(logw - logw.max())
    return s, E, w / w.sum(), np.log(w.sum()) + logw.max()


@pytest.mark.parametrize("L", [2, 3, 4])
@pytest.mark.parametrize("beta,J", [(0.0, 1.0), (0.2, 1.0), (BETA_C, 1.0), (1.0, 1.0), (0.3, -1.0), (0.7, 0.5)])
def test_exact_stats_match_enumeration(L, beta, J):
    s, E, p, log_z = boltzmann(L, beta, J)
    N = L * L
    M = s.reshape(len(s), -1).sum(axis=1)
    st = ising2d_exact_stats(L, beta, J)
    assert abs(st["log_z"] - log_z) < 1e-10
    assert abs(st["energy_per_site"] - p @ E / N) < 1e-10
    assert abs(st["abs_magnetisation"] - p @ np.abs(M) / N) < 1e-10
    assert abs(st["magnetisation_sq"] - p @ (M / N) ** 2) < 1e-10
    pmf = np.bincount((M + N) // 2, weights=p, minlength=N + 1)
    np.testing.assert_allclose(st["magnetisation_pmf"], pmf, rtol=0, atol=1e-12)
    np.testing.assert_allclose(st["magnetisation_values"], (2 * np.arange(N + 1) - N) / N)


def test_exact_stats_limits():
    assert ising2d_exact_stats(6, 0.0)["energy_per_site"] == 0.0
    cold = ising2d_exact_stats(10, 2.0)
    assert abs(cold["energy_per_site"] + 2) < 1e-6 and abs(cold["abs_magnetisation"] - 1) < 1e-6
    np.testing.assert_allclose(cold["magnetisation_pmf"].sum(), 1.0, rtol=1e-12)
    for bad in [dict(L=1, beta=0.4), dict(L=11, beta=0.4), dict(L=4, beta=-0.1), dict(L=4, beta=float("nan")),
                dict(L=4, beta=6.0), dict(L=4.5, beta=0.1)]:
        with pytest.raises(ConfigError):
            ising2d_exact_stats(**bad)


# ----------------------------------------------------------------------------- Ising: sampler statistics


def chi2_pvalue(counts: np.ndarray, expected: np.ndarray, min_expected: float = 5.0) -> float:
    """Pearson chi-square p-value; bins with expected count < min_expected are pooled into one."""
    small = expected < min_expected
    obs = np.append(counts[~small], counts[small].sum())
    exp = np.append(expected[~small], expected[small].sum())
    if exp[-1] == 0:
        obs, exp = obs[:-1], exp[:-1]
    chi2 = float(((obs - exp) ** 2 / exp).sum())
    return float(stats.chi2.sf(chi2, len(obs) - 1))


def level_pvalue(sample_values: np.ndarray, all_values: np.ndarray, p: np.ndarray) -> float:
    levels, inv = np.unique(all_values, return_inverse=True)
    expected = np.bincount(inv, weights=p) * len(sample_values)
    counts = np.array([(sample_values == v).sum() for v in levels])
    assert counts.sum() == len(sample_values)                              # no impossible level sampled
    return chi2_pvalue(counts, expected)


def state_index(x: np.ndarray) -> np.ndarray:
    n = x.shape[0]
    return (x.reshape(n, -1) > 0).astype(np.int64) @ (1 << np.arange(x[0].size))


# Calibration (checked by hand, n = 20000): the correct sampler gives p-values 0.1..0.98 here, while
# 5 % too high or too low a beta gives p < 1e-21 on the energy levels, open boundaries p = 0, and
# mutated samplers (no wrap inside a column, a transfer-matrix power off by one, a uniform first column,
# forgetting the first column in the conditionals) p < 1e-9.  The threshold 1e-4 separates them.
P_MIN = 1e-4
N_STAT = 20_000


@pytest.mark.parametrize("L", [3, 4])
@pytest.mark.parametrize("beta", [0.25, 0.44])
def test_ising_sampler_matches_enumeration(L, beta):
    s, E, p, _ = boltzmann(L, beta)
    x = ising2d(L, beta, N_STAT, seed=1)
    assert x.shape == (N_STAT, L, L) and x.dtype == np.int8
    assert set(np.unique(x)) <= {-1, 1}
    assert level_pvalue(energies(x), E, p) > P_MIN
    assert level_pvalue(np.abs(x.sum((1, 2))), np.abs(s.sum((1, 2))), p) > P_MIN
    joint_all = energies(s) * 1000 + s.sum((1, 2))
    assert level_pvalue(energies(x) * 1000 + x.sum((1, 2)), joint_all, p) > P_MIN
    if L == 3:                                                              # the full state space
        counts = np.bincount(state_index(x), minlength=2 ** 9)
        assert chi2_pvalue(counts, N_STAT * p) > P_MIN
        tv = 0.5 * np.abs(counts / N_STAT - p).sum()
        assert tv < 0.06                                                    # ~0.04 expected from noise alone


@pytest.mark.parametrize("L", [3, 4])
def test_ising_test_detects_wrong_beta_and_boundaries(L):
    beta = 0.44
    s, E, p, _ = boltzmann(L, beta)
    for wrong in (0.95 * beta, 1.05 * beta):
        x = ising2d(L, wrong, N_STAT, seed=2)
        assert level_pvalue(energies(x), E, p) < 1e-12
    # exact samples with open boundaries (by enumeration) must fail the periodic test
    t = s.astype(np.int64)
    E_open = -((t[:, :, :-1] * t[:, :, 1:]).sum((1, 2)) + (t[:, :-1, :] * t[:, 1:, :]).sum((1, 2)))
    w = np.exp(-beta * (E_open - E_open.min()))
    rng = np.random.default_rng(3)
    x_open = s[rng.choice(len(s), N_STAT, p=w / w.sum())]
    assert level_pvalue(energies(x_open), E, p) < 1e-12


def test_ising_sampler_large_lattice_matches_exact_stats():
    for L, beta, J in [(8, 0.4, 1.0), (10, 1.0, 1.0), (7, 0.3, -1.0)]:
        n = 10_000
        x = ising2d(L, beta, n, seed=5, J=J)
        st = ising2d_exact_stats(L, beta, J)
        N = L * L
        e = energies(x, J) / N
        am = np.abs(x.reshape(n, -1).sum(axis=1)) / N
        for values, exact in ((e, st["energy_per_site"]), (am, st["abs_magnetisation"]),
                              (am ** 2, st["magnetisation_sq"])):
            se = values.std() / np.sqrt(n) + 1e-12
            assert abs(values.mean() - exact) < 5 * se, (L, beta, values.mean(), exact)
        counts = np.bincount((x.reshape(n, -1).sum(axis=1).astype(np.int64) + N) // 2, minlength=N + 1)
        assert chi2_pvalue(counts, n * st["magnetisation_pmf"]) > P_MIN


def test_ising_reproducible():
    a = ising2d(8, 0.4, 10_000, seed=7)
    np.testing.assert_array_equal(a, ising2d(8, 0.4, 10_000, seed=7))
    assert not np.array_equal(a, ising2d(8, 0.4, 10_000, seed=8))
    assert ising2d(4, 0.3, 0).shape == (0, 4, 4)
    for bad in (-1, 2.5, "10", True):
        with pytest.raises(ConfigError):
            ising2d(4, 0.3, bad)


def test_default_dataset():
    x = default_dataset(500, seed=0)
    assert x.shape == (500, 64) and x.dtype == np.float32
    assert set(np.unique(x)) == {0.0, 1.0}
    np.testing.assert_array_equal(x, default_dataset(500, seed=0))
    sp = default_dataset(500, seed=0, spins=True)
    np.testing.assert_array_equal(sp, 2 * x - 1)
    np.testing.assert_array_equal(x, load_dataset("ising:n=500"))          # the demo's data set


# ----------------------------------------------------------------------------- load_dataset


def test_load_dataset_ising_specs():
    x = load_dataset("ising:L=4,beta=0.3,n=100", seed=2)
    assert x.shape == (100, 16) and x.dtype == np.float32 and x.flags.c_contiguous
    np.testing.assert_array_equal(x, load_dataset(" ising: L=4, beta=0.3, n=100 ", seed=2))
    assert not np.array_equal(x, load_dataset("ising:L=4,beta=0.3,n=100", seed=3))
    s = load_dataset("ising:L=4,n=50,spins=1,J=-1")
    assert set(np.unique(s)) == {-1.0, 1.0}
    for bad in ("ising:L=four", "ising:size=3", "ising:n", "ising:n=0", "ising:L=12", "ising:beta=-1",
                "ising:spins=maybe", ""):
        with pytest.raises(ConfigError) as ei:
            load_dataset(bad)
        one_line_error(ei)
    with pytest.raises(ConfigError):
        load_dataset("ising", binarize="median")
    with pytest.raises(DomainError):
        load_dataset("ising:L=4,n=10,spins=1", binarize="threshold")


def test_load_dataset_files(tmp_path):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (20, 5, 6)).astype(np.uint8)
    np.save(tmp_path / "imgs.npy", imgs)
    x = load_dataset(tmp_path / "imgs.npy")
    assert x.shape == (20, 30) and x.dtype == np.float32
    np.testing.assert_allclose(x, imgs.reshape(20, 30) / 255, rtol=1e-6)
    xb = load_dataset(str(tmp_path / "imgs.npy"), binarize="threshold")
    np.testing.assert_array_equal(xb, (imgs.reshape(20, 30) / 255 > 0.5).astype(np.float32))
    bits = (imgs > 128).astype(np.uint8)
    np.save(tmp_path / "bits.npy", bits)
    np.testing.assert_array_equal(load_dataset(tmp_path / "bits.npy"), bits.reshape(20, 30))
    (tmp_path / "t.csv").write_text("v1,v2\n0,1\n1,1\n")
    np.testing.assert_array_equal(load_dataset(tmp_path / "t.csv"), [[0, 1], [1, 1]])
    np.save(tmp_path / "vec.npy", np.arange(5))
    with pytest.raises(ShapeError):
        load_dataset(tmp_path / "vec.npy")
    with pytest.raises(DataError) as ei:
        load_dataset(str(tmp_path / "absent.npz"))
    one_line_error(ei, "absent.npz", "ising")
    np.savez(tmp_path / "z.npz", a=imgs, b=bits)
    assert load_dataset(tmp_path / "z.npz", key="b").shape == (20, 30)
