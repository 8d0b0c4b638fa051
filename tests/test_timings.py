"""The wall-clock claim ("the training speed was faster with higher batch sizes"), judged by the rule of every
claim (nnrepro.report.interval) over repeated timings in stages/timings.py."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def timings():
    spec = importlib.util.spec_from_file_location("timings_stage", ROOT / "stages/timings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_each_repeat_gives_the_smallest_speed_up_between_neighbouring_batch_sizes(timings):
    seconds = {1: [10.0, 12.0], 16: [2.0, 3.0], 128: [1.0, 2.0]}
    assert timings.speedups(seconds) == pytest.approx([1.0, 0.5])


def test_larger_batches_faster_in_every_repeat_holds(timings):
    result = timings.judge([0.9, 1.1, 1.0, 0.95, 1.05])
    assert result["verdict"] == "holds" and result["interval"][0] > 0


def test_a_larger_batch_slower_in_every_repeat_does_not_hold(timings):
    result = timings.judge([-0.3, -0.25, -0.35, -0.3, -0.28])
    assert result["verdict"] == "does not hold" and result["interval"][1] < 0


def test_speed_ups_around_zero_cannot_be_judged_and_one_timing_is_one_run(timings):
    noisy = timings.judge([0.2, -0.25, 0.1, -0.15, 0.05])
    assert (noisy["verdict"], noisy["reason"]) == ("cannot be judged", "within noise")
    once = timings.judge([0.5])
    assert (once["verdict"], once["reason"], once["interval"]) == ("cannot be judged", "one run", None)
