"""1.1.4 Batch size and epochs: the (batch size, epochs) pairs' accuracy, loss, stability and speed."""

import numpy as np

from nnrepro.report.claims.core import ONE, Finding, cannot, claim, fails, fmt
from nnrepro.report.claims.reading import (
    curve,
    excess_variation,
    final,
    get,
    last_epochs,
    live,
    note,
    number,
    settle_epoch,
)

# Thresholds: each a reading of the course's words, set before looking at any run of ours.
FIRST_EVAL_SPREAD = 0.1  # "initial" values compare when the first evaluations lie within 10% of each other's epoch
# (a tenth of an epoch is 10 steps of batch 1024 but 10,690 of batch 1: not all equal)
ABOUT_ACC = 0.05  # "about 0.81": within 5 points of the course's number
SETTLE_BAND = 0.10  # "stabilizing": within 10% of its last-10-epoch level from some epoch on
STEADIER_RATIO = 0.8  # "not noisy" next to "some noise": excess variation at most 0.8x the noisy pair's
THRESHOLDS = ("FIRST_EVAL_SPREAD", "ABOUT_ACC", "SETTLE_BAND", "STEADIER_RATIO")
ONE_EPOCH_BATCHES = (1, 16)  # the course's one-epoch pairs (1, 1) and (16, 1): the first does much better
LONG_BATCHES = (128, 1024)  # the course's 50-epoch pairs (128, 50) and (1024, 50)


def _pairs(facts: dict) -> dict:
    return get(facts, "batch")


def _pair(facts: dict, batch: int, one_epoch: bool) -> tuple:
    """(name, run) of the pair with this batch size: the one-epoch run, else the one with the most epochs."""
    found = {
        n: r for n, r in _pairs(facts).items() if r.get("batch_size") == batch and (r.get("epochs") == 1) == one_epoch
    }
    if not found:
        raise cannot(f"no {'one' if one_epoch else 'multi'}-epoch run with batch size {batch}")
    name = max(found, key=lambda n: (found[n].get("epochs") or 0, n))
    return name, found[name]


def _long_pairs(facts: dict) -> tuple:
    """((name, run) of batch 128, of batch 1024), trained for the same number of epochs."""
    small, large = (_pair(facts, b, False) for b in LONG_BATCHES)
    if small[1].get("epochs") != large[1].get("epochs"):
        raise cannot(f"{small[0]} and {large[0]} train for different numbers of epochs")
    return small, large


@claim(
    "batch1_beats_16",
    "1.1.4",
    f"After one epoch batch size {ONE_EPOCH_BATCHES[0]} beats batch size {ONE_EPOCH_BATCHES[1]}: higher final "
    "test accuracy.",
    "that is unlike (16, 1) pair, which achieves (much) worse result than the (1, 1) pair",
)
def batch1_beats_16(facts: dict, th) -> Finding:
    """Effect: the accuracy difference. Batch 1 diverged or collapsed: does not hold; batch 16 diverged: cannot be
    judged; batch 16 collapsed: judged (the course saw it do 'much worse')."""
    small, large = (_pair(facts, b, True) for b in ONE_EPOCH_BATCHES)
    acc_small = final(live(small[1], small[0], True), "test_acc", small[0])
    acc_large = final(live(large[1], large[0], False, failing=True), "test_acc", large[0])
    return Finding(
        acc_small - acc_large,
        f"test accuracy after one epoch: {small[0]} {fmt(acc_small)}, {large[0]} {fmt(acc_large)}",
        {"small_test_acc": acc_small, "large_test_acc": acc_large},
        note=note(large[1]),
    )


@claim(
    "batch1_about_course",
    "1.1.4",
    f"After one epoch batch size {ONE_EPOCH_BATCHES[0]} reaches about the course's test accuracy (0.81): within "
    f"{ABOUT_ACC * 100:g} points of it.",
    "the (1, 1) pair achieves good accuracy (about 0.81)",
)
def batch1_about_course(facts: dict, th) -> Finding:
    """Effect: ABOUT_ACC minus the distance to the course's number. Diverged or collapsed: does not hold ('good
    accuracy'). The course's number missing from the facts: cannot be judged."""
    course = number(get(facts, "course", "1.1.4").get("batch_1_one_epoch_test_acc"), "the course's batch-1 accuracy")
    name, run = _pair(facts, ONE_EPOCH_BATCHES[0], True)
    acc = final(live(run, name, True), "test_acc", name)
    return Finding(
        th.ABOUT_ACC - abs(acc - course),
        f"{name} test accuracy {fmt(acc)}; course {fmt(course)}",
        {"test_acc": acc, "course_test_acc": course},
    )


@claim(
    "larger_batches_faster",
    "1.1.4",
    "Larger batches take less time per epoch: seconds per epoch fall strictly as the batch size grows.",
    "the training speed was faster with higher batch sizes",
    over=ONE,
    timing=True,
)
def larger_batches_faster(facts: dict, th) -> Finding:
    """Effect: the smallest speed-up from one batch size to the next (ratio minus 1). Missing seconds or a diverged
    pair (it may have stopped early, timing other work): cannot be judged; a collapsed pair is timed as any other
    (what it predicts does not change its speed). numbers holds no seconds: they go to the evidence only."""
    seconds: dict[int, list[float]] = {}  # batch size -> its pairs' seconds per epoch
    for name, run in _pairs(facts).items():
        live(run, name, False, "it may have stopped early, so its seconds time other work", failing=True)
        seconds.setdefault(int(run["batch_size"]), []).append(
            number(run.get("seconds_per_epoch"), f"{name}'s seconds per epoch")
        )
    if len(seconds) < 2:
        raise cannot("fewer than two batch sizes timed")
    mean = [float(np.mean(seconds[b])) for b in sorted(seconds)]
    return Finding(
        min(a / b - 1 for a, b in zip(mean, mean[1:])),
        "seconds per epoch: " + ", ".join(f"batch {b}: {s:.3g}" for b, s in zip(sorted(seconds), mean)),
        {"batch_sizes": ", ".join(map(str, sorted(seconds))), "pairs": len(_pairs(facts))},
    )


def _initial(facts: dict, key: str, falls: bool, th) -> Finding:
    """Effect: the smallest step of the ordering by batch size (a value unit). Any pair diverged or collapsed,
    missing its first value, or first evaluated at another epoch: cannot be judged."""
    first = {}
    for name, run in sorted(_pairs(facts).items()):
        live(run, name, False, "its first evaluation is not a sound point of the ordering")
        values, epochs = run.get(key) or [None], run.get("epoch") or [None]
        first[name] = (
            int(run["batch_size"]),
            number(epochs[0], f"{name}'s first epoch"),
            number(values[0], f"{name}'s first {key}"),
        )
    epochs = [e for _, e, _ in first.values()]
    if max(epochs) > min(epochs) * (1 + th.FIRST_EVAL_SPREAD):
        raise cannot(
            f"the pairs' first evaluations lie at epochs {min(epochs):g} to {max(epochs):g}, more than "
            f"{th.FIRST_EVAL_SPREAD:.0%} apart: not comparable"
        )
    items = sorted(first.values())
    steps = [(a[2] - b[2]) * (1 if falls else -1) for a in items for b in items if a[0] < b[0]]
    if not steps:
        raise cannot("fewer than two batch sizes")
    wrong = sum(1 for s in steps if s <= 0)
    return Finding(
        min(steps),
        f"first {key} at epochs {min(epochs):.3g}-{max(epochs):.3g}: "
        + ", ".join(f"batch {b}: {fmt(v)}" for b, _, v in items)
        + f"; {wrong} pair(s) out of order",
        {**{f"initial_{key}_{name}": v for name, (_, _, v) in first.items()}, "out_of_order": wrong},
    )


@claim(
    "initial_acc_falls",
    "1.1.4",
    "The initial test accuracy (first evaluation) falls as the batch size grows, regardless of epochs: no pair "
    "out of order.",
    "the **initial** accuracy of the model is lower as the batch size increases, regardless of epochs",
)
def initial_acc_falls(facts: dict, th) -> Finding:
    """As _initial, on the test accuracy."""
    return _initial(facts, "test_acc", True, th)


@claim(
    "initial_loss_rises",
    "1.1.4",
    "The initial test loss (first evaluation) rises as the batch size grows, regardless of epochs: no pair out of "
    "order.",
    "higher batch size = higher **initial** loss",
)
def initial_loss_rises(facts: dict, th) -> Finding:
    """As _initial, on the test loss."""
    return _initial(facts, "test_loss", False, th)


@claim(
    "b128_beats_b1024",
    "1.1.4",
    f"Over the same number of epochs batch size {LONG_BATCHES[0]} ends above batch size {LONG_BATCHES[1]}: higher "
    "mean test accuracy over the last 10 epochs.",
    "over time the 128 batch size achieves better result",
)
def b128_beats_b1024(facts: dict, th) -> Finding:
    """Effect: the accuracy difference over the last 10 epochs. Batch 128 diverged or collapsed: does not hold; batch
    1024 diverged or collapsed, or trained for other epochs: cannot be judged."""
    small, large = _long_pairs(facts)
    acc_small = last_epochs(live(small[1], small[0], True), "test_acc", small[0])
    acc_large = last_epochs(live(large[1], large[0], False), "test_acc", large[0])
    return Finding(
        acc_small - acc_large,
        f"last-10-epoch test accuracy: {small[0]} {fmt(acc_small)}, {large[0]} {fmt(acc_large)}",
        {"epochs": small[1].get("epochs"), "small_test_acc": acc_small, "large_test_acc": acc_large},
    )


@claim(
    "b128_stabilises_faster",
    "1.1.4",
    f"Batch size {LONG_BATCHES[0]} stabilises faster than {LONG_BATCHES[1]}: its test loss stays within "
    f"{SETTLE_BAND:.0%} of its last-10-epoch level from an earlier epoch.",
    "(128, 50) is stabilizing faster",
)
def b128_stabilises_faster(facts: dict, th) -> Finding:
    """Effect: batch 1024's settling epoch minus batch 128's. Batch 128 diverged or collapsed: does not hold; batch
    1024 diverged or collapsed: cannot be judged."""
    small, large = _long_pairs(facts)
    settle = [
        settle_epoch(live(run, name, subject), "test_loss", name, th.SETTLE_BAND)
        for (name, run), subject in ((small, True), (large, False))
    ]
    return Finding(
        settle[1] - settle[0],
        f"test loss settled by epoch: {small[0]} {settle[0]:g}, {large[0]} {settle[1]:g}",
        {"small_settle_epoch": settle[0], "large_settle_epoch": settle[1]},
    )


@claim(
    "b1024_not_noisy",
    "1.1.4",
    f"Batch size {LONG_BATCHES[1]} is not noisy next to {LONG_BATCHES[0]}: the excess variation of its test loss "
    f"is at most {STEADIER_RATIO:g}x batch {LONG_BATCHES[0]}'s.",
    "unlike the previous pair it is not noisy",
)
def b1024_not_noisy(facts: dict, th) -> Finding:
    """Effect: STEADIER_RATIO minus the ratio of excess variations. Batch 1024 diverged or collapsed: does not hold (a
    run that learns nothing is trivially calm); batch 128 diverged or collapsed: cannot be judged; batch 128 without
    any noise: does not hold."""
    small, large = _long_pairs(facts)
    calm = excess_variation(curve(live(large[1], large[0], True), "test_loss", large[0], least=3)[1])
    noisy = excess_variation(curve(live(small[1], small[0], False), "test_loss", small[0], least=3)[1])
    if noisy <= 0:
        raise fails(f"{small[0]}'s test loss has no noise to compare with")
    return Finding(
        th.STEADIER_RATIO - calm / noisy,
        f"excess variation of the test loss: {small[0]} {fmt(noisy)}, {large[0]} {fmt(calm)}",
        {"small_excess_variation": noisy, "large_excess_variation": calm},
    )
