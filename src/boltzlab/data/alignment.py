"""Multiple sequence alignments: readers (aligned FASTA, a2m, a3m, Stockholm), alphabets, sequence weights.

Readers return integer states (n_seq, length) over an alphabet whose first symbol is the gap: ``protein``
(``-ACDEFGHIKLMNPQRSTVWY``, q = 21), ``dna`` (``-ACGT``), ``rna`` (``-ACGU``), or any user-given string.
Match columns only: a2m/a3m drop lowercase insertions and ``.``; Stockholm keeps the columns its ``#=GC RF``
line marks (without it, drops columns where every sequence has a lowercase letter or ``.``); plain aligned
FASTA of one letter case keeps every column.  Letters outside the alphabet read as gaps (``unknown="gap"``) or
are refused (``unknown="error"``).  Files may be gzipped.

Sequence weights (Morcos et al. 2011): w_s = 1 / #{t : id(s, t) >= theta}, id the fraction of the L
positions (gaps included) at which s and t agree, computed as tiles of the Gram matrix of one-hot codes
(exact in bfloat16 on blocks of at most 256 positions), so memory is O(chunk * L * q + chunk^2).
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import ConfigError, DataError, require

ALPHABETS = {"protein": "-ACDEFGHIKLMNPQRSTVWY", "dna": "-ACGT", "rna": "-ACGU"}
FORMATS = ("auto", "fasta", "a2m", "a3m", "stockholm")
_GAPS = "-.~"


def alphabet_symbols(alphabet: str) -> str:
    """The symbols of a named alphabet (protein, dna, rna) or a user-given string (first symbol: the gap)."""
    symbols = ALPHABETS.get(alphabet.lower(), alphabet) if alphabet else ""
    if len(symbols) < 2 or len(set(symbols)) != len(symbols):
        raise ConfigError(f"an alphabet needs at least 2 distinct symbols (the first is the gap); got {alphabet!r}")
    return symbols.upper() if alphabet.lower() not in ALPHABETS else symbols


def _open_text(path: Path):
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt", errors="replace") if gz else open(path, errors="replace")


def _detect_format(path: Path, first: str) -> str:
    name = path.name.lower().removesuffix(".gz")
    for ext, fmt in ((".a2m", "a2m"), (".a3m", "a3m"), (".sto", "stockholm"), (".stk", "stockholm"),
                     (".stockholm", "stockholm")):
        if name.endswith(ext):
            return fmt
    if first.startswith("# STOCKHOLM"):
        return "stockholm"
    if first.startswith(">"):
        return "fasta"
    raise DataError(f"{path}: neither FASTA ('>' first) nor Stockholm ('# STOCKHOLM' first); "
                    "pass format= to say which")


def _read_fasta(lines: list[str], path: Path) -> tuple[list[str], list[str]]:
    names, seqs, cur = [], [], []
    for line in lines:
        line = line.strip()
        if not line or line.startswith(";") or line.startswith("#"):
            continue
        if line.startswith(">"):
            if names:
                seqs.append("".join(cur))
            names.append(line[1:].strip())
            cur = []
        else:
            require(names, f"{path}: sequence data before the first '>' header", DataError)
            cur.append("".join(line.split()).rstrip("*"))  # '*' ends a sequence in some FASTA files
    if names:
        seqs.append("".join(cur))
    return names, seqs


def _read_stockholm(lines: list[str], path: Path) -> tuple[list[str], list[str], str | None]:
    order: list[str] = []
    parts: dict[str, list[str]] = {}
    rf: list[str] = []
    for line in lines:
        s = line.strip()
        if not s or s.startswith("# STOCKHOLM"):
            continue
        if s == "//":
            break
        if s.startswith("#=GC"):
            f = s.split(None, 2)
            if len(f) == 3 and f[1] == "RF":
                rf.append(f[2].replace(" ", ""))
            continue
        if s.startswith("#"):
            continue
        f = s.split()
        require(len(f) == 2, f"{path}: malformed Stockholm line {s[:60]!r}", DataError)
        if f[0] not in parts:
            order.append(f[0])
            parts[f[0]] = []
        parts[f[0]].append(f[1])
    return order, ["".join(parts[k]) for k in order], ("".join(rf) if rf else None)


def _match_columns(seqs: list[str], fmt: str, rf: str | None, path: Path) -> list[str]:
    """Reduce every sequence to its match columns (uppercase letters and gaps)."""
    if fmt in ("a2m", "a3m") or (fmt == "fasta" and any(c.islower() for s in seqs for c in s)
                                 and any(c.isupper() for s in seqs for c in s)):
        out = ["".join(c for c in s if not (c.islower() or c == ".")) for s in seqs]
    else:
        lengths = {len(s) for s in seqs}
        if len(lengths) != 1:
            raise DataError(f"{path}: the aligned sequences have different lengths {sorted(lengths)[:5]}")
        if fmt == "stockholm":
            if rf is not None:
                require(len(rf) == len(seqs[0]), f"{path}: the #=GC RF line has {len(rf)} columns, the sequences "
                                                 f"{len(seqs[0])}", DataError)
                keep = [c not in _GAPS for c in rf]
            else:
                cols = zip(*seqs)
                keep = [not all(c.islower() or c == "." for c in col) for col in cols]
            out = ["".join(c for c, k in zip(s, keep) if k) for s in seqs]
        else:
            out = seqs
        out = [s.upper() for s in out]
    out = [s.replace(".", "-").replace("~", "-") for s in out]
    lengths = {len(s) for s in out}
    require(len(lengths) == 1, f"{path}: after dropping insertions the sequences have different lengths "
                               f"{sorted(lengths)[:5]} (not an a2m/a3m alignment?)", DataError)
    require(lengths and 0 not in lengths, f"{path}: the alignment has no match columns", DataError)
    return out


def encode(seqs: list[str], alphabet: str = "protein", unknown: str = "gap", path: Any = "sequences") -> np.ndarray:
    """Integer states (n_seq, length), uint8, of aligned strings over ``alphabet``."""
    symbols = alphabet_symbols(alphabet)
    require(unknown in ("gap", "error"), f"unknown= must be 'gap' or 'error'; got {unknown!r}")
    table = np.full(256, 255, dtype=np.uint8)
    for i, c in enumerate(symbols):
        table[ord(c)] = i
        table[ord(c.lower())] = i
    for c in _GAPS:
        table[ord(c)] = 0
    raw = np.frombuffer("".join(seqs).encode("latin-1", errors="replace"), dtype=np.uint8)
    states = table[raw]
    bad = states == 255
    if bad.any():
        chars = sorted({chr(x) for x in raw[bad]})
        letters = all(c.isalpha() for c in chars)
        if unknown == "error" or not letters:
            raise DataError(f"{path}: symbols {''.join(chars[:10])!r} are not in the alphabet {symbols!r}")
        states = np.where(bad, 0, states).astype(np.uint8)
    return states.reshape(len(seqs), -1)


def read_sequences(path: str | Path, *, format: str = "auto") -> tuple[list[str], list[str]]:
    """(names, match-column strings) of an alignment file (see the module docstring)."""
    path = Path(path)
    require(format in FORMATS, f"unknown alignment format {format!r}; expected one of {', '.join(FORMATS)}")
    require(path.is_file(), f"{path}: no such alignment file", DataError)
    try:
        with _open_text(path) as f:
            lines = f.read().splitlines()
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    first = next((ln for ln in lines if ln.strip()), "")
    fmt = _detect_format(path, first) if format == "auto" else format
    rf = None
    if fmt == "stockholm":
        names, seqs, rf = _read_stockholm(lines, path)
    else:
        names, seqs = _read_fasta(lines, path)
    require(seqs, f"{path}: no sequences found", DataError)
    return names, _match_columns(seqs, fmt, rf, path)


def read_alignment(path: str | Path, alphabet: str = "protein", reweight: float | None = 0.8, *,
                   format: str = "auto", unknown: str = "gap", chunk: int = 4096,
                   device: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Read an alignment: integer states (n_seq, length) and per-sequence weights (n_seq,).

    ``reweight``: identity threshold theta in (0, 1] of :func:`sequence_weights` (default 0.8);
    ``None`` or 0 gives unit weights.  ``device`` runs the reweighting there (e.g. "cuda").
    """
    names, seqs = read_sequences(path, format=format)
    states = encode(seqs, alphabet, unknown, path)
    q = len(alphabet_symbols(alphabet))
    if reweight:
        weights = sequence_weights(states, float(reweight), q=q, chunk=chunk, device=device)
    else:
        weights = np.ones(len(states))
    return states.astype(np.int64), weights


def _step(dtype: torch.dtype, length: int) -> int:
    """Positions per product: integer counts stay exact up to 256 in bfloat16, 2048 in float16."""
    return 256 if dtype == torch.bfloat16 else (2048 if dtype == torch.float16 else length)


def one_hot_blocks(x: torch.Tensor, q: int, dtype: torch.dtype = torch.bfloat16) -> list[torch.Tensor]:
    """One-hot codes of integer sequences x (n, L), split into blocks of positions: [(n, l_k q)]."""
    n, length = x.shape
    step = _step(dtype, length)
    blocks = []
    for s in range(0, length, step):
        part = x[:, s:s + step].long()
        idx = part + torch.arange(part.shape[1], device=x.device) * q
        blocks.append(torch.zeros(n, part.shape[1] * q, dtype=dtype, device=x.device).scatter_(1, idx, 1.0))
    return blocks


@torch.no_grad()
def identity_counts(a: Any, b: Any, q: int, dtype: torch.dtype = torch.bfloat16) -> torch.Tensor:
    """Numbers of agreeing positions, (len(a), len(b)) float32, of integer sequences a and b (exact).

    ``a`` and ``b`` are integer tensors or the outputs of :func:`one_hot_blocks`.
    """
    a = one_hot_blocks(a, q, dtype) if isinstance(a, torch.Tensor) else a
    b = one_hot_blocks(b, q, dtype) if isinstance(b, torch.Tensor) else b
    out = torch.zeros(a[0].shape[0], b[0].shape[0], dtype=torch.float32, device=a[0].device)
    for xa, xb in zip(a, b):
        out += torch.mm(xa, xb.t()).float()
    return out


@torch.no_grad()
def sequence_weights(states: Any, threshold: float = 0.8, *, q: int | None = None, chunk: int = 4096,
                     device: Any = None, dtype: torch.dtype = torch.bfloat16) -> np.ndarray:
    """w_s = 1 / #{t : id(s, t) >= threshold} (t = s included), float64 (n_seq,).

    Tiles of ``chunk`` x ``chunk`` sequences; memory O(chunk * (L q + chunk)) whatever the number of
    sequences.  Exact: the comparison is made on integer counts, count >= the smallest m with
    m / L >= threshold in float64 (the same decision as count / L >= threshold).
    """
    require(0 < float(threshold) <= 1, f"the reweighting threshold must lie in (0, 1]; got {threshold}")
    arr = np.asarray(states)
    x = torch.as_tensor(arr.astype(np.uint8) if int(arr.max(initial=0)) < 256 else arr.astype(np.int64))
    if device is not None:
        x = x.to(device)
    n, length = x.shape
    q = int(q) if q is not None else int(x.max()) + 1
    need = next(m for m in range(length + 1) if m / length >= threshold)
    counts = torch.zeros(n, dtype=torch.float64, device=x.device)
    chunk = max(1, int(chunk))
    for i in range(0, n, chunk):
        a = one_hot_blocks(x[i:i + chunk], q, dtype)
        for j in range(i, n, chunk):
            b = a if j == i else one_hot_blocks(x[j:j + chunk], q, dtype)
            near = identity_counts(a, b, q, dtype) >= need
            counts[i:i + chunk] += near.sum(1)
            if j != i:
                counts[j:j + chunk] += near.sum(0)
    return (1.0 / counts).cpu().numpy()


def site_frequencies(states: Any, q: int, weights: Any = None) -> np.ndarray:
    """Weighted single-site frequencies f_i(a), (length, q)."""
    x = np.asarray(states, dtype=np.int64)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64)
    f = np.zeros((x.shape[1], q))
    for a in range(q):
        f[:, a] = w @ (x == a)
    return f / w.sum()


def pair_frequencies(states: Any, q: int, weights: Any = None) -> np.ndarray:
    """Weighted pair frequencies f_ij(a, b), (length, q, length, q) (small alignments)."""
    x = np.asarray(states, dtype=np.int64)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64)
    oh = (x[:, :, None] == np.arange(q)).reshape(len(x), -1).astype(np.float64)
    return ((oh * w[:, None]).T @ oh / w.sum()).reshape(x.shape[1], q, x.shape[1], q)
