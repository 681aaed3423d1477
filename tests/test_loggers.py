"""Metric loggers: JSONL by default, TensorBoard when installed, any object with start/log/close."""

import json

import pytest
import torch

from boltzlab.training import JsonlLogger, TensorBoardLogger, TrainConfig, Trainer


def _data():
    g = torch.Generator().manual_seed(0)
    return (torch.rand(60, 6, generator=g) < 0.4).float()


class Collect:
    def __init__(self):
        self.calls = []

    def start(self, history):
        self.calls.append(("start", len(history)))

    def log(self, record):
        self.calls.append(("log", record["epoch"]))

    def close(self):
        self.calls.append(("close",))


def test_default_jsonl_and_custom_loggers(tmp_path):
    cfg = TrainConfig(n_hidden=3, epochs=3, batch_size=20, seed=0)
    tr = Trainer.create(_data(), cfg, out_dir=tmp_path / "a", progress=False)
    tr.fit()
    lines = [json.loads(s) for s in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2, 3] and lines == tr.history
    collect = Collect()
    tr = Trainer.create(_data(), cfg, out_dir=tmp_path / "b", progress=False,
                        loggers=[collect, JsonlLogger(tmp_path / "b.jsonl")])
    tr.fit()
    assert collect.calls == [("start", 0), ("log", 1), ("log", 2), ("log", 3), ("close",)]
    assert not (tmp_path / "b" / "metrics.jsonl").exists()  # the given loggers replace the default
    assert len((tmp_path / "b.jsonl").read_text().splitlines()) == 3


def test_jsonl_resume_drops_lines_after_the_checkpoint(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text("".join(json.dumps({"epoch": e}) + "\n" for e in (1, 2, 3)))
    logger = JsonlLogger(path)
    logger.start([{"epoch": 1}])
    logger.log({"epoch": 2, "x": 0.5})
    assert [json.loads(s) for s in path.read_text().splitlines()] == [{"epoch": 1}, {"epoch": 2, "x": 0.5}]


def test_tensorboard_scalars(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    cfg = TrainConfig(n_hidden=3, epochs=2, batch_size=20, seed=0)
    tr = Trainer.create(_data(), cfg, progress=False, loggers=[TensorBoardLogger(tmp_path / "tb")])
    tr.fit()
    acc = EventAccumulator(str(tmp_path / "tb"))
    acc.Reload()
    events = acc.Scalars("train/train_log_likelihood")
    assert [e.step for e in events] == [r["step"] for r in tr.history]
    assert [e.value for e in events] == pytest.approx([r["train_log_likelihood"] for r in tr.history], rel=1e-6)
