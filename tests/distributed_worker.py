"""Worker for tests/test_distributed.py: train a small RBM with DistributedTrainer under torchrun (or alone).

    python -m torch.distributed.run --standalone --nproc_per_node 2 tests/distributed_worker.py METHOD EPOCHS OUT [--resume]

Rank 0 writes the final parameters and 60 samples drawn by all processes to OUT/params.pt;
OUT/checkpoint.pt holds the training state.
"""

import sys
from pathlib import Path

import torch

from boltzlab.distributed import init_from_env, sample, shutdown
from boltzlab.training import TrainConfig
from boltzlab.training.distributed import DistributedTrainer


def main() -> None:
    method, epochs, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    torch.set_num_threads(1)
    world = init_from_env("cpu")
    g = torch.Generator().manual_seed(0)
    data = (torch.rand(200, 12, generator=g) < 0.3).double()
    if "--resume" in sys.argv:
        tr = DistributedTrainer.resume(out / "checkpoint.pt", data, out_dir=out, epochs=epochs, progress=False)
    else:
        cfg = TrainConfig(n_hidden=6, method=method, k=3, batch_size=40, n_chains=40, epochs=epochs, lr=0.05,
                          centered=True, dtype="float64", seed=1, monitor_exact_max_log2=0, monitor_samples=0)
        tr = DistributedTrainer.create(data, cfg, shards=2, out_dir=out, progress=False)
    tr.fit()
    samples = sample(tr.model, 60, steps=5, seed=3, shards=2)  # data-parallel sampling of the trained model
    if world.is_main:
        params = {k: v.clone() for k, v in tr.model.state_dict().items()}
        torch.save({**params, "samples_v": samples[0], "samples_h": samples[1]}, out / "params.pt")
    shutdown()


if __name__ == "__main__":
    main()
