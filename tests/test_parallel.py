"""Runs trained side by side in worker processes equal the same runs trained one by one."""

import pytest
import torch

from nnrepro.errors import UserError
from nnrepro.europe import loop
from nnrepro.runtime import parallel

CPU = torch.device("cpu")


def _splits():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(400, 2, generator=generator) * 20
    y = (x[:, 0] > 0).long() + 2 * (x[:, 1] > 0).long()
    return {"train": (x, y), "validation": (x[:100], y[:100])}


def _jobs():
    sched = {"lr": 0.01, "epochs": 2, "batch_size": 32}
    archs = [{"depth": 2, "width": 8, "batchnorm": False}, {"depth": 2, "width": 8, "batchnorm": True},
             {"depth": 3, "width": 4, "residual": True}]
    return [(arch, sched, _splits(), 0, f"job {k}", 4) for k, arch in enumerate(archs)]


def _comparable(results):
    return [([{k: v for k, v in row.items() if k != "seconds"} for row in history], model.state_dict())
            for model, history in results]


def test_two_workers_give_the_results_of_one_by_one():
    alone, _ = parallel.run_all(loop.fit, _jobs(), CPU, workers=1)
    side_by_side, seconds = parallel.run_all(loop.fit, _jobs(), CPU, workers=2)
    assert len(seconds) == 3 and all(s > 0 for s in seconds)
    for (h1, s1), (h2, s2) in zip(_comparable(alone), _comparable(side_by_side)):
        assert h1 == h2 and s1.keys() == s2.keys() and all(torch.equal(s1[k], s2[k]) for k in s1)
    assert _comparable(alone)[0][0] != _comparable(alone)[1][0]  # the jobs differ: order is kept, not luck


def _fail(message):
    raise UserError(message)


def test_a_failing_job_stops_with_its_own_error():
    with pytest.raises(UserError, match="bad cell"):
        parallel.run_all(_fail, [("bad cell",), ("other",)], CPU, workers=2)
