"""Shared pieces of the benchmark scripts: the MNIST test set as bits, and the result as JSON on stdout
and, if asked, in a file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

DEFAULT_MNIST = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist"


def mnist_test_bits(directory: str | Path) -> np.ndarray:
    """The 10,000 MNIST test images as float32 rows of bits (pixels scaled to [0, 1], threshold 0.5)."""
    from boltzlab.data import load_dataset
    return load_dataset(directory, binarize="threshold", key="test")


def report(result: dict, out: str | None) -> dict:
    text = json.dumps(result, indent=2)
    print(text)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text)
    return result


def floor_products(device: str = "cpu") -> dict:
    """The product routines a matmul floor is timed with, ``name -> f(x, m, out)`` writing x @ m into out:
    ``torch.mm``, and on the CPU, where this PyTorch has it, the oneDNN product boltzlab's sampler may choose."""
    from boltzlab.sampling.product import cpu_float32_candidates, torch_product
    products = cpu_float32_candidates() if device == "cpu" else {"torch.mm": torch_product}
    return {name: (lambda x, m, o, f=f: f(x, m, None, o)) for name, f in products.items()}
